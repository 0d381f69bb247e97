/** Reading a committed output tensor with the model's own output spec: a class, the next character, or a generation's text. */
import { CHARLM_VOCAB } from '../dnn/datasets/charlm';
import { argmaxRows } from '../dnn/io';
import { modelSpecSchema } from '../dnn/spec';
import { elementCount, tensorFromBytes } from '../dnn/tensor';
import { getBytes } from 'ethers';
import { readGeneration, type GenerationResult } from '../llm/generate';

export interface OutputReading {
  shape: number[];
  /** argmax of the last axis, per row. */
  argmax: number[];
  /** For a [1, N] output: the predicted class. */
  predictedClass?: number;
  /** For a character model's [1, T, V] output read at `position`: the predicted next character. */
  nextChar?: string;
  /** For a generation package's final state: the prompt and generated tokens, and the text. */
  generation?: GenerationResult;
}

export function readOutput(graphJson: string | Uint8Array, outputHex: string, position?: number): OutputReading {
  const text = typeof graphJson === 'string' ? graphJson : new TextDecoder().decode(graphJson);
  const spec = modelSpecSchema.parse(JSON.parse(text));
  const out = spec.tensors.find((t) => t.name === spec.output)!;
  const bytes = getBytes(outputHex);
  const t = tensorFromBytes(out.dtype, [...out.shape], bytes);
  if (spec.generation) return { shape: out.shape, argmax: [], generation: readGeneration(spec, t) };
  const argmax = argmaxRows(t);
  const reading: OutputReading = { shape: out.shape, argmax };
  if (out.shape.length === 2 && out.shape[0] === 1) reading.predictedClass = argmax[0];
  if (out.shape.length === 3 && out.shape[2] === CHARLM_VOCAB.length && elementCount(out.shape) * (out.dtype === 'int32' ? 4 : 1) === bytes.length)
    reading.nextChar = CHARLM_VOCAB[argmax[position ?? out.shape[1] - 1]];
  return reading;
}
