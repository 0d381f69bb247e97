/** What every job handler gets: the chain, the caches, the worker's settings and a progress logger. */
import type { Player } from '../../shared/dispute/player';
import type { BlobStore } from '../../shared/blobs/blobStore';
import type { Backend } from '../../shared/dnn/executor';
import type { WorkerChain } from './chain';
import type { ClaimPolicy } from './claimPolicy';
import type { TestPausePoint } from './config';
import type { JobState } from './log';
import type { ModelCache } from './modelCache';
import type { SlotStore } from './slots';

export interface WorkerContext {
  role: 'provider' | 'challenger';
  chain: WorkerChain;
  models: ModelCache;
  /** Task inputs by CID (S3, then IPFS, content-checked). */
  blobs: BlobStore;
  slots: SlotStore;
  backend: Backend;
  claimPolicy: ClaimPolicy;
  forge: boolean;
  /** Where the market's logs start (TaskCreated lookups). */
  startBlock: number;
  disputeWaitMs: number;
  /** The least credit (base units) worth a withdrawal transaction; see ./credits.ts. */
  withdrawMinCredit: bigint;
  /** Players of games still running, so their VM runs are reused across dispute jobs. */
  players: Map<string, Player>;
  testPause?: { after: TestPausePoint; ms: number };
}

/** A handler reports intermediate states (claimed, computed...) through this; the loop logs them. */
export type Progress = (state: JobState, fields?: Record<string, unknown>) => void;

/** The final state of a handled job and what to log with it. */
export interface JobResult {
  state: JobState;
  [detail: string]: unknown;
}

export async function testPause(ctx: WorkerContext, point: TestPausePoint, progress: Progress): Promise<void> {
  if (ctx.testPause?.after !== point) return;
  progress('deferred', { testPause: point, pauseMs: ctx.testPause.ms });
  await new Promise((r) => setTimeout(r, ctx.testPause!.ms));
}
