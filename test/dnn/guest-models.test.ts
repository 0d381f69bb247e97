/**
 * Every node of every shipped model (models/*.dnn.json: the MNIST MLP and CNN, the character
 * transformer) in the VM, each from its canonical start state with the native executor's inputs:
 * output bytes equal the native node output, and the VM output region's subtree root equals the
 * native graph-state slot. Then a whole-model VM run
 * (each node fed by the previous VM outputs) gives the native slots and graph state.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { runNodeInVm } from '../../shared/dnn/guest/runNode';
import { sampleInputs } from '../../shared/dnn/guest/sampleInputs';
import { runModelInVm } from '../../shared/dnn/guest/wholeModel';
import { graphStateRoot } from '../../shared/dnn/graphState';
import { tensorBytes, toHex, type Tensor } from '../../shared/dnn/tensor';

const MODELS = join(__dirname, '..', '..', 'models');
const shipped = readdirSync(MODELS)
  .filter((f) => f.endsWith('.dnn.json'))
  .map((f) => f.slice(0, -'.dnn.json'.length))
  .sort();
const elf = buildKernelImage().elf;
const hex = (t: Tensor) => Buffer.from(tensorBytes(t)).toString('hex');

it('models are shipped', () => {
  expect(shipped).toEqual(expect.arrayContaining(['charlm', 'mnist-cnn', 'mnist-mlp']));
});

describe.each(shipped)('%s', (name) => {
  const model = readModelFiles(join(MODELS, name));
  // Three held-out digits for the MNIST models, one seeded token sequence for the others.
  const inputs = sampleInputs(model, model.tensorSpecs.get(model.spec.input)!.dtype === 'int8' ? 3 : 1);

  it.each(inputs.map((t, i) => [i, t] as const))('input %i: every node, native output = VM output region (bytes and root)', (_, input) => {
    const native = runModel(model, input, { keepNodeOutputs: true });
    const values = new Map<string, Tensor>([[model.spec.input, input]]);
    model.spec.nodes.forEach((node, i) => {
      const vm = runNodeInVm(model, i + 1, values, { elf });
      expect({ node: i + 1, bytes: hex(vm.output) }).toEqual({ node: i + 1, bytes: hex(native.nodeOutputs![i]) });
      expect({ node: i + 1, root: toHex(vm.outputRoot) }).toEqual({ node: i + 1, root: toHex(native.slots[i + 1]) });
      values.set(node.output, native.nodeOutputs![i]);
    });
  });

  it('whole model in the VM gives the native slots and graph state', () => {
    const native = runModel(model, inputs[0]);
    const vm = runModelInVm(model, inputs[0], elf);
    expect(vm.slots.map(toHex)).toEqual(native.slots.map(toHex));
    expect(toHex(graphStateRoot(vm.slots))).toBe(toHex(native.graphStateRoot));
    expect(vm.nodes.map((n) => n.op)).toEqual(model.spec.nodes.map((n) => n.op));
    console.log(JSON.stringify({ model: name, totalSteps: vm.totalSteps, vmSeconds: vm.vmSeconds, nodes: vm.nodes.map((n) => [n.op, n.steps]) }));
  });
});
