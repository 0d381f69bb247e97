/**
 * The configuration every function and worker reads from its environment (docs/service-spec.md
 * section 2), validated once at cold start so a missing or malformed variable fails loudly by name.
 */
import { z } from 'zod';
import { formatIssues } from '../aws/errors';
import type { AwsConfig } from '../aws/config';
import type { IpfsConfig } from '../ipfs/store';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');
const url = z.string().url();
const int = (def: number) => z.coerce.number().int().nonnegative().default(def);

export const workerRouteSchema = z
  .object({ address, role: z.enum(['provider', 'challenger']), queueUrl: url })
  .strict();
export type WorkerRoute = z.infer<typeof workerRouteSchema>;

export const serviceEnvSchema = z.object({
  OPML_RPC_URL: url,
  OPML_MARKET: address,
  OPML_REGISTRY: address,
  OPML_STAKING: address,
  OPML_TOKEN: address,
  OPML_GAME: address.optional(),
  /** The deployment block: where the indexer starts without a cursor. */
  OPML_START_BLOCK: int(0),
  OPML_CONFIRMATIONS: int(3),
  /** Content-addressed blobs (model files, VM images, task inputs) under blobs/<cid>. */
  OPML_DATA_BUCKET: z.string().min(3),
  /** Materialized views, the indexer cursor and idempotency records. */
  OPML_VIEWS_BUCKET: z.string().min(3),
  OPML_EVENTS_VIEWS_QUEUE_URL: url.optional(),
  OPML_EVENTS_DISPATCH_QUEUE_URL: url.optional(),
  OPML_PIN_QUEUE_URL: url.optional(),
  /** JSON array of WorkerRoute: which worker queue serves which address and role. */
  OPML_WORKERS: z
    .string()
    .default('[]')
    .transform((s, ctx) => {
      try {
        return z.array(workerRouteSchema).parse(JSON.parse(s));
      } catch (e) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be a JSON array of {address, role, queueUrl}: ${(e as Error).message}` });
        return z.NEVER;
      }
    }),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  OPML_S3_ENDPOINT: url.optional(),
  OPML_SQS_ENDPOINT: url.optional(),
  /** Static keys for local servers only; on AWS the function's role is used. */
  OPML_AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  OPML_AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** "embedded" (in-process node, blocks in OPML_IPFS_PATH) or a Kubo RPC URL. */
  OPML_IPFS: z.union([z.literal('embedded'), url]).default('embedded'),
  OPML_IPFS_PATH: z.string().min(1).optional(),
  /** The built guest kernel ELF (build/guest/dnn-kernels.elf), packaged with the functions. */
  OPML_KERNEL_ELF: z.string().min(1).default('build/guest/dnn-kernels.elf'),
  OPML_MAX_INPUT_BYTES: int(1 << 20),
  /** The largest model file (a weights blob) an upload may declare: they go to S3 directly, 32 GiB by default. */
  OPML_MAX_MODEL_BYTES: int(32 * 2 ** 30),
});
export type ServiceEnv = z.infer<typeof serviceEnvSchema>;

export class ServiceConfigError extends Error {
  override name = 'ServiceConfigError';
  constructor(issues: z.ZodIssue[]) {
    super(`the service environment is invalid: ${formatIssues(issues)}`);
  }
}

export function parseServiceEnv(env: NodeJS.ProcessEnv = process.env): ServiceEnv {
  const parsed = serviceEnvSchema.safeParse(env);
  if (!parsed.success) throw new ServiceConfigError(parsed.error.issues);
  return parsed.data;
}

export function awsConfigOf(env: ServiceEnv): AwsConfig {
  return {
    region: env.AWS_REGION,
    s3Endpoint: env.OPML_S3_ENDPOINT,
    sqsEndpoint: env.OPML_SQS_ENDPOINT,
    credentials:
      env.OPML_AWS_ACCESS_KEY_ID && env.OPML_AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.OPML_AWS_ACCESS_KEY_ID, secretAccessKey: env.OPML_AWS_SECRET_ACCESS_KEY }
        : undefined,
  };
}

export function ipfsConfigOf(env: ServiceEnv): IpfsConfig {
  return env.OPML_IPFS === 'embedded' ? { kind: 'embedded', blockstorePath: env.OPML_IPFS_PATH } : { kind: 'kubo', url: env.OPML_IPFS };
}
