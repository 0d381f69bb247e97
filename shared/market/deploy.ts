/**
 * Deploys the whole market (token unless one is given, staking, registry, task market, and optionally
 * the real dispute game with its one-step verifier, or the test dispute game) and wires the roles.
 * Used by tests, the gas bench, `npm run deploy` and `npm start`.
 */
import { type Signer } from 'ethers';
import { z } from 'zod';
import {
  MarketToken__factory,
  ModelRegistry__factory,
  Staking__factory,
  TaskMarket__factory,
  TestDisputeGame__factory,
  type DisputeGame,
  type MarketToken,
  type ModelRegistry,
  type Staking,
  type TaskMarket,
  type TestDisputeGame,
} from '../../build/types';
import { addressSchema, amountSchema } from './schemas';
import { deployDisputeGame } from '../dispute/deploy';
import { checkDisputeContracts, type DisputeContractsInfo } from '../dispute/trust';

const ONE_TOKEN = 10n ** 18n;

export const deployMarketOptionsSchema = z
  .object({
    /** An existing ERC-20 (with EIP-2612 permit for createTaskWithPermit); a MarketToken is deployed when absent. */
    token: addressSchema.optional(),
    tokenName: z.string().min(1).default('opML Market Token'),
    tokenSymbol: z.string().min(1).default('OPML'),
    /** Receives every admin, governor and pauser role; the deploying signer keeps none when it differs. */
    admin: addressSchema.optional(),
    /** Receives the protocol's share of slashes and forfeited bonds; the admin when absent. */
    treasury: addressSchema.optional(),
    protocolShareBps: z.number().int().min(0).max(10_000).default(2_000),
    unbondingDelaySeconds: z.number().int().min(0).max(90 * 86_400).default(7 * 86_400),
    minStake: amountSchema.default(100n * ONE_TOKEN),
    challengeBond: amountSchema.refine((v) => v > 0n, 'must be positive').default(10n * ONE_TOKEN),
    /** The dispute game factory. */
    disputeFactory: addressSchema.optional(),
    /** Deploy the test dispute game (anyone decides outcomes) as the factory: the market's own unit tests only. */
    testDisputeGame: z.boolean().default(false),
    /** Deploy the real dispute game (docs/dispute-spec.md) and its one-step verifier as the factory. */
    disputeGame: z.boolean().default(false),
    /** An existing RiscvStep verifier for the real game; a new one is deployed when absent. */
    verifier: addressSchema.optional(),
    /** Each party's chess clock in the real game. */
    disputeClockSeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
  })
  .strict()
  .refine((o) => [o.disputeFactory !== undefined, o.testDisputeGame, o.disputeGame].filter(Boolean).length <= 1, {
    message: 'give either disputeFactory or testDisputeGame or disputeGame, at most one',
    path: ['disputeFactory'],
  })
  .refine((o) => o.verifier === undefined || o.disputeGame, { message: 'verifier needs disputeGame', path: ['verifier'] });

export type DeployMarketOptions = z.input<typeof deployMarketOptionsSchema>;

export interface DeployedMarket {
  token: MarketToken;
  staking: Staking;
  registry: ModelRegistry;
  market: TaskMarket;
  /** Present when deployed with `testDisputeGame`. */
  testGame?: TestDisputeGame;
  /** Present when deployed with `disputeGame`: the game, its verifier, their versions and code hashes. */
  dispute?: DisputeContractsInfo & { contract: DisputeGame };
  /** True when the token was deployed here (the signer is then its minter, unless admin differs). */
  tokenDeployed: boolean;
  addresses: MarketAddresses;
}

export interface MarketAddresses {
  token: string;
  staking: string;
  registry: string;
  market: string;
  disputeFactory: string | null;
  treasury: string;
  admin: string;
}

/** The deployment was refused before anything was sent. */
export class DeployMarketOptionsError extends Error {
  override name = 'DeployMarketOptionsError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`invalid deployMarket options: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/** The chain cannot carry this deployment (docs/security.md, finding 7). */
export class DeployChainError extends Error {
  override name = 'DeployChainError';
  constructor(
    readonly chainId: bigint,
    message: string,
  ) {
    super(`chain ${chainId}: ${message}`);
  }
}

/** The token given cannot back the market's exact escrow (docs/security.md, finding 6). */
export class DeployTokenError extends Error {
  override name = 'DeployTokenError';
  constructor(
    readonly token: string,
    message: string,
  ) {
    super(`token ${token}: ${message}`);
  }
}

/** What the deploy stakes in a simulation to check the token delivers what it is sent. */
export const TOKEN_PROBE_AMOUNT = 10n ** 6n;

/** Chain ids of local development chains (anvil and hardhat, ganache): the only ones the test game may go to. */
export const LOCAL_CHAIN_IDS: readonly bigint[] = [31337n, 1337n];

/** Init code that runs PUSH0, TLOAD and MCOPY, then stops: it fails on a chain before Cancun. */
const CANCUN_PROBE = '0x5f5c505f5f5f5e00';

/**
 * Refuses a chain the contracts cannot run on, or one the test game (whose games anyone can
 * decide) must not reach: the contracts use Cancun's transient storage and MCOPY.
 */
export async function checkDeployChain(signer: Signer, testDisputeGame: boolean): Promise<bigint> {
  const { chainId } = await signer.provider!.getNetwork();
  if (testDisputeGame && !LOCAL_CHAIN_IDS.includes(chainId)) {
    throw new DeployChainError(chainId, `the test dispute game lets anyone decide games, so it deploys only to local chains (ids ${LOCAL_CHAIN_IDS.join(', ')}); deploy the real game instead`);
  }
  try {
    await signer.provider!.call({ data: CANCUN_PROBE });
  } catch (e) {
    throw new DeployChainError(chainId, `the chain does not run Cancun code (EIP-1153 TLOAD/TSTORE, EIP-5656 MCOPY), which the contracts use: ${(e as Error).message.split('\n')[0]}`);
  }
  return chainId;
}

/**
 * Refuses a token that delivers less than it is sent (a fee on transfer, a rebase), before the market
 * is deployed: the deployer allows the new staking contract the probe amount and simulates a stake,
 * which the contract refuses for such a token (StakingTokenShortDelivery). No token moves.
 */
export async function checkDeployToken(signer: Signer, token: MarketToken, staking: Staking): Promise<void> {
  const deployer = await signer.getAddress();
  const tokenAddress = await token.getAddress();
  const stakingAddress = await staking.getAddress();
  const balance = await token.balanceOf(deployer);
  if (balance < TOKEN_PROBE_AMOUNT) {
    throw new DeployTokenError(tokenAddress, `the deployer ${deployer} must hold at least ${TOKEN_PROBE_AMOUNT} base units so the deploy can check that the token takes no fee on transfer; it holds ${balance}`);
  }
  await send(token.approve(stakingAddress, TOKEN_PROBE_AMOUNT));
  try {
    await staking.stake.staticCall(TOKEN_PROBE_AMOUNT);
  } catch (e) {
    const reason = staking.interface.parseError((e as { data?: string }).data ?? '0x');
    if (reason?.name === 'StakingTokenShortDelivery') {
      throw new DeployTokenError(tokenAddress, `a transfer of ${reason.args[0]} delivered only ${reason.args[1]}: tokens that take a fee on transfer (or rebase) are not supported, because the market keeps exact escrow`);
    }
    throw new DeployTokenError(tokenAddress, `a simulated stake of ${TOKEN_PROBE_AMOUNT} failed, so the token could not be checked: ${(e as Error).message.split('\n')[0]}`);
  } finally {
    await send(token.approve(stakingAddress, 0n));
  }
}

async function mined<T extends { waitForDeployment(): Promise<unknown> }>(contract: Promise<T>): Promise<T> {
  const c = await contract;
  await c.waitForDeployment();
  return c;
}

async function send(tx: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}

export async function deployMarket(signer: Signer, options: DeployMarketOptions = {}): Promise<DeployedMarket> {
  const parsed = deployMarketOptionsSchema.safeParse(options);
  if (!parsed.success) throw new DeployMarketOptionsError(parsed.error.issues);
  const o = parsed.data;
  await checkDeployChain(signer, o.testDisputeGame);
  const deployer = await signer.getAddress();
  const admin = o.admin ?? deployer;
  const treasury = o.treasury ?? admin;

  const token = o.token
    ? MarketToken__factory.connect(o.token, signer)
    : await mined(new MarketToken__factory(signer).deploy(o.tokenName, o.tokenSymbol, deployer));
  const tokenAddress = await token.getAddress();
  const staking = await mined(
    new Staking__factory(signer).deploy(tokenAddress, deployer, treasury, o.protocolShareBps, o.unbondingDelaySeconds, o.minStake),
  );
  if (o.token) await checkDeployToken(signer, token, staking);
  const registry = await mined(new ModelRegistry__factory(signer).deploy());
  const market = await mined(
    new TaskMarket__factory(signer).deploy(
      tokenAddress,
      await staking.getAddress(),
      await registry.getAddress(),
      deployer,
      o.disputeFactory ?? '0x0000000000000000000000000000000000000000',
      o.challengeBond,
    ),
  );
  const marketAddress = await market.getAddress();
  await send(staking.grantRole(await staking.LOCKER_ROLE(), marketAddress));
  await send(staking.grantRole(await staking.SLASHER_ROLE(), marketAddress));

  let testGame: TestDisputeGame | undefined;
  if (o.testDisputeGame) {
    testGame = await mined(new TestDisputeGame__factory(signer).deploy(marketAddress));
    await send(market.setDisputeFactory(await testGame.getAddress()));
  }
  let dispute: DeployedMarket['dispute'];
  if (o.disputeGame) {
    const { game } = await deployDisputeGame(signer, market, { verifier: o.verifier, clockSeconds: o.disputeClockSeconds });
    // The deployment records what the players will check, so a mismatch shows here first.
    dispute = { ...(await checkDisputeContracts(game, signer.provider!)), contract: game };
  }

  if (admin !== deployer) await handOver(deployer, admin, { token: o.token ? undefined : token, staking, market });

  return {
    token,
    staking,
    registry,
    market,
    testGame,
    dispute,
    tokenDeployed: !o.token,
    addresses: {
      token: tokenAddress,
      staking: await staking.getAddress(),
      registry: await registry.getAddress(),
      market: marketAddress,
      disputeFactory: testGame ? await testGame.getAddress() : (dispute?.game ?? o.disputeFactory ?? null),
      treasury,
      admin,
    },
  };
}

/** Grants the deployer's roles to `admin`, then renounces them (the admin role last). */
async function handOver(deployer: string, admin: string, c: { token?: MarketToken; staking: Staking; market: TaskMarket }): Promise<void> {
  const plans: Array<{ contract: MarketToken | Staking | TaskMarket; roles: string[] }> = [
    { contract: c.staking, roles: [await c.staking.GOVERNOR_ROLE()] },
    { contract: c.market, roles: [await c.market.GOVERNOR_ROLE(), await c.market.PAUSER_ROLE()] },
  ];
  if (c.token) plans.push({ contract: c.token, roles: [await c.token.MINTER_ROLE()] });
  for (const { contract, roles } of plans) {
    const all = [...roles, await contract.DEFAULT_ADMIN_ROLE()];
    for (const role of all) await send(contract.grantRole(role, admin));
    for (const role of all) await send(contract.renounceRole(role, deployer));
  }
}
