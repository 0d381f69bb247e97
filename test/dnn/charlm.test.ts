/**
 * @jest-environment ./test/dnn/ortEnvironment.js
 */
/**
 * The shipped character-level decoder-only transformer: next-character accuracy on the held-out
 * 10% of its corpus, float (onnxruntime) vs int8 (native executor), and deterministic greedy
 * generation with a graph-state root per generated character.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CHARLM, charlmCorpus, decodeIds, encodeText } from '../../shared/dnn/datasets/charlm';
import { runModel } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { generateGreedy } from '../../shared/dnn/generate';
import { argmaxRows, quantizeInput } from '../../shared/dnn/io';
import { toHex } from '../../shared/dnn/tensor';

const MODELS = join(__dirname, '..', '..', 'models');
const T = CHARLM.context;
const model = readModelFiles(join(MODELS, 'charlm'));
const { test } = charlmCorpus();
const windows = Array.from({ length: Math.floor((test.length - 1) / T) }, (_, i) => i * T);

describe('character-level transformer', () => {
  it('int8 next-character accuracy tracks the float model on held-out text', async () => {
    const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(MODELS, 'charlm.onnx'))));
    let floatCorrect = 0;
    let int8Correct = 0;
    let total = 0;
    for (const s of windows) {
      const ids = test.slice(s, s + T);
      const targets = test.slice(s + 1, s + T + 1);
      const logits = (await session.run({ ids: new ort.Tensor('int64', ids.map(BigInt), [1, T]) })).logits.data as Float32Array;
      const int8 = argmaxRows(runModel(model, quantizeInput(model, ids)).output);
      for (let t = 0; t < T; t++) {
        const row = Array.from(logits.subarray(t * CHARLM.vocab, (t + 1) * CHARLM.vocab));
        if (row.indexOf(Math.max(...row)) === targets[t]) floatCorrect++;
        if (int8[t] === targets[t]) int8Correct++;
        total++;
      }
    }
    await session.release();
    const floatAccuracy = (100 * floatCorrect) / total;
    const int8Accuracy = (100 * int8Correct) / total;
    console.log(JSON.stringify({ model: 'charlm', predictions: total, floatAccuracy, int8Accuracy }));
    // Well above always guessing the most frequent character (a space): the model learned text.
    const counts = new Map<number, number>();
    for (const s of windows) for (const id of test.slice(s + 1, s + T + 1)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const baseline = (100 * Math.max(...counts.values())) / total;
    expect(floatAccuracy).toBeGreaterThan(baseline + 10);
    expect(Math.abs(int8Accuracy - floatAccuracy)).toBeLessThanOrEqual(2);
  });

  it('generates text deterministically, one graph-state root per character', () => {
    const prompt = encodeText('The VM ');
    const a = generateGreedy(model, prompt, 24, encodeText(' ')[0]);
    const b = generateGreedy(model, prompt, 24, encodeText(' ')[0]);
    const text = decodeIds(a.map((t) => t.id));
    console.log(JSON.stringify({ prompt: 'The VM ', generated: text }));
    expect(text).toHaveLength(24);
    expect(b.map((t) => t.id)).toEqual(a.map((t) => t.id));
    expect(b.map((t) => toHex(t.graphStateRoot))).toEqual(a.map((t) => toHex(t.graphStateRoot)));
    expect(new Set(a.map((t) => toHex(t.graphStateRoot))).size).toBeGreaterThan(1);
  });
});
