/**
 * The shipped tiny LLaMA (models/llama-brown, made by scripts/train-llama.ts): it opens like a
 * downloaded LlamaForCausalLM, its tokenizer.json runs in Hugging Face's tokenizer, it predicts
 * held-out Brown text far better than the held-out text's own unigram distribution, and greedy
 * decoding from a prompt writes English words.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { brownSplit, type BrownSplit } from '../../shared/llm/datasets/brown';
import { FloatLlama, loadFloatWeights, meanNll } from '../../shared/llm/float/forward';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { parameterCount } from '../../shared/llm/hf/names';
import { loadTokenizer, type LoadedTokenizer } from '../../shared/llm/tokenizer/load';
import { evaluationWindows, tokenStream } from '../../shared/llm/train/windows';

const DIR = join(__dirname, '..', '..', 'models', 'llama-brown');
let ckpt: LlamaCheckpoint;
let model: FloatLlama;
let tokenizer: LoadedTokenizer;
let corpus: BrownSplit;

beforeAll(() => {
  ckpt = LlamaCheckpoint.open(DIR);
  model = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  tokenizer = loadTokenizer(DIR);
  corpus = brownSplit();
});
afterAll(() => ckpt.close());

test('the folder is a small grouped-query LlamaForCausalLM with its tokenizer', () => {
  const c = ckpt.config;
  expect(c.kvHeads).toBeLessThan(c.heads);
  expect(c.tiedEmbeddings).toBe(false);
  expect([c.rmsNormEps, c.ropeTheta]).toEqual([1e-5, 10000]);
  expect(ckpt.info('model.embed_tokens.weight').dtype).toBe('F32');
  expect(ckpt.weightBytes).toBe(parameterCount(c) * 4);
  expect(ckpt.weightBytes).toBeLessThan(1.5 * 2 ** 20);
  const folderBytes = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].reduce((a, f) => a + statSync(join(DIR, f)).size, 0);
  expect(folderBytes).toBeLessThan(2 * 2 ** 20);
  expect(tokenizer.vocabSize).toBe(c.vocabSize);
  expect(tokenizer.bosId).toBe(c.bosTokenId);
  expect(c.eosTokenIds).toEqual([tokenizer.eosId]);
});

test('held-out perplexity is far below the held-out text’s own unigram perplexity', () => {
  const newline = tokenizer.tokenId('<0x0A>')!;
  const stream = tokenStream(corpus.heldOut, (s) => tokenizer.encode(s, { bos: false }), { bos: tokenizer.bosId!, eos: tokenizer.eosId!, newline });
  const windows = evaluationWindows(stream, 24, ckpt.config.maxPositions, tokenizer.bosId!);
  expect(windows).toHaveLength(24);
  const nll = windows.reduce((a, w) => a + meanNll(model, Array.from(w)), 0) / windows.length;
  // The unigram model fitted to the very tokens it is scored on: no unigram model does better.
  const counts = new Map<number, number>();
  let n = 0;
  for (const w of windows) {
    for (const t of w.subarray(1)) {
      counts.set(t, (counts.get(t) ?? 0) + 1);
      n++;
    }
  }
  let unigramNll = 0;
  for (const c of counts.values()) unigramNll -= (c / n) * Math.log(c / n);
  const perplexity = Math.exp(nll);
  const unigram = Math.exp(unigramNll);
  expect(perplexity).toBeLessThan(unigram / 2.5);
  expect(perplexity).toBeLessThan(90);
});

test('greedy decoding continues a prompt with English words', () => {
  model.reset();
  const prompt = tokenizer.encode('The jury said');
  expect(prompt[0]).toBe(tokenizer.bosId);
  const out = model.generateGreedy(prompt, 24, [tokenizer.eosId!]);
  const text = tokenizer.decode(out);
  expect(text.trim().length).toBeGreaterThan(10);
  const trainingWords = new Set(corpus.train.flatMap((d) => d.paragraphs.flat().join(' ').toLowerCase().match(/[a-z]+/g) ?? []));
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  expect(words.length).toBeGreaterThanOrEqual(4);
  expect(words.filter((w) => trainingWords.has(w)).length).toBeGreaterThanOrEqual(0.8 * words.length);
});
