/**
 * The model shapes the LLM work is measured at (issue 12): TinyLlama-1.1B and LLaMA-2-7B, whose
 * random-weight checkpoints exist only for benchmarks, and a small shape tests build in seconds.
 */
import { llamaConfigJson, type LlamaShape } from './hf/config';

export type { LlamaShape };
import { gaussian, seededRandom } from '../dnn/random';
import { FINAL_NORM } from './hf/names';
import type { TensorSource } from './hf/writeCheckpoint';

export const LLAMA_SHAPES = {
  '1b': { hiddenSize: 2048, intermediateSize: 5632, layers: 22, heads: 32, kvHeads: 4, vocabSize: 32000, maxPositions: 2048, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false },
  '7b': { hiddenSize: 4096, intermediateSize: 11008, layers: 32, heads: 32, kvHeads: 32, vocabSize: 32000, maxPositions: 4096, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false },
} as const satisfies Record<string, LlamaShape>;
export type LlamaShapeName = keyof typeof LLAMA_SHAPES;

export function shapeConfigJson(shape: LlamaShape, torchDtype: 'float32' | 'float16' | 'bfloat16' = 'float16'): Record<string, unknown> {
  return llamaConfigJson({ ...shape, torchDtype });
}

function nameSeed(name: string, seed: number): number {
  let h = seed >>> 0 ^ 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Weights like transformers' init (normal, std `initializerRange`; norm weights near 1), from a
 * seed. Each row has its own stream, so the values do not depend on how the writer chunks rows.
 */
export function randomLlamaWeights(seed: number, initializerRange = 0.02): TensorSource {
  return (name, shape, rowStart, rowCount) => {
    const rowElems = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
    const out = new Float32Array(rowCount * rowElems);
    const isNorm = shape.length === 1 || name === FINAL_NORM;
    if (isNorm) {
      const rand = seededRandom(nameSeed(name, seed));
      for (let i = 0; i < rowStart; i++) rand();
      for (let i = 0; i < out.length; i++) out[i] = 1 + 0.1 * (rand() - 0.5);
      return out;
    }
    for (let r = 0; r < rowCount; r++) {
      const normal = gaussian(seededRandom(nameSeed(name, seed) ^ Math.imul(rowStart + r + 1, 0x9e3779b1)));
      const o = r * rowElems;
      for (let i = 0; i < rowElems; i++) out[o + i] = normal() * initializerRange;
    }
    return out;
  };
}
