/**
 * `npm run bench:llm -- --shape tiny|1b|7b [--tokens N] [--context P]`: a LLaMA-architecture
 * model from its Hugging Face folder to int8 generation. The 1b (TinyLlama-1.1B) and 7b
 * (LLaMA-2-7B) shapes are random weights from a seed written once as an fp16 safetensors folder
 * under build/bench/ and imported from there like a download; tiny is the trained
 * models/llama-brown. Measured in one run: import time and peak RSS, prompt and decode tokens/s of
 * the generation package (wasm kernels), the same run without graph-state roots (the provider's
 * overhead for committing), this machine's memory read bandwidth and the decode bound it implies
 * (int8 weight bytes read per token / bandwidth), and onnxruntime-node on the float graph of the
 * same weights where it fits. Last line: one JSON object.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readModelFiles } from '../shared/dnn/files';
import { runGeneration } from '../shared/dnn/generation';
import { generatedTokens, generationSteps, initialState } from '../shared/llm/generate';
import { LlamaCheckpoint } from '../shared/llm/hf/checkpoint';
import { parseLlamaConfig } from '../shared/llm/hf/config';
import { parameterCount } from '../shared/llm/hf/names';
import { writeLlamaCheckpoint } from '../shared/llm/hf/writeCheckpoint';
import { importLlamaGeneration } from '../shared/llm/lower';
import { LLAMA_SHAPES, randomLlamaWeights, shapeConfigJson, type LlamaShapeName } from '../shared/llm/shapes';
import { readBandwidthGBps } from './bandwidth';

const ROOT = resolve(__dirname, '..');
const BENCH_DIR = join(ROOT, 'build', 'bench');
const SEED = 20261204;
const round = (x: number, d = 3) => +x.toFixed(d);
const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
const peakRssMiB = () => mib(process.resourceUsage().maxRSS * 1024);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

function args(): { shape: 'tiny' | LlamaShapeName; tokens: number; context: number } {
  const a = process.argv.slice(2);
  const get = (flag: string) => {
    const i = a.indexOf(flag);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const shape = get('--shape') ?? 'tiny';
  if (shape !== 'tiny' && !(shape in LLAMA_SHAPES)) throw new Error(`--shape must be tiny, 1b or 7b, not ${shape}`);
  const tokens = Number(get('--tokens') ?? (shape === '7b' ? 6 : shape === '1b' ? 12 : 32));
  const context = Number(get('--context') ?? (shape === 'tiny' ? 128 : 64));
  if (!Number.isInteger(tokens) || tokens < 2) throw new Error('--tokens must be an integer >= 2');
  return { shape: shape as 'tiny' | LlamaShapeName, tokens, context };
}

/** The checkpoint folder: the shipped trained model, or a random-weight fp16 folder made once. */
function checkpointDir(shape: 'tiny' | LlamaShapeName): { dir: string; writeSeconds?: number } {
  if (shape === 'tiny') {
    const dir = join(ROOT, 'models', 'llama-brown');
    if (!existsSync(join(dir, 'config.json'))) throw new Error(`${dir} is missing: the tiny shape is the trained model (npx tsx scripts/train-llama.ts)`);
    return { dir };
  }
  const dir = join(BENCH_DIR, `llama-${shape}-fp16-seed${SEED}`);
  const done = join(dir, '.complete');
  if (existsSync(done)) return { dir };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  let last = 0;
  writeLlamaCheckpoint(dir, shapeConfigJson(LLAMA_SHAPES[shape]), randomLlamaWeights(SEED), {
    dtype: 'F16',
    maxShardBytes: 2e9,
    onProgress: (written, total) => {
      if (Date.now() - last > 5000) {
        last = Date.now();
        log(`writing ${shape} checkpoint: ${(written / 2 ** 30).toFixed(2)} / ${(total / 2 ** 30).toFixed(2)} GiB`);
      }
    },
  });
  writeFileSync(done, new Date().toISOString());
  return { dir, writeSeconds: (Date.now() - t0) / 1000 };
}

/**
 * onnxruntime-node (CPU) on the float graph of the same checkpoint (shared/llm/onnxGraph.ts), one
 * 16-token sequence per run: the reference runtime's tokens/s. A graph over 1.5 GB of float
 * weights is past what one ModelProto buffer holds (2 GB), so it is skipped, saying why.
 */
async function onnxruntimeReference(dir: string, params: number): Promise<Record<string, unknown>> {
  if (params * 4 > 1.5e9) return { skipped: `fp32 weights (${(params * 4 / 2 ** 30).toFixed(1)} GiB) exceed one ModelProto (2 GB)` };
  const ort = await import('onnxruntime-node');
  const { llamaOnnxModel } = await import('../shared/llm/onnxGraph');
  const { loadFloatWeights } = await import('../shared/llm/float/forward');
  const ckpt = LlamaCheckpoint.open(dir);
  const T = 16;
  const bytes = llamaOnnxModel(ckpt.config, loadFloatWeights(ckpt), T);
  const V = ckpt.config.vocabSize;
  ckpt.close();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 0 });
  const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt((i * 7 + 3) % V)), [1, T]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const runs = 10;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await session.release();
  return { fp32PrefillTokensPerSecond: round((runs * T) / seconds, 1), sequence: T, int8: 'not measured yet (MatMulInteger graph)' };
}

async function main(): Promise<void> {
  const { shape, tokens, context } = args();
  const { dir, writeSeconds } = checkpointDir(shape);
  const ckpt = LlamaCheckpoint.open(dir);
  const c = ckpt.config;
  const params = parameterCount(c);
  log(`${shape}: ${params.toLocaleString()} parameters, ${c.layers} layers, d ${c.hiddenSize}, ${c.heads} heads / ${c.kvHeads} KV heads, vocab ${c.vocabSize}`);
  mkdirSync(BENCH_DIR, { recursive: true });
  const base = join(BENCH_DIR, `llama-${shape}-gen${context}`);
  // Calibration text: token ids spread over the vocabulary (random weights have no preferred text).
  const calibration = [Array.from({ length: Math.min(16, context) }, (_, i) => (i * 7919 + 13) % c.vocabSize)];
  let lastLog = 0;
  const t0 = Date.now();
  importLlamaGeneration(ckpt, base, {
    name: `llama-${shape}`,
    context,
    calibration,
    onProgress: (stage, done, total) => {
      if (Date.now() - lastLog > 5000 || done === total) {
        lastLog = Date.now();
        log(`import ${stage}: ${stage === 'weights' ? `${(done / 2 ** 20).toFixed(0)} / ${(total / 2 ** 20).toFixed(0)} MiB` : `${done} / ${total}`}`);
      }
    },
  });
  const importSeconds = (Date.now() - t0) / 1000;
  const importPeakRssMiB = peakRssMiB();
  const checkpointBytes = ckpt.weightBytes;
  ckpt.close();
  const model = readModelFiles(base, { trusted: true });
  const weightBytes = statSync(`${base}.dnn.bin`).size;
  // Bytes a decode step reads: every constant (unpadded) but the embedding table, of which it reads one row.
  let constantBytes = 0;
  for (const name of model.constants.names()) constantBytes += model.tensorSpecs.get(name)!.byteLength!;
  const bytesPerToken = constantBytes - model.tensorSpecs.get('embed#table')!.byteLength! + c.hiddenSize;

  const prompt = Array.from({ length: 4 }, (_, i) => (i * 31 + 7) % c.vocabSize);
  const maxTokens = tokens;
  const steps = generationSteps(prompt.length, maxTokens);
  const start = initialState(model, prompt, { maxTokens });
  const timed = (roots: boolean) => {
    const stepTimes: number[] = [];
    let t = process.hrtime.bigint();
    const run = runGeneration(model, start, steps, {
      roots,
      onStep: () => {
        const now = process.hrtime.bigint();
        stepTimes.push(Number(now - t) / 1e9);
        t = now;
      },
    });
    return { run, stepTimes };
  };
  // A first run warms the weights into the page cache; then the runs with and without roots each see warm weights.
  log(`generating ${maxTokens} tokens after a ${prompt.length}-token prompt (${steps} steps): a warm-up run`);
  timed(true);
  log('without graph-state roots');
  const bare = timed(false);
  log('with graph-state roots');
  const withRoots = timed(true);
  // Step 0 also warms the kernels up; steps 1 … L − 1 read prompt tokens, the rest generated ones.
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const prefillTimes = withRoots.stepTimes.slice(1, prompt.length);
  const decodeTimes = withRoots.stepTimes.slice(prompt.length);
  const decodeTokensPerSecond = decodeTimes.length / sum(decodeTimes);
  const prefillTokensPerSecond = prefillTimes.length ? prefillTimes.length / sum(prefillTimes) : decodeTokensPerSecond;
  const overhead = sum(withRoots.stepTimes.slice(1)) / sum(bare.stepTimes.slice(1)) - 1;
  const generated = generatedTokens(withRoots.run.output);
  if (generated.join(',') !== generatedTokens(bare.run.output).join(',')) throw new Error('the run without roots generated different tokens');

  log('measuring read bandwidth');
  const bw = await readBandwidthGBps(2 ** 31);
  const limit = (bw.gbps * 1e9) / bytesPerToken;

  const result = {
    shape,
    params,
    layers: c.layers,
    hidden: c.hiddenSize,
    vocab: c.vocabSize,
    checkpointGiB: round(checkpointBytes / 2 ** 30, 3),
    ...(writeSeconds !== undefined ? { checkpointWriteSeconds: round(writeSeconds, 1) } : {}),
    importSeconds: round(importSeconds, 1),
    int8WeightMiB: mib(constantBytes),
    blobMiB: mib(weightBytes),
    peakRssMiB: Math.max(importPeakRssMiB, peakRssMiB()),
    context,
    promptTokens: prompt.length,
    generatedTokens: generated.length,
    prefillTokensPerSecond: round(prefillTokensPerSecond),
    decodeTokensPerSecond: round(decodeTokensPerSecond),
    bandwidthGBps: round(bw.gbps, 2),
    bandwidthThreads: bw.threads,
    singleThreadBandwidthGBps: round(bw.singleThreadGBps, 2),
    weightBytesPerToken: bytesPerToken,
    bandwidthLimitTokensPerSecond: round(limit),
    decodeOverLimit: round(decodeTokensPerSecond / limit),
    providerOverheadWithRoots: round(overhead),
    graphSlots: withRoots.run.slots.length,
    onnxruntime: await onnxruntimeReference(dir, params),
    dispute: null as null | Record<string, unknown>,
  };
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
  process.exit(1);
});
