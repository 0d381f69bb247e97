/**
 * The worker's environment (docs/service-spec.md section 5): its own OPML_WORKER_* variables on top
 * of the service env (RPC, contracts, buckets, AWS, IPFS) the functions read, validated once at
 * start so a missing or malformed variable stops the process with its name.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../../shared/aws/errors';
import { serviceEnvSchema } from '../../shared/service/config';
import { DEFAULT_CLAIM_POLICY } from './claimPolicy';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .default('0')
  .transform((v) => v === '1' || v === 'true');

/** Points where a test can freeze the worker to kill it there (never set in production). */
export const TEST_PAUSE_POINTS = ['claim', 'commit', 'challenge'] as const;
export type TestPausePoint = (typeof TEST_PAUSE_POINTS)[number];

export const workerEnvSchema = serviceEnvSchema
  // The views bucket belongs to the functions; a worker never reads or writes it.
  .partial({ OPML_VIEWS_BUCKET: true })
  .extend({
    OPML_WORKER_KEY: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte private key'),
    OPML_WORKER_ROLE: z.enum(['provider', 'challenger']),
    OPML_WORKER_QUEUE_URL: z.string().url(),
    /** Native executor backend: 'wasm' (guest kernels compiled to WebAssembly) or 'ts' (reference kernels). */
    OPML_WORKER_BACKEND: z.enum(['wasm', 'ts']).optional(),
    OPML_WORKER_CACHE_DIR: z.string().min(1).default(join(tmpdir(), 'opml-worker-cache')),
    OPML_WORKER_VISIBILITY_SECONDS: z.coerce.number().int().min(3).max(43_200).default(60),
    /** Long-poll wait per receive (SQS allows up to 20). */
    OPML_WORKER_WAIT_SECONDS: z.coerce.number().int().min(0).max(20).default(20),
    /** Bytes of model weights the cache folder may hold; least recently used models are evicted past it. */
    OPML_WORKER_CACHE_BYTES: z.coerce.number().int().min(1 << 20).default(20 * 2 ** 30),
    /** Prepared models kept in memory (their dispute graphs; weights are read from the cache files by offset). */
    OPML_WORKER_MODEL_CACHE_SIZE: z.coerce.number().int().min(1).default(4),
    /** How long a dispute job waits for the other side's move before acknowledging. */
    OPML_WORKER_DISPUTE_WAIT_SECONDS: z.coerce.number().int().min(0).max(600).default(5),
    /** Touched on every poll; the image's HEALTHCHECK reads its age. */
    OPML_WORKER_HEALTH_FILE: z.string().min(1).default(join(tmpdir(), 'opml-worker.alive')),
    /** Claim policy (./claimPolicy.ts): the most collateral per unit of bounty a claimed task may risk. */
    OPML_WORKER_MAX_COLLATERAL_PER_BOUNTY: z.coerce.number().positive().default(DEFAULT_CLAIM_POLICY.maxCollateralPerBounty),
    /** Seconds from claim to commit mined this worker expects for a task. */
    OPML_WORKER_EXPECTED_COMPUTE_SECONDS: z.coerce.number().nonnegative().default(DEFAULT_CLAIM_POLICY.expectedComputeSeconds),
    /** Seconds of slack kept before a task's deadline on top of the expected compute time. */
    OPML_WORKER_DEADLINE_MARGIN_SECONDS: z.coerce.number().nonnegative().default(DEFAULT_CLAIM_POLICY.deadlineMarginSeconds),
    /**
     * The market pays by credit; the worker withdraws its credit to its wallet once it holds at least this
     * much (base units, decimal). 1 withdraws after every paying job; a higher value batches them.
     */
    OPML_WORKER_WITHDRAW_MIN_CREDIT: z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive decimal integer (base units)')
      .default('1')
      .transform((v) => BigInt(v)),
    /** Commit a wrong output: demo and tests of slashing only. */
    OPML_WORKER_FORGE: flag,
    /** Tests only: sleep this long right after the named transaction is mined, so the test can SIGKILL the worker there. */
    OPML_WORKER_TEST_PAUSE_AFTER: z.enum(TEST_PAUSE_POINTS).optional(),
    OPML_WORKER_TEST_PAUSE_MS: z.coerce.number().int().nonnegative().default(60_000),
  });
export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export class WorkerConfigError extends Error {
  override name = 'WorkerConfigError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`the worker environment is invalid (see worker-image/README.md): ${formatIssues(issues)}`);
  }
}

export function parseWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const parsed = workerEnvSchema.safeParse(env);
  if (!parsed.success) throw new WorkerConfigError(parsed.error.issues);
  return parsed.data;
}
