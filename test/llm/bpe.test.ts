/**
 * The BPE tokenizer: training is deterministic, the tokenizer.json it writes gives Hugging Face's
 * tokenizer (the @huggingface/tokenizers port) exactly our encoder's ids on held-out Brown text,
 * decoding gives the text back, and characters training never saw fall back to byte tokens.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brownSplit, paragraphText, type BrownSplit } from '../../shared/llm/datasets/brown';
import { BOS_ID, BpeTrainError, BYTE_ID_BASE, byteToken, EOS_ID, SPECIAL_TOKENS, tokenizerConfigJson, tokenizerJson, trainBpe, WORD_START, type BpeModel } from '../../shared/llm/tokenizer/bpe';
import { BpeEncoder } from '../../shared/llm/tokenizer/encoder';
import { loadTokenizer, TokenizerFileError, type LoadedTokenizer } from '../../shared/llm/tokenizer/load';

const VOCAB = 640;
let root: string;
let corpus: BrownSplit;
let model: BpeModel;
let ours: BpeEncoder;
let hf: LoadedTokenizer;

/** A tenth of the training sentences: enough for real merges, quick to learn from. */
const trainingSentences = () => corpus.train.flatMap((d) => d.paragraphs.flat()).filter((_, i) => i % 10 === 0);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-bpe-'));
  corpus = brownSplit();
  model = trainBpe(trainingSentences(), { vocabSize: VOCAB });
  ours = new BpeEncoder(model);
  writeFileSync(join(root, 'tokenizer.json'), tokenizerJson(model));
  writeFileSync(join(root, 'tokenizer_config.json'), tokenizerConfigJson(128));
  hf = loadTokenizer(root);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('the vocabulary has LLaMA layout: specials, 256 bytes, alphabet and merges, "▁" only in front', () => {
  expect(model.vocab).toHaveLength(VOCAB);
  expect(model.vocab.slice(0, 3)).toEqual([...SPECIAL_TOKENS]);
  expect(model.vocab[BYTE_ID_BASE]).toBe('<0x00>');
  expect(model.vocab[BYTE_ID_BASE + 0x0a]).toBe(byteToken(10));
  expect(model.vocab[BYTE_ID_BASE + 255]).toBe('<0xFF>');
  expect(new Set(model.vocab).size).toBe(VOCAB);
  expect(model.vocab).toContain('▁the');
  for (const piece of model.vocab.slice(BYTE_ID_BASE + 256)) {
    expect(piece.indexOf(WORD_START, 1)).toBe(-1);
    expect(piece).not.toMatch(/\s/);
  }
  for (const [a, b] of model.merges) expect(model.vocab).toContain(a + b);
  expect(hf.vocabSize).toBe(VOCAB);
  expect([hf.bosId, hf.eosId]).toEqual([BOS_ID, EOS_ID]);
  expect(hf.tokenId('<0x0A>')).toBe(BYTE_ID_BASE + 10);
});

test('training is deterministic', () => {
  const again = trainBpe(trainingSentences(), { vocabSize: VOCAB });
  expect(tokenizerJson(again)).toBe(tokenizerJson(model));
  // the order of the texts changes counts' insertion order, not the result
  const reversed = trainBpe(trainingSentences().reverse(), { vocabSize: VOCAB });
  expect(reversed).toEqual(model);
});

test('Hugging Face encodes held-out text to exactly our ids, and both decode it back', () => {
  let tokens = 0;
  for (const doc of corpus.heldOut.slice(0, 12)) {
    const text = doc.paragraphs.map(paragraphText).join('\n');
    const ids = ours.encode(text);
    expect(hf.encode(text)).toEqual(ids);
    expect(hf.encode(text, { bos: false })).toEqual(ids.slice(1));
    expect(ids[0]).toBe(BOS_ID);
    expect(hf.decode(ids)).toBe(text);
    expect(ours.decode(ids)).toBe(text);
    tokens += ids.length;
  }
  // merges do their work: well under one token per character
  const chars = corpus.heldOut.slice(0, 12).reduce((a, d) => a + d.paragraphs.flat().join(' ').length, 0);
  expect(tokens).toBeLessThan(chars / 2);
});

test('unseen characters fall back to bytes and round-trip; spacing is kept exactly', () => {
  const cases = ['naïve café — 日本語 😀', 'tab\there\nnewline\r\n', '  two leading, trailing two  ', 'a   b', '', ' ', 'x'];
  for (const text of cases) {
    const ids = ours.encode(text, { bos: false });
    expect(hf.encode(text, { bos: false })).toEqual(ids);
    expect(hf.decode(ids)).toBe(text);
    expect(ours.decode(ids)).toBe(text);
  }
  const emoji = ours.encode('😀', { bos: false });
  // "▁" then the emoji's four UTF-8 bytes
  expect(emoji.slice(1)).toEqual([0xf0, 0x9f, 0x98, 0x80].map((b) => BYTE_ID_BASE + b));
  expect(ours.encode('\n', { bos: false })).toContain(BYTE_ID_BASE + 0x0a);
});

test('special tokens written in text are special, in both encoders', () => {
  const text = 'one</s><s>two';
  const ids = ours.encode(text, { bos: false });
  expect(hf.encode(text, { bos: false })).toEqual(ids);
  expect(ids).toContain(EOS_ID);
  expect(hf.decode(ids, { keepSpecial: true })).toBe(ours.decode(ids, true));
});

test('bad inputs are refused with named errors', () => {
  expect(() => trainBpe(['some text'], { vocabSize: 100 })).toThrow(BpeTrainError);
  expect(() => loadTokenizer(join(root, 'nope.json'))).toThrow(TokenizerFileError);
  const bad = join(root, 'bad');
  writeFileSync(bad, '{not json');
  expect(() => loadTokenizer(bad)).toThrow(/not JSON/);
  writeFileSync(bad, JSON.stringify({ added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null }));
  expect(() => loadTokenizer(bad)).toThrow(/model: Required/);
});
