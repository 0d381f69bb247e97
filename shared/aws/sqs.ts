/**
 * SQS queues: creation with a dead-letter queue and redrive policy (local setup; serverless.yml does it on
 * AWS), batched FIFO sends with group and deduplication ids, long-poll receive, delete, visibility changes.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { SqsBatchSendError, SqsRequestError } from './errors';

async function call<T>(operation: string, queue: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new SqsRequestError(operation, queue, e);
  }
}

export interface QueueSpec {
  /** Without ".fifo"; FIFO queues get the suffix. */
  name: string;
  fifo: boolean;
  visibilityTimeoutSeconds: number;
  /** Receives after which a message moves to the dead-letter queue. */
  maxReceiveCount: number;
}

export interface QueuePair {
  url: string;
  dlqUrl: string;
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await call('GetQueueAttributes', url, () => sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })));
  return out.Attributes!.QueueArn!;
}

/** Creates (or finds) a queue and its dead-letter queue, wired with a redrive policy. */
export async function createQueueWithDlq(sqs: SQSClient, spec: QueueSpec): Promise<QueuePair> {
  const suffix = spec.fifo ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = spec.fifo ? { FifoQueue: 'true' } : {};
  const dlqName = `${spec.name}-dlq${suffix}`;
  const dlq = await call('CreateQueue', dlqName, () =>
    sqs.send(new CreateQueueCommand({ QueueName: dlqName, Attributes: { ...fifoAttributes, MessageRetentionPeriod: '1209600' } })),
  );
  const dlqUrl = dlq.QueueUrl!;
  const name = `${spec.name}${suffix}`;
  const main = await call('CreateQueue', name, async () =>
    sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          ...fifoAttributes,
          VisibilityTimeout: String(spec.visibilityTimeoutSeconds),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(sqs, dlqUrl), maxReceiveCount: spec.maxReceiveCount }),
        },
      }),
    ),
  );
  return { url: main.QueueUrl!, dlqUrl };
}

export interface OutgoingMessage {
  body: string;
  /** FIFO: messages of one group are delivered in order, one batch at a time. */
  groupId?: string;
  /** FIFO: a second send with the same id within 5 minutes is dropped by SQS. */
  deduplicationId?: string;
  /** Standard queues only (0..900): SQS refuses a per-message delay on a FIFO queue. */
  delaySeconds?: number;
}

const MAX_BATCH = 10;

/** Sends in batches of ten; any entry the server refuses fails the call with its index and reason. */
export async function sendMessages(sqs: SQSClient, queueUrl: string, messages: OutgoingMessage[]): Promise<void> {
  for (let start = 0; start < messages.length; start += MAX_BATCH) {
    const batch = messages.slice(start, start + MAX_BATCH);
    const out = await call('SendMessageBatch', queueUrl, () =>
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((m, i) => ({
            Id: String(start + i),
            MessageBody: m.body,
            MessageGroupId: m.groupId,
            MessageDeduplicationId: m.deduplicationId,
            DelaySeconds: m.delaySeconds,
          })),
        }),
      ),
    );
    if (out.Failed && out.Failed.length > 0) {
      throw new SqsBatchSendError(queueUrl, out.Failed.map((f) => ({ id: f.Id ?? '?', code: f.Code ?? '?', message: f.Message ?? '' })));
    }
  }
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  receiveCount: number;
  /** FIFO queues only. */
  groupId?: string;
}

/** Long-polls up to `waitSeconds` for at most `max` messages (1..10). */
export async function receiveMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: { max?: number; waitSeconds?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<ReceivedMessage[]> {
  const out = await call('ReceiveMessage', queueUrl, () =>
    sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.max ?? 10,
        WaitTimeSeconds: options.waitSeconds ?? 20,
        VisibilityTimeout: options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId'],
        // The older name of the same request; local SQS servers (local-aws-sqs) read only this one.
        AttributeNames: ['All'],
      }),
    ),
  );
  return (out.Messages ?? []).map((m: Message) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
    groupId: m.Attributes?.MessageGroupId,
  }));
}

export async function deleteMessage(sqs: SQSClient, queueUrl: string, receiptHandle: string): Promise<void> {
  await call('DeleteMessage', queueUrl, () => sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle })));
}

/** Extends (long job) or ends (0: redeliver now) a received message's invisibility. */
export async function changeVisibility(sqs: SQSClient, queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await call('ChangeMessageVisibility', queueUrl, () =>
    sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds })),
  );
}
