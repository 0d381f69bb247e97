/**
 * `npm run bench:infer`: native int8 inference (shared/dnn executor, tensor and graph-state roots
 * included, as a provider runs it) next to onnxruntime-node's float CPU inference on the same
 * held-out inputs (MNIST digits, text windows), batch 1, one model at a time. Last line: one JSON object.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { CHARLM, charlmCorpus } from '../shared/dnn/datasets/charlm';
import { mnistTest } from '../shared/dnn/datasets/mnist';
import { runModel } from '../shared/dnn/executor';
import { readModelFiles } from '../shared/dnn/files';
import { quantizeInput } from '../shared/dnn/io';
import { KERNELS } from '../shared/dnn/kernels';
import type { Tensor } from '../shared/dnn/tensor';

const MODELS = join(__dirname, '..', 'models');
const WARMUP = 50;
const RUNS = 500;

function stats(samplesMs: number[]): { medianMs: number; p90Ms: number; throughputPerS: number } {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const total = samplesMs.reduce((a, b) => a + b, 0);
  return {
    medianMs: +sorted[Math.floor(sorted.length / 2)].toFixed(4),
    p90Ms: +sorted[Math.floor(sorted.length * 0.9)].toFixed(4),
    throughputPerS: +((1000 * samplesMs.length) / total).toFixed(1),
  };
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** One model's benchmark inputs: real held-out samples as plain numbers (pixels or token ids). */
interface BenchCase {
  file: string;
  shape: number[];
  samples: number[][];
  /** token ids go to onnxruntime as int64 */
  int64?: boolean;
}

function cases(): BenchCase[] {
  const digits = mnistTest().images.slice(0, RUNS).map((d) => Array.from(d));
  const text = charlmCorpus().test;
  const windows = Array.from({ length: RUNS }, (_, i) => text.slice((i * 7) % (text.length - CHARLM.context)).slice(0, CHARLM.context));
  return [
    { file: 'mnist-mlp', shape: [1, 784], samples: digits },
    { file: 'mnist-cnn', shape: [1, 1, 28, 28], samples: digits },
    { file: 'charlm', shape: [1, CHARLM.context], samples: windows, int64: true },
  ];
}

async function benchModel({ file, shape, samples, int64 }: BenchCase) {
  const model = readModelFiles(join(MODELS, file));
  const inputs = samples.map((d) => quantizeInput(model, d));

  for (let i = 0; i < WARMUP; i++) runModel(model, inputs[i % inputs.length]);
  const native = inputs.map((x) => {
    const t0 = nowMs();
    runModel(model, x);
    return nowMs() - t0;
  });
  // Kernels alone (no Merkle roots): how much of the native time is hashing.
  const kernelsOnly = inputs.map((x) => {
    const t0 = nowMs();
    const values = new Map<string, Tensor>(model.constants);
    values.set(model.spec.input, x);
    for (const node of model.spec.nodes) {
      const spec = model.tensorSpecs.get(node.output)!;
      values.set(node.output, KERNELS[node.op]({ inputs: node.inputs.map((n) => values.get(n)!), zeroPoints: node.inputs.map((n) => model.tensorSpecs.get(n)!.zeroPoint), outZp: spec.zeroPoint, outShape: [...spec.shape], attrs: node.attrs }));
    }
    return nowMs() - t0;
  });

  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(MODELS, `${file}.onnx`))), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const inputName = session.inputNames[0];
  const feeds = samples.map((d) => ({ [inputName]: int64 ? new ort.Tensor('int64', BigInt64Array.from(d, BigInt), shape) : new ort.Tensor('float32', Float32Array.from(d), shape) }));
  for (let i = 0; i < WARMUP; i++) await session.run(feeds[i % feeds.length]);
  const onnxruntime: number[] = [];
  for (const f of feeds) {
    const t0 = nowMs();
    await session.run(f);
    onnxruntime.push(nowMs() - t0);
  }
  await session.release();
  const n = stats(native);
  const o = stats(onnxruntime);
  return {
    model: file,
    nodes: model.spec.nodes.length,
    native: n,
    nativeKernelsOnly: stats(kernelsOnly),
    onnxruntime: o,
    nativeOverOnnxruntime: +(n.medianMs / o.medianMs).toFixed(2),
  };
}

async function main(): Promise<void> {
  const results = [];
  for (const c of cases()) {
    const r = await benchModel(c);
    console.log(`${r.model}: native ${r.native.medianMs} ms (kernels ${r.nativeKernelsOnly.medianMs} ms), onnxruntime ${r.onnxruntime.medianMs} ms, ratio ${r.nativeOverOnnxruntime}`);
    results.push(r);
  }
  // Peak resident set of the whole process (onnxruntime's sessions included).
  const peakRssMiB = +(process.resourceUsage().maxRSS / 1024).toFixed(1);
  console.log(JSON.stringify({ bench: 'infer', batch: 1, runs: RUNS, threads: 1, models: results, peakRssMiB }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
