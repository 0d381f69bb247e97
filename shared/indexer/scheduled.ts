/**
 * The scheduled indexer run: the Indexer of the service environment (market, registry, staking and, when
 * configured, the dispute game), publishing to the views and dispatch queues, with its cursor in the
 * views bucket. One run polls until the cursor reaches the confirmed head or its time budget is spent;
 * the next scheduled run goes on from the cursor.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { JsonRpcProvider } from 'ethers';
import { CursorStore } from './cursor';
import { Indexer, type IndexerOptions, type PollResult } from './indexer';
import type { ServiceEnv } from '../service/config';

/** Where the cursor lives in OPML_VIEWS_BUCKET. */
export const CURSOR_KEY = 'indexer/cursor.json';

/** Time left when no further round is started: a round reads up to maxBlocksPerPoll blocks and publishes them. */
export const ROUND_MARGIN_MS = 10_000;
/** A scheduled run stops starting rounds after this long, well inside a one-minute schedule. */
export const RUN_BUDGET_MS = 50_000;

export function indexerOf(env: ServiceEnv, provider: JsonRpcProvider, s3: S3Client, sqs: SQSClient, options: Omit<IndexerOptions, 'confirmations' | 'startBlock'> = {}): Indexer {
  const queues = [env.OPML_EVENTS_VIEWS_QUEUE_URL, env.OPML_EVENTS_DISPATCH_QUEUE_URL].filter((q): q is string => q !== undefined);
  return new Indexer(
    provider,
    { market: env.OPML_MARKET, registry: env.OPML_REGISTRY, staking: env.OPML_STAKING, game: env.OPML_GAME },
    new CursorStore(s3, env.OPML_VIEWS_BUCKET, CURSOR_KEY),
    sqs,
    queues,
    { ...options, confirmations: env.OPML_CONFIRMATIONS, startBlock: env.OPML_START_BLOCK },
  );
}

export interface IndexerRunSummary {
  rounds: number;
  fromBlock: number | null;
  toBlock: number | null;
  published: number;
  orphaned: number;
  /** Blocks the run rewound to after reorgs. */
  rewoundTo: number[];
  /** False when the budget ran out first. */
  caughtUp: boolean;
  ms: number;
}

/**
 * Polls until caught up, starting no round after `budgetMs` or with less than ROUND_MARGIN_MS of the
 * invocation left (`remainingMs`, Lambda's context.getRemainingTimeInMillis, when given).
 */
export async function runIndexer(indexer: Indexer, options: { budgetMs?: number; remainingMs?: () => number } = {}): Promise<IndexerRunSummary> {
  const started = Date.now();
  const budget = options.budgetMs ?? RUN_BUDGET_MS;
  let outOfTime = false;
  const hasTime = (): boolean => {
    outOfTime = Date.now() - started >= budget || (options.remainingMs !== undefined && options.remainingMs() < ROUND_MARGIN_MS);
    return !outOfTime;
  };
  const rounds: PollResult[] = await indexer.catchUp(hasTime);
  const moved = rounds.filter((r) => r.toBlock >= r.fromBlock);
  return {
    rounds: rounds.length,
    fromBlock: moved[0]?.fromBlock ?? null,
    toBlock: moved.at(-1)?.toBlock ?? null,
    published: rounds.reduce((n, r) => n + r.published, 0),
    orphaned: rounds.reduce((n, r) => n + r.orphaned, 0),
    rewoundTo: rounds.flatMap((r) => (r.rewoundTo === undefined ? [] : [r.rewoundTo])),
    caughtUp: !outOfTime,
    ms: Date.now() - started,
  };
}
