/**
 * Generation tasks in the SDK: a package imported with its checkpoint's tokenizer carries it in
 * its spec; a text prompt becomes the initial state (start token first) and the steps the task
 * runs; the committed final state reads back as the generated tokens and text; the CLI's flags
 * are checked. No chain: the functions the requester's and the viewer's sides call.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFiles } from '../../shared/dnn/files';
import type { DnnModel } from '../../shared/dnn/model';
import { tensorBytes } from '../../shared/dnn/tensor';
import { generate, readGeneration } from '../../shared/llm/generate';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { importLlamaGeneration } from '../../shared/llm/lower';
import { randomLlamaWeights } from '../../shared/llm/shapes';
import { textTokenizer } from '../../shared/llm/tokenizer/json';
import { tokenizerJson, trainBpe } from '../../shared/llm/tokenizer/bpe';
import { importCheckpointFolder, isCheckpointFolder } from '../../shared/sdk/llmImport';
import { InputPreparationError, packageSpecOf, prepareGeneration, prepareInput, readGenerationOutput, readOutput } from '../../shared/sdk';

const TEXT = ['the cat sat on the mat', 'a dog ran in the park', 'the sun is hot and the sky is blue'];

let root: string;
let model: DnnModel;
let graphJson: Uint8Array;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-sdk-gen-'));
  const bpe = trainBpe(TEXT, { vocabSize: 300 });
  const shape = { hiddenSize: 32, intermediateSize: 48, layers: 1, heads: 2, kvHeads: 1, vocabSize: bpe.vocab.length, maxPositions: 64, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true };
  writeLlamaCheckpoint(join(root, 'ckpt'), llamaConfigJson({ ...shape, torchDtype: 'float32', bosTokenId: 1, eosTokenId: 2 }), randomLlamaWeights(3, 0.1), { dtype: 'F32', tokenizerJson: tokenizerJson(bpe) });
  const ckpt = LlamaCheckpoint.open(join(root, 'ckpt'));
  importLlamaGeneration(ckpt, join(root, 'gen'), { name: 'text-gen', context: 24, calibration: [[1, 40, 80, 120, 160, 200, 240, 280]] });
  ckpt.close();
  model = readModelFiles(join(root, 'gen'));
  graphJson = new Uint8Array(readFileSync(join(root, 'gen.dnn.json')));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

test('the package carries the tokenizer (committed with the spec), its start and end tokens', () => {
  const spec = packageSpecOf(graphJson);
  expect(spec.text?.bos).toBe(1);
  expect(spec.text?.eos).toEqual([2]);
  expect(textTokenizer(spec.text!).vocabSize).toBe(model.tensorSpecs.get('embed#table')!.shape[0]);
});

test('a text prompt becomes the initial state and the steps; the final state reads back as text', () => {
  const spec = packageSpecOf(graphJson);
  const prepared = prepareGeneration(spec, 'the cat', { maxTokens: 5, temperature: 0.8, seed: 7 });
  expect(prepared.promptTokens[0]).toBe(1);
  expect(textTokenizer(spec.text!).decode(prepared.promptTokens)).toBe('the cat');
  expect(prepared.steps).toBe(BigInt(prepared.promptTokens.length + 5 - 1));
  const { run } = generate(model, prepared.promptTokens, { maxTokens: 5, temperature: 0.8, seed: 7 });
  const hex = '0x' + Buffer.from(tensorBytes(run.output)).toString('hex');
  const read = readGenerationOutput(spec, hex);
  expect(read.promptTokens).toEqual(prepared.promptTokens);
  expect(read.tokens).toHaveLength(5);
  const eos = read.tokens.indexOf(2);
  expect(read.text).toBe(textTokenizer(spec.text!).decode(eos < 0 ? read.tokens : read.tokens.slice(0, eos)));
  expect(read.stopped).toBe(eos >= 0);
  expect(readOutput(graphJson, hex).generation).toEqual(read);
  expect(readGeneration(model, run.output)).toEqual(read);
});

test('requests the package cannot take fail as input errors, naming the limit', async () => {
  const spec = packageSpecOf(graphJson);
  expect(() => prepareGeneration(spec, 'the cat', { maxTokens: 40 })).toThrow(InputPreparationError);
  expect(() => prepareGeneration(spec, 'the cat', { maxTokens: 40 })).toThrow(/exceeds the model's context of 24 tokens/);
  expect(() => prepareGeneration(spec, '', { maxTokens: 2 })).toThrow(/prompt is empty/);
  expect(() => prepareGeneration(spec, [1, 999], { maxTokens: 2 })).toThrow(/token 999 is outside the vocabulary/);
  expect(() => prepareGeneration(spec, 'x', { maxTokens: 2, topP: 3 })).toThrow(/decoding settings/);
  await expect(prepareInput(spec.tensors[0], { kind: 'generation', prompt: 'x', decoding: { maxTokens: 2 } })).rejects.toThrow(/generates no text/);
});

test('opml model import of a checkpoint folder: calibrated on Brown text through its tokenizer, or refused without one', () => {
  const pkg = importCheckpointFolder(join(root, 'ckpt'), { context: 16, calibration: 'brown:2', out: join(root, 'imported') });
  expect(pkg.base).toBe(join(root, 'imported'));
  expect(pkg.model.spec.generation).toBeDefined();
  expect(pkg.model.spec.text?.bos).toBe(1);
  expect(pkg.model.tensorSpecs.get(pkg.model.spec.input)!.shape).toEqual([8 + 16]);
  expect(isCheckpointFolder(join(root, 'ckpt'))).toBe(true);
  expect(isCheckpointFolder(join(root, 'gen.dnn.json'))).toBe(false);
  rmSync(join(root, 'ckpt', 'tokenizer.json'));
  expect(() => importCheckpointFolder(join(root, 'ckpt'))).toThrow(/has no tokenizer\.json/);
});
