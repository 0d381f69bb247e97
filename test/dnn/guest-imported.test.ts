/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * Imported graphs beyond the MNIST models, node by node in the VM: a causal attention layer with a
 * gated (x × sigmoid(x)) feed-forward, standalone Relu, Tanh and a Reshape, written as an ONNX
 * exporter writes them and brought through importOnnx with calibration. Every node's VM output
 * region equals the native output (bytes and root), for a few token sequences.
 */
import { runModel } from '../../shared/dnn/executor';
import { runNodeInVm } from '../../shared/dnn/guest/runNode';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { buildOnnxModel, type OnnxInitializerDraft, type OnnxNodeDraft } from '../../shared/dnn/onnx/build';
import { importOnnx } from '../../shared/dnn/onnx/import';
import { gaussian, seededRandom } from '../../shared/dnn/random';
import { allocTensor, tensorBytes, toHex, type Tensor } from '../../shared/dnn/tensor';

const [V, T, D] = [10, 6, 8];
const rand = seededRandom(2024);
const normal = gaussian(rand);
const inits: OnnxInitializerDraft[] = [];
const w = (name: string, dims: number[], scale: number, offset = 0) => {
  inits.push({ name, dims, values: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => offset + normal() * scale) });
  return name;
};
inits.push({ name: 'causal', dims: [T, T], values: Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -Infinity : 0)) });
inits.push({ name: 'scale', dims: [], values: [Math.sqrt(D)] });
inits.push({ name: 'flat', dims: [2], values: [1, T * D], int64: true });

const n = (op: string, inputs: string[], output: string, attrs?: OnnxNodeDraft['attrs']): OnnxNodeDraft => ({ name: output, op, inputs, outputs: [output], attrs });
const graph: OnnxNodeDraft[] = [
  n('Gather', [w('emb', [V, D], 1), 'ids'], 'x'),
  n('LayerNormalization', ['x', w('g', [D], 0.1, 1), w('b', [D], 0.1)], 'xn', { axis: -1, epsilon: { float: 1e-5 } }),
  n('MatMul', ['xn', w('wq', [D, D], 0.3)], 'q'),
  n('MatMul', ['xn', w('wk', [D, D], 0.3)], 'k'),
  n('Transpose', ['k'], 'kt', { perm: [0, 2, 1] }),
  n('MatMul', ['q', 'kt'], 's'),
  n('Div', ['s', 'scale'], 'ss'),
  n('Add', ['ss', 'causal'], 'sm'),
  n('Softmax', ['sm'], 'p', { axis: -1 }),
  n('MatMul', ['p', 'xn'], 'a'),
  n('Sigmoid', ['a'], 'sig'),
  n('Mul', ['a', 'sig'], 'gated'),
  n('Tanh', ['gated'], 'th'),
  n('Relu', ['th'], 'r'),
  n('Add', ['x', 'r'], 'h'),
  n('Reshape', ['h', 'flat'], 'out'),
];
const bytes = buildOnnxModel({ opset: 20, inputs: [{ name: 'ids', elemType: 7, shape: [1, T] }], outputs: [{ name: 'out' }], nodes: graph, initializers: inits });
const tokens = () => Array.from({ length: T }, () => Math.floor(rand() * V));
const elf = buildKernelImage().elf;
const hex = (t: Tensor) => Buffer.from(tensorBytes(t)).toString('hex');

it('imported attention + gated feed-forward: every node, native output = VM output region', async () => {
  const calibration = Array.from({ length: 32 }, () => BigInt64Array.from(tokens(), BigInt));
  const model = await importOnnx(bytes, { name: 'attention-gated', calibration, inputShape: [1, T] });
  const ops = new Set(model.spec.nodes.map((x) => x.op));
  for (const op of ['Gather', 'LayerNorm', 'Dense', 'Transpose', 'MatMul', 'Softmax', 'Lut', 'Mul', 'Relu', 'Add', 'Reshape']) expect(ops).toContain(op);
  expect(model.spec.nodes.find((x) => x.op === 'Softmax')!.inputs).toHaveLength(3); // the causal mask
  for (let trial = 0; trial < 3; trial++) {
    const input = allocTensor('int32', [1, T]);
    input.data.set(tokens());
    const native = runModel(model, input, { keepNodeOutputs: true });
    const values = new Map<string, Tensor>([[model.spec.input, input]]);
    model.spec.nodes.forEach((node, i) => {
      const vm = runNodeInVm(model, i + 1, values, { elf });
      expect({ node: i + 1, op: node.op, bytes: hex(vm.output), root: toHex(vm.outputRoot) }).toEqual({
        node: i + 1,
        op: node.op,
        bytes: hex(native.nodeOutputs![i]),
        root: toHex(native.slots[i + 1]),
      });
      values.set(node.output, native.nodeOutputs![i]);
    });
  }
});
