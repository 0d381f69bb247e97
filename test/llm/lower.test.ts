/**
 * Importing a LlamaForCausalLM checkpoint into an int8 package: the next-token logits follow the
 * float model, every node gives the same bytes and roots in the VM as natively (whole model, both
 * native backends), and bad options are refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { runModelInVm } from '../../shared/dnn/guest/wholeModel';
import { dequantizeOutput } from '../../shared/dnn/io';
import type { DnnModel } from '../../shared/dnn/model';
import { seededRandom } from '../../shared/dnn/random';
import { allocTensor, toHex, type Tensor } from '../../shared/dnn/tensor';
import { FloatLlama, loadFloatWeights } from '../../shared/llm/float/forward';
import { runLayerwise } from '../../shared/llm/float/layerwise';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { calibrateLlama, importLlama, llamaPackageDraft, LlamaLowerError } from '../../shared/llm/lower';
import { randomLlamaWeights } from '../../shared/llm/shapes';

const shape = { hiddenSize: 64, intermediateSize: 160, layers: 2, heads: 4, kvHeads: 2, vocabSize: 97, maxPositions: 64, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false };
const T = 12;
const rand = seededRandom(31);
const tokens = () => Array.from({ length: T }, () => Math.floor(rand() * shape.vocabSize));
const idsTensor = (seq: number[]): Tensor => {
  const t = allocTensor('int32', [1, T]);
  t.data.set(seq);
  return t;
};

let root: string;
let ckpt: LlamaCheckpoint;
let model: DnnModel;
const stages = new Set<string>();
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-lower-'));
  // fp16 on disk, like a published checkpoint; std 0.1 makes the logits spread over several units.
  writeLlamaCheckpoint(join(root, 'ckpt'), llamaConfigJson({ ...shape, torchDtype: 'float16' }), randomLlamaWeights(5, 0.1), { dtype: 'F16' });
  ckpt = LlamaCheckpoint.open(join(root, 'ckpt'));
  importLlama(ckpt, join(root, 'pkg'), { name: 'tiny-llama', seqLen: T, calibration: Array.from({ length: 8 }, tokens), onProgress: (stage) => stages.add(stage) });
  model = readModelFiles(join(root, 'pkg'));
});
afterAll(() => {
  ckpt?.close();
  rmSync(root, { recursive: true, force: true });
});

test('the package is the decoder graph: every layer uses the four decoder operators, weights per channel', () => {
  const ops = model.spec.nodes.map((n) => n.op);
  expect(ops.filter((o) => o === 'Attention')).toHaveLength(shape.layers);
  expect(ops.filter((o) => o === 'Rope')).toHaveLength(2 * shape.layers);
  expect(ops.filter((o) => o === 'KvWrite')).toHaveLength(2 * shape.layers);
  expect(ops.filter((o) => o === 'RmsNorm')).toHaveLength(2 * shape.layers + 1);
  expect(model.tensorSpecs.get('layers.0.q#w')!.channelScales).toHaveLength(shape.heads * 16);
  expect(model.spec.nodes.find((n) => n.op === 'Attention')!.attrs).toEqual({ heads: 4, kvHeads: 2 });
  expect([...stages].sort()).toEqual(['calibration', 'layers', 'weights']);
});

test('int8 next-token logits follow the float model (cosine > 0.98, same top token mostly)', () => {
  const float = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  let cos = 0;
  let agree = 0;
  const trials = 8;
  for (let s = 0; s < trials; s++) {
    const seq = tokens();
    const out = dequantizeOutput(model, runModel(model, idsTensor(seq)).output);
    float.reset();
    const want = float.forward(seq).at(-1)!;
    let [dot, na, nb] = [0, 0, 0];
    for (let i = 0; i < want.length; i++) {
      dot += out[i] * want[i];
      na += out[i] ** 2;
      nb += want[i] ** 2;
    }
    cos += dot / Math.sqrt(na * nb);
    const top = (v: ArrayLike<number>) => Array.from(v).indexOf(Math.max(...Array.from(v)));
    if (top(out) === top(want)) agree++;
  }
  expect(cos / trials).toBeGreaterThan(0.98);
  expect(agree).toBeGreaterThanOrEqual(trials - 2);
});

test('the layer-by-layer float forward equals the token-by-token one', () => {
  const seq = tokens();
  const float = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  const want = float.forward(seq);
  const { logits } = runLayerwise(ckpt, [seq]);
  let worst = 0;
  for (let t = 0; t < T; t++) for (let v = 0; v < shape.vocabSize; v++) worst = Math.max(worst, Math.abs(logits[0][t * shape.vocabSize + v] - want[t][v]));
  expect(worst).toBeLessThan(1e-4);
});

test('native (wasm and TypeScript kernels) = VM, node by node, for the whole model', () => {
  const input = idsTensor(tokens());
  const ts = runModel(model, input, { backend: 'ts', keepNodeOutputs: true });
  const wasm = runModel(model, input, { backend: 'wasm', keepNodeOutputs: true });
  expect(wasm.slots.map(toHex)).toEqual(ts.slots.map(toHex));
  const vm = runModelInVm(model, input);
  expect(vm.slots.map(toHex)).toEqual(ts.slots.map(toHex));
  expect(vm.totalSteps).toBeGreaterThan(0);
});

test('refuses a prompt length past the positions, and an empty calibration set', () => {
  const ranges = calibrateLlama(ckpt, [tokens()]);
  expect(() => llamaPackageDraft(ckpt, ranges, { name: 'x', seqLen: 65 })).toThrow(LlamaLowerError);
  expect(() => llamaPackageDraft(ckpt, ranges, { name: 'x', seqLen: 0 })).toThrow(/seqLen 0 must be in \[1, min\(max_position_embeddings 64, 4096\)\]/);
  expect(() => calibrateLlama(ckpt, [])).toThrow(/calibration needs at least one non-empty token sequence/);
});
