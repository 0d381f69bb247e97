/**
 * `npm run bench:infer`: native int8 inference (shared/dnn executor, tensor and graph-state roots
 * included, as a provider runs it) on both backends (the WebAssembly guest kernels and the
 * TypeScript reference) next to onnxruntime-node's float CPU inference on the same held-out inputs
 * (MNIST digits, text windows), batch 1, one model at a time, the contenders interleaved in rounds
 * (interleaved() below); worker-pool throughput across cores;
 * the whole-model VM run of the MNIST MLP; and peak memory of native inference and of a one-node VM
 * run, each measured in its own child process so the figures do not mix (peakMemoryMiB: the
 * child's peak RSS after loading the model only, after 500 native runs, after one VM node run).
 * Last line: one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runModel, type Backend } from '../shared/dnn/executor';
import { readModelFiles } from '../shared/dnn/files';
import { buildKernelImage } from '../shared/dnn/guest/kernelImage';
import { runNodeInVm } from '../shared/dnn/guest/runNode';
import { quantizeInput } from '../shared/dnn/io';
import type { DnnModel } from '../shared/dnn/model';
import { allocTensor, type Tensor } from '../shared/dnn/tensor';
import { InferencePool } from '../shared/dnn/wasm/inferencePool';
import { wasmRunner } from '../shared/dnn/wasm/wasmBackend';

const MODELS = join(__dirname, '..', 'models');
const WARMUP = 50;
/**
 * Each timed loop first runs for this long (and at least WARMUP times): V8 compiles hot code on
 * background threads for the first few hundred milliseconds, which takes the second core from the
 * hashing threads; onnxruntime warms up the same way.
 */
const WARMUP_MS = 1000;
const RUNS = 500;
const BACKENDS: Backend[] = ['wasm', 'ts'];

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

/** A timed thing: run(i) handles input i (sync, or a promise for onnxruntime). */
interface Contender {
  name: string;
  run: (i: number) => unknown;
}

const ROUNDS = 10;

/**
 * Samples (ms) of each contender over inputs 0..count-1, interleaved: after each has warmed up
 * for WARMUP_MS, ROUNDS rounds each run every contender over the next slice of the inputs. A
 * slow spell of the machine (a busy neighbour on a shared host) then falls on all of them alike,
 * not on whichever ran at that moment, so their ratios hold even when their absolute times drift.
 */
async function interleaved(contenders: readonly Contender[], count: number): Promise<Record<string, number[]>> {
  for (const c of contenders) {
    const until = nowMs() + WARMUP_MS;
    for (let i = 0; i < WARMUP || nowMs() < until; i++) await c.run(i % count);
  }
  const samples: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const [from, to] = [Math.floor((round * count) / ROUNDS), Math.floor(((round + 1) * count) / ROUNDS)];
    for (const c of contenders) {
      for (let i = from; i < to; i++) {
        const t0 = nowMs();
        const r = c.run(i);
        if (r instanceof Promise) await r;
        samples[c.name].push(nowMs() - t0);
      }
    }
  }
  return samples;
}

/** One model's benchmark inputs: real held-out samples as plain numbers (pixels or token ids). */
interface BenchCase {
  file: string;
  shape: number[];
  samples: number[][];
  /** token ids go to onnxruntime as int64 */
  int64?: boolean;
}

/**
 * Datasets are imported here, not at the top (nor anything that imports them, like sampleInputs):
 * the mnist package alone maps ~90 MiB, which the peak-memory children must not count.
 */
async function cases(): Promise<BenchCase[]> {
  const { CHARLM, charlmCorpus } = await import('../shared/dnn/datasets/charlm');
  const { mnistTest } = await import('../shared/dnn/datasets/mnist');
  const digits = mnistTest().images.slice(0, RUNS).map((d) => Array.from(d));
  const text = charlmCorpus().test;
  const windows = Array.from({ length: RUNS }, (_, i) => text.slice((i * 7) % (text.length - CHARLM.context)).slice(0, CHARLM.context));
  return [
    { file: 'mnist-mlp', shape: [1, 784], samples: digits },
    { file: 'mnist-cnn', shape: [1, 1, 28, 28], samples: digits },
    { file: 'charlm', shape: [1, CHARLM.context], samples: windows, int64: true },
  ];
}

/** The WebAssembly kernels alone, no Merkle roots: how much of the native time is hashing. */
function kernelsOnly(model: DnnModel, x: Tensor): void {
  const runner = wasmRunner(model);
  runner.write(model.spec.input, x);
  for (let j = 0; j < model.spec.nodes.length; j++) runner.runNode(j);
}

/** Throughput of the whole batch spread over a pool of worker threads, one per core. */
async function poolThroughput(file: string, inputs: Tensor[]) {
  const pool = new InferencePool(join(MODELS, file));
  try {
    await pool.run(inputs.slice(0, WARMUP * pool.threads));
    const t0 = nowMs();
    await pool.run(inputs);
    const ms = nowMs() - t0;
    return { threads: pool.threads, batch: inputs.length, throughputPerS: +((1000 * inputs.length) / ms).toFixed(1) };
  } finally {
    await pool.close();
  }
}

/** onnxruntime-node's float CPU inference of the model's ONNX file on the same samples, one thread. */
async function onnxruntimeContender({ file, shape, samples, int64 }: BenchCase): Promise<Contender & { release(): Promise<void> }> {
  // Loaded here, not at the top, so the peak-memory children never map onnxruntime.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(new Uint8Array(readFileSync(join(MODELS, `${file}.onnx`))), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const inputName = session.inputNames[0];
  const feeds = samples.map((d) => ({ [inputName]: int64 ? new ort.Tensor('int64', BigInt64Array.from(d, BigInt), shape) : new ort.Tensor('float32', Float32Array.from(d), shape) }));
  return { name: 'onnxruntime', run: (i) => session.run(feeds[i]), release: () => session.release() };
}

/**
 * Native inference as a provider runs it (wasm kernels, every activation root) over onnxruntime on
 * the same inputs, for the models named (mnist-mlp, mnist-cnn, charlm): the figure other benchmarks report.
 */
export async function withRootsOverOnnxruntime(files: readonly string[]): Promise<Record<string, { nativeMs: number; kernelsOnlyMs: number; onnxruntimeMs: number; ratio: number }>> {
  const out: Record<string, { nativeMs: number; kernelsOnlyMs: number; onnxruntimeMs: number; ratio: number }> = {};
  for (const c of (await cases()).filter((c) => files.includes(c.file))) {
    const model = readModelFiles(join(MODELS, c.file));
    const inputs = c.samples.map((d) => quantizeInput(model, d));
    const ort = await onnxruntimeContender(c);
    const t = await interleaved(
      [{ name: 'native', run: (i) => runModel(model, inputs[i], { backend: 'wasm' }) }, { name: 'kernels', run: (i) => kernelsOnly(model, inputs[i]) }, ort],
      inputs.length,
    );
    await ort.release();
    const [native, kernels, o] = [stats(t.native), stats(t.kernels), stats(t.onnxruntime)];
    out[c.file] = { nativeMs: native.medianMs, kernelsOnlyMs: kernels.medianMs, onnxruntimeMs: o.medianMs, ratio: +(native.medianMs / o.medianMs).toFixed(2) };
  }
  return out;
}

async function benchModel(c: BenchCase) {
  const model = readModelFiles(join(MODELS, c.file));
  const inputs = c.samples.map((d) => quantizeInput(model, d));
  const ort = await onnxruntimeContender(c);
  const t = await interleaved(
    [...BACKENDS.map((backend): Contender => ({ name: backend, run: (i) => runModel(model, inputs[i], { backend }) })), { name: 'kernels', run: (i) => kernelsOnly(model, inputs[i]) }, ort],
    inputs.length,
  );
  await ort.release();
  const backends = Object.fromEntries(BACKENDS.map((backend) => [backend, stats(t[backend])]));
  const best = BACKENDS.reduce((a, b) => (backends[b].medianMs < backends[a].medianMs ? b : a));
  const kernels = stats(t.kernels);
  const o = stats(t.onnxruntime);
  return {
    model: c.file,
    nodes: model.spec.nodes.length,
    /** the faster backend, roots included */
    native: { backend: best, ...backends[best] },
    backends,
    nativeKernelsOnly: kernels,
    onnxruntime: o,
    nativeOverOnnxruntime: +(backends[best].medianMs / o.medianMs).toFixed(2),
    kernelsOnlyOverOnnxruntime: +(kernels.medianMs / o.medianMs).toFixed(2),
    pool: await poolThroughput(c.file, inputs),
  };
}

/** Whole-model VM run of the MNIST MLP (docs: the anchor system needs ~2 s for a smaller model). */
async function vmWholeModel() {
  const { sampleInputs } = await import('../shared/dnn/guest/sampleInputs');
  const { runModelInVm } = await import('../shared/dnn/guest/wholeModel');
  const model = readModelFiles(join(MODELS, 'mnist-mlp'));
  const elf = buildKernelImage().elf;
  const runs = sampleInputs(model, 3).map((x) => runModelInVm(model, x, elf));
  return {
    model: 'mnist-mlp',
    steps: runs[runs.length - 1].totalSteps,
    vmSeconds: +Math.min(...runs.map((r) => r.vmSeconds)).toFixed(4),
    wallSeconds: +Math.min(...runs.map((r) => r.wallSeconds)).toFixed(4),
  };
}

type PeakKind = 'baseline' | 'native' | 'vm-node';

/**
 * Child-process side of the peak-memory figures: load the model, then one kind of work ('baseline':
 * none) on a blank input (no dataset loaded, so the peak is the work's own), then the peak RSS.
 */
function peakChild(kind: PeakKind, file: string): void {
  const model = readModelFiles(join(MODELS, file));
  const spec = model.tensorSpecs.get(model.spec.input)!;
  const input = allocTensor(spec.dtype, [...spec.shape]);
  input.data.fill(spec.dtype === 'int8' ? spec.zeroPoint : 0);
  const before = process.memoryUsage().rss;
  if (kind === 'native') for (let i = 0; i < RUNS; i++) runModel(model, input);
  if (kind === 'vm-node') runNodeInVm(model, 1, new Map([[model.spec.input, input]]), { elf: buildKernelImage().elf });
  const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
  console.log(JSON.stringify({ maxRssMiB: mib(process.resourceUsage().maxRSS * 1024), rssGrowthMiB: mib(process.memoryUsage().rss - before) }));
}

/** Peak RSS of the child (Node and tsx themselves included) and how much the work grew its RSS. */
function peakRssMiB(kind: PeakKind, file: string): { maxRssMiB: number; rssGrowthMiB: number } {
  const r = spawnSync(process.execPath, [...process.execArgv, __filename, '--peak', kind, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`peak-memory child (${kind} ${file}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const results = [];
  for (const c of await cases()) {
    const r = await benchModel(c);
    console.log(
      `${r.model}: native ${r.native.medianMs} ms (${r.native.backend}; ts ${r.backends.ts.medianMs} ms; kernels ${r.nativeKernelsOnly.medianMs} ms), onnxruntime ${r.onnxruntime.medianMs} ms, ratio ${r.nativeOverOnnxruntime} (kernels ${r.kernelsOnlyOverOnnxruntime}), pool ${r.pool.throughputPerS}/s on ${r.pool.threads} threads`,
    );
    results.push(r);
  }
  const vm = await vmWholeModel();
  console.log(`VM whole model ${vm.model}: ${vm.steps} steps, ${vm.vmSeconds} s`);
  const peakMemoryMiB = Object.fromEntries(
    results.map((r) => [r.model, { processBaseline: peakRssMiB('baseline', r.model), nativeInference: peakRssMiB('native', r.model), vmOneNode: peakRssMiB('vm-node', r.model) }]),
  );
  console.log(JSON.stringify({ bench: 'infer', batch: 1, runs: RUNS, threads: 1, cores: availableParallelism(), models: results, vmWholeModel: vm, peakMemoryMiB }));
}

if (require.main === module && process.argv[2] === '--peak') peakChild(process.argv[3] as PeakKind, process.argv[4]);
else if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
