/**
 * A real model in the game: the shipped MNIST MLP, its nodes run by the guest DNN kernels. A
 * provider committing one wrong logit is refuted through the one-step verifier; the graph
 * commitment registration stores is derived from the package.
 */
import { join } from 'node:path';
import { readModelFiles } from '../../shared/dnn/files';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { allocTensor, tensorBytes } from '../../shared/dnn/tensor';
import { dnnDisputeGraph, dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphFacts } from '../../shared/dispute/graph';
import { challenge, commitTask, playOut, player, registerModel, startDisputeFixture, type DisputeFixture } from './fixture';

jest.setTimeout(600_000);

let f: DisputeFixture;
beforeAll(async () => {
  f = await startDisputeFixture(2);
});
afterAll(async () => f?.stop());

it('refutes a wrong MNIST MLP logit through the one-step verifier', async () => {
  const model = readModelFiles(join(__dirname, '..', '..', 'models', 'mnist-mlp'));
  const graph = dnnDisputeGraph(model, buildKernelImage().elf);
  expect(graphFacts(graph).nodeCount).toBe(model.spec.nodes.length);
  const spec = model.tensorSpecs.get(model.spec.input)!;
  const input = allocTensor(spec.dtype, [...spec.shape]);
  for (let i = 0; i < input.data.length; i++) input.data[i] = ((i * 37) % 255) - 128;
  const honest = dnnSlotTensors(model, input);
  expect(Buffer.from(honest[0]).equals(Buffer.from(tensorBytes(input)))).toBe(true);
  const claimed = honest.map((t) => Uint8Array.from(t));
  claimed[graph.outputSlot][3] ^= 1;
  const modelId = await registerModel(f, { graph });
  const [provider, challenger] = f.actors;
  const taskId = await commitTask(f, modelId, provider, { graph }, claimed);
  const gameId = await challenge(f, challenger, taskId);
  const log = await playOut(f, [player(f, 'provider', provider, gameId, { graph }, claimed), player(f, 'challenger', challenger, gameId, { graph }, honest)]);
  expect(log).not.toContain('timeout-claimed');
  expect((await f.game.getGame(gameId)).outcome).toBe(2n);
  expect(await f.game.queryFilter(f.game.filters.StepVerified(gameId))).toHaveLength(1);
});
