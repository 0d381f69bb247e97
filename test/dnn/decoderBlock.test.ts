/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * A decoder-only transformer block as an exporter writes it (token + position embeddings,
 * LayerNorm, single-head causal self-attention with Div scaling and an additive −∞ mask, GELU MLP,
 * residuals, LM head), imported and run in int8 against onnxruntime's float run.
 */
import * as ort from 'onnxruntime-node';
import { runModel } from '../../shared/dnn/executor';
import { dequantizeOutput, quantizeInput } from '../../shared/dnn/io';
import { buildOnnxModel, type OnnxInitializerDraft, type OnnxNodeDraft } from '../../shared/dnn/onnx/build';
import { ortTensor } from '../../shared/dnn/onnx/calibrate';
import { importOnnx } from '../../shared/dnn/onnx/import';
import { gaussian, seededRandom } from '../../shared/dnn/random';

const [V, T, D, H] = [12, 8, 16, 32];
const rand = seededRandom(777);
const normal = gaussian(rand);
const inits: OnnxInitializerDraft[] = [];
const w = (name: string, dims: number[], scale: number, offset = 0) => {
  inits.push({ name, dims, values: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => offset + normal() * scale) });
  return name;
};
const mask = Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -Infinity : 0));
inits.push({ name: 'mask', dims: [T, T], values: mask });
inits.push({ name: 'sqrt_d', dims: [], values: [Math.sqrt(D)] });

const n = (op: string, inputs: string[], output: string, attrs?: OnnxNodeDraft['attrs']): OnnxNodeDraft => ({ name: output, op, inputs, outputs: [output], attrs });
const nodes: OnnxNodeDraft[] = [
  n('Gather', [w('tok_emb', [V, D], 1), 'ids'], 'tok'),
  n('Add', ['tok', w('pos_emb', [T, D], 0.3)], 'h0'),
  n('LayerNormalization', ['h0', w('ln1_g', [D], 0.1, 1), w('ln1_b', [D], 0.1)], 'ln1', { axis: -1, epsilon: { float: 1e-5 } }),
  n('MatMul', ['ln1', w('wq', [D, D], 0.25)], 'q'),
  n('MatMul', ['ln1', w('wk', [D, D], 0.25)], 'k'),
  n('MatMul', ['ln1', w('wv', [D, D], 0.25)], 'v'),
  n('Transpose', ['k'], 'kt', { perm: [0, 2, 1] }),
  n('MatMul', ['q', 'kt'], 'scores'),
  n('Div', ['scores', 'sqrt_d'], 'scaled'),
  n('Add', ['scaled', 'mask'], 'masked'),
  n('Softmax', ['masked'], 'probs', { axis: -1 }),
  n('MatMul', ['probs', 'v'], 'attn'),
  n('MatMul', ['attn', w('wo', [D, D], 0.25)], 'proj'),
  n('Add', ['proj', w('bo', [D], 0.1)], 'proj_b'),
  n('Add', ['h0', 'proj_b'], 'h1'),
  n('LayerNormalization', ['h1', w('ln2_g', [D], 0.1, 1), w('ln2_b', [D], 0.1)], 'ln2', { axis: -1, epsilon: { float: 1e-5 } }),
  n('MatMul', ['ln2', w('w1', [D, H], 0.25)], 'ff1'),
  n('Add', ['ff1', w('b1', [H], 0.1)], 'ff1_b'),
  n('Gelu', ['ff1_b'], 'ff_act'),
  n('MatMul', ['ff_act', w('w2', [H, D], 0.18)], 'ff2'),
  n('Add', ['ff2', w('b2', [D], 0.1)], 'ff2_b'),
  n('Add', ['h1', 'ff2_b'], 'h2'),
  n('LayerNormalization', ['h2', w('lnf_g', [D], 0.1, 1), w('lnf_b', [D], 0.1)], 'lnf', { axis: -1, epsilon: { float: 1e-5 } }),
  n('MatMul', ['lnf', w('lm_head', [D, V], 0.25)], 'logits'),
];

const bytes = buildOnnxModel({ opset: 20, inputs: [{ name: 'ids', elemType: 7, shape: [1, T] }], outputs: [{ name: 'logits' }], nodes, initializers: inits });
const sample = () => BigInt64Array.from({ length: T }, () => BigInt(Math.floor(rand() * V)));

describe('decoder block', () => {
  it('imports to int8 nodes with a masked softmax and tracks onnxruntime', async () => {
    const tests = Array.from({ length: 8 }, sample);
    const model = await importOnnx(bytes, { name: 'decoder-block', calibration: [...Array.from({ length: 64 }, sample), ...tests], inputShape: [1, T] });
    const softmax = model.spec.nodes.find((x) => x.op === 'Softmax')!;
    expect(softmax.inputs).toHaveLength(3);
    expect(model.spec.nodes.map((x) => x.op)).toEqual(
      ['Gather', 'Add', 'LayerNorm', 'Dense', 'Dense', 'Dense', 'Transpose', 'MatMul', 'Mul', 'Softmax', 'MatMul', 'Dense', 'Add', 'LayerNorm', 'Dense', 'Lut', 'Dense', 'Add', 'LayerNorm', 'Dense'],
    );
    const session = await ort.InferenceSession.create(bytes);
    const outScale = model.tensorSpecs.get(model.spec.output)!.scale;
    let worst = 0;
    let agree = 0;
    for (const ids of tests) {
      const expected = (await session.run({ ids: ortTensor(ids, [1, T]) })).logits.data as Float32Array;
      const got = dequantizeOutput(model, runModel(model, quantizeInput(model, Array.from(ids, Number))).output);
      for (let t = 0; t < T; t++) {
        const e = Array.from(expected.subarray(t * V, (t + 1) * V));
        const g = Array.from(got.subarray(t * V, (t + 1) * V));
        if (e.indexOf(Math.max(...e)) === g.indexOf(Math.max(...g))) agree++;
        for (let i = 0; i < V; i++) worst = Math.max(worst, Math.abs(e[i] - g[i]) / outScale);
      }
    }
    await session.release();
    console.log(JSON.stringify({ worstErrorInOutputSteps: worst, argmaxAgreement: agree / (tests.length * T) }));
    expect(worst).toBeLessThanOrEqual(6);
    expect(agree / (tests.length * T)).toBeGreaterThanOrEqual(0.9);
  });
});
