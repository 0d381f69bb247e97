/** SQS (events-views.fifo): applies event messages to the materialized views in the views bucket. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsClients } from '../shared/aws/config';
import type { BatchRecord } from '../shared/aws/batch';
import { handleSqsEvent } from '../shared/dispatch/lambdaBatch';
import { ViewStore, viewUpdater } from '../shared/indexer/consumer';
import { awsConfigOf, parseServiceEnv } from '../shared/service/config';

let update: ((record: BatchRecord) => Promise<void>) | undefined;

function updaterOfThisContainer(): (record: BatchRecord) => Promise<void> {
  if (!update) {
    const env = parseServiceEnv(process.env);
    update = viewUpdater(new ViewStore(awsClients(awsConfigOf(env)).s3, env.OPML_VIEWS_BUCKET));
  }
  return update;
}

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> => handleSqsEvent(event, updaterOfThisContainer(), 'views');
