/**
 * The dispute game end to end on a local chain: real market, real one-step verifier, a synthetic
 * graph run by a real guest kernel. Cheating providers are caught through the verifier, lying
 * challengers lose, silent parties lose on time, and the market settles each challenge.
 */
import { CHALLENGE_STATUS, TASK_STATUS } from '../../shared/market/tasks';
import { DISPUTE_VERSION, DISSECTION_ARITY, GUEST_ENTRY, MAX_STEP_BOUND, PHASES } from '../../shared/dispute/spec';
import { NODE_PARAMS_ADDR } from '../../shared/dnn/nodeLayout';
import { type Strategy } from '../../shared/dispute/player';
import { BOUNTY, CLOCK, challenge, commitTask, increaseTime, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from './fixture';
import { computeTensors, NODES, randomInt8, testGraph, type SyntheticGraph } from './synthetic';

jest.setTimeout(300_000);

let f: DisputeFixture;
let s: SyntheticGraph;
let modelId: bigint;
const input = randomInt8(40, 99);
/** An account's tokens: its wallet plus what the market has credited it (payments are pulled). */
const owned = async (account: string): Promise<bigint> => (await f.m.token.balanceOf(account)) + (await f.m.market.creditOf(account));

beforeAll(async () => {
  f = await startDisputeFixture(4);
  s = testGraph();
  modelId = await registerModel(f, s);
});
afterAll(async () => f?.stop());

async function settle(taskId: bigint, gameId: bigint) {
  const game = await f.game.getGame(gameId);
  const c = await f.m.market.getChallenge(taskId, 0n);
  const task = await f.m.market.getTask(taskId);
  return { phase: PHASES[Number(game.phase)], outcome: Number(game.outcome), challenge: CHALLENGE_STATUS[Number(c.status)], task: TASK_STATUS[Number(task.status)] };
}

const cheats = [
  ['a wrong final output', { node: NODES, element: 3, delta: 1, propagate: false }],
  ['a wrong intermediate node, propagated', { node: 5, element: 0, delta: 7, propagate: true }],
  ['one element off by one deep inside a node, not propagated', { node: 11, element: 37, delta: -1, propagate: false }],
] as const;

describe.each(cheats)('a cheating provider (%s)', (_label, cheat) => {
  it('is refuted through the one-step verifier and slashed', async () => {
    const [provider, challenger] = f.actors;
    const honest = computeTensors(s, input);
    const claimed = computeTensors(s, input, cheat);
    const taskId = await commitTask(f, modelId, provider, s, claimed);
    const challengerBefore = await owned(challenger.address);
    const gameId = await challenge(f, challenger, taskId);
    const stakeBefore = await f.m.staking.stakeOf(provider.address);
    const requesterBefore = await owned(f.requester.address);
    const log = await playOut(f, [player(f, 'provider', provider, gameId, s, claimed), player(f, 'challenger', challenger, gameId, s, honest)]);
    expect(log).not.toContain('timeout-claimed');
    const steps = await f.game.queryFilter(f.game.filters.StepVerified(gameId));
    expect(steps).toHaveLength(1);
    expect(await settle(taskId, gameId)).toEqual({ phase: 'Resolved', outcome: 2, challenge: 'ChallengerWon', task: 'Refuted' });
    expect(await f.m.staking.stakeOf(provider.address)).toBeLessThan(stakeBefore);
    // Bond back plus a winner's reward from the slash; the bounty goes back to the requester (credited).
    const [reward] = await f.m.market.slashPoolOf(taskId);
    expect(reward).toBeGreaterThan(0n);
    expect((await owned(challenger.address)) - challengerBefore).toBe(reward);
    expect(await owned(f.requester.address)).toBe(requesterBefore + BOUNTY);
  });
});

describe('an honest provider', () => {
  it('wins against a challenger lying consistently about a node, and the bond is forfeited', async () => {
    const [provider, challenger] = f.actors;
    const honest = computeTensors(s, input);
    const lie = computeTensors(s, input, { node: 7, element: 2, delta: 3, propagate: true });
    const taskId = await commitTask(f, modelId, provider, s, honest);
    const gameId = await challenge(f, challenger, taskId);
    const balanceAfterBond = await f.m.token.balanceOf(challenger.address);
    const log = await playOut(f, [player(f, 'provider', provider, gameId, s, honest), player(f, 'challenger', challenger, gameId, s, lie)]);
    expect(log).not.toContain('timeout-claimed');
    expect(await settle(taskId, gameId)).toEqual({ phase: 'Resolved', outcome: 1, challenge: 'ProviderWon', task: 'Committed' });
    expect(await f.m.token.balanceOf(challenger.address)).toBe(balanceAfterBond);
  });

  it('wins on time against a challenger that goes silent', async () => {
    const [provider, , challenger] = f.actors;
    const honest = computeTensors(s, input);
    const taskId = await commitTask(f, modelId, provider, s, honest);
    const gameId = await challenge(f, challenger, taskId);
    const silent: Strategy = { move: () => null };
    const log = await playOut(f, [player(f, 'provider', provider, gameId, s, honest), player(f, 'challenger', challenger, gameId, s, honest, silent)]);
    expect(log).toContain('timeout-claimed');
    expect((await settle(taskId, gameId)).challenge).toBe('ProviderWon');
  });
});

describe('a silent provider', () => {
  it('loses on time, even when its result was right', async () => {
    const [provider, challenger] = f.actors;
    const honest = computeTensors(s, input);
    const taskId = await commitTask(f, modelId, provider, s, honest);
    const gameId = await challenge(f, challenger, taskId);
    const silentAfterOpen: Strategy = { move: (turn, honestMove) => (turn.phase === 'Open' ? honestMove : null) };
    await playOut(f, [player(f, 'provider', provider, gameId, s, honest, silentAfterOpen), player(f, 'challenger', challenger, gameId, s, honest)]);
    expect((await settle(taskId, gameId)).challenge).toBe('ChallengerWon');
  });
});

describe('clocks', () => {
  it('leave a party that moved late a quarter of its clock for its next move (clock extension, finding 4)', async () => {
    const [provider, , , challenger] = f.actors;
    const honest = computeTensors(s, input);
    const claimed = computeTensors(s, input, { node: 5, element: 0, delta: 7, propagate: true });
    const taskId = await commitTask(f, modelId, provider, s, claimed);
    const gameId = await challenge(f, challenger, taskId);
    const ext = await f.game.clockExtension();
    expect(ext).toBe(CLOCK / 4n);
    const cheater = player(f, 'provider', provider, gameId, s, claimed);
    const checker = player(f, 'challenger', challenger, gameId, s, honest);
    // The provider opens with 30 s left on its clock: it keeps a quarter of the clock, not 30 s.
    await increaseTime(f.provider, CLOCK - 30n);
    expect(await cheater.act()).toBe('moved');
    expect((await f.game.getGame(gameId)).providerClock).toBe(ext);
    // Its next move, 100 s later, leaves it the floor again; the challenger's early move is charged as usual.
    await increaseTime(f.provider, 100n);
    expect(await cheater.act()).toBe('moved');
    expect((await f.game.getGame(gameId)).providerClock).toBe(ext);
    await increaseTime(f.provider, 200n);
    expect(await checker.act()).toBe('moved');
    const { challengerClock } = await f.game.getGame(gameId);
    expect(challengerClock).toBeGreaterThanOrEqual(CLOCK - 203n);
    expect(challengerClock).toBeLessThanOrEqual(CLOCK - 200n);
    // The game still ends as it must: the honest challenger wins.
    await playOut(f, [cheater, checker]);
    expect((await settle(taskId, gameId)).challenge).toBe('ChallengerWon');
  });
});

describe('concurrent games', () => {
  it('a sham challenger losing on purpose does not protect a cheating provider from an honest one', async () => {
    const [provider, sham, honestChallenger] = f.actors;
    const honest = computeTensors(s, input);
    const claimed = computeTensors(s, input, { node: 4, element: 9, delta: 1, propagate: true });
    const taskId = await commitTask(f, modelId, provider, s, claimed);
    const shamGame = await challenge(f, sham, taskId);
    const realGame = await challenge(f, honestChallenger, taskId);
    expect(await f.game.gameIdOf(taskId, 0n)).toBe(shamGame);
    expect(await f.game.gameIdOf(taskId, 1n)).toBe(realGame);
    // The colluding challenger agrees with every claim (it holds the provider's own tensors).
    await playOut(f, [player(f, 'provider', provider, shamGame, s, claimed), player(f, 'challenger', sham, shamGame, s, claimed)]);
    expect((await f.game.getGame(shamGame)).outcome).toBe(1n);
    expect(TASK_STATUS[Number((await f.m.market.getTask(taskId)).status)]).toBe('Committed');
    await playOut(f, [player(f, 'provider', provider, realGame, s, claimed), player(f, 'challenger', honestChallenger, realGame, s, honest)]);
    expect(await settle(taskId, realGame)).toMatchObject({ outcome: 2, task: 'Refuted' });
    expect(CHALLENGE_STATUS[Number((await f.m.market.getChallenge(taskId, 1n)).status)]).toBe('ChallengerWon');
  });
});

describe('restarts', () => {
  it('players rebuilt mid-game from chain state alone finish the game the same way', async () => {
    const [provider, challenger] = f.actors;
    const honest = computeTensors(s, input);
    const claimed = computeTensors(s, input, { node: 13, element: 20, delta: 2, propagate: true });
    const taskId = await commitTask(f, modelId, provider, s, claimed);
    const gameId = await challenge(f, challenger, taskId);
    const first = [player(f, 'provider', provider, gameId, s, claimed), player(f, 'challenger', challenger, gameId, s, honest)];
    for (let i = 0; i < 3; i++) for (const p of first) await p.act();
    expect(PHASES[Number((await f.game.getGame(gameId)).phase)]).toBe('VmBisect');
    // A crash loses everything in memory: new players know only their tensors and the game id.
    await playOut(f, [player(f, 'provider', provider, gameId, s, claimed), player(f, 'challenger', challenger, gameId, s, honest)]);
    expect(await settle(taskId, gameId)).toMatchObject({ outcome: 2, task: 'Refuted' });
  });
});

describe('no challenge', () => {
  it('an honest provider is paid after the window with the real game as the market factory', async () => {
    const [provider] = f.actors;
    const taskId = await commitTask(f, modelId, provider, s, computeTensors(s, input));
    const before = await owned(provider.address);
    await increaseTime(f.provider, 3_601n);
    await (await f.m.market.connect(provider).finalize(taskId)).wait();
    expect(TASK_STATUS[Number((await f.m.market.getTask(taskId)).status)]).toBe('Finalized');
    expect(await owned(provider.address)).toBe(before + BOUNTY);
  });
});

it('the contract and the players share the constants of docs/dispute-spec.md', async () => {
  expect(await f.game.DISPUTE_VERSION()).toBe(DISPUTE_VERSION);
  expect(await f.game.DISSECTION_ARITY()).toBe(BigInt(DISSECTION_ARITY));
  expect(await f.game.MAX_STEP_BOUND()).toBe(BigInt(MAX_STEP_BOUND));
  expect(await f.game.GUEST_ENTRY()).toBe(BigInt(GUEST_ENTRY));
  expect(await f.game.NODE_PARAMS_ADDR()).toBe(BigInt(NODE_PARAMS_ADDR));
  expect(await f.game.clockSeconds()).toBe(CLOCK);
});
