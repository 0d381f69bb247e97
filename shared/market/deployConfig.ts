/**
 * `npm run deploy` configuration from the environment, validated with zod. With no RPC_URL it targets
 * the local chain (anvil's default URL and first key). The real dispute game is deployed unless
 * DISPUTE_FACTORY names an existing one or TEST_DISPUTE_GAME=1 asks for the test game.
 */
import { z } from 'zod';
import { addressSchema, amountSchema, privateKeySchema } from './schemas';

export const LOCAL_RPC_URL = 'http://127.0.0.1:8545';
/** Anvil's first default account: public knowledge, for local chains only. */
export const ANVIL_FIRST_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const integerString = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const deployEnvSchema = z
  .object({
    RPC_URL: optional(z.string().url('must be a URL such as https://… or http://127.0.0.1:8545')),
    DEPLOYER_KEY: optional(privateKeySchema),
    TOKEN_ADDRESS: optional(addressSchema),
    ADMIN_ADDRESS: optional(addressSchema),
    TREASURY_ADDRESS: optional(addressSchema),
    DISPUTE_FACTORY: optional(addressSchema),
    TEST_DISPUTE_GAME: optional(z.enum(['0', '1'], { message: 'must be 0 or 1' })),
    VERIFIER_ADDRESS: optional(addressSchema),
    DISPUTE_CLOCK_SECONDS: optional(integerString(60, 30 * 86_400)),
    PROTOCOL_SHARE_BPS: optional(integerString(0, 10_000)),
    UNBONDING_DELAY_SECONDS: optional(integerString(0, 90 * 86_400)),
    MIN_STAKE: optional(amountSchema),
    CHALLENGE_BOND: optional(amountSchema),
  })
  .refine((e) => !(e.DISPUTE_FACTORY && e.TEST_DISPUTE_GAME === '1'), { message: 'give DISPUTE_FACTORY or TEST_DISPUTE_GAME=1, not both', path: ['TEST_DISPUTE_GAME'] })
  .refine((e) => !e.VERIFIER_ADDRESS || (!e.DISPUTE_FACTORY && e.TEST_DISPUTE_GAME !== '1'), {
    message: 'VERIFIER_ADDRESS is for a newly deployed real dispute game (not with DISPUTE_FACTORY or TEST_DISPUTE_GAME=1)',
    path: ['VERIFIER_ADDRESS'],
  })
  .refine((e) => !e.RPC_URL || e.DEPLOYER_KEY, { message: 'RPC_URL is set, so DEPLOYER_KEY is required (a 0x-prefixed 32-byte hex key)', path: ['DEPLOYER_KEY'] });

export type DeployEnv = z.infer<typeof deployEnvSchema>;

/** The environment does not describe a deployment we can make. */
export class DeployEnvError extends Error {
  override name = 'DeployEnvError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`invalid deploy environment:\n${issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
}

export interface DeployTarget {
  rpcUrl: string;
  key: string;
  /** True for the default local chain: deployments/local.json is written. */
  local: boolean;
}

export function parseDeployEnv(env: NodeJS.ProcessEnv): { target: DeployTarget; env: DeployEnv } {
  const parsed = deployEnvSchema.safeParse(env);
  if (!parsed.success) throw new DeployEnvError(parsed.error.issues);
  const e = parsed.data;
  const local = !e.RPC_URL;
  return { target: { rpcUrl: e.RPC_URL ?? LOCAL_RPC_URL, key: e.DEPLOYER_KEY ?? ANVIL_FIRST_KEY, local }, env: e };
}

/** The dispute side of a deployment: the real game unless the environment names an existing game or asks for the test game. */
export function disputeOptionsFromEnv(env: DeployEnv): {
  disputeGame: boolean;
  testDisputeGame: boolean;
  disputeFactory?: string;
  verifier?: string;
  disputeClockSeconds?: number;
} {
  const testDisputeGame = env.TEST_DISPUTE_GAME === '1';
  return {
    disputeGame: !testDisputeGame && !env.DISPUTE_FACTORY,
    testDisputeGame,
    disputeFactory: env.DISPUTE_FACTORY,
    verifier: env.VERIFIER_ADDRESS,
    disputeClockSeconds: env.DISPUTE_CLOCK_SECONDS,
  };
}
