/**
 * finalize: settle the worker's own task once its challenge window is over.
 *
 * A job that arrives early (SQS FIFO queues take no per-message delay, so the dispatcher's delay
 * may be missing or capped) throws FinalizeNotYetError; the loop then hides the message until the
 * window ends (one extra receive, well under maxReceiveCount) instead of the usual retry backoff.
 */
import type { Job } from '../../../shared/schemas/jobs';
import { mine, TASK_STATUS } from '../../../shared/market/tasks';
import { settleOwnTransactions } from '../chain';
import type { JobResult, WorkerContext } from '../context';
import { withdrawCredit } from '../credits';

type FinalizeJob = Extract<Job, { kind: 'finalize' }>;

export class FinalizeNotYetError extends Error {
  override name = 'FinalizeNotYetError';
  constructor(readonly taskId: bigint, readonly windowEnd: bigint, readonly now: bigint) {
    super(`task ${taskId}: the challenge window ends at ${windowEnd}, chain time is ${now}; the job comes back when it is over`);
  }

  /** Seconds until the window is over, plus one block's slack. */
  get retryAfterSeconds(): number {
    return Number(this.windowEnd - this.now) + 2;
  }
}

/** Finalizes when the task is Committed, its window over and no game pending; otherwise says why not. */
export async function finalizeIfDue(ctx: WorkerContext, taskId: bigint): Promise<JobResult> {
  await settleOwnTransactions(ctx.chain);
  const { market, provider } = ctx.chain;
  const task = await market.getTask(taskId);
  const status = TASK_STATUS[Number(task.status)];
  if (status !== 'Committed') return { state: 'skipped', reason: `task is ${status}` };
  // A provider that wins the game finalizes from its dispute job; holding this one would block the task's group.
  if (task.pendingGames > 0n) return { state: 'skipped', reason: `${task.pendingGames} game(s) pending: finalized after the provider wins` };
  const now = BigInt((await provider.getBlock('latest'))!.timestamp);
  if (now < task.deadline) throw new FinalizeNotYetError(taskId, task.deadline, now);
  await mine(market.finalize(taskId));
  const withdrawn = await withdrawCredit(ctx);
  return { state: 'finalized', withdrawn: withdrawn.toString() };
}

export function runFinalize(ctx: WorkerContext, job: FinalizeJob): Promise<JobResult> {
  return finalizeIfDue(ctx, BigInt(job.taskId));
}
