/** SQS (events-dispatch.fifo): turns event messages into jobs on the worker queues and the pin queue. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { BatchRecord } from '../shared/aws/batch';
import { dispatcherFromEnv } from '../shared/dispatch/dispatcher';
import { handleSqsEvent } from '../shared/dispatch/lambdaBatch';
import { parseServiceEnv } from '../shared/service/config';

let dispatch: ((record: BatchRecord) => Promise<void>) | undefined;

export const handler = (event: SQSEvent): Promise<SQSBatchResponse> =>
  handleSqsEvent(event, (dispatch ??= dispatcherFromEnv(parseServiceEnv(process.env))), 'dispatcher');
