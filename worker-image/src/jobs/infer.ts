/**
 * infer: claim an open task, run the model on its input, commit. Every decision is read from the
 * chain after the worker's own transactions are mined, so a redelivered job (after a crash between
 * claim and commit, or after the commit) continues where the last run stopped and never sends a
 * second claim or commit.
 */
import { getAddress } from 'ethers';
import type { Job } from '../../../shared/schemas/jobs';
import { mine, TASK_STATUS } from '../../../shared/market/tasks';
import { settleOwnTransactions } from '../chain';
import { testPause, type JobResult, type Progress, type WorkerContext } from '../context';
import { claimRefusal } from '../claimPolicy';
import { commitmentOf, forgeSlots, slotTensors, StepsMismatchError, taskInput } from '../slots';

type InferJob = Extract<Job, { kind: 'infer' }>;

export async function runInfer(ctx: WorkerContext, job: InferJob, progress: Progress): Promise<JobResult> {
  const taskId = BigInt(job.taskId);
  const { market } = ctx.chain;
  await settleOwnTransactions(ctx.chain);
  const task = await market.getTask(taskId);
  const status = TASK_STATUS[Number(task.status)];
  const claimedByMe = status === 'Claimed' && getAddress(task.provider) === ctx.chain.address;
  if (status !== 'Open' && !claimedByMe) {
    return { state: 'skipped', reason: `task is ${status}${status === 'Claimed' ? ' by another provider' : ''}` };
  }
  // The claim policy first (it needs no download), and again once the inputs are here.
  const refusal = status === 'Open' ? claimRefusal(ctx.claimPolicy, task, BigInt((await ctx.chain.provider.getBlock('latest'))!.timestamp)) : undefined;
  if (refusal) return { state: 'skipped', reason: `not claimed: ${refusal}` };
  // Everything needed to commit is fetched and checked before claiming: a claim that cannot be
  // followed by a commit would cost the collateral at expiry.
  const prepared = await ctx.models.get(task.modelId);
  if (!prepared.model.spec.generation && task.steps !== 1n) return { state: 'skipped', reason: `not claimed: ${new StepsMismatchError(taskId, Number(task.steps), prepared.model.spec.name).message}` };
  const input = taskInput(prepared, taskId, await ctx.blobs.get(job.inputCid), task.inputRoot);
  const now = (await ctx.chain.provider.getBlock('latest'))!.timestamp;
  if (BigInt(now) >= task.deadline) return { state: 'skipped', reason: `task ${status} past its deadline: it can only expire` };
  if (status === 'Open') {
    const late = claimRefusal(ctx.claimPolicy, task, BigInt(now));
    if (late) return { state: 'skipped', reason: `not claimed: ${late}` };
    await mine(market.claim(taskId));
    progress('claimed');
    await testPause(ctx, 'claim', progress);
  }
  const computeStarted = performance.now();
  const honest = slotTensors(prepared, input, ctx.backend, Number(task.steps), taskId);
  const inferMs = performance.now() - computeStarted;
  const slots = ctx.forge ? forgeSlots(prepared, honest) : honest;
  const commitment = commitmentOf(prepared, slots);
  const computeMs = performance.now() - computeStarted;
  progress('computed', {
    inferMs: Math.round(inferMs * 1000) / 1000,
    computeMs: Math.round(computeMs * 1000) / 1000,
    ...(ctx.forge ? { forged: true, warning: `OPML_WORKER_FORGE=1: committing a WRONG output for task ${taskId} (slashing demo/test only)` } : {}),
  });
  // Kept before the commit: a dispute over this task must be played with exactly these tensors.
  await ctx.slots.save(taskId, slots.tensors);
  await mine(market.commit(taskId, commitment.outputRoot, commitment.graphStateRoot, commitment.output));
  await testPause(ctx, 'commit', progress);
  return { state: 'committed', outputRoot: commitment.outputRoot, graphStateRoot: commitment.graphStateRoot, inferMs, computeMs };
}
