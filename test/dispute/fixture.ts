/**
 * A real market with the real dispute game and one-step verifier on a local chain, a registered
 * synthetic model, and helpers to open a challenged task and play a game to its end.
 */
import type { HDNodeWallet, JsonRpcProvider } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { mine, taskIdOf } from '../../shared/market/tasks';
import type { DisputeGame } from '../../build/types';
import { deployDisputeGame } from '../../shared/dispute/deploy';
import { graphCommitment, graphStateAt } from '../../shared/dispute/graph';
import { Player, type ActResult, type Strategy } from '../../shared/dispute/player';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { loadElf } from '../../shared/vm/elf';
import type { DisputeGraph } from '../../shared/dispute/graph';

/** Anything carrying a dispute graph (a synthetic graph, or a model package's). */
export interface HasGraph {
  graph: DisputeGraph;
}

export const TOKEN = 10n ** 18n;
export const CLOCK = 3_600n;
export const BOND = 10n * TOKEN;
export const COLLATERAL = 200n * TOKEN;
export const BOUNTY = 50n * TOKEN;

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

export interface DisputeFixture {
  chain: LocalChain;
  provider: JsonRpcProvider;
  m: DeployedMarket;
  game: DisputeGame;
  admin: HDNodeWallet;
  requester: HDNodeWallet;
  /** Staked actors: providers and challengers. */
  actors: HDNodeWallet[];
  stop(): Promise<void>;
}

export async function startDisputeFixture(actorCount: number): Promise<DisputeFixture> {
  const chain = await startLocalChain({ accounts: actorCount + 2 });
  const [admin, requester, ...actors] = chain.wallets as [HDNodeWallet, HDNodeWallet, ...HDNodeWallet[]];
  try {
    const m = await deployMarket(admin, { challengeBond: BOND, minStake: 100n * TOKEN, unbondingDelaySeconds: 86_400 });
    const { game } = await deployDisputeGame(admin, m.market, { clockSeconds: Number(CLOCK) });
    const market = await m.market.getAddress();
    const staking = await m.staking.getAddress();
    for (const a of [requester, ...actors]) {
      await mine(m.token.connect(admin).mint(a.address, 1_000_000n * TOKEN));
      await mine(m.token.connect(a).approve(market, 2n ** 256n - 1n));
      await mine(m.token.connect(a).approve(staking, 2n ** 256n - 1n));
    }
    for (const a of actors) await mine(m.staking.connect(a).stake(500_000n * TOKEN));
    return { chain, provider: chain.provider, m, game, admin, requester, actors, stop: () => chain.stop() };
  } catch (e) {
    await chain.stop();
    throw e;
  }
}

export async function registerModel(f: DisputeFixture, s: HasGraph): Promise<bigint> {
  const receipt = await mine(
    f.m.registry.connect(f.admin).registerModel({
      graphSpecHash: graphCommitment(s.graph),
      weightsRoot: hex(s.graph.weightsTree.root()),
      vmImageRoot: hex(loadElf(s.graph.image).memory.root()),
      graphCid: 'bafy-graph',
      weightsCid: 'bafy-weights',
      vmImageCid: 'bafy-vm',
      fee: 0n,
    }),
  );
  return f.m.registry.interface.parseLog(receipt.logs[0]!)!.args.modelId as bigint;
}

/**
 * Creates, claims and commits a task whose provider holds `claimed` slot tensors: the model's
 * nodes over as many steps as they cover (one for a plain model), the output the last step's.
 */
export async function commitTask(f: DisputeFixture, modelId: bigint, provider: HDNodeWallet, s: HasGraph, claimed: Uint8Array[]): Promise<bigint> {
  const n = s.graph.nodes.length;
  const steps = (claimed.length - 1) / n;
  if (!Number.isInteger(steps)) throw new Error(`${claimed.length - 1} slot tensors are not whole steps of ${n} nodes`);
  const now = BigInt((await f.provider.getBlock('latest'))!.timestamp);
  const receipt = await mine(
    f.m.market.connect(f.requester).createTask({
      modelId,
      inputRoot: hex(merkleRootOfBytes(claimed[0])),
      inputCid: 'bafy-input',
      bounty: BOUNTY,
      deadline: now + 100_000n,
      collateral: COLLATERAL,
      challengeWindow: 3_600n,
      maxModelFee: 0n,
      consumer: '0x0000000000000000000000000000000000000000',
      callbackGasLimit: 0n,
      steps: BigInt(steps),
    }),
  );
  const taskId = taskIdOf(f.m.market, receipt);
  await mine(f.m.market.connect(provider).claim(taskId));
  const slots = claimed.map((t) => merkleRootOfBytes(t));
  const out = (steps - 1) * n + s.graph.outputSlot;
  await mine(f.m.market.connect(provider).commit(taskId, hex(slots[out]), graphStateAt(slots, slots.length - 1), claimed[out]));
  return taskId;
}

/** Challenges a task; returns the game id. */
export async function challenge(f: DisputeFixture, challenger: HDNodeWallet, taskId: bigint): Promise<bigint> {
  await mine(f.m.market.connect(challenger).challenge(taskId));
  const count = (await f.game.gameCount()) as bigint;
  const subject = await f.game.getGame(count);
  if (subject.taskId !== taskId) throw new Error('unexpected game order');
  return count;
}

export function player(f: DisputeFixture, role: 'provider' | 'challenger', wallet: HDNodeWallet, gameId: bigint, s: HasGraph, tensors: Uint8Array[], strategy?: Strategy): Player {
  return new Player(role, f.game, wallet, gameId, s.graph, tensors, strategy);
}

export async function increaseTime(provider: JsonRpcProvider, seconds: bigint): Promise<void> {
  await provider.send('evm_increaseTime', [Number(seconds)]);
  await provider.send('evm_mine', []);
}

/**
 * Lets the players act in turn until the game is resolved; when nobody can move (a silent party),
 * the chain's clock jumps past the game clock so the other side can claim the timeout. A move of an
 * adversary that the contract rejects counts as silence (the adversary's own problem); an honest
 * player's failure fails the test.
 */
export async function playOut(f: DisputeFixture, players: Player[], options: { adversaries?: Player[]; maxRounds?: number } = {}): Promise<ActResult[]> {
  const log: ActResult[] = [];
  const maxRounds = options.maxRounds ?? 200;
  for (let round = 0; round < maxRounds; round++) {
    const results: ActResult[] = [];
    for (const p of players) results.push(await actOnce(p, options.adversaries ?? []));
    log.push(...results);
    if (results.includes('resolved')) return log;
    if (!results.some((r) => r === 'moved' || r === 'timeout-claimed')) await increaseTime(f.provider, CLOCK + 1n);
  }
  throw new Error(`game not resolved after ${maxRounds} rounds`);
}

async function actOnce(p: Player, adversaries: Player[]): Promise<ActResult> {
  try {
    return await p.act();
  } catch (e) {
    if (adversaries.includes(p)) return 'silent';
    throw e;
  }
}
