/**
 * Random action sequences by six actors against the real contracts. After every action, whether it
 * succeeded or was refused with a custom error: the token is conserved (all holders add up to the
 * supply, which never changes), locked collateral never exceeds stake, and the market holds exactly
 * the escrow of live tasks plus the bonds of pending challenges, and staking holds every stake and
 * unbonding balance.
 */
import fc from 'fast-check';
import type { HDNodeWallet } from 'ethers';
import { decodeMarketError } from '../../shared/market/errors';
import { GameOutcome, mine, taskIdOf } from '../../shared/market/tasks';
import { TOKEN, balances, holders, increaseTime, now, request, root, startMarketFixture, type MarketFixture } from './fixture';

const ACTORS = 6;
const [OPEN, CLAIMED, COMMITTED] = [1n, 2n, 3n];
const LIVE = new Set([OPEN, CLAIMED, COMMITTED]);
const PENDING = 1n;

type Action =
  | { kind: 'stake' | 'unbond'; actor: number; amount: number }
  | { kind: 'withdraw'; actor: number; targeted: boolean }
  | { kind: 'create'; actor: number; bounty: number; collateral: number; deadline: number; window: number }
  | { kind: 'claim' | 'commit' | 'challenge' | 'finalize' | 'expire'; actor: number; task: number; targeted: boolean; pinned?: bigint }
  | { kind: 'resolve'; task: number; targeted: boolean; challenge: number; challengerWins: boolean; pinned?: bigint }
  | { kind: 'advance'; actor: number; task: number; choice: number }
  | { kind: 'time'; seconds: number };

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const actor = fc.integer({ min: 0, max: ACTORS - 1 });
const task = fc.nat(3);
/** Usually aimed at a task in the status the action needs; sometimes at any task, to exercise refusals. */
const targeted = fc.oneof(w(4, fc.constant(true)), w(1, fc.constant(false)));
const create: fc.Arbitrary<Action> = fc.record({
      kind: fc.constant('create' as const),
      actor,
      bounty: fc.integer({ min: 0, max: 60 }),
      collateral: fc.integer({ min: 0, max: 300 }),
      deadline: fc.integer({ min: 60, max: 3_000 }),
      window: fc.integer({ min: 60, max: 900 }),
    });
// Weighted toward the steps that move a task forward, so short sequences reach challenges and settlement.
const action: fc.Arbitrary<Action> = fc.oneof(
  w(1, fc.record({ kind: fc.constant('stake' as const), actor, amount: fc.integer({ min: 0, max: 400 }) })),
  w(3, fc.record({ kind: fc.constant('unbond' as const), actor, amount: fc.integer({ min: 0, max: 200 }) })),
  // Targeted withdrawals come from an actor with something unbonding.
  w(3, fc.record({ kind: fc.constant('withdraw' as const), actor, targeted })),
  w(2, create),
  w(4, fc.record({ kind: fc.constant('claim' as const), actor, task, targeted })),
  // Targeted commits come from the task's provider; untargeted ones from the drawn actor.
  w(4, fc.record({ kind: fc.constant('commit' as const), actor, task, targeted })),
  w(4, fc.record({ kind: fc.constant('challenge' as const), actor, task, targeted })),
  w(4, fc.record({ kind: fc.constant('resolve' as const), task, targeted, challenge: fc.nat(1), challengerWins: fc.boolean() })),
  w(2, fc.record({ kind: fc.constant('finalize' as const), actor, task, targeted })),
  w(1, fc.record({ kind: fc.constant('expire' as const), actor, task, targeted })),
  // The next lifecycle step of some task, so random sequences get deep into challenges and settlement.
  w(8, fc.record({ kind: fc.constant('advance' as const), actor, task, choice: fc.nat(3) })),
  // Mostly within deadlines and windows; sometimes past all of them.
  w(4, fc.record({ kind: fc.constant('time' as const), seconds: fc.oneof(w(5, fc.integer({ min: 1, max: 900 })), w(1, fc.constant(86_400))) })),
);

describe('market conservation (property)', () => {
  let f: MarketFixture;
  let actors: HDNodeWallet[];
  let supply: bigint;
  let snapshot: string;

  beforeAll(async () => {
    // No unbonding delay, so unbond and withdraw meet within one short sequence; the delay itself is
    // tested in the lifecycle and revert tests.
    f = await startMarketFixture(ACTORS, { unbondingDelaySeconds: 0 });
    actors = f.actors;
    for (const a of actors.slice(1)) await mine(f.m.staking.connect(a).stake(300n * TOKEN));
    supply = await f.m.token.totalSupply();
    snapshot = await f.provider.send('evm_snapshot', []);
  });
  afterAll(() => f?.stop());

  /** The tasks of the running sequence as the chain last reported them. */
  interface TaskView {
    id: bigint;
    status: bigint;
    provider: string;
    pending: number[];
  }

  interface ChainView {
    tasks: TaskView[];
    /** Unbonding amount per actor. */
    unbonding: bigint[];
  }

  const succeeded = new Map<string, number>();

  /** A task for the action: one in the status it needs when targeted (and one exists), else any. */
  function choose(view: TaskView[], a: { task: number; targeted: boolean; pinned?: bigint }, fits: (t: TaskView) => boolean): TaskView | undefined {
    if (a.pinned !== undefined) return view.find((t) => t.id === a.pinned);
    const fitting = view.filter(fits);
    const pool = a.targeted && fitting.length > 0 ? fitting : view;
    return pool[a.task % Math.max(pool.length, 1)];
  }

  /** The concrete step an `advance` takes for its task, from the task's status and the drawn choice. */
  function nextStep(a: Extract<Action, { kind: 'advance' }>, view: TaskView[]): Action {
    const t = view[a.task % Math.max(view.length, 1)];
    const base = { actor: a.actor, task: a.task, targeted: true, pinned: t?.id };
    if (t?.status === OPEN) return { ...base, kind: a.choice < 3 ? 'claim' : 'expire' };
    if (t?.status === CLAIMED) return { ...base, kind: a.choice < 3 ? 'commit' : 'expire' };
    if (t?.status === COMMITTED) {
      if (t.pending.length > 0 && a.choice < 2) return { ...base, kind: 'resolve', challenge: a.actor, challengerWins: a.choice === 0 };
      return { ...base, kind: a.choice < 3 ? 'challenge' : 'finalize' };
    }
    // A settled task (or none): move stake instead, or open a new task.
    if (a.choice === 0) return { kind: 'unbond', actor: a.actor, amount: 50 };
    if (a.choice === 1) return { kind: 'withdraw', actor: a.actor, targeted: true };
    return { kind: 'create', actor: a.actor, bounty: 10 + a.choice, collateral: 50 * (a.choice + 1), deadline: 1_000, window: 300 };
  }

  /** Runs one action; a refusal must be one of our custom errors, never a panic or an unknown revert. */
  async function run(action: Action, { tasks: view, unbonding }: ChainView): Promise<bigint | undefined> {
    const a = action.kind === 'advance' ? nextStep(action, view) : action;
    const { market, staking, testGame } = f.m;
    const who = 'actor' in a ? actors[a.actor]! : f.admin;
    const asActor = (address: string) => actors.find((x) => x.address === address) ?? who;
    let created: bigint | undefined;
    try {
      switch (a.kind) {
        case 'stake':
          await mine(staking.connect(who).stake(BigInt(a.amount) * TOKEN));
          break;
        case 'unbond':
          await mine(staking.connect(who).requestUnbond(BigInt(a.amount) * TOKEN));
          break;
        case 'withdraw': {
          const withUnbonding = actors.filter((_, i) => unbonding[i]! > 0n);
          await mine(staking.connect(a.targeted && withUnbonding.length > 0 ? withUnbonding[a.actor % withUnbonding.length]! : who).withdraw());
          break;
        }
        case 'create': {
          const r = await request(f, {
            bounty: BigInt(a.bounty) * TOKEN,
            collateral: BigInt(a.collateral) * TOKEN,
            deadline: (await now(f.provider)) + BigInt(a.deadline),
            challengeWindow: BigInt(a.window),
          });
          created = taskIdOf(market, await mine(market.connect(who).createTask(r)));
          break;
        }
        case 'claim':
          await mine(market.connect(who).claim(choose(view, a, (t) => t.status === OPEN)?.id ?? 1n));
          break;
        case 'commit': {
          const t = choose(view, a, (t) => t.status === CLAIMED);
          const committer = a.targeted && t ? asActor(t.provider) : who;
          await mine(market.connect(committer).commit(t?.id ?? 1n, root(`out-${a.actor}`), root('state'), '0x01'));
          break;
        }
        case 'challenge':
          await mine(market.connect(who).challenge(choose(view, a, (t) => t.status === COMMITTED)?.id ?? 1n));
          break;
        case 'resolve': {
          const t = choose(view, a, (t) => t.pending.length > 0);
          const index = t && t.pending.length > 0 ? t.pending[a.challenge % t.pending.length]! : a.challenge;
          await mine(testGame!.decide(t?.id ?? 1n, index, a.challengerWins ? GameOutcome.ChallengerWon : GameOutcome.ProviderWon));
          break;
        }
        case 'finalize':
          await mine(market.connect(who).finalize(choose(view, a, (t) => t.status === COMMITTED && t.pending.length === 0)?.id ?? 1n));
          break;
        case 'expire':
          await mine(market.connect(who).expire(choose(view, a, (t) => t.status === OPEN || t.status === CLAIMED)?.id ?? 1n));
          break;
        case 'time':
          await increaseTime(f.provider, a.seconds);
          break;
        case 'advance':
          throw new Error('advance is resolved to a concrete step before it runs');
      }
      const label = a.kind === 'resolve' ? `resolve-${a.challengerWins ? 'challenger' : 'provider'}` : a.kind;
      succeeded.set(label, (succeeded.get(label) ?? 0) + 1);
    } catch (e) {
      const decoded = decodeMarketError(e);
      if (!decoded || decoded.name === 'Panic' || decoded.name === 'Error') throw e;
    }
    return created;
  }

  /** Checks the invariants and returns what the next action may aim at. */
  async function checkInvariants(ids: bigint[]): Promise<ChainView> {
    const stakers = actors.map((a) => a.address);
    const [held, total, staked, locked, unbonding, tasks] = await Promise.all([
      balances(f),
      f.m.token.totalSupply(),
      Promise.all(stakers.map((s) => f.m.staking.stakeOf(s))),
      Promise.all(stakers.map((s) => f.m.staking.lockedOf(s))),
      Promise.all(stakers.map(async (s) => (await f.m.staking.unbondingOf(s))[0])),
      Promise.all(ids.map(readTask)),
    ]);
    const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
    expect(sum(held)).toBe(supply);
    expect(total).toBe(supply);
    stakers.forEach((_, i) => expect(locked[i]).toBeLessThanOrEqual(staked[i]!));
    expect(held[holders(f).indexOf(f.addresses.market)]).toBe(sum(tasks.map((t) => t.escrow)));
    expect(held[holders(f).indexOf(f.addresses.staking)]).toBe(sum(staked) + sum(unbonding));
    return { tasks: tasks.map((t) => t.view), unbonding };
  }

  /** One task's view, and what the market must hold for it: its escrow while live plus its pending bonds. */
  async function readTask(id: bigint): Promise<{ view: TaskView; escrow: bigint }> {
    const t = await f.m.market.getTask(id);
    const challenges = await Promise.all(Array.from({ length: Number(t.challengeCount) }, (_, i) => f.m.market.getChallenge(id, i)));
    const pending = challenges.flatMap((c, i) => (c.status === PENDING ? [i] : []));
    const escrow = (LIVE.has(t.status) ? t.bounty + t.fee : 0n) + pending.reduce((s, i) => s + challenges[i]!.bond, 0n);
    return { view: { id, status: t.status, provider: t.provider, pending }, escrow };
  }

  it('conserves the token and keeps locks within stake over 300 random sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(create, fc.array(action, { minLength: 4, maxLength: 10, size: 'max' })).map(([first, rest]) => [first, ...rest]), async (actions) => {
        await f.provider.send('evm_revert', [snapshot]);
        snapshot = await f.provider.send('evm_snapshot', []);
        const ids: bigint[] = [];
        let view: ChainView = { tasks: [], unbonding: actors.map(() => 0n) };
        for (const a of actions) {
          const created = await run(a, view);
          if (created !== undefined) ids.push(created);
          view = await checkInvariants(ids);
        }
      }),
      // A fixed default seed keeps CI deterministic (the coverage check below depends on the draw);
      // PROPERTY_SEED explores other sequences.
      { numRuns: 300, seed: Number(process.env.PROPERTY_SEED ?? 20261122) },
    );
    // The sequences must actually reach every path, not just bounce off reverts.
    const kinds = ['stake', 'unbond', 'withdraw', 'create', 'claim', 'commit', 'challenge', 'resolve-challenger', 'resolve-provider', 'finalize', 'expire'];
    expect(kinds.filter((k) => !succeeded.get(k))).toEqual([]);
  }, 600_000);
});
