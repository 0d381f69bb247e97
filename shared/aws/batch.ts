/**
 * Partial batch failure for SQS consumers (the Lambda `batchItemFailures` contract, as in Powertools'
 * BatchProcessor): each record goes to a plain function; a record that throws is reported by its id and
 * the rest succeed. On a FIFO queue the records after a failed one in the same group are reported too,
 * so a group never applies out of order. The same code drives a long-polling worker loop.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { deleteMessage, receiveMessages, type ReceivedMessage } from './sqs';

export interface BatchRecord {
  messageId: string;
  body: string;
  /** FIFO queues only. */
  groupId?: string;
}

export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

export interface RecordFailure {
  messageId: string;
  error: unknown;
}

export async function processBatch(
  records: BatchRecord[],
  handle: (record: BatchRecord) => Promise<void>,
  onFailure: (failure: RecordFailure) => void = () => {},
): Promise<BatchResponse> {
  const failed: string[] = [];
  const blockedGroups = new Set<string>();
  for (const record of records) {
    if (record.groupId !== undefined && blockedGroups.has(record.groupId)) {
      failed.push(record.messageId);
      continue;
    }
    try {
      await handle(record);
    } catch (error) {
      onFailure({ messageId: record.messageId, error });
      failed.push(record.messageId);
      if (record.groupId !== undefined) blockedGroups.add(record.groupId);
    }
  }
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

/**
 * One receive-process-acknowledge round outside Lambda: successes are deleted, failures stay and come
 * back after the visibility timeout until the redrive policy moves them to the dead-letter queue.
 */
export async function consumeOnce(
  sqs: SQSClient,
  queueUrl: string,
  handle: (record: BatchRecord) => Promise<void>,
  options: { waitSeconds?: number; onFailure?: (failure: RecordFailure) => void } = {},
): Promise<{ received: number; failed: number }> {
  const messages: ReceivedMessage[] = await receiveMessages(sqs, queueUrl, { waitSeconds: options.waitSeconds ?? 20 });
  const { batchItemFailures } = await processBatch(messages, handle, options.onFailure);
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  for (const m of messages) if (!failed.has(m.messageId)) await deleteMessage(sqs, queueUrl, m.receiptHandle);
  return { received: messages.length, failed: failed.size };
}
