/**
 * The queue loop: one message at a time, long-polled. A job's message is deleted only after the job
 * is done (its transaction mined or found unnecessary); while it runs its visibility is extended
 * every visibility/3 seconds; a failed job is left in the queue to come back (after a short backoff),
 * and after maxReceiveCount receives SQS moves it to the dead-letter queue. A message that is not a
 * job is released at once so it reaches the dead-letter queue without delaying its group.
 * Outages of SQS (or of S3 and the RPC node, which fail jobs) never end the loop: it backs off and retries.
 */
import { utimes, writeFile } from 'node:fs/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { changeVisibility, deleteMessage, receiveMessages, type ReceivedMessage } from '../../shared/aws/sqs';
import { formatIssues } from '../../shared/aws/errors';
import { jobSchema, type Job } from '../../shared/schemas/jobs';
import type { JobResult, Progress } from './context';
import { logJob, type JobState, type Logger } from './log';

export interface LoopOptions {
  sqs: SQSClient;
  queueUrl: string;
  visibilitySeconds: number;
  waitSeconds: number;
  handle(job: Job, progress: Progress): Promise<JobResult>;
  log: Logger;
  /** Aborting stops receiving; the job in hand is finished first. */
  signal: AbortSignal;
  /** Touched on every poll so a container health check can tell a live loop from a stuck one. */
  healthFile?: string;
  /** Called once, when the first receive is under way. */
  onReady?(): void;
}

const MAX_BACKOFF_MS = 30_000;

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Seconds a failed job stays hidden: growing with its receives, never past the queue's visibility. */
export function retryDelaySeconds(receiveCount: number, visibilitySeconds: number): number {
  return Math.min(visibilitySeconds, 2 ** Math.min(receiveCount, 10));
}

async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now).catch(() => writeFile(file, ''));
}

export async function runLoop(o: LoopOptions): Promise<void> {
  let backoffMs = 500;
  let ready = false;
  const stopped = new Promise<ReceivedMessage[]>((r) => o.signal.addEventListener('abort', () => r([]), { once: true }));
  while (!o.signal.aborted) {
    if (o.healthFile) await touch(o.healthFile).catch(() => {});
    let messages: ReceivedMessage[];
    try {
      const receiving = receiveMessages(o.sqs, o.queueUrl, { max: 1, waitSeconds: o.waitSeconds, visibilityTimeoutSeconds: o.visibilitySeconds });
      if (!ready) {
        ready = true;
        o.onReady?.();
      }
      // A shutdown does not wait out a long poll; a message that poll still returns comes back after its visibility.
      messages = await Promise.race([receiving, stopped]);
      receiving.catch(() => {});
      backoffMs = 500;
    } catch (e) {
      o.log('queue-unavailable', { queueUrl: o.queueUrl, error: (e as Error).message, retryInMs: backoffMs });
      await sleep(backoffMs, o.signal);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      continue;
    }
    for (const m of messages) await processMessage(o, m);
  }
  o.log('stopped', { queueUrl: o.queueUrl });
}

async function processMessage(o: LoopOptions, m: ReceivedMessage): Promise<void> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const base = { messageId: m.messageId, receiveCount: m.receiveCount };
  const job = parseJob(m.body);
  if (!job.ok) {
    logJob(o.log, { kind: 'unknown', state: 'invalid', ms: ms(), ...base, reason: job.reason });
    await changeVisibility(o.sqs, o.queueUrl, m.receiptHandle, 0).catch((e: Error) => o.log('visibility-failed', { ...base, error: e.message }));
    return;
  }
  const line = (state: JobState, fields: Record<string, unknown> = {}) =>
    logJob(o.log, { kind: job.job.kind, taskId: 'taskId' in job.job ? job.job.taskId : undefined, state, ms: ms(), ...base, ...fields });
  line('received');
  const heartbeat = setInterval(() => {
    void changeVisibility(o.sqs, o.queueUrl, m.receiptHandle, o.visibilitySeconds).catch((e: Error) => o.log('heartbeat-failed', { ...base, error: e.message }));
    // A long job (a dispute) is alive too: the health check must not restart the container under it.
    if (o.healthFile) void touch(o.healthFile).catch(() => {});
  }, (o.visibilitySeconds * 1000) / 3);
  try {
    const { state, ...fields } = await o.handle(job.job, line);
    clearInterval(heartbeat);
    await deleteWithRetry(o, m, line);
    line(state, fields);
  } catch (e) {
    clearInterval(heartbeat);
    const err = e as Error & { retryAfterSeconds?: number };
    // A typed "not yet" (FinalizeNotYetError) says when to come back; anything else backs off by receive count.
    const hideSeconds = err.name === 'FinalizeNotYetError' && err.retryAfterSeconds ? Math.min(err.retryAfterSeconds, 43_200) : retryDelaySeconds(m.receiveCount, o.visibilitySeconds);
    line(err.name === 'FinalizeNotYetError' ? 'deferred' : 'failed', { error: err.message, errorName: err.name, retryInSeconds: hideSeconds });
    await changeVisibility(o.sqs, o.queueUrl, m.receiptHandle, hideSeconds).catch(() => {});
  }
}

/** The job's effects are on chain: keep trying to delete so it is not run again (a rerun would find nothing to do, but costs time). */
async function deleteWithRetry(o: LoopOptions, m: ReceivedMessage, line: Progress): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deleteMessage(o.sqs, o.queueUrl, m.receiptHandle);
      return;
    } catch (e) {
      if (attempt >= 5) {
        line('failed', { deleteError: (e as Error).message, note: 'done but not deleted: the redelivered job will find nothing to do' });
        return;
      }
      await sleep(500 * 2 ** attempt);
    }
  }
}

function parseJob(body: string): { ok: true; job: Job } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
  const parsed = jobSchema.safeParse(json);
  return parsed.success ? { ok: true, job: parsed.data } : { ok: false, reason: formatIssues(parsed.error.issues) };
}
