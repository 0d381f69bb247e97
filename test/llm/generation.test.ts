/**
 * Generation packages: a LLaMA checkpoint as one step per position (TokenEmbed … Sample) with
 * its KV caches carried between steps. Greedy int8 continuations follow the float model's; the
 * prompt is forced; sampling is a pure function of the seed; every step's nodes give the same
 * bytes in the VM as natively; and bad requests are refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '../../shared/dnn/executor';
import { readModelFiles } from '../../shared/dnn/files';
import { generationSlot, runGeneration } from '../../shared/dnn/generation';
import { runNodeInVm } from '../../shared/dnn/guest/runNode';
import { buildKernelImage } from '../../shared/dnn/guest/kernelImage';
import { STATE } from '../../shared/dnn/kernels/sample';
import type { DnnModel } from '../../shared/dnn/model';
import { seededRandom } from '../../shared/dnn/random';
import { allocTensor, tensorRoot, toHex, type Tensor } from '../../shared/dnn/tensor';
import { FloatLlama, loadFloatWeights } from '../../shared/llm/float/forward';
import { generate, GenerationRequestError, generationSteps, initialState } from '../../shared/llm/generate';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { importLlamaGeneration } from '../../shared/llm/lower';
import { randomLlamaWeights } from '../../shared/llm/shapes';

const shape = { hiddenSize: 64, intermediateSize: 160, layers: 2, heads: 4, kvHeads: 2, vocabSize: 97, maxPositions: 64, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: true };
const CONTEXT = 32;
const rand = seededRandom(77);
const tokens = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * shape.vocabSize));

let root: string;
let ckpt: LlamaCheckpoint;
let model: DnnModel;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'opml-gen-'));
  writeLlamaCheckpoint(join(root, 'ckpt'), llamaConfigJson({ ...shape, torchDtype: 'bfloat16' }), randomLlamaWeights(9, 0.1), { dtype: 'BF16' });
  ckpt = LlamaCheckpoint.open(join(root, 'ckpt'));
  importLlamaGeneration(ckpt, join(root, 'gen'), { name: 'tiny-gen', context: CONTEXT, calibration: Array.from({ length: 6 }, () => tokens(CONTEXT)) });
  model = readModelFiles(join(root, 'gen'));
});
afterAll(() => {
  ckpt?.close();
  rmSync(root, { recursive: true, force: true });
});

test('the package is one step: TokenEmbed first, Sample last, a carried K and V cache per layer', () => {
  const ops = model.spec.nodes.map((n) => n.op);
  expect(ops[0]).toBe('TokenEmbed');
  expect(ops.at(-1)).toBe('Sample');
  expect(ops.at(-2)).toBe('DenseWide');
  expect(model.spec.generation!.carry).toHaveLength(2 * shape.layers);
  expect(model.tensorSpecs.get('layers.1.k_past')!.shape).toEqual([CONTEXT, 2 * 16]);
});

test('greedy int8 continuations follow the float model; the prompt is kept as given', () => {
  const float = new FloatLlama(ckpt.config, loadFloatWeights(ckpt));
  let same = 0;
  let total = 0;
  for (let trial = 0; trial < 4; trial++) {
    const prompt = tokens(5);
    const { tokens: ours, run } = generate(model, prompt, { maxTokens: 8 });
    expect(ours).toHaveLength(8);
    expect(Array.from(run.output.data.subarray(STATE.tokens, STATE.tokens + 5))).toEqual(prompt);
    float.reset();
    const want = float.generateGreedy(prompt, 8);
    // Count agreement up to the first divergence (after it the contexts differ).
    let i = 0;
    while (i < 8 && ours[i] === want[i]) i++;
    same += i;
    total += 8;
  }
  expect(same / total).toBeGreaterThanOrEqual(0.5);
});

test('wasm and TypeScript backends give the same slots, step by step', () => {
  const start = initialState(model, tokens(3), { maxTokens: 4, temperature: 0.8, topK: 20, topP: 0.9, seed: 7 });
  const steps = generationSteps(3, 4);
  const a = runGeneration(model, start, steps, { backend: 'wasm' });
  const b = runGeneration(model, start, steps, { backend: 'ts' });
  expect(a.slots.map(toHex)).toEqual(b.slots.map(toHex));
  expect(a.slots).toHaveLength(1 + steps * model.spec.nodes.length);
  expect(Array.from(a.output.data)).toEqual(Array.from(b.output.data));
});

test('sampling is a function of the seed; top-k 1 and a tiny temperature are greedy', () => {
  const prompt = tokens(4);
  const run = (d: object) => generate(model, prompt, { maxTokens: 10, ...d }).tokens;
  const greedy = run({});
  expect(run({ temperature: 1, seed: 5 })).toEqual(run({ temperature: 1, seed: 5 }));
  const draws = new Set([1, 2, 3, 4, 5, 6].map((seed) => run({ temperature: 1.5, seed }).join(',')));
  expect(draws.size).toBeGreaterThan(1);
  expect(run({ temperature: 1.5, topK: 1, seed: 3 })).toEqual(greedy);
  expect(run({ temperature: 0.001, seed: 3 })).toEqual(greedy);
});

test('every node of a later step runs in the VM to the same bytes and root as natively (carried caches included)', () => {
  const elf = buildKernelImage().elf;
  const prompt = tokens(3);
  const start = initialState(model, prompt, { maxTokens: 3, temperature: 0.9, seed: 11 });
  const steps = generationSteps(3, 3);
  const run = runGeneration(model, start, steps, { backend: 'ts' });
  // Rebuild step 3's values natively, then run each of its nodes in the VM.
  const g = model.spec.generation!;
  let state: Tensor = start;
  let carried = new Map<string, Tensor>(g.carry.map((c) => [c.to, allocTensor('int8', [...model.tensorSpecs.get(c.to)!.shape])]));
  for (let t = 0; t < 3; t++) {
    const values = new Map<string, Tensor>([[g.state, state], ...carried]);
    for (const node of model.spec.nodes) values.set(node.output, runNode(model, node, values));
    state = values.get(g.next)!;
    carried = new Map(g.carry.map((c) => [c.to, values.get(c.from)!]));
  }
  const values = new Map<string, Tensor>([[g.state, state], ...carried]);
  model.spec.nodes.forEach((node, i) => {
    const vm = runNodeInVm(model, i + 1, values, { elf });
    values.set(node.output, vm.output);
    expect(`${node.output} ${toHex(vm.outputRoot)}`).toBe(`${node.output} ${toHex(run.slots[generationSlot(model, 3, i)])}`);
  });
  expect(toHex(tensorRoot(values.get(g.next)!))).toBe(toHex(run.slots[generationSlot(model, 3, model.spec.nodes.length - 1)]));
});

test('requests the package cannot take are refused with the reason', () => {
  expect(() => initialState(model, [], { maxTokens: 3 })).toThrow(GenerationRequestError);
  expect(() => initialState(model, [1, 2], { maxTokens: 31 })).toThrow(/plus maxTokens \(31\) exceeds the model's context of 32 tokens/);
  expect(() => initialState(model, [1, 97], { maxTokens: 3 })).toThrow(/token 97 is outside the vocabulary \[0, 97\)/);
  expect(() => initialState(model, [1], { maxTokens: 0 })).toThrow(/maxTokens/);
  expect(() => initialState(model, [1], { maxTokens: 2, temperature: 101 })).toThrow(/temperature/);
});
