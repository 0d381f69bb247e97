/**
 * dispute: play this worker's moves in a game while it is its turn, wait a few seconds for the
 * other side, then acknowledge; the next game event brings another job. The provider plays with
 * the tensors it committed, the challenger with those it recomputed (both kept on disk by task,
 * recomputed when lost: a provider then checks they still give the committed roots).
 */
import { getAddress } from 'ethers';
import type { Job } from '../../../shared/schemas/jobs';
import { Player, type Role } from '../../../shared/dispute/player';
import { PHASES } from '../../../shared/dispute/spec';
import { GameOutcome } from '../../../shared/market/tasks';
import type { PreparedModel } from '../../../shared/models/registration';
import { settleOwnTransactions } from '../chain';
import type { JobResult, Progress, WorkerContext } from '../context';
import { withdrawCredit } from '../credits';
import { commitmentOf, forgeSlots, sameCommitment, slotTensors } from '../slots';
import { fetchTaskInput } from '../taskInputs';
import { finalizeIfDue } from './finalize';

type DisputeJob = Extract<Job, { kind: 'dispute' }>;

/** More moves than any game has (graph and VM bisections are logarithmic): a guard against a loop. */
const MAX_MOVES_PER_JOB = 1_000;
const POLL_MS = 500;

export class ClaimedTensorsLostError extends Error {
  override name = 'ClaimedTensorsLostError';
  constructor(readonly taskId: bigint) {
    super(
      `task ${taskId}: the slot tensors this provider committed are gone from the cache and recomputing does not give the committed roots ` +
        '(was OPML_WORKER_FORGE or the backend changed?); the game cannot be defended',
    );
  }
}

async function tensorsFor(ctx: WorkerContext, role: Role, prepared: PreparedModel, taskId: bigint): Promise<Uint8Array[]> {
  const stored = await ctx.slots.load(taskId);
  if (stored) return stored;
  const task = await ctx.chain.market.getTask(taskId);
  const honest = slotTensors(prepared, await fetchTaskInput(ctx, prepared, taskId, task.inputRoot), ctx.backend, Number(task.steps), taskId);
  const slots = role === 'provider' && ctx.forge ? forgeSlots(prepared, honest) : honest;
  if (role === 'provider' && !sameCommitment(commitmentOf(prepared, slots), task)) throw new ClaimedTensorsLostError(taskId);
  await ctx.slots.save(taskId, slots.tensors);
  return slots.tensors;
}

export async function runDispute(ctx: WorkerContext, job: DisputeJob, progress: Progress): Promise<JobResult> {
  const gameId = BigInt(job.gameId);
  const game = await ctx.chain.game();
  await settleOwnTransactions(ctx.chain);
  const g = await game.getGame(gameId);
  const role: Role | undefined =
    getAddress(g.provider) === ctx.chain.address ? 'provider' : getAddress(g.challenger) === ctx.chain.address ? 'challenger' : undefined;
  if (!role) return { state: 'skipped', reason: `game ${gameId} is between ${g.provider} and ${g.challenger}` };

  const key = `${await game.getAddress()}:${gameId}`;
  let player = ctx.players.get(key);
  if (!player && PHASES[Number(g.phase)] !== 'Resolved') {
    const prepared = await ctx.models.get(g.modelId);
    player = new Player(role, game, ctx.chain.wallet, gameId, prepared.graph, await tensorsFor(ctx, role, prepared, g.taskId));
    ctx.players.set(key, player);
  }
  let moves = 0;
  let waitUntil = Date.now() + ctx.disputeWaitMs;
  while (player && moves < MAX_MOVES_PER_JOB) {
    const phase = PHASES[Number((await game.getGame(gameId)).phase)];
    const result = await player.act();
    if (result === 'resolved') break;
    if (result === 'moved' || result === 'timeout-claimed') {
      moves++;
      progress('moved', { gameId, role, phase, result });
      waitUntil = Date.now() + ctx.disputeWaitMs;
      continue;
    }
    if (Date.now() >= waitUntil) return { state: 'done', gameId, role, moves, waiting: 'for the other side' };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const end = await game.getGame(gameId);
  if (PHASES[Number(end.phase)] !== 'Resolved') return { state: 'done', gameId, role, moves };
  ctx.players.delete(key);
  const outcome = Number(end.outcome) === GameOutcome.ProviderWon ? 'ProviderWon' : 'ChallengerWon';
  // The finalize job may have been acknowledged while this game was pending: the winner finalizes here.
  const finalized = role === 'provider' && outcome === 'ProviderWon' ? await finalizeIfDue(ctx, end.taskId).catch((e: Error) => ({ state: 'skipped', reason: e.message })) : undefined;
  // The game's end credited the winner (its bond back, a reward, or the loser's bond): pull it.
  const withdrawn = finalized?.state === 'finalized' ? String((finalized as JobResult).withdrawn) : (await withdrawCredit(ctx)).toString();
  return { state: 'done', gameId, role, moves, outcome, finalize: finalized?.state, finalizeReason: finalized?.reason, withdrawn };
}
