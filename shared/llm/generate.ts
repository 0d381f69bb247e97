/**
 * Generation tasks on a generation package (shared/llm/lower.ts llamaGenerationDraft): the
 * initial state a task carries (prompt, lengths, decoding parameters, seed) and the run that
 * produces the continuation, with the graph-state root a provider commits.
 */
import { z } from 'zod';
import { runGeneration, type GenerationOptions, type GenerationRun } from '../dnn/generation';
import { STATE, TEMPERATURE_ONE, TOP_P_ONE, TEMPERATURE_MAX } from '../dnn/kernels/sample';
import type { DnnModel } from '../dnn/model';
import type { ModelSpec } from '../dnn/spec';
import { textTokenizer, type TextTokenizer } from './tokenizer/json';
import { allocTensor, type Tensor } from '../dnn/tensor';
import { LlmError } from './errors';

export const decodingSchema = z
  .object({
    maxTokens: z.number().int().min(1),
    /** 0 or absent: greedy */
    temperature: z.number().min(0).max(TEMPERATURE_MAX / TEMPERATURE_ONE).default(0),
    topK: z.number().int().min(0).default(0),
    /** 0 or 1: off */
    topP: z.number().min(0).max(1).default(0),
    /** the requester's seed (32 bits) */
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  })
  .strict();
export type Decoding = z.input<typeof decodingSchema>;

export class GenerationRequestError extends LlmError {
  override name = 'GenerationRequestError';
}

/** A package, or just its spec (what a client has before it fetches any weights). */
export type SpecOf = ModelSpec | Pick<DnnModel, 'spec'>;
const specOf = (m: SpecOf): ModelSpec => ('format' in m ? m : m.spec);

/** What a generation package can take: its vocabulary and context (state capacity). */
export function generationLimits(m: SpecOf): { vocabSize: number; context: number } {
  const spec = specOf(m);
  const g = spec.generation;
  const sample = spec.nodes.find((n) => n.op === 'Sample');
  if (!g || !sample) throw new GenerationRequestError(`model ${spec.name} is not a generation package: it takes one input and gives one output, with no tokens to generate`);
  const shapeOf = (name: string) => spec.tensors.find((t) => t.name === name)!.shape;
  return { vocabSize: shapeOf(sample.inputs[0]).at(-1)!, context: shapeOf(g.state)[0] - STATE.tokens };
}

/** The task input: the state a generation starts from. */
export function initialState(m: SpecOf, prompt: readonly number[], decoding: Decoding): Tensor {
  const d = decodingSchema.parse(decoding);
  const { vocabSize, context } = generationLimits(m);
  if (prompt.length === 0) throw new GenerationRequestError('the prompt needs at least one token');
  const bad = prompt.find((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad !== undefined) throw new GenerationRequestError(`token ${bad} is outside the vocabulary [0, ${vocabSize})`);
  if (prompt.length + d.maxTokens > context) throw new GenerationRequestError(`prompt (${prompt.length} tokens) plus maxTokens (${d.maxTokens}) exceeds the model's context of ${context} tokens`);
  const s = allocTensor('int32', [STATE.tokens + context]);
  s.data[STATE.position] = 0;
  s.data[STATE.token] = prompt[0];
  s.data[STATE.rng] = d.seed | 0;
  s.data[STATE.promptLength] = prompt.length;
  s.data[STATE.totalLength] = prompt.length + d.maxTokens;
  s.data[STATE.temperature] = Math.round(d.temperature * TEMPERATURE_ONE);
  s.data[STATE.topK] = d.topK;
  s.data[STATE.topP] = d.topP >= 1 ? 0 : Math.round(d.topP * TOP_P_ONE);
  s.data.set(prompt, STATE.tokens);
  return s;
}

/** Steps a generation runs: one per position before the last. */
export function generationSteps(promptLength: number, maxTokens: number): number {
  return promptLength + maxTokens - 1;
}

/** The generated tokens in a (final) state. */
export function generatedTokens(state: Tensor): number[] {
  const s = state.data;
  const L = s[STATE.promptLength];
  const end = Math.min(s[STATE.position] + 1, s.length - STATE.tokens);
  return Array.from(s.subarray(STATE.tokens + L, STATE.tokens + end));
}

export function generate(model: DnnModel, prompt: readonly number[], decoding: Decoding, options: GenerationOptions = {}): { tokens: number[]; run: GenerationRun } {
  const start = initialState(model, prompt, decoding);
  const run = runGeneration(model, start, generationSteps(prompt.length, decodingSchema.parse(decoding).maxTokens), options);
  return { tokens: generatedTokens(run.output), run };
}

/** The package's tokenizer (its spec's text section); a package without one takes token ids only. */
export function tokenizerOf(m: SpecOf): TextTokenizer {
  const spec = specOf(m);
  if (!spec.text) throw new GenerationRequestError(`model ${spec.name} carries no tokenizer: give the prompt as token ids`);
  return textTokenizer(spec.text, `model ${spec.name}`);
}

/** A prompt as the model's token ids: text through the package's tokenizer (with its start token), or ids as given. */
export function promptIds(m: SpecOf, prompt: string | readonly number[]): number[] {
  if (typeof prompt !== 'string') return [...prompt];
  if (prompt.length === 0) throw new GenerationRequestError('the prompt is empty');
  return tokenizerOf(m).encode(prompt);
}

export interface GenerationResult {
  promptTokens: number[];
  /** every generated token, as committed */
  tokens: number[];
  /** the generated text up to the first end-of-sequence token (when the package has a tokenizer) */
  text?: string;
  /** an end-of-sequence token was generated */
  stopped: boolean;
}

/** What a final state says: the prompt, the generated tokens and their text. */
export function readGeneration(m: SpecOf, state: Tensor): GenerationResult {
  const s = state.data;
  const L = Math.max(0, Math.min(s[STATE.promptLength], s.length - STATE.tokens));
  const tokens = generatedTokens(state);
  const spec = specOf(m);
  const eos = new Set(spec.text?.eos ?? []);
  const end = tokens.findIndex((t) => eos.has(t));
  const kept = end < 0 ? tokens : tokens.slice(0, end);
  return {
    promptTokens: Array.from(s.subarray(STATE.tokens, STATE.tokens + L)),
    tokens,
    ...(spec.text ? { text: tokenizerOf(spec).decode(kept) } : {}),
    stopped: end >= 0,
  };
}
