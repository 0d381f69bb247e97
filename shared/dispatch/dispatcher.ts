/**
 * The dispatcher's record handler: an event message from the dispatch queue becomes the jobs routing.ts
 * names, sent with their FIFO group and deduplication ids, so a redelivered event message re-sends
 * messages SQS drops as duplicates (within its 5-minute window; past it, workers decide from chain state).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { JsonRpcProvider } from 'ethers';
import type { BatchRecord } from '../aws/batch';
import { awsClients } from '../aws/config';
import { sendMessages } from '../aws/sqs';
import { parseEventMessage } from '../indexer/consumer';
import { awsConfigOf, type ServiceEnv } from '../service/config';
import { contractChainReader } from './chainReader';
import { logLine } from './log';
import { jobsFor, outgoingOf, type ChainReader, type Dispatch, type DispatchTargets } from './routing';

export function dispatcher(sqs: SQSClient, targets: DispatchTargets, chain: ChainReader): (record: BatchRecord) => Promise<void> {
  return async (record) => {
    const message = parseEventMessage(record);
    const { jobs, skipped } = await jobsFor(message, targets, chain);
    for (const reason of skipped) logLine('dispatch-skipped', { messageId: record.messageId, eventId: message.event.id, reason });
    const byQueue = new Map<string, Dispatch[]>();
    for (const d of jobs) byQueue.set(d.queueUrl, [...(byQueue.get(d.queueUrl) ?? []), d]);
    for (const [queueUrl, dispatches] of byQueue) {
      await sendMessages(sqs, queueUrl, dispatches.map(outgoingOf));
      for (const d of dispatches) logLine('dispatched', { eventId: message.event.id, eventName: message.event.name, job: d.job.kind, taskId: 'taskId' in d.job ? d.job.taskId : undefined, queueUrl, delaySeconds: d.delaySeconds });
    }
  };
}

/** The dispatcher of a function's environment: OPML_WORKERS routes, OPML_PIN_QUEUE_URL, the market on OPML_RPC_URL. */
export function dispatcherFromEnv(env: ServiceEnv): (record: BatchRecord) => Promise<void> {
  const provider = new JsonRpcProvider(env.OPML_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  return dispatcher(awsClients(awsConfigOf(env)).sqs, { workers: env.OPML_WORKERS, pinQueueUrl: env.OPML_PIN_QUEUE_URL }, contractChainReader(provider, env.OPML_MARKET));
}
