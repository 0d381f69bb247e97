/**
 * Registration from a model package: the registry entry is the package's dispute graph commitment
 * and roots, a provider refuses work on a model whose entry does not match its package, and the
 * real game refuses to open a dispute over a model registered with the spec hash alone.
 */
import { join } from 'node:path';
import { keccak256, ZeroAddress, type HDNodeWallet } from 'ethers';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { revertDataOf } from '../../shared/market/errors';
import { mine, taskIdOf } from '../../shared/market/tasks';
import { dnnDisputeGraph, dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphCommitment, graphStateAt } from '../../shared/dispute/graph';
import { Player } from '../../shared/dispute/player';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { readModelFiles } from '../../shared/dnn/files';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { quantizeInput } from '../../shared/dnn/io';
import { tensorBytes } from '../../shared/dnn/tensor';
import { loadElf } from '../../shared/vm/elf';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { assertModelDefensible, assertTaskDefensible } from '../../shared/models/defensible';
import { ModelCommitmentMismatch } from '../../shared/models/errors';
import { prepareModelRegistration, registerModel, type PreparedModel } from '../../shared/models/registration';
import { weightsBytes } from '../../shared/dnn/weights';
import { fileCid } from '../../shared/ipfs/cid';

jest.setTimeout(300_000);

const TOKEN = 10n ** 18n;
const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

let chain: LocalChain;
let m: DeployedMarket;
let admin: HDNodeWallet, requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet;
let prepared: PreparedModel;

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 4 });
  [admin, requester, provider, challenger] = chain.wallets as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
  m = await deployMarket(admin, { disputeGame: true, disputeClockSeconds: 3_600, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN });
  for (const a of [requester, provider, challenger]) {
    await mine(m.token.connect(admin).mint(a.address, 10_000n * TOKEN));
    await mine(m.token.connect(a).approve(await m.market.getAddress(), 2n ** 256n - 1n));
    await mine(m.token.connect(a).approve(await m.staking.getAddress(), 2n ** 256n - 1n));
  }
  for (const a of [provider, challenger]) await mine(m.staking.connect(a).stake(1_000n * TOKEN));
  prepared = prepareModelRegistration(readModelFiles(join(__dirname, '..', '..', 'models', 'mnist-mlp')), buildKernelImage(), 3n);
});
afterAll(async () => chain?.stop());

it('stores the dispute graph commitment, the weights and image roots and the package CIDs', () => {
  const kernel = buildKernelImage();
  const { model, spec } = prepared;
  expect(spec.graphSpecHash).toBe(graphCommitment(dnnDisputeGraph(model, kernel.elf)));
  expect(spec.graphSpecHash).not.toBe(keccak256(model.specBytes));
  expect(spec.weightsRoot).toBe(hex(merkleRootOfBytes(weightsBytes(model.weights))));
  expect(spec.vmImageRoot).toBe(hex(loadElf(kernel.elf).memory.root()));
  expect([spec.graphCid, spec.weightsCid, spec.vmImageCid]).toEqual([fileCid(model.specBytes), fileCid(weightsBytes(model.weights)), kernel.cid]);
  expect(spec.fee).toBe(3n);
});

it('lets a provider take work on a model registered from its package', async () => {
  const { modelId } = await registerModel(m.registry, admin, prepared.spec);
  await expect(assertModelDefensible(m.registry, modelId, prepared)).resolves.toBeUndefined();
  expect(await m.registry.modelRoots(modelId)).toEqual([prepared.spec.graphSpecHash, prepared.spec.weightsRoot, prepared.spec.vmImageRoot]);
});

it('makes a provider refuse a model whose registered roots do not match its package', async () => {
  const cases = [
    ['graphSpecHash', { ...prepared.spec, graphSpecHash: keccak256(prepared.model.specBytes) }],
    ['weightsRoot', { ...prepared.spec, weightsRoot: keccak256('0x01') }],
    ['vmImageRoot', { ...prepared.spec, vmImageRoot: keccak256('0x02') }],
  ] as const;
  for (const [field, spec] of cases) {
    const { modelId } = await registerModel(m.registry, admin, spec);
    const error = await assertModelDefensible(m.registry, modelId, prepared).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelCommitmentMismatch);
    expect(error).toMatchObject({ name: 'ModelCommitmentMismatch', modelId, field, registered: spec[field], expected: prepared.spec[field] });
  }
});

it("refuses the game's open for a model registered with keccak256(spec) instead of the graph commitment", async () => {
  const specOnly = keccak256(prepared.model.specBytes);
  const { modelId } = await registerModel(m.registry, admin, { ...prepared.spec, graphSpecHash: specOnly });
  const input = quantizeInput(prepared.model, mnistTest().images[0]);
  const now = BigInt((await chain.provider.getBlock('latest'))!.timestamp);
  const created = await mine(
    m.market.connect(requester).createTask({
      modelId,
      inputRoot: hex(merkleRootOfBytes(tensorBytes(input))),
      inputCid: 'bafy-input',
      bounty: 20n * TOKEN,
      deadline: now + 3_600n,
      collateral: 100n * TOKEN,
      challengeWindow: 600n,
      maxModelFee: 3n,
      consumer: ZeroAddress,
      callbackGasLimit: 0n,
      steps: 1n,
    }),
  );
  const taskId = taskIdOf(m.market, created);
  await expect(assertTaskDefensible(m.market, m.registry, taskId, prepared)).rejects.toMatchObject({ name: 'ModelCommitmentMismatch', field: 'graphSpecHash', modelId });
  // A provider that skipped the check: honest output, but it cannot open the game.
  const tensors = dnnSlotTensors(prepared.model, input);
  const roots = tensors.map((t) => merkleRootOfBytes(t));
  const out = prepared.graph.outputSlot;
  await mine(m.market.connect(provider).claim(taskId));
  await mine(m.market.connect(provider).commit(taskId, hex(roots[out]), graphStateAt(roots, roots.length - 1), tensors[out]));
  await mine(m.market.connect(challenger).challenge(taskId));
  const game = m.dispute!.contract;
  const gameId = await game.gameCount();
  const before = await game.getGame(gameId);

  const error = await new Player('provider', game, provider, gameId, prepared.graph, tensors).act().catch((e: unknown) => e);
  const decoded = game.interface.parseError(revertDataOf(error)!);
  expect(decoded?.name).toBe('DisputeGraphCommitmentMismatch');
  expect([...decoded!.args]).toEqual([gameId, prepared.spec.graphSpecHash, specOnly]);
  expect(await game.getGame(gameId)).toEqual(before);
});
