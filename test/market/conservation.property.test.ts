/**
 * Random action sequences by six actors against the real contracts. After every action, whether it
 * succeeded or was refused with a custom error: the token is conserved (all holders add up to the
 * supply, which never changes), locked collateral never exceeds stake, the market holds exactly
 * the escrow of live tasks, the bonds of pending challenges, the unpaid slash pools of refuted tasks
 * and every credit not yet withdrawn, and staking holds every stake and unbonding balance plus the
 * protocol share it owes the treasury.
 *
 * Most actions are aimed: they pick the task, actor or moment their preconditions need (and wait out
 * a window, deadline or unbonding delay when that is all that is missing), so every lifecycle path
 * succeeds under any seed. The rest are drawn blind, so refusals and out-of-order calls are exercised
 * too; a refusal must be one of our custom errors and must leave the chain untouched.
 */
import fc from 'fast-check';
import { JsonRpcProvider, type HDNodeWallet } from 'ethers';
import { decodeMarketError } from '../../shared/market/errors';
import { GameOutcome, mine, taskIdOf } from '../../shared/market/tasks';
import { MIN_STAKE, TOKEN, holders, output, request, root, startMarketFixture, type MarketFixture } from './fixture';

const ACTORS = 6;
/** Short enough for a sequence to wait it out, long enough that an early withdrawal is refused. */
const UNBONDING_DELAY = 600;
const [OPEN, CLAIMED, COMMITTED, REFUTED] = [1n, 2n, 3n, 5n];
const LIVE = new Set([OPEN, CLAIMED, COMMITTED]);
const PENDING = 1n;

/** `task` pins the task an `advance` chose; otherwise `pick` selects among the candidates. */
type Aim = { pick: number; targeted: boolean; task?: bigint };
type Action =
  | { kind: 'stake'; actor: number; amount: number }
  | ({ kind: 'unbond'; actor: number; amount: number } & Aim)
  | ({ kind: 'withdraw'; actor: number } & Aim)
  /** Market credits: an account pulls what it was paid (`market.withdraw`); the treasury collects from Staking. */
  | ({ kind: 'cash'; actor: number } & Aim)
  | { kind: 'collect' }
  | { kind: 'create'; actor: number; bounty: number; collateral: number; deadline: number; window: number }
  | ({ kind: 'claim' | 'commit' | 'challenge' | 'finalize' | 'expire'; actor: number } & Aim)
  | ({ kind: 'resolve'; challenge: number; challengerWins: boolean } & Aim)
  /** To a live task's deadline plus `offset` (the boundaries where claims, commits and challenges flip), or by `seconds`. */
  | { kind: 'time'; pick: number; offset: number }
  | { kind: 'time'; seconds: number }
  /** The next lifecycle step of some live task, so sequences get deep into challenges and settlement. */
  | { kind: 'advance'; actor: number; pick: number; choice: number };

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/**
 * Mines a block `seconds` after the latest. The chain here stamps each block one second after the
 * last (see beforeAll), where evm_increaseTime has no effect, so the jump is set on the block itself.
 */
async function increaseTime(rpc: JsonRpcProvider, seconds: number | bigint): Promise<void> {
  const latest = await rpc.getBlock('latest');
  await rpc.send('evm_setNextBlockTimestamp', [latest!.timestamp + Number(seconds)]);
  await rpc.send('evm_mine', []);
}
const actor = fc.integer({ min: 0, max: ACTORS - 1 });
const pick = fc.nat(7);
/** Usually aimed at what the action needs; sometimes at anything, to exercise refusals. */
const targeted = fc.oneof(w(4, fc.constant(true)), w(1, fc.constant(false)));
const aimed = <K extends string>(kind: K) => fc.record({ kind: fc.constant(kind), actor, pick, targeted });
const create: fc.Arbitrary<Action> = fc.record({
  kind: fc.constant('create' as const),
  actor,
  bounty: fc.integer({ min: 0, max: 60 }),
  collateral: fc.integer({ min: 0, max: 300 }),
  deadline: fc.integer({ min: 60, max: 3_600 }),
  window: fc.integer({ min: 60, max: 900 }),
});
// Weighted toward the steps that move a task forward, so sequences reach challenges and settlement.
const action: fc.Arbitrary<Action> = fc.oneof(
  w(1, fc.record({ kind: fc.constant('stake' as const), actor, amount: fc.integer({ min: 0, max: 400 }) })),
  w(2, fc.record({ kind: fc.constant('unbond' as const), actor, amount: fc.integer({ min: 0, max: 200 }), pick, targeted })),
  w(2, aimed('withdraw')),
  w(2, aimed('cash')),
  w(1, fc.constant({ kind: 'collect' as const })),
  w(2, create),
  w(2, aimed('claim')),
  w(2, aimed('commit')),
  w(2, aimed('challenge')),
  w(2, fc.record({ kind: fc.constant('resolve' as const), pick, targeted, challenge: fc.nat(1), challengerWins: fc.boolean() })),
  w(2, aimed('finalize')),
  w(1, aimed('expire')),
  w(8, fc.record({ kind: fc.constant('advance' as const), actor, pick, choice: fc.nat(3) })),
  w(2, fc.record({ kind: fc.constant('time' as const), pick, offset: fc.integer({ min: -2, max: 2 }) })),
  w(1, fc.record({ kind: fc.constant('time' as const), seconds: fc.oneof(w(5, fc.integer({ min: 1, max: 900 })), w(1, fc.constant(86_400))) })),
);

/** The tasks of the running sequence as the chain last reported them. */
interface TaskView {
  id: bigint;
  status: bigint;
  provider: string;
  collateral: bigint;
  /** The claim/commit deadline, or the end of the challenge window once committed. */
  deadline: bigint;
  pending: number[];
}

interface ChainView {
  now: bigint;
  tasks: TaskView[];
  staked: bigint[];
  locked: bigint[];
  unbonding: bigint[];
  readyAt: bigint[];
  /** Market credits of `accounts`, in that order. */
  credits: bigint[];
}

describe('market conservation (property)', () => {
  let f: MarketFixture;
  /** Thousands of sequential round trips: the fixture provider's 10 ms batch stall would dominate the run. */
  let rpc: JsonRpcProvider;
  let actors: HDNodeWallet[];
  let m: Pick<MarketFixture['m'], 'token' | 'staking' | 'market'> & { testGame: NonNullable<MarketFixture['m']['testGame']> };
  let supply: bigint;
  let snapshot: string;
  let accounts: string[];
  let marketAt: number;
  let stakingAt: number;

  beforeAll(async () => {
    f = await startMarketFixture(ACTORS, { unbondingDelaySeconds: UNBONDING_DELAY });
    rpc = new JsonRpcProvider(f.chain.anvil.rpcUrl, f.chain.anvil.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20, batchStallTime: 0 });
    // Each block one second after the last, whatever the wall clock: a call estimated against the
    // pending block then runs in a block with that same timestamp, so a machine slowed by other
    // work cannot move a sequence across a deadline between the estimate and the block.
    await rpc.send('anvil_setBlockTimestampInterval', [1]);
    actors = f.actors.map((a) => a.connect(rpc));
    const admin = f.admin.connect(rpc);
    m = { token: f.m.token.connect(admin), staking: f.m.staking.connect(admin), market: f.m.market.connect(admin), testGame: f.m.testGame!.connect(admin) };
    for (const a of actors.slice(1)) await mine(m.staking.connect(a).stake(300n * TOKEN));
    // Every sequence starts with some stake unbonding, so a withdrawal has something to wait for.
    for (const a of actors.slice(1, 4)) await mine(m.staking.connect(a).requestUnbond(20n * TOKEN));
    supply = await m.token.totalSupply();
    accounts = holders(f);
    marketAt = accounts.indexOf(f.addresses.market);
    stakingAt = accounts.indexOf(f.addresses.staking);
    snapshot = await rpc.send('evm_snapshot', []);
  });
  afterAll(async () => {
    rpc?.destroy();
    await f?.stop();
  });

  const succeeded = new Map<string, number>();

  /** The `pick`th of the candidates that fit when targeted (and any do), else of all of them. */
  function choose<T>(all: T[], a: Aim, fits: (x: T) => boolean): T | undefined {
    const fitting = all.filter(fits);
    const pool = a.targeted && fitting.length > 0 ? fitting : all;
    return pool[a.pick % Math.max(pool.length, 1)];
  }

  /** The task an action aims at: the one an `advance` pinned, else as `choose` picks. */
  function chooseTask(tasks: TaskView[], a: Aim, fits: (t: TaskView) => boolean): TaskView | undefined {
    return a.task === undefined ? choose(tasks, a, fits) : tasks.find((t) => t.id === a.task);
  }

  /** The concrete step an `advance` takes: the one its task's status and clock call for. */
  function nextStep(a: Extract<Action, { kind: 'advance' }>, view: ChainView): Action {
    const t = choose(view.tasks, { pick: a.pick, targeted: true }, (t) => LIVE.has(t.status));
    const aim = { actor: a.actor, pick: a.pick, targeted: true, task: t?.id };
    const open = t !== undefined && view.now < t.deadline;
    if (t?.status === OPEN) return { ...aim, kind: open ? 'claim' : 'expire' };
    if (t?.status === CLAIMED) return { ...aim, kind: open ? 'commit' : 'expire' };
    if (t?.status === COMMITTED) {
      if (t.pending.length > 0) return { ...aim, kind: 'resolve', challenge: a.choice, challengerWins: a.choice % 2 === 0 };
      return { ...aim, kind: open && a.choice < 3 ? 'challenge' : 'finalize' };
    }
    // Every task is settled (or none exists): open a new one.
    return { kind: 'create', actor: a.actor, bounty: 10 + a.choice, collateral: 50 * (a.choice + 1), deadline: 1_800, window: 300 };
  }

  /** Moves the clock just far enough that a transaction in the next block sees `timestamp` or later. */
  async function waitUntil(view: ChainView, timestamp: bigint): Promise<boolean> {
    if (timestamp <= view.now) return false;
    await increaseTime(rpc, timestamp - view.now);
    return true;
  }

  /**
   * Runs one action; a refusal must be one of our custom errors, never a panic or an unknown revert.
   * Returns the id of a created task and whether the action mined anything.
   */
  async function run(action: Action, view: ChainView): Promise<{ created?: bigint; mined: boolean }> {
    const a = action.kind === 'advance' ? nextStep(action, view) : action;
    const { market, staking, testGame } = m;
    const who = 'actor' in a ? actors[a.actor]! : f.admin;
    const byAddress = (address: string) => actors.find((x) => x.address === address) ?? who;
    const indices = actors.map((_, i) => i);
    const free = (i: number) => view.staked[i]! - view.locked[i]!;
    const live = (t: TaskView) => view.now < t.deadline;
    let created: bigint | undefined;
    let waited = false;
    try {
      switch (a.kind) {
        case 'stake':
          await mine(staking.connect(who).stake(BigInt(a.amount) * TOKEN));
          break;
        case 'unbond': {
          const amount = BigInt(a.amount) * TOKEN;
          const i = a.targeted ? choose(indices, a, (i) => amount > 0n && free(i) >= amount) : a.actor;
          await mine(staking.connect(actors[i ?? a.actor]!).requestUnbond(amount));
          break;
        }
        case 'withdraw': {
          const i = a.targeted ? choose(indices, a, (i) => view.unbonding[i]! > 0n) : a.actor;
          if (a.targeted && i !== undefined && view.unbonding[i]! > 0n) waited = await waitUntil(view, view.readyAt[i]!);
          await mine(staking.connect(actors[i ?? a.actor]!).withdraw());
          break;
        }
        case 'cash': {
          // Aimed: some account with a credit, the treasury included; blind: an actor, credited or not.
          const payees = [f.treasury, f.modelOwner, ...actors];
          const withCredit = payees.filter((p) => (view.credits[accounts.indexOf(p.address)] ?? 0n) > 0n);
          const payee = a.targeted && withCredit.length > 0 ? withCredit[a.pick % withCredit.length]! : who;
          await mine(market.connect(payee.connect(rpc)).withdraw(actors[a.actor]!.address));
          break;
        }
        case 'collect':
          await mine(staking.collectProtocolShare());
          break;
        case 'create': {
          const r = await request({ ...f, provider: rpc }, {
            bounty: BigInt(a.bounty) * TOKEN,
            collateral: BigInt(a.collateral) * TOKEN,
            deadline: view.now + BigInt(a.deadline),
            challengeWindow: BigInt(a.window),
          });
          created = taskIdOf(market, await mine(market.connect(who).createTask(r)));
          break;
        }
        case 'claim': {
          const t = chooseTask(view.tasks, a, (t) => t.status === OPEN && live(t));
          // Aimed claims come from an actor whose free stake covers the collateral.
          const canLock = (i: number) => view.staked[i]! >= MIN_STAKE && free(i) >= (t?.collateral ?? 0n);
          const claimer = a.targeted ? actors[choose(indices, { pick: a.actor, targeted: true }, canLock) ?? a.actor]! : who;
          await mine(market.connect(claimer).claim(t?.id ?? 1n));
          break;
        }
        case 'commit': {
          const t = chooseTask(view.tasks, a, (t) => t.status === CLAIMED && live(t));
          const committer = a.targeted && t ? byAddress(t.provider) : who;
          const out = output(`out-${a.actor}`);
          await mine(market.connect(committer).commit(t?.id ?? 1n, out.root, root('state'), out.bytes));
          break;
        }
        case 'challenge': {
          const t = chooseTask(view.tasks, a, (t) => t.status === COMMITTED && live(t));
          const canChallenge = (i: number) => view.staked[i]! >= MIN_STAKE && actors[i]!.address !== t?.provider;
          const challenger = a.targeted ? actors[choose(indices, { pick: a.actor, targeted: true }, canChallenge) ?? a.actor]! : who;
          await mine(market.connect(challenger).challenge(t?.id ?? 1n));
          break;
        }
        case 'resolve': {
          const t = chooseTask(view.tasks, a, (t) => t.pending.length > 0);
          const index = t && t.pending.length > 0 ? t.pending[a.challenge % t.pending.length]! : a.challenge;
          await mine(testGame.decide(t?.id ?? 1n, index, a.challengerWins ? GameOutcome.ChallengerWon : GameOutcome.ProviderWon));
          break;
        }
        case 'finalize': {
          const t = chooseTask(view.tasks, a, (t) => t.status === COMMITTED && t.pending.length === 0);
          // Aimed finalizations wait out the challenge window; blind ones may land inside it.
          if (a.targeted && t?.status === COMMITTED && t.pending.length === 0) waited = await waitUntil(view, t.deadline);
          await mine(market.connect(who).finalize(t?.id ?? 1n));
          break;
        }
        case 'expire': {
          const t = chooseTask(view.tasks, a, (t) => t.status === OPEN || t.status === CLAIMED);
          if (a.targeted && (t?.status === OPEN || t?.status === CLAIMED)) waited = await waitUntil(view, t.deadline + 1n);
          await mine(market.connect(who).expire(t?.id ?? 1n));
          break;
        }
        case 'time':
          if ('seconds' in a) {
            await increaseTime(rpc, a.seconds);
          } else {
            const t = choose(view.tasks, { pick: a.pick, targeted: true }, (t) => LIVE.has(t.status) && live(t));
            const target = (t?.deadline ?? view.now) + BigInt(a.offset);
            await increaseTime(rpc, target > view.now ? target - view.now : 1n);
          }
          break;
        case 'advance':
          throw new Error('advance is resolved to a concrete step before it runs');
      }
      const label = a.kind === 'resolve' ? `resolve-${a.challengerWins ? 'challenger' : 'provider'}` : a.kind;
      succeeded.set(label, (succeeded.get(label) ?? 0) + 1);
    } catch (e) {
      const decoded = decodeMarketError(e);
      if (!decoded || decoded.name === 'Panic' || decoded.name === 'Error') throw e;
      return { mined: waited };
    }
    return { created, mined: true };
  }

  /** Checks the invariants and returns what the next action may aim at. */
  async function checkInvariants(ids: bigint[]): Promise<ChainView> {
    const { staking, token, market } = m;
    const stakers = actors.map((a) => a.address);
    // One Promise.all so the provider sends the reads as one JSON-RPC batch.
    const [latest, held, total, staked, locked, unbondings, tasks, credits, owed] = await Promise.all([
      rpc.getBlock('latest'),
      Promise.all(accounts.map((a) => token.balanceOf(a))),
      token.totalSupply(),
      Promise.all(stakers.map((s) => staking.stakeOf(s))),
      Promise.all(stakers.map((s) => staking.lockedOf(s))),
      Promise.all(stakers.map((s) => staking.unbondingOf(s))),
      Promise.all(ids.map(readTask)),
      Promise.all(accounts.map((a) => market.creditOf(a))),
      staking.protocolShareOwed(),
    ]);
    const unbonding = unbondings.map((u) => u[0]);
    const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
    expect(sum(held)).toBe(supply);
    expect(total).toBe(supply);
    stakers.forEach((_, i) => expect(locked[i]).toBeLessThanOrEqual(staked[i]!));
    expect(held[marketAt]).toBe(sum(tasks.map((t) => t.escrow)) + sum(credits));
    expect(held[stakingAt]).toBe(sum(staked) + sum(unbonding) + owed);
    return { now: BigInt(latest!.timestamp), tasks: tasks.map((t) => t.view), staked, locked, unbonding, readyAt: unbondings.map((u) => u[1]), credits };
  }

  /**
   * One task's view, and what the market must hold for it: its escrow while live, its pending bonds,
   * and once refuted what of its slash no winner has been paid yet.
   */
  async function readTask(id: bigint): Promise<{ view: TaskView; escrow: bigint }> {
    const [t, [, poolLeft]] = await Promise.all([m.market.getTask(id), m.market.slashPoolOf(id)]);
    const challenges = await Promise.all(Array.from({ length: Number(t.challengeCount) }, (_, i) => m.market.getChallenge(id, i)));
    const pending = challenges.flatMap((c, i) => (c.status === PENDING ? [i] : []));
    const escrow = (LIVE.has(t.status) ? t.bounty + t.fee : 0n) + pending.reduce((s, i) => s + challenges[i]!.bond, 0n) + poolLeft;
    // Once a refuted task's last game is over, nothing of its slash stays behind unassigned.
    if (t.status === REFUTED && pending.length === 0) expect(poolLeft).toBe(0n);
    return { view: { id, status: t.status, provider: t.provider, collateral: t.collateral, deadline: t.deadline, pending }, escrow };
  }

  it('conserves the token and keeps locks within stake over 300 random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(create, fc.array(action, { minLength: 5, maxLength: 12, size: 'max' })).map(([first, rest]) => [first, ...rest]), async (actions) => {
        await rpc.send('evm_revert', [snapshot]);
        snapshot = await rpc.send('evm_snapshot', []);
        const ids: bigint[] = [];
        let view = await checkInvariants(ids);
        for (const a of actions) {
          const { created, mined } = await run(a, view);
          if (created !== undefined) ids.push(created);
          // A refused call is rejected at gas estimation and never sent, so with nothing mined the
          // state (already checked) is unchanged and the reads can be spared.
          if (mined) view = await checkInvariants(ids);
        }
      }),
      // A fixed default seed keeps CI reproducible; PROPERTY_SEED explores (or replays) other sequences.
      { numRuns: 300, seed: Number(process.env.PROPERTY_SEED ?? 20261122) },
    );
    // The sequences must actually reach every path, not just bounce off reverts.
    const kinds = ['stake', 'unbond', 'withdraw', 'cash', 'collect', 'create', 'claim', 'commit', 'challenge', 'resolve-challenger', 'resolve-provider', 'finalize', 'expire'];
    expect(kinds.filter((k) => !succeeded.get(k))).toEqual([]);
  }, 600_000);
});
