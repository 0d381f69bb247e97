/** Lambda's side of the SQS event source mapping, over the local SQS server: receive, invoke, delete what succeeded. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { deleteMessage, receiveMessages, type ReceivedMessage } from '../../shared/aws/sqs';
import { sqsEventOf as stackSqsEventOf } from '../../shared/stack/eventSources';

/** The Lambda SQS event of these messages, as the local stack's event sources build it. */
export function sqsEventOf(messages: ReceivedMessage[], queueUrl: string): SQSEvent {
  return stackSqsEventOf(`arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`, messages);
}

/** Every message now on the queue, deleted as received (FIFO groups unblock as they go). */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<ReceivedMessage[]> {
  const all: ReceivedMessage[] = [];
  for (;;) {
    const batch = await receiveMessages(sqs, queueUrl, { waitSeconds: 0 });
    if (batch.length === 0) return all;
    for (const m of batch) await deleteMessage(sqs, queueUrl, m.receiptHandle);
    all.push(...batch);
  }
}

/** Invokes `handler` with batches from the queue until it is empty; returns the records reported failed. */
export async function runSqsLambda(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent) => Promise<SQSBatchResponse>,
): Promise<{ invocations: number; records: number; failed: string[] }> {
  const failed: string[] = [];
  let invocations = 0;
  let records = 0;
  for (;;) {
    const batch = await receiveMessages(sqs, queueUrl, { waitSeconds: 0 });
    if (batch.length === 0) return { invocations, records, failed };
    invocations++;
    records += batch.length;
    const { batchItemFailures } = await handler(sqsEventOf(batch, queueUrl));
    const bad = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    failed.push(...bad);
    for (const m of batch) if (!bad.has(m.messageId)) await deleteMessage(sqs, queueUrl, m.receiptHandle);
    if (bad.size > 0) return { invocations, records, failed };
  }
}
