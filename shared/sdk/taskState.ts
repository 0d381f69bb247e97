/**
 * A task as a requester follows it: one snapshot of chain state (status, who serves it, the window
 * or deadline countdown in chain time, the committed output, every challenge and its game), and a
 * polling watch that reports each snapshot until the task is final.
 */
import { boundOutput } from '../market/output';
import { decodeMarketError } from '../market/errors';
import { TASK_STATUS, type TaskStatusName } from '../market/tasks';
import type { OpmlApiClient, TaskDetail } from './apiClient';
import { chainNow, type OpmlContext } from './context';
import { readChallenges, type ChallengeState } from './disputes';
import { TaskNotFoundError, WaitTimeoutError } from './errors';

export const FINAL_STATUSES: readonly TaskStatusName[] = ['Finalized', 'Refuted', 'Expired'];

export interface TaskSnapshot {
  taskId: bigint;
  status: TaskStatusName;
  requester: string;
  provider: string | null;
  modelId: bigint;
  bounty: bigint;
  fee: bigint;
  collateral: bigint;
  challengeWindow: bigint;
  inputRoot: string;
  /** Chain time of this snapshot. */
  now: bigint;
  /** Open/Claimed: the deadline to claim and commit. Committed: the end of the challenge window. */
  until: bigint;
  /** until - now, never negative. */
  secondsLeft: bigint;
  outputRoot: string | null;
  /** The committed output tensor's bytes (from the TaskCommitted event), only when their tensor root is outputRoot. */
  output: string | null;
  challenges: ChallengeState[];
}

const ZERO_ROOT = '0x' + '00'.repeat(32);

/** The task's state now, read from the chain. */
export async function readTask(ctx: OpmlContext, taskId: bigint): Promise<TaskSnapshot> {
  const { market } = ctx.contracts;
  const [t, now] = await Promise.all([
    market.getTask(taskId).catch((e) => {
      throw decodeMarketError(e)?.name === 'MarketTaskUnknown' ? new TaskNotFoundError(taskId) : e;
    }),
    chainNow(ctx.provider),
  ]);
  const status = TASK_STATUS[Number(t.status)];
  if (status === 'None') throw new TaskNotFoundError(taskId);
  const committed = t.outputRoot !== ZERO_ROOT ? await market.queryFilter(market.filters.TaskCommitted(taskId), 0, 'latest') : [];
  const until = BigInt(t.deadline);
  return {
    taskId,
    status,
    requester: t.requester,
    provider: t.provider === '0x0000000000000000000000000000000000000000' ? null : t.provider,
    modelId: BigInt(t.modelId),
    bounty: t.bounty,
    fee: BigInt(t.fee),
    collateral: t.collateral,
    challengeWindow: BigInt(t.challengeWindow),
    inputRoot: t.inputRoot,
    now,
    until,
    secondsLeft: until > now ? until - now : 0n,
    outputRoot: t.outputRoot === ZERO_ROOT ? null : t.outputRoot,
    output: boundOutput(committed.at(-1)?.args.output, t.outputRoot === ZERO_ROOT ? null : t.outputRoot),
    challenges: await readChallenges(ctx, taskId, Number(t.challengeCount)),
  };
}

export interface WatchOptions {
  /** Called with every snapshot (each poll), so a display can count the window down. */
  onProgress?: (snapshot: TaskSnapshot) => void;
  pollMs?: number;
  /** Give up (WaitTimeoutError) after this long; unbounded when absent. */
  timeoutMs?: number;
  /** Stop early when this returns true (e.g. on Committed, for callers that only need the output). */
  until?: (snapshot: TaskSnapshot) => boolean;
  signal?: AbortSignal;
}

/** Polls the task until it is Finalized, Refuted or Expired (or `until` holds); returns the last snapshot. */
export async function waitForResult(ctx: OpmlContext, taskId: bigint, options: WatchOptions = {}): Promise<TaskSnapshot> {
  const started = Date.now();
  const pollMs = options.pollMs ?? 1_000;
  for (;;) {
    const snapshot = await readTask(ctx, taskId);
    options.onProgress?.(snapshot);
    if (FINAL_STATUSES.includes(snapshot.status) || options.until?.(snapshot)) return snapshot;
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw new WaitTimeoutError(taskId, snapshot.status, Date.now() - started);
    if (options.signal?.aborted) throw options.signal.reason;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface ApiWatchOptions {
  onProgress?: (detail: TaskDetail) => void;
  pollMs?: number;
  timeoutMs?: number;
  until?: (detail: TaskDetail) => boolean;
}

/**
 * The same wait through GET /tasks/{id} (for clients without an RPC endpoint): the API reads the
 * status from the chain and the output from the TaskCommitted log, so this sees what readTask sees.
 */
export async function waitForResultViaApi(api: OpmlApiClient, taskId: bigint, options: ApiWatchOptions = {}): Promise<TaskDetail> {
  const started = Date.now();
  for (;;) {
    const detail = await api.getTask(taskId);
    options.onProgress?.(detail);
    if ((FINAL_STATUSES as readonly string[]).includes(detail.status) || options.until?.(detail)) return detail;
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw new WaitTimeoutError(taskId, detail.status, Date.now() - started);
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1_000));
  }
}
