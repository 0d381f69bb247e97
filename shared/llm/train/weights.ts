/**
 * The trainable tensors of a LlamaForCausalLM, laid out as the float reference reads them
 * (`FloatLlamaWeights`: row-major [out, in] projections, untied lm_head), with their initialisation
 * and the ways out: the checkpoint writer's `TensorSource` and `FloatLlamaWeights` themselves.
 */
import { gaussian, seededRandom } from '../../dnn/random';
import type { FloatLayerWeights, FloatLlamaWeights } from '../float/forward';
import type { LlamaConfig } from '../hf/config';
import { EMBED, expectedTensors, FINAL_NORM, layerNames, LM_HEAD } from '../hf/names';
import type { TensorSource } from '../hf/writeCheckpoint';
import type { Floats, FloatsConstructor } from './kernels';

export type LayerKey = keyof FloatLayerWeights;
export const LAYER_KEYS = ['inputNorm', 'q', 'k', 'v', 'o', 'postNorm', 'gate', 'up', 'down'] as const satisfies readonly LayerKey[];

export interface TrainWeights {
  embed: Floats;
  layers: Record<LayerKey, Floats>[];
  norm: Floats;
  lmHead: Floats;
}

export interface NamedTensor {
  /** the tensor's name in the state dict */
  name: string;
  shape: number[];
  data: Floats;
}

/**
 * Every tensor with its transformers name, in the order transformers saves them. The list shares
 * the arrays, so it serves the optimizer, gradient clipping and the checkpoint writer alike.
 */
export function namedTensors(config: LlamaConfig, w: TrainWeights): NamedTensor[] {
  const byName = new Map<string, Floats>([
    [EMBED, w.embed],
    [FINAL_NORM, w.norm],
    [LM_HEAD, w.lmHead],
  ]);
  w.layers.forEach((layer, i) => {
    const names = layerNames(i);
    for (const key of LAYER_KEYS) byName.set(names[key], layer[key]);
  });
  return expectedTensors(config).map(({ name, shape }) => ({ name, shape, data: byName.get(name)! }));
}

/** What a tensor is, for its initialisation: a norm weight, a projection (or the embedding), or a projection into the residual stream. */
type TensorKind = 'norm' | 'projection' | 'residual';

function allocate(config: LlamaConfig, make: (count: number, kind: TensorKind) => Floats): TrainWeights {
  const { hiddenSize: d, intermediateSize: inter, heads, kvHeads, headDim, vocabSize } = config;
  const layers = Array.from({ length: config.layers }, () => ({
    inputNorm: make(d, 'norm'),
    q: make(heads * headDim * d, 'projection'),
    k: make(kvHeads * headDim * d, 'projection'),
    v: make(kvHeads * headDim * d, 'projection'),
    o: make(d * heads * headDim, 'residual'),
    postNorm: make(d, 'norm'),
    gate: make(inter * d, 'projection'),
    up: make(inter * d, 'projection'),
    down: make(d * inter, 'residual'),
  }));
  return { embed: make(vocabSize * d, 'projection'), layers, norm: make(d, 'norm'), lmHead: make(vocabSize * d, 'projection') };
}

export interface InitOptions {
  seed: number;
  /** std of every projection and the embedding (transformers' initializer_range) */
  std: number;
  /** Float64Array for gradient checks */
  arrayType?: FloatsConstructor;
}

/**
 * Normal(0, std) weights and unit norms, as transformers initialises LLaMA, with the projections
 * that write into the residual stream (o_proj, down_proj) scaled by 1/√(2·layers) as GPT-2 and
 * llama2.c do, so the stream's variance does not grow with depth at the start.
 */
export function initTrainWeights(config: LlamaConfig, opts: InitOptions): TrainWeights {
  const normal = gaussian(seededRandom(opts.seed));
  const Arr = opts.arrayType ?? Float32Array;
  const residualStd = opts.std / Math.sqrt(2 * config.layers);
  return allocate(config, (count, kind) => {
    const a = new Arr(count);
    if (kind === 'norm') return a.fill(1);
    const std = kind === 'residual' ? residualStd : opts.std;
    for (let i = 0; i < count; i++) a[i] = normal() * std;
    return a;
  });
}

export function zerosLike(config: LlamaConfig, w: TrainWeights): TrainWeights {
  const Arr = w.embed instanceof Float64Array ? Float64Array : Float32Array;
  return allocate(config, (count) => new Arr(count));
}

/** Rows of each tensor for writeLlamaCheckpoint. */
export function weightsSource(config: LlamaConfig, w: TrainWeights): TensorSource {
  const byName = new Map(namedTensors(config, w).map((t) => [t.name, t.data]));
  return (name, shape, rowStart, rowCount) => {
    const rowElems = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    return Float32Array.from(byName.get(name)!.subarray(rowStart * rowElems, (rowStart + rowCount) * rowElems));
  };
}

/** The weights as the float reference takes them (float32 copies). */
export function toFloatLlamaWeights(w: TrainWeights): FloatLlamaWeights {
  const f32 = (a: Floats) => Float32Array.from(a);
  return {
    embed: f32(w.embed),
    layers: w.layers.map((l) => Object.fromEntries(LAYER_KEYS.map((k) => [k, f32(l[k])])) as unknown as FloatLayerWeights),
    norm: f32(w.norm),
    lmHead: f32(w.lmHead),
  };
}
