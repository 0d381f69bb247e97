/** Scheduled: reads the contracts' logs from the stored cursor and publishes them to the views and dispatch queues. */
import { JsonRpcProvider } from 'ethers';
import { awsClients } from '../shared/aws/config';
import { logLine } from '../shared/dispatch/log';
import type { Indexer } from '../shared/indexer/indexer';
import { indexerOf, runIndexer, type IndexerRunSummary } from '../shared/indexer/scheduled';
import { awsConfigOf, parseServiceEnv } from '../shared/service/config';

let indexer: Indexer | undefined;

function indexerOfThisContainer(): Indexer {
  if (!indexer) {
    const env = parseServiceEnv(process.env);
    const { s3, sqs } = awsClients(awsConfigOf(env));
    indexer = indexerOf(env, new JsonRpcProvider(env.OPML_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 }), s3, sqs);
  }
  return indexer;
}

export async function handler(_event: unknown, context?: { getRemainingTimeInMillis?: () => number }): Promise<IndexerRunSummary> {
  const summary = await runIndexer(indexerOfThisContainer(), { remainingMs: context?.getRemainingTimeInMillis?.bind(context) });
  logLine('indexer-run', { ...summary });
  return summary;
}
