/**
 * The Lambda side of an SQS event source: records of an SQSEvent become BatchRecords for processBatch, and
 * the failed ones go back as `batchItemFailures` (the event source mapping must enable
 * ReportBatchItemFailures), so only they are retried and, after maxReceiveCount, dead-lettered.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { formatIssues } from '../aws/errors';
import { processBatch, type BatchRecord } from '../aws/batch';
import { logLine } from './log';

const sqsEventSchema = z.object({
  Records: z.array(
    z.object({
      messageId: z.string().min(1),
      body: z.string(),
      attributes: z.object({ MessageGroupId: z.string().optional(), ApproximateReceiveCount: z.string().optional() }).passthrough().optional(),
    }).passthrough(),
  ),
});

export class SqsEventInvalidError extends Error {
  override name = 'SqsEventInvalidError';
  constructor(reason: string) {
    super(`the function was invoked with something other than an SQS event (${reason}): check its event source mapping`);
  }
}

export function batchRecordsOf(event: unknown): BatchRecord[] {
  const parsed = sqsEventSchema.safeParse(event);
  if (!parsed.success) throw new SqsEventInvalidError(formatIssues(parsed.error.issues));
  return parsed.data.Records.map((r) => ({ messageId: r.messageId, body: r.body, groupId: r.attributes?.MessageGroupId }));
}

/** Runs `handle` over the event's records; each failure is logged with its message id and reported. */
export async function handleSqsEvent(event: SQSEvent | unknown, handle: (record: BatchRecord) => Promise<void>, consumer: string): Promise<SQSBatchResponse> {
  return processBatch(batchRecordsOf(event), handle, ({ messageId, error }) =>
    logLine('record-failed', { consumer, messageId, error: error instanceof Error ? { name: error.name, message: error.message } : String(error) }),
  );
}
