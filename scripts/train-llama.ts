/**
 * Trains the "tiny" LLaMA of the LLM work (seeded, CPU, one core, under ten minutes) on the Brown
 * corpus and writes it as a Hugging Face LlamaForCausalLM folder, imported like any download:
 *   models/llama-brown/config.json, model.safetensors (F32), tokenizer.json, tokenizer_config.json
 * Steps: a 1024-token BPE learnt from the training split; a 3-layer grouped-query LLaMA trained with
 * Adam by the hand-written backward pass of shared/llm/train; then the folder is read back and the
 * held-out split (every 10th Brown file) is scored by FloatLlama, the float reference.
 * The last line printed is one JSON object with the numbers.
 *
 * Usage: npx tsx scripts/train-llama.ts [--steps N] [--out DIR] (defaults make the shipped model)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { seededRandom } from '../shared/dnn/random';
import { brownSplit, type BrownDocument } from '../shared/llm/datasets/brown';
import { FloatLlama, loadFloatWeights, meanNll } from '../shared/llm/float/forward';
import { LlamaCheckpoint } from '../shared/llm/hf/checkpoint';
import { llamaConfigJson, parseLlamaConfig } from '../shared/llm/hf/config';
import { parameterCount } from '../shared/llm/hf/names';
import { writeLlamaCheckpoint } from '../shared/llm/hf/writeCheckpoint';
import { BOS_ID, BYTE_ID_BASE, EOS_ID, tokenizerConfigJson, tokenizerJson, trainBpe } from '../shared/llm/tokenizer/bpe';
import { BpeEncoder } from '../shared/llm/tokenizer/encoder';
import { Adam, clipGradNorm } from '../shared/llm/train/adam';
import { LlamaTrainStep } from '../shared/llm/train/model';
import { initTrainWeights, namedTensors, weightsSource, zerosLike } from '../shared/llm/train/weights';
import { evaluationWindows, sampleWindows, tokenStream, type TokenStream } from '../shared/llm/train/windows';

const SEED = 20240607;
const VOCAB = 1024;
const CONTEXT = 128;
/** three layers: at a fixed ten minutes, more steps of a smaller model beat fewer of a deeper one */
const SHAPE = { hiddenSize: 64, intermediateSize: 172, layers: 3, heads: 4, kvHeads: 2 };
/** small batches: at this size, more updates beat less noisy ones for the same tokens */
const BATCH = 4;
/** about 8 minutes at 2300 tokens/s, one core */
const STEPS = 2200;
const PEAK_LR = 4.5e-3;
const WARMUP = 150;
/** the rate decays along a cosine to this fraction of the peak */
const FINAL_LR_FRACTION = 0.1;
const INIT_STD = 0.02;
const CLIP = 1;
const LOG_EVERY = 50;
const PROBE_EVERY = 250;
/** held-out windows scored at the end (about 33k tokens) and during training (by the trainer) */
const EVAL_WINDOWS = 256;
const PROBE_WINDOWS = 32;
const PROMPT = 'The jury said';

function learningRate(step: number, steps: number): number {
  if (step <= WARMUP) return (PEAK_LR * step) / WARMUP;
  const progress = (step - WARMUP) / Math.max(1, steps - WARMUP);
  return PEAK_LR * (FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

function streamOf(docs: BrownDocument[], encoder: BpeEncoder): TokenStream {
  return tokenStream(docs, (s) => encoder.encode(s, { bos: false }), { bos: BOS_ID, eos: EOS_ID, newline: BYTE_ID_BASE + 0x0a });
}

/** Mean loss of windows by the trainer's batched forward (groups of its batch size; the rest dropped). */
function batchedLoss(step: LlamaTrainStep, w: Parameters<LlamaTrainStep['loss']>[0], windows: Int32Array[]): number {
  let total = 0;
  let groups = 0;
  for (let i = 0; i + step.batch <= windows.length; i += step.batch) {
    const batch = new Int32Array(step.batch * (step.seqLen + 1));
    for (let b = 0; b < step.batch; b++) batch.set(windows[i + b], b * (step.seqLen + 1));
    total += step.loss(w, batch);
    groups++;
  }
  return total / groups;
}

function main(): void {
  const program = new Command()
    .option('--steps <n>', 'optimizer steps', String(STEPS))
    .option('--out <dir>', 'the folder to write', join(__dirname, '..', 'models', 'llama-brown'))
    .parse();
  const opts = program.opts<{ steps: string; out: string }>();
  const steps = Number(opts.steps);
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

  const corpus = brownSplit();
  const trainSentences = corpus.train.flatMap((d) => d.paragraphs.flat());
  const bpe = trainBpe(trainSentences, { vocabSize: VOCAB });
  const encoder = new BpeEncoder(bpe);
  const train = streamOf(corpus.train, encoder);
  const heldOut = streamOf(corpus.heldOut, encoder);
  const heldOutChars = corpus.heldOut.reduce((a, d) => a + d.paragraphs.flat().reduce((b, s) => b + s.length, 0), 0);
  console.log(`Brown: ${corpus.train.length} training files (${train.tokens.length} tokens), ${corpus.heldOut.length} held out (${heldOut.tokens.length} tokens); BPE vocabulary ${bpe.vocab.length} (${bpe.merges.length} merges) in ${seconds()} s`);

  const configJson = llamaConfigJson({ ...SHAPE, vocabSize: bpe.vocab.length, maxPositions: CONTEXT, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, torchDtype: 'float32', bosTokenId: BOS_ID, eosTokenId: EOS_ID });
  const config = parseLlamaConfig(configJson);
  const params = parameterCount(config);
  const w = initTrainWeights(config, { seed: SEED, std: INIT_STD });
  const grads = zerosLike(config, w);
  const gradList = namedTensors(config, grads).map((t) => t.data);
  const adam = new Adam(namedTensors(config, w), { beta1: 0.9, beta2: 0.95 });
  const step = new LlamaTrainStep(config, BATCH, CONTEXT);
  const rand = seededRandom(SEED + 1);
  const probe = evaluationWindows(heldOut, PROBE_WINDOWS, CONTEXT, BOS_ID);
  console.log(`training: ${params} parameters (hidden ${SHAPE.hiddenSize}, ${SHAPE.layers} layers, ${SHAPE.heads} heads / ${SHAPE.kvHeads} kv, mlp ${SHAPE.intermediateSize}), ${steps} steps of ${BATCH}×${CONTEXT} tokens`);

  const trainStart = Date.now();
  const recent: number[] = [];
  for (let s = 1; s <= steps; s++) {
    const loss = step.lossAndGrad(w, sampleWindows(train, BATCH, CONTEXT, BOS_ID, rand), grads);
    clipGradNorm(gradList, CLIP);
    adam.update(gradList, learningRate(s, steps));
    recent.push(loss);
    if (recent.length > LOG_EVERY * 2) recent.shift();
    if (s % LOG_EVERY === 0 || s === steps) {
      const mean = recent.slice(-LOG_EVERY).reduce((a, b) => a + b, 0) / Math.min(LOG_EVERY, recent.length);
      const rate = (s * BATCH * CONTEXT) / ((Date.now() - trainStart) / 1000);
      const probeText = s % PROBE_EVERY === 0 ? `  held-out ${batchedLoss(step, w, probe).toFixed(3)}` : '';
      console.log(`  step ${s}/${steps}  loss ${mean.toFixed(3)}${probeText}  lr ${learningRate(s, steps).toExponential(2)}  ${seconds()} s  ${rate.toFixed(0)} tok/s`);
    }
  }
  const trainSeconds = (Date.now() - trainStart) / 1000;
  const trainLoss = recent.reduce((a, b) => a + b, 0) / recent.length;

  writeLlamaCheckpoint(opts.out, configJson, weightsSource(config, w), { dtype: 'F32', tokenizerJson: tokenizerJson(bpe) });
  writeFileSync(join(opts.out, 'tokenizer_config.json'), tokenizerConfigJson(CONTEXT));
  console.log(`wrote ${opts.out} at ${seconds()} s; scoring the held-out split from the folder`);

  const ckpt = LlamaCheckpoint.open(opts.out);
  const model = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  ckpt.close();
  const windows = evaluationWindows(heldOut, EVAL_WINDOWS, CONTEXT, BOS_ID);
  const heldOutLoss = windows.reduce((a, win) => a + meanNll(model, Array.from(win)), 0) / windows.length;
  const trainerHeldOutLoss = batchedLoss(step, w, windows);
  model.reset();
  const prompt = encoder.encode(PROMPT);
  const continuation = model.generateGreedy(prompt, 40, [EOS_ID, BYTE_ID_BASE + 0x0a]);
  const sample = encoder.decode([...prompt, ...continuation]);
  console.log(`greedy: ${JSON.stringify(sample)}`);
  console.log(
    JSON.stringify({
      params,
      weightBytes: params * 4,
      config: { ...SHAPE, vocabSize: config.vocabSize, context: CONTEXT },
      steps,
      tokensSeen: steps * BATCH * CONTEXT,
      trainSeconds: Number(trainSeconds.toFixed(1)),
      trainLoss: Number(trainLoss.toFixed(4)),
      heldOutTokens: windows.length * CONTEXT,
      heldOutLoss: Number(heldOutLoss.toFixed(4)),
      heldOutPerplexity: Number(Math.exp(heldOutLoss).toFixed(3)),
      trainerHeldOutLoss: Number(trainerHeldOutLoss.toFixed(4)),
      heldOutCharsPerToken: Number((heldOutChars / heldOut.tokens.length).toFixed(3)),
      sample,
      totalSeconds: Number(seconds()),
    }),
  );
}

main();
