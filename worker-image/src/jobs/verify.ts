/**
 * verify: recompute a committed task from its input and challenge when the commitment differs.
 * The challenger keeps its own slot tensors by task for the dispute that follows.
 */
import { getAddress, MaxUint256 } from 'ethers';
import type { Job } from '../../../shared/schemas/jobs';
import { mine, TASK_STATUS } from '../../../shared/market/tasks';
import { settleOwnTransactions } from '../chain';
import { testPause, type JobResult, type Progress, type WorkerContext } from '../context';
import { commitmentOf, sameCommitment, slotTensors } from '../slots';
import { fetchTaskInput } from '../taskInputs';

type VerifyJob = Extract<Job, { kind: 'verify' }>;

export async function runVerify(ctx: WorkerContext, job: VerifyJob, progress: Progress): Promise<JobResult> {
  const taskId = BigInt(job.taskId);
  const { market, token, provider, address } = ctx.chain;
  await settleOwnTransactions(ctx.chain);
  const task = await market.getTask(taskId);
  const status = TASK_STATUS[Number(task.status)];
  if (status !== 'Committed') return { state: 'skipped', reason: `task is ${status}` };
  for (let i = 0n; i < task.challengeCount; i++) {
    if (getAddress((await market.getChallenge(taskId, i)).challenger) === address) return { state: 'skipped', reason: `already challenged (challenge ${i})` };
  }
  const now = BigInt((await provider.getBlock('latest'))!.timestamp);
  if (now >= task.deadline) return { state: 'skipped', reason: `challenge window ended at ${task.deadline}` };

  const maxGames = await market.MAX_PENDING_GAMES();
  if (task.pendingGames >= maxGames) {
    // When one of them ends the window restarts (ChallengeWindowExtended) and the dispatcher sends a new verify job.
    return { state: 'skipped', reason: `${task.pendingGames} games pending, the most a task may have: verified again when one ends` };
  }

  const prepared = await ctx.models.get(task.modelId);
  const input = await fetchTaskInput(ctx, prepared, taskId, task.inputRoot);
  const started = performance.now();
  const slots = slotTensors(prepared, input, ctx.backend, Number(task.steps), taskId);
  const ours = commitmentOf(prepared, slots);
  const computeMs = performance.now() - started;
  progress('computed', { computeMs: Math.round(computeMs * 1000) / 1000 });
  if (sameCommitment(ours, { outputRoot: task.outputRoot, graphStateRoot: task.graphStateRoot })) return { state: 'agreed', outputRoot: task.outputRoot };

  await ctx.slots.save(taskId, slots.tensors);
  const bond = await market.challengeBondOf(taskId);
  const marketAddress = await market.getAddress();
  // One unlimited approval the first time: later challenges need no approval transaction.
  if ((await token.allowance(address, marketAddress)) < bond) await mine(token.approve(marketAddress, MaxUint256));
  const receipt = await mine(market.challenge(taskId));
  let challengeIndex: bigint | undefined;
  for (const log of receipt.logs) {
    const parsed = market.interface.parseLog(log);
    if (parsed?.name === 'TaskChallenged') challengeIndex = parsed.args.challengeIndex as bigint;
  }
  const gameId = challengeIndex === undefined ? undefined : await (await ctx.chain.game()).gameIdOf(taskId, challengeIndex);
  await testPause(ctx, 'challenge', progress);
  return { state: 'challenged', challengeIndex, gameId, committedOutputRoot: task.outputRoot, myOutputRoot: ours.outputRoot };
}
