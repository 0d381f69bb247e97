/**
 * Malformed moves: each reverts with its custom error and the values that caused it, and the
 * game's state stays exactly as it was.
 */
import { ZeroHash } from 'ethers';
import { DisputeGame__factory } from '../../build/types';
import { graphFacts } from '../../shared/dispute/graph';
import { Player } from '../../shared/dispute/player';
import { PHASES } from '../../shared/dispute/spec';
import { deployDisputeGame } from '../../shared/dispute/deploy';
import { challenge, commitTask, player, registerModel, startDisputeFixture, type DisputeFixture } from './fixture';
import { computeTensors, randomInt8, testGraph, type SyntheticGraph } from './synthetic';

jest.setTimeout(300_000);

let f: DisputeFixture;
let s: SyntheticGraph;
let gameId: bigint;
let provider: Player;
let challenger: Player;
const input = randomInt8(40, 5);

beforeAll(async () => {
  f = await startDisputeFixture(3);
  s = testGraph();
  const modelId = await registerModel(f, s);
  const honest = computeTensors(s, input);
  const claimed = computeTensors(s, input, { node: 9, element: 1, delta: 1, propagate: true });
  const taskId = await commitTask(f, modelId, f.actors[0], s, claimed);
  gameId = await challenge(f, f.actors[1], taskId);
  provider = player(f, 'provider', f.actors[0], gameId, s, claimed);
  challenger = player(f, 'challenger', f.actors[1], gameId, s, honest);
});
afterAll(async () => f?.stop());

/** Asserts the call reverts with `name(args)` and leaves the game unchanged. */
async function expectRevert(call: () => Promise<unknown>, name: string, args?: unknown[]): Promise<void> {
  const before = await f.game.getGame(gameId);
  let caught: { data?: string } | undefined;
  try {
    await call();
  } catch (e) {
    caught = e as typeof caught;
  }
  const decoded = f.game.interface.parseError(caught?.data ?? '0x');
  expect(decoded?.name).toBe(name);
  if (args) expect([...decoded!.args]).toEqual(args);
  expect([...(await f.game.getGame(gameId))]).toEqual([...before]);
}

async function phase(): Promise<string> {
  return PHASES[Number((await f.game.getGame(gameId)).phase)];
}

async function advanceTo(target: string): Promise<void> {
  while ((await phase()) !== target) {
    const mover = ['Open', 'GraphBisect', 'Link', 'VmBisect'].includes(await phase()) ? provider : challenger;
    expect(await mover.act()).toBe('moved');
  }
}

const at = (p: Player) => f.game.connect(p.signer);

it('rejects games not opened by the market, and unknown games', async () => {
  const subject = { taskId: 1n, challengeIndex: 0n, provider: f.actors[0].address, challenger: f.actors[1].address, modelId: 1n, inputRoot: ZeroHash, outputRoot: ZeroHash, graphStateRoot: ZeroHash, steps: 1n };
  await expectRevert(() => at(provider).createGame.staticCall(subject), 'DisputeNotMarket', [f.actors[0].address, await f.m.market.getAddress()]);
  await expectRevert(() => at(provider).bisect.staticCall(99n, []), 'DisputeGameUnknown', [99n]);
});

it('rejects malformed opening moves', async () => {
  const facts = graphFacts(s.graph);
  const turn = { role: 'provider' as const, gameId, phase: 'Open' as const, game: await f.game.getGame(gameId) };
  const honest = await provider.honestMove(turn);
  if (honest.kind !== 'open') throw new Error('expected open');
  await expectRevert(() => at(challenger).open.staticCall(gameId, facts, honest.outputSiblings), 'DisputeNotYourTurn', [gameId, f.actors[1].address, f.actors[0].address]);
  await expectRevert(() => at(provider).bisect.staticCall(gameId, []), 'DisputeWrongPhase', [gameId, 1n]);
  await expectRevert(() => at(provider).open.staticCall(gameId, { ...facts, outputSlot: 3 }, honest.outputSiblings), 'DisputeGraphCommitmentMismatch');
  await expectRevert(() => at(provider).open.staticCall(gameId, facts, honest.outputSiblings.slice(1)), 'DisputeProofLengthInvalid', ['output slot', 4n, 5n]);
  await expectRevert(() => at(provider).open.staticCall(gameId, facts, [...honest.outputSiblings.slice(0, -1), ZeroHash]), 'DisputeProofInvalid', ['output slot', 18n]);
  await expectRevert(() => at(provider).timeout.staticCall(gameId), 'DisputeClockRunning');
});

it('rejects malformed dissection moves', async () => {
  await advanceTo('GraphBisect');
  await expectRevert(() => at(provider).bisect.staticCall(gameId, [ZeroHash]), 'DisputePointCountInvalid', [1n, 15n]);
  await advanceTo('GraphChoose');
  const [event] = await f.game.queryFilter(f.game.filters.Bisected(gameId));
  const values = [...event.args.claims];
  await expectRevert(() => at(challenger).choose.staticCall(gameId, 16n, values), 'DisputeSegmentOutOfRange', [16n, 16n]);
  await expectRevert(() => at(challenger).choose.staticCall(gameId, 0n, values.slice(1)), 'DisputePointCountInvalid', [14n, 15n]);
  await expectRevert(() => at(challenger).choose.staticCall(gameId, 0n, [ZeroHash, ...values.slice(1)]), 'DisputePointsMismatch');
  await expectRevert(() => at(provider).choose.staticCall(gameId, 0n, values), 'DisputeNotYourTurn');
});

it('rejects malformed phase links', async () => {
  await advanceTo('Link');
  const turn = { role: 'provider' as const, gameId, phase: 'Link' as const, game: await f.game.getGame(gameId) };
  const honest = await provider.honestMove(turn);
  if (honest.kind !== 'link') throw new Error('expected link');
  const p = honest.proof;
  const node = (await f.game.getGame(gameId)).hi;
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, outputRoot: ZeroHash }), 'DisputeProofInvalid', ['node slot after', node]);
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, inputRoots: [ZeroHash, ...p.inputRoots.slice(1)] }), 'DisputeProofInvalid', ['input slot', 0n]);
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, imageRoot28: ZeroHash }), 'DisputeProofInvalid', ['image', 0n]);
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, stepBound: 1000n }), 'DisputeStepBoundInvalid', [1000n]);
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, inputRoots: p.inputRoots.slice(1) }), 'DisputeInputCountInvalid');
  const running = Uint8Array.from(p.endState as Uint8Array);
  running[44] = 0;
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, endState: running }), 'DisputeEndStateInvalid');
  await expectRevert(() => at(provider).link.staticCall(gameId, { ...p, node: { ...p.node, paramsSize: 48 } }), 'DisputeProofInvalid', ['node record', node]);
});

it('rejects a step from any state but the agreed one', async () => {
  await advanceTo('Step');
  const turn = { role: 'challenger' as const, gameId, phase: 'Step' as const, game: await f.game.getGame(gameId) };
  const honest = await challenger.honestMove(turn);
  if (honest.kind !== 'step') throw new Error('expected step');
  const other = Uint8Array.from(honest.state);
  other[40] ^= 1;
  await expectRevert(() => at(challenger).step.staticCall(gameId, other, honest.proofs), 'DisputePreStateMismatch');
  expect(await challenger.act()).toBe('moved');
  expect(await phase()).toBe('Resolved');
  await expectRevert(() => at(challenger).timeout.staticCall(gameId), 'DisputeWrongPhase', [gameId, 8n]);
});

it('refuses deployment options out of range before sending anything', async () => {
  const nonce = await f.provider.getTransactionCount(f.admin.address);
  await expect(deployDisputeGame(f.admin, f.m.market, { clockSeconds: 5 })).rejects.toMatchObject({ name: 'DeployDisputeGameOptionsError' });
  expect(await f.provider.getTransactionCount(f.admin.address)).toBe(nonce);
});

it('cannot be deployed with a clock outside its bounds, whatever the script (finding 7)', async () => {
  const verifier = await f.game.verifier();
  for (const clock of [0n, 59n, 30n * 86_400n + 1n]) {
    const data = new DisputeGame__factory(f.admin).interface.encodeDeploy([await f.m.market.getAddress(), verifier, clock]);
    const bytecode = DisputeGame__factory.bytecode + data.slice(2);
    let caught: { data?: string } | undefined;
    try {
      await f.provider.call({ from: f.admin.address, data: bytecode });
    } catch (e) {
      caught = e as typeof caught;
    }
    const decoded = f.game.interface.parseError(caught?.data ?? '0x');
    expect([decoded?.name, ...(decoded?.args ?? [])]).toEqual(['DisputeClockOutOfRange', clock, 60n, 30n * 86_400n]);
  }
});
