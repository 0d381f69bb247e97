/**
 * waitForResult through a whole dispute: a provider commits a forged MNIST output, a challenger
 * plays the real game (shared/dispute/player.ts) against it, and the requester's watch reports
 * every round (phase, mover, move count) until the task is Refuted and the provider slashed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HDNodeWallet } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { mine } from '../../shared/market/tasks';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphStateAt } from '../../shared/dispute/graph';
import { moverOf, Player } from '../../shared/dispute/player';
import { PHASES } from '../../shared/dispute/spec';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { readModelFiles } from '../../shared/dnn/files';
import { KERNEL_ELF_PATH, kernelImageFromElf } from '../../shared/dnn/guest/kernelImage';
import { quantizeInput } from '../../shared/dnn/io';
import { toHex } from '../../shared/dnn/tensor';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { prepareModelRegistration, registerModel } from '../../shared/models/registration';
import { connectOpml, createTask, inputSpecOf, providerStatus, readOutput, waitForResult, type TaskSnapshot } from '../../shared/sdk';

jest.setTimeout(120_000);

const TOKEN = 10n ** 18n;
let chain: LocalChain;
let m: DeployedMarket;

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 4 });
});
afterAll(async () => chain?.stop());

it('reports each dispute round until the forged task is Refuted', async () => {
  const [admin, requester, cheater, challenger] = chain.wallets as HDNodeWallet[];
  m = await deployMarket(admin, { disputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN, disputeClockSeconds: 3_600 });
  const prepared = prepareModelRegistration(readModelFiles(join(__dirname, '..', '..', 'models', 'mnist-mlp')), kernelImageFromElf(readFileSync(KERNEL_ELF_PATH)));
  const { modelId } = await registerModel(m.registry, admin, prepared.spec);
  for (const w of [requester, cheater, challenger]) await mine(m.token.connect(admin).mint(w.address, 1_000n * TOKEN));
  for (const w of [cheater, challenger]) {
    await mine(m.token.connect(w).approve(m.addresses.staking, 200n * TOKEN));
    await mine(m.staking.connect(w).stake(200n * TOKEN));
  }
  // The bond scales with the task (challengeBondOf): allow whatever it is.
  await mine(m.token.connect(challenger).approve(m.addresses.market, 2n ** 255n));

  const four = mnistTest().images[mnistTest().labels.indexOf(4)];
  const asRequester = await connectOpml({ provider: chain.provider, market: m.addresses.market, signer: requester });
  const { taskId } = await createTask(asRequester, { modelId, input: { kind: 'values', values: four }, bounty: 10n * TOKEN, collateral: 100n * TOKEN, inputSpec: inputSpecOf(prepared.model.specBytes) });

  // The cheater claims and commits a wrong class; the challenger holds the honest slots.
  const honest = dnnSlotTensors(prepared.model, quantizeInput(prepared.model, four));
  const forged = honest.map((t) => Uint8Array.from(t));
  const out = prepared.graph.outputSlot;
  const truth = readOutput(prepared.model.specBytes, toHex(honest[out])).predictedClass!;
  forged[out] = Uint8Array.from(honest[out]);
  forged[out][truth] = 0x80; // -128: the true class loses
  forged[out][(truth + 1) % 10] = 0x7f; // 127: a neighbour wins
  const roots = forged.map((t) => merkleRootOfBytes(t));
  await mine(m.market.connect(cheater).claim(taskId));
  await mine(m.market.connect(cheater).commit(taskId, toHex(roots[out]), graphStateAt(roots, roots.length - 1), forged[out]));

  const seen: TaskSnapshot[] = [];
  const watching = waitForResult(asRequester, taskId, { pollMs: 25, timeoutMs: 100_000, onProgress: (s) => seen.push(s) });

  const receipt = await mine(m.market.connect(challenger).challenge(taskId));
  const game = m.dispute!.contract;
  const gameId = receipt.logs.map((l) => game.interface.parseLog(l)).find((e) => e?.name === 'GameCreated')!.args.gameId as bigint;
  const players = {
    provider: new Player('provider', game, cheater, gameId, prepared.graph, forged),
    challenger: new Player('challenger', game, challenger, gameId, prepared.graph, honest),
  };
  let rounds = 0;
  for (;;) {
    const phase = PHASES[Number((await game.getGame(gameId)).phase)];
    if (phase === 'Resolved') break;
    await players[moverOf(phase)].act();
    rounds++;
    // Let the watch read each round (it polls every 25 ms).
    await new Promise((r) => setTimeout(r, 60));
  }

  const final = await watching;
  expect(final.status).toBe('Refuted');
  expect(final.challenges).toHaveLength(1);
  expect(final.challenges[0]).toMatchObject({ status: 'ChallengerWon', challenger: challenger.address, game: { gameId, phase: 'Resolved', outcome: 'ChallengerWon', mover: null } });
  expect(final.challenges[0].game!.moves.length).toBeGreaterThanOrEqual(rounds);

  // The watch saw the game move: phases in the game's order, the move count never going back.
  const games = seen.map((s) => s.challenges[0]?.game).filter((g) => g != null);
  const phases = games.map((g) => g.phase).filter((p, i, a) => a[i - 1] !== p);
  expect(phases[0]).toBe('Open');
  expect(phases.at(-1)).toBe('Resolved');
  expect(phases).toEqual(expect.arrayContaining(['GraphBisect', 'Link', 'VmBisect', 'Step']));
  const counts = games.map((g) => g.moves.length);
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
  expect(new Set(counts).size).toBeGreaterThan(rounds / 2);
  expect(games.some((g) => g.mover === 'provider') && games.some((g) => g.mover === 'challenger')).toBe(true);

  const slashedProvider = await providerStatus(asRequester, cheater.address);
  expect(slashedProvider).toMatchObject({ slashed: 100n * TOKEN, stake: 100n * TOKEN, locked: 0n, earned: 0n });
});
