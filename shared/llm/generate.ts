/**
 * Generation tasks on a generation package (shared/llm/lower.ts llamaGenerationDraft): the
 * initial state a task carries (prompt, lengths, decoding parameters, seed) and the run that
 * produces the continuation, with the graph-state root a provider commits.
 */
import { z } from 'zod';
import { runGeneration, type GenerationOptions, type GenerationRun } from '../dnn/generation';
import { STATE, TEMPERATURE_ONE, TOP_P_ONE, TEMPERATURE_MAX } from '../dnn/kernels/sample';
import type { DnnModel } from '../dnn/model';
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

/** What a generation package can take: its vocabulary and context (state capacity). */
export function generationLimits(model: DnnModel): { vocabSize: number; context: number } {
  const g = model.spec.generation;
  if (!g) throw new GenerationRequestError(`model ${model.spec.name} is not a generation package`);
  const state = model.tensorSpecs.get(g.state)!;
  const logits = model.spec.nodes.find((n) => n.op === 'Sample')!.inputs[0];
  return { vocabSize: model.tensorSpecs.get(logits)!.shape.at(-1)!, context: state.shape[0] - STATE.tokens };
}

/** The task input: the state a generation starts from. */
export function initialState(model: DnnModel, prompt: readonly number[], decoding: Decoding): Tensor {
  const d = decodingSchema.parse(decoding);
  const { vocabSize, context } = generationLimits(model);
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
