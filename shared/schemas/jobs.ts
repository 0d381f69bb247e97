/**
 * Jobs on the worker queues (docs/service-spec.md section 3): the dispatcher writes them from indexed
 * events, workers read them. Numbers are decimal strings (uint256). Every job names the event it came
 * from, so a redelivered or re-dispatched job is recognisably the same job.
 */
import { z } from 'zod';

const uint = z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal unsigned integer');
const eventId = z.string().regex(/^0x[0-9a-f]{64}:(0|[1-9][0-9]*)$/, 'must be txHash:logIndex');

export const jobSchema = z.discriminatedUnion('kind', [
  /** Claim the task, run the model on its input, commit (provider workers). */
  z.object({ kind: z.literal('infer'), taskId: uint, modelId: uint, inputCid: z.string().min(1), eventId }).strict(),
  /** Recompute a committed task and challenge it when the commitment is wrong (challenger workers). */
  z.object({ kind: z.literal('verify'), taskId: uint, modelId: uint, provider: z.string().regex(/^0x[0-9a-fA-F]{40}$/), eventId }).strict(),
  /** Play the worker's moves in a dispute game until it is the other side's turn or the game is over. */
  z.object({ kind: z.literal('dispute'), taskId: uint, gameId: uint, eventId }).strict(),
  /** Finalize the worker's own task once its challenge window is over. */
  z.object({ kind: z.literal('finalize'), taskId: uint, windowEnd: uint, eventId }).strict(),
  /** Fetch a registered model's files, check them against the registry and pin them to S3 and IPFS (pinner). */
  z.object({ kind: z.literal('pin'), modelId: uint, eventId }).strict(),
  /**
   * Verify an uploaded (graph, weights) pair as one model package and pin it (pinner), for the API's
   * POST /models/packages: not an event, so it names the request instead.
   */
  z.object({ kind: z.literal('verify-package'), graphCid: z.string().min(1), weightsCid: z.string().min(1), requestId: z.string().min(1) }).strict(),
]);
export type Job = z.infer<typeof jobSchema>;
export type JobKind = Job['kind'];

/**
 * Jobs of one task share a FIFO group so its verify and dispute jobs run in order. A finalize job has a
 * group of its own: FIFO queues refuse per-message delays, so it waits hidden in the queue until the
 * window ends, and in the task's group it would hold back that task's dispute jobs all that time.
 */
export function jobGroupOf(job: Job): string {
  if (job.kind === 'pin') return `model-${job.modelId}`;
  if (job.kind === 'verify-package') return `package-${job.weightsCid}`;
  return job.kind === 'finalize' ? `task-${job.taskId}-finalize` : `task-${job.taskId}`;
}

/** The same event dispatched twice to the same queue is one message (SQS FIFO deduplication). */
export function jobDeduplicationIdOf(job: Job): string {
  if (job.kind === 'verify-package') return `${job.kind}:${job.requestId}`;
  return `${job.kind}:${job.eventId}`;
}
