/**
 * The queues of the local stack, named as serverless.yml names them (without its service-stage prefix):
 * the function queues fed by the indexer and dispatcher, and one queue per worker. Every one is FIFO with
 * a FIFO dead-letter queue after 5 receives, as on AWS.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createQueueWithDlq, type QueuePair } from '../aws/sqs';

export const MAX_RECEIVE_COUNT = 5;

/** Function name in serverless.yml -> the queue its SQS event source reads. */
export const FUNCTION_QUEUES = { views: 'events-views', dispatcher: 'events-dispatch', pinner: 'pin' } as const;
export type QueueFunction = keyof typeof FUNCTION_QUEUES;

export type WorkerName = 'provider-honest' | 'provider-2' | 'challenger';
/** serverless.yml's worker queues: worker-<name>. */
export const WORKER_NAMES: readonly WorkerName[] = ['provider-honest', 'provider-2', 'challenger'];

export interface StackQueues {
  functions: Record<QueueFunction, QueuePair>;
  workers: Record<WorkerName, QueuePair>;
}

/**
 * Short visibility locally so a failed record is retried within seconds (on AWS it is six times the
 * consumer's timeout); workers extend theirs while a job runs.
 */
export async function createStackQueues(sqs: SQSClient, options: { functionVisibilitySeconds?: number; workerVisibilitySeconds?: number } = {}): Promise<StackQueues> {
  const pair = (name: string, visibilityTimeoutSeconds: number) => createQueueWithDlq(sqs, { name, fifo: true, visibilityTimeoutSeconds, maxReceiveCount: MAX_RECEIVE_COUNT });
  const functions = {} as Record<QueueFunction, QueuePair>;
  for (const [fn, name] of Object.entries(FUNCTION_QUEUES) as Array<[QueueFunction, string]>) functions[fn] = await pair(name, options.functionVisibilitySeconds ?? 10);
  const workers = {} as Record<WorkerName, QueuePair>;
  for (const name of WORKER_NAMES) workers[name] = await pair(`worker-${name}`, options.workerVisibilitySeconds ?? 30);
  return { functions, workers };
}
