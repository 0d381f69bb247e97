/**
 * Property: on a small graph, the honest side wins every game, whatever its adversary does
 * (lying at random rounds, switching claims, wandering segments, stalling), whether the honest side
 * is the challenger of a cheating provider or a provider defending a right result.
 */
import fc from 'fast-check';
import { challenge, commitTask, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from './fixture';
import { randomAdversary } from './adversaries';
import { computeTensors, randomInt8, syntheticGraph, type InputPick, type SyntheticGraph } from './synthetic';

jest.setTimeout(900_000);

const ELEMENTS = 8;
const NODES = 20;
const GAMES = 50;

let f: DisputeFixture;
let s: SyntheticGraph;
let modelId: bigint;

beforeAll(async () => {
  f = await startDisputeFixture(2);
  const picks: InputPick[][] = Array.from({ length: NODES }, (_, n) => (n % 4 === 3 ? [['s', n], ['s', n - 2], ['w', 0]] : [['s', n], ['w', n % 2]]));
  s = syntheticGraph(ELEMENTS, [randomInt8(ELEMENTS, 7), randomInt8(ELEMENTS, 8)], picks);
  modelId = await registerModel(f, s);
});
afterAll(async () => f?.stop());

const cheat = fc.record({
  node: fc.integer({ min: 1, max: NODES }),
  element: fc.integer({ min: 0, max: ELEMENTS - 1 }),
  delta: fc.integer({ min: 1, max: 255 }),
  propagate: fc.boolean(),
});

const gameCase = fc.record({
  input: fc.integer({ min: 1, max: 2 ** 31 }),
  honestProvider: fc.boolean(),
  /** What the adversary believes: a cheat of its own (provider) or a wrong recomputation (challenger), or nothing. */
  adversaryCheat: fc.option(cheat, { nil: undefined }),
  providerCheat: cheat,
  seed: fc.integer(),
  mix: fc.record({ stall: fc.double({ min: 0, max: 0.15, noNaN: true }), lie: fc.double({ min: 0, max: 1, noNaN: true }), wander: fc.double({ min: 0, max: 1, noNaN: true }) }),
});

it(`the honest side wins ${GAMES} games against random adversaries`, async () => {
  const [providerWallet, challengerWallet] = f.actors;
  let played = 0;
  await fc.assert(
    fc.asyncProperty(gameCase, async (c) => {
      const input = randomInt8(ELEMENTS, c.input);
      const truth = computeTensors(s, input);
      const claimed = c.honestProvider ? truth : computeTensors(s, input, c.providerCheat);
      const lying = computeTensors(s, input, c.adversaryCheat);
      const taskId = await commitTask(f, modelId, providerWallet, s, claimed);
      const gameId = await challenge(f, challengerWallet, taskId);
      const adversary = randomAdversary(c.seed, c.mix);
      const provider = player(f, 'provider', providerWallet, gameId, s, claimed, c.honestProvider ? undefined : adversary);
      const challenger = player(f, 'challenger', challengerWallet, gameId, s, c.honestProvider ? lying : truth, c.honestProvider ? adversary : undefined);
      await playOut(f, [provider, challenger], { adversaries: [c.honestProvider ? challenger : provider] });
      const game = await f.game.getGame(gameId);
      played++;
      return Number(game.outcome) === (c.honestProvider ? 1 : 2);
    }),
    { numRuns: GAMES, endOnFailure: true },
  );
  expect(played).toBe(GAMES);
});
