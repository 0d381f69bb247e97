/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * The float LLaMA reference against onnxruntime: the same checkpoint, run token by token through
 * our KV-cached forward and as one ONNX graph (matrix-form attention with repeat_kv, rotate_half
 * RoPE, RMSNorm from ReduceMean), must give the same logits at every position.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FloatLlama, loadFloatWeights, meanNll } from '../../shared/llm/float/forward';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { llamaOnnxModel } from '../../shared/llm/onnxGraph';
import { randomLlamaWeights } from '../../shared/llm/shapes';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-float-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const base = { hiddenSize: 48, intermediateSize: 80, layers: 2, heads: 6, kvHeads: 2, vocabSize: 67, maxPositions: 64, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, headDim: 8 };

async function compare(name: string, over: Record<string, unknown>, configOver: Record<string, unknown> = {}) {
  const dir = join(root, name);
  // std 0.2 rather than 0.02: logits then vary by whole units, so agreement is not trivially near zero.
  writeLlamaCheckpoint(dir, { ...llamaConfigJson({ ...base, ...over, torchDtype: 'float32' }), ...configOver }, randomLlamaWeights(11, 0.2), { dtype: 'F32' });
  const ckpt = LlamaCheckpoint.open(dir);
  const weights = loadFloatWeights(ckpt);
  ckpt.close();
  const tokens = [3, 17, 60, 0, 45, 45, 9, 22, 31, 66, 5, 12];
  const model = new FloatLlama(ckpt.config, weights);
  const ours = model.forward(tokens);
  const session = await ort.InferenceSession.create(llamaOnnxModel(ckpt.config, weights, tokens.length));
  const result = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]) });
  const theirs = result.logits.data as Float32Array;
  const V = ckpt.config.vocabSize;
  let worst = 0;
  let spread = 0;
  for (let t = 0; t < tokens.length; t++) {
    for (let v = 0; v < V; v++) {
      worst = Math.max(worst, Math.abs(ours[t][v] - theirs[t * V + v]));
      spread = Math.max(spread, Math.abs(ours[t][v]));
    }
  }
  await session.release();
  expect(spread).toBeGreaterThan(1);
  expect(worst).toBeLessThan(1e-4 * spread);
  return { model, tokens };
}

test('grouped-query attention, untied head', async () => {
  const { model, tokens } = await compare('gqa', {});
  // The cache makes decoding one token equal to re-running the prefix.
  model.reset();
  const prefix = model.forward(tokens.slice(0, 5));
  expect(prefix.at(-1)).toEqual(new FloatLlama(model.config, model.weights).forward(tokens.slice(0, 5)).at(-1));
  expect(meanNll(model, tokens)).toBeGreaterThan(0);
});

test('multi-head attention with tied embeddings', async () => {
  await compare('mha-tied', { kvHeads: 6, tiedEmbeddings: true });
});

test('Llama 3 RoPE scaling and a head_dim that is not hidden/heads', async () => {
  await compare('llama3', { headDim: 16, heads: 4, kvHeads: 1 }, { rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } });
});

test('greedy decoding stops at a stop token or maxTokens', async () => {
  const { model } = await compare('greedy', { layers: 1 });
  model.reset();
  const out = model.generateGreedy([1, 2, 3], 6);
  expect(out).toHaveLength(6);
  model.reset();
  const stopped = model.generateGreedy([1, 2, 3], 6, [out[2]]);
  expect(stopped).toEqual(out.slice(0, out.indexOf(out[2]) + 1));
  expect(() => model.step(67)).toThrow(/outside the vocabulary/);
});
