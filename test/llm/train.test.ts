/**
 * The hand-written training math: the backward pass against central finite differences (float64,
 * a tiny grouped-query LLaMA, every tensor of every layer), Adam bringing the loss down, and the
 * trained weights written as a checkpoint folder giving FloatLlama the loss the trainer computed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../../shared/dnn/random';
import { FloatLlama, loadFloatWeights, meanNll } from '../../shared/llm/float/forward';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson, parseLlamaConfig } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { Adam, clipGradNorm } from '../../shared/llm/train/adam';
import { matmulABt } from '../../shared/llm/train/kernels';
import { LlamaTrainStep, TrainShapeError } from '../../shared/llm/train/model';
import { initTrainWeights, namedTensors, toFloatLlamaWeights, weightsSource, zerosLike } from '../../shared/llm/train/weights';
import { evaluationWindows, sampleWindows, tokenStream, WindowError } from '../../shared/llm/train/windows';

const tinyJson = llamaConfigJson({ hiddenSize: 16, intermediateSize: 24, layers: 2, heads: 4, kvHeads: 2, vocabSize: 23, maxPositions: 16, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, torchDtype: 'float32' });
const tiny = parseLlamaConfig(tinyJson);

function randomWindows(seed: number, count: number, length: number, vocab: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count * length }, () => Math.floor(rand() * vocab));
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-train-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('matmulABt matches the definition at every tile remainder', () => {
  const rand = seededRandom(3);
  for (const [m, n, k] of [[1, 1, 1], [5, 3, 7], [8, 6, 4], [7, 9, 2]]) {
    const a = Float64Array.from({ length: m * k }, rand);
    const b = Float64Array.from({ length: n * k }, rand);
    const c = new Float64Array(m * n).fill(1);
    matmulABt(a, b, c, m, n, k, true);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 1;
        for (let x = 0; x < k; x++) s += a[i * k + x] * b[j * k + x];
        expect(c[i * n + j]).toBeCloseTo(s, 12);
      }
    }
  }
});

test('the backward pass matches finite differences for every tensor', () => {
  const batch = 2;
  const seqLen = 6;
  const step = new LlamaTrainStep(tiny, batch, seqLen, Float64Array);
  // A larger init than training's, and norm weights away from 1, so every term of the gradient matters.
  const w = initTrainWeights(tiny, { seed: 5, std: 0.4, arrayType: Float64Array });
  const rand = seededRandom(9);
  for (const t of namedTensors(tiny, w)) if (t.shape.length === 1) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.5 * (rand() - 0.5);
  const windows = randomWindows(1, batch, seqLen + 1, tiny.vocabSize);
  const grads = zerosLike(tiny, w);
  step.lossAndGrad(w, windows, grads);
  const gradOf = new Map(namedTensors(tiny, grads).map((t) => [t.name, t.data]));
  const h = 1e-5;
  let checked = 0;
  for (const t of namedTensors(tiny, w)) {
    const g = gradOf.get(t.name)!;
    // a few entries of each tensor; for the embedding, rows the windows use
    const picks = t.name === 'model.embed_tokens.weight' ? windows.slice(0, 4).map((id, j) => id * tiny.hiddenSize + j) : [0, 1, 2].map(() => Math.floor(rand() * t.data.length));
    for (const i of picks) {
      const keep = t.data[i];
      t.data[i] = keep + h;
      const up = step.loss(w, windows);
      t.data[i] = keep - h;
      const down = step.loss(w, windows);
      t.data[i] = keep;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - g[i])).toBeLessThan(1e-7 + 1e-5 * Math.abs(numeric));
      checked++;
    }
    expect(g.some((v) => v !== 0)).toBe(true);
  }
  expect(checked).toBeGreaterThan(18 * 3);
});

test('Adam steps bring the loss down; trained weights give FloatLlama the trainer loss', () => {
  const seqLen = 12;
  const batch = 4;
  const step = new LlamaTrainStep(tiny, batch, seqLen);
  const w = initTrainWeights(tiny, { seed: 2, std: 0.1 });
  const grads = zerosLike(tiny, w);
  const params = namedTensors(tiny, w);
  const gradList = namedTensors(tiny, grads).map((t) => t.data);
  const adam = new Adam(params, { beta2: 0.95 });
  // a repeating pattern: learnable, so the loss must fall well below log(vocab)
  const windows = Array.from({ length: batch * (seqLen + 1) }, (_, i) => (i * 7 + Math.floor(i / 5)) % tiny.vocabSize);
  const first = step.loss(w, windows);
  for (let s = 0; s < 40; s++) {
    step.lossAndGrad(w, windows, grads);
    clipGradNorm(gradList, 1);
    adam.update(gradList, 1e-2);
  }
  const last = step.loss(w, windows);
  expect(first).toBeGreaterThan(Math.log(tiny.vocabSize) - 0.2);
  expect(last).toBeLessThan(first * 0.6);

  const dir = join(root, 'trained');
  writeLlamaCheckpoint(dir, tinyJson, weightsSource(tiny, w), { dtype: 'F32' });
  const ckpt = LlamaCheckpoint.open(dir);
  const model = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  ckpt.close();
  const one = new LlamaTrainStep(tiny, 1, seqLen);
  for (let b = 0; b < batch; b++) {
    const window = windows.slice(b * (seqLen + 1), (b + 1) * (seqLen + 1));
    expect(Math.abs(meanNll(model, window) - one.loss(w, window))).toBeLessThan(1e-4);
  }
  // and without the file round trip
  const direct = new FloatLlama(tiny, toFloatLlamaWeights(w));
  expect(Math.abs(meanNll(direct, windows.slice(0, seqLen + 1)) - one.loss(w, windows.slice(0, seqLen + 1)))).toBeLessThan(1e-4);
});

test('shapes the trainer cannot take are refused by name', () => {
  const tied = parseLlamaConfig({ ...tinyJson, tie_word_embeddings: true });
  expect(() => new LlamaTrainStep(tied, 1, 4)).toThrow(TrainShapeError);
  expect(() => new LlamaTrainStep(tiny, 1, 32)).toThrow(/max_position_embeddings/);
  const step = new LlamaTrainStep(tiny, 1, 4);
  const w = initTrainWeights(tiny, { seed: 1, std: 0.02 });
  expect(() => step.loss(w, [1, 2, 3])).toThrow(TrainShapeError);
  expect(() => step.loss(w, [1, 2, 3, 4, 99])).toThrow(/outside/);
});

test('token streams keep sentences, paragraphs and documents; windows start at a sentence after <s>', () => {
  const ids = { bos: 1, eos: 2, newline: 13 };
  // a toy encoder: one id per word, 100 + its length
  const encode = (s: string) => s.split(' ').map((w) => 100 + w.length);
  const docs = [{ paragraphs: [['a bb', 'ccc'], ['dddd']] }, { paragraphs: [['ee ff gg']] }];
  const stream = tokenStream(docs, encode, ids);
  expect(Array.from(stream.tokens)).toEqual([101, 102, 103, 13, 104, 2, 102, 102, 102, 2]);
  expect(Array.from(stream.sentenceStarts)).toEqual([0, 2, 4, 6]);
  const batch = sampleWindows(stream, 3, 3, ids.bos, seededRandom(4));
  expect(batch).toHaveLength(3 * 4);
  for (let b = 0; b < 3; b++) {
    const w = Array.from(batch.subarray(b * 4, b * 4 + 4));
    expect(w[0]).toBe(ids.bos);
    const start = [0, 2, 4, 6].find((s) => Array.from(stream.tokens.subarray(s, s + 3)).join() === w.slice(1).join());
    expect(start).toBeDefined();
  }
  const spread = evaluationWindows(stream, 4, 3, ids.bos);
  // windows do not overlap: starts 0 and 4 (2 would overlap the first window, 6 the second)
  expect(spread.map((w) => Array.from(w))).toEqual([[1, 101, 102, 103], [1, 104, 2, 102]]);
  expect(() => evaluationWindows(stream, 2, 20, ids.bos)).toThrow(WindowError);
});
