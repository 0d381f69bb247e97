/**
 * One real market on one local chain per test file: funded, approved actors and a registered model,
 * plus helpers to move time and to assert a custom revert that moved no funds.
 */
import { concat, hexlify, keccak256, toUtf8Bytes, type HDNodeWallet, type JsonRpcProvider } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployMarketOptions, type DeployedMarket } from '../../shared/market/deploy';
import { decodeMarketError } from '../../shared/market/errors';
import { mine, taskIdOf, type TaskRequest } from '../../shared/market/tasks';
import { merkleRootOfBytes } from '../../shared/vm/merkle';

export const TOKEN = 10n ** 18n;
export const MIN_STAKE = 100n * TOKEN;
export const BOND = 10n * TOKEN;
export const PROTOCOL_BPS = 2_000n;
export const UNBONDING_DELAY = 86_400;
export const MODEL_FEE = 2n * TOKEN;

export const root = (label: string): string => keccak256(toUtf8Bytes(label));

/**
 * Output bytes named by `label` (40 of them, so their root takes hashing) and their tensor root
 * (docs/dnn-spec.md section 3): a pair commit accepts. Ask for fewer bytes for a one-leaf root.
 */
export function output(label: string, length = 40): { bytes: string; root: string } {
  const bytes = concat([keccak256(toUtf8Bytes(label)), keccak256(toUtf8Bytes(`${label}+`))]).slice(0, 2 + 2 * length);
  return { bytes, root: hexlify(merkleRootOfBytes(Buffer.from(bytes.slice(2), 'hex'))) };
}

export interface MarketFixture {
  chain: LocalChain;
  provider: JsonRpcProvider;
  m: DeployedMarket;
  admin: HDNodeWallet;
  treasury: HDNodeWallet;
  modelOwner: HDNodeWallet;
  /** Further funded, market-approved actors. */
  actors: HDNodeWallet[];
  modelId: bigint;
  addresses: { market: string; staking: string; game: string };
  stop(): Promise<void>;
}

/**
 * Starts a chain, deploys the market with the test game, funds `actorCount` actors and registers a model.
 * `prepare` runs on the new chain before the deploy, as the admin, and may add deploy options (a token
 * of its own, say).
 */
export async function startMarketFixture(
  actorCount: number,
  options: DeployMarketOptions = {},
  prepare?: (admin: HDNodeWallet) => Promise<DeployMarketOptions>,
): Promise<MarketFixture> {
  const chain = await startLocalChain({ accounts: actorCount + 3 });
  const [admin, treasury, modelOwner, ...actors] = chain.wallets as [HDNodeWallet, HDNodeWallet, HDNodeWallet, ...HDNodeWallet[]];
  try {
    const prepared = prepare ? await prepare(admin) : {};
    const m = await deployMarket(admin, {
      treasury: treasury.address,
      protocolShareBps: Number(PROTOCOL_BPS),
      unbondingDelaySeconds: UNBONDING_DELAY,
      minStake: MIN_STAKE,
      challengeBond: BOND,
      testDisputeGame: true,
      ...options,
      ...prepared,
    });
    const addresses = { market: await m.market.getAddress(), staking: await m.staking.getAddress(), game: await m.testGame!.getAddress() };
    for (const a of actors) {
      await mine(m.token.connect(admin).mint(a.address, 10_000n * TOKEN));
      await mine(m.token.connect(a).approve(addresses.market, 2n ** 256n - 1n));
      await mine(m.token.connect(a).approve(addresses.staking, 2n ** 256n - 1n));
    }
    const receipt = await mine(
      m.registry.connect(modelOwner).registerModel({
        graphSpecHash: root('graph'),
        weightsRoot: root('weights'),
        vmImageRoot: root('vm-image'),
        graphCid: 'bafy-graph',
        weightsCid: 'bafy-weights',
        vmImageCid: 'bafy-vm',
        fee: MODEL_FEE,
      }),
    );
    const modelId = m.registry.interface.parseLog(receipt.logs[0]!)!.args.modelId as bigint;
    return { chain, provider: chain.provider, m, admin, treasury, modelOwner, actors, modelId, addresses, stop: () => chain.stop() };
  } catch (e) {
    await chain.stop();
    throw e;
  }
}

export async function now(provider: JsonRpcProvider): Promise<bigint> {
  return BigInt((await provider.getBlock('latest'))!.timestamp);
}

/** Moves the chain's clock forward and mines a block there. */
export async function increaseTime(provider: JsonRpcProvider, seconds: number | bigint): Promise<void> {
  await provider.send('evm_increaseTime', [Number(seconds)]);
  await provider.send('evm_mine', []);
}

export async function request(f: MarketFixture, overrides: Partial<TaskRequest> = {}): Promise<TaskRequest> {
  return {
    modelId: f.modelId,
    inputRoot: root('input'),
    inputCid: 'bafy-input',
    bounty: 50n * TOKEN,
    deadline: (await now(f.provider)) + 3_600n,
    collateral: 200n * TOKEN,
    challengeWindow: 600n,
    maxModelFee: MODEL_FEE,
    consumer: '0x0000000000000000000000000000000000000000',
    callbackGasLimit: 0n,
    steps: 1n,
    ...overrides,
  };
}

export async function createTask(f: MarketFixture, requester: HDNodeWallet, overrides: Partial<TaskRequest> = {}): Promise<bigint> {
  return taskIdOf(f.m.market, await mine(f.m.market.connect(requester).createTask(await request(f, overrides))));
}

/** Stakes, creates a task, claims and commits it; returns the task id. */
export async function committedTask(f: MarketFixture, requester: HDNodeWallet, provider: HDNodeWallet, overrides: Partial<TaskRequest> = {}): Promise<bigint> {
  const taskId = await createTask(f, requester, overrides);
  await mine(f.m.market.connect(provider).claim(taskId));
  const out = output('output');
  await mine(f.m.market.connect(provider).commit(taskId, out.root, root('graph-state'), out.bytes));
  return taskId;
}

/** Every account and contract that can hold the token in these tests. */
export function holders(f: MarketFixture): string[] {
  return [f.admin.address, f.treasury.address, f.modelOwner.address, ...f.actors.map((a) => a.address), f.addresses.market, f.addresses.staking, f.addresses.game];
}

/**
 * What `account` owns in the market's token: its balance, what the market has credited it and not yet
 * paid out (payments are pulled, `withdraw`), and for the treasury the protocol share Staking owes it.
 */
export async function wealth(f: MarketFixture, account: string): Promise<bigint> {
  const [balance, credit, owed] = await Promise.all([
    f.m.token.balanceOf(account),
    f.m.market.creditOf(account),
    account === f.treasury.address ? f.m.staking.protocolShareOwed() : 0n,
  ]);
  return balance + credit + owed;
}

export async function balances(f: MarketFixture, accounts = holders(f)): Promise<bigint[]> {
  return Promise.all(accounts.map((a) => f.m.token.balanceOf(a)));
}

/**
 * Asserts that `call` reverts with the custom error `name(args)` and that no token balance and no
 * stake moved.
 */
export async function expectRevert(f: MarketFixture, call: () => Promise<unknown>, name: string, args?: unknown[]): Promise<void> {
  const stakers = [f.admin, ...f.actors].map((a) => a.address);
  const before = [await balances(f), await Promise.all(stakers.map((s) => f.m.staking.stakeOf(s))), await Promise.all(stakers.map((s) => f.m.staking.lockedOf(s)))];
  let error: unknown;
  try {
    await call();
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected a revert with ${name}, but the call succeeded`);
  const decoded = decodeMarketError(error);
  if (!decoded) throw new Error(`expected ${name}, got an error without known revert data: ${String(error)}`);
  expect(decoded.name).toBe(name);
  if (args) expect([...decoded.args]).toEqual(args);
  const after = [await balances(f), await Promise.all(stakers.map((s) => f.m.staking.stakeOf(s))), await Promise.all(stakers.map((s) => f.m.staking.lockedOf(s)))];
  expect(after).toEqual(before);
}
