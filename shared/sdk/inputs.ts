/**
 * Turning what a person has (a PNG of a digit, a text prompt, plain numbers) into the exact int8/int32
 * input tensor a registered model expects, from the model's own package spec: the bytes whose CID and
 * Merkle root a task names.
 */
import { PNG } from 'pngjs';
import { CHARLM_VOCAB } from '../dnn/datasets/charlm';
import { quantizeValues } from '../dnn/quantize';
import { modelSpecSchema, type ModelSpec, type TensorSpec } from '../dnn/spec';
import { allocTensor, elementCount, tensorBytes, toHex, type Tensor } from '../dnn/tensor';
import { rawCid } from '../dnn/cid';
import { CHUNK_SIZE } from '../ipfs/store';
import { merkleRootOfBytes } from '../vm/merkle';
import { InputPreparationError } from './errors';
import type { Decoding } from '../llm/generate';

/** MNIST digits are 28×28 grayscale, ink bright on a dark background, values in [0, 1] (shared/dnn/datasets/mnist.ts). */
export const MNIST_SIDE = 28;

export type InputSource =
  | { kind: 'image'; png: Uint8Array }
  | { kind: 'prompt'; text: string }
  | { kind: 'values'; values: ArrayLike<number> }
  /** A generation package's task: a text prompt (or token ids) and how to decode (shared/llm/generate.ts). */
  | { kind: 'generation'; prompt: string | number[]; decoding: Decoding };

export interface PreparedInput {
  tensor: Tensor;
  bytes: Uint8Array;
  /** Merkle root of the bytes (docs/dnn-spec.md section 3): the task's inputRoot. */
  inputRoot: string;
  /**
   * The CID Kubo gives the bytes (the task's inputCid): a single raw block up to one chunk, which
   * every model input here is; null above that, where the API's answer is taken (the on-chain
   * inputRoot still binds the content).
   */
  inputCid: string | null;
  /** For a prompt: the position whose logits predict the next character. */
  promptPosition?: number;
}

/** A package's spec from its .dnn.json text (the blob a model's graphCid names). */
export function packageSpecOf(graphJson: string | Uint8Array): ModelSpec {
  const text = typeof graphJson === 'string' ? graphJson : new TextDecoder().decode(graphJson);
  try {
    return modelSpecSchema.parse(JSON.parse(text));
  } catch (e) {
    throw new InputPreparationError(`the model's graph file is not an opml-dnn package spec (${(e as Error).message}): check the model's graphCid`, { cause: e });
  }
}

/** The input tensor's spec from a package's .dnn.json text. */
export function inputSpecOf(graphJson: string | Uint8Array): TensorSpec {
  const spec = packageSpecOf(graphJson);
  return spec.tensors.find((t) => t.name === spec.input)!;
}

/** Grayscale values in [0, 1] from a PNG, resized to width×height by box averaging; alpha composites onto black. */
export function pngToGray(png: Uint8Array, width = MNIST_SIDE, height = MNIST_SIDE): Float32Array {
  let img: PNG;
  try {
    img = PNG.sync.read(Buffer.from(png));
  } catch (e) {
    throw new InputPreparationError(`not a readable PNG (${(e as Error).message}): pass a .png image`, { cause: e });
  }
  const src = new Float32Array(img.width * img.height);
  for (let i = 0; i < src.length; i++) {
    const [r, g, b, a] = img.data.subarray(4 * i, 4 * i + 4);
    src[i] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255) * (a / 255);
  }
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * img.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * img.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * img.width) / width));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += src[yy * img.width + xx];
      out[y * width + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/**
 * MNIST-style values from a PNG: 28×28, ink bright. A mostly light image (dark ink on paper) is
 * inverted, since the models were trained on light-on-dark digits.
 */
export function pngToMnist(png: Uint8Array): Float32Array {
  const gray = pngToGray(png);
  const mean = gray.reduce((a, v) => a + v, 0) / gray.length;
  return mean > 0.5 ? gray.map((v) => 1 - v) : gray;
}

/** An 8-bit grayscale PNG of values in [0, 1] (the inverse of pngToGray at the same size). */
export function grayToPng(values: ArrayLike<number>, width = MNIST_SIDE, height = MNIST_SIDE): Uint8Array {
  if (values.length !== width * height) throw new InputPreparationError(`${values.length} values do not make a ${width}×${height} image`);
  const png = new PNG({ width, height });
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
    png.data.set([v, v, v, 255], 4 * i);
  }
  return new Uint8Array(PNG.sync.write(png));
}

/**
 * Token ids for the character model: the prompt's last `context` characters, left-padded with spaces
 * as shared/dnn/generate.ts does, so the last position predicts the next character.
 */
export function promptToIds(text: string, context: number): { ids: number[]; position: number } {
  if (text.length === 0) throw new InputPreparationError('the prompt is empty: pass some text with --prompt "..."');
  const unknown = [...new Set(Array.from(text).filter((c) => !CHARLM_VOCAB.includes(c)))];
  if (unknown.length > 0)
    throw new InputPreparationError(`the prompt has characters outside the model's vocabulary (newline and printable ASCII): ${unknown.map((c) => JSON.stringify(c)).join(' ')}`);
  const window = Array.from(text.slice(-context), (c) => CHARLM_VOCAB.indexOf(c));
  const pad = CHARLM_VOCAB.indexOf(' ');
  return { ids: [...Array(context - window.length).fill(pad), ...window], position: context - 1 };
}

/** The model's input tensor for `source`, with its bytes, root and CID. */
// Computed without the IPFS libraries (ESM only), so the CLI runs under tsx.
export async function prepareInput(spec: TensorSpec, source: InputSource): Promise<PreparedInput> {
  if (source.kind === 'generation') throw new InputPreparationError('this model runs once on one input and generates no text: pass --image or --prompt without --max-tokens');
  const count = elementCount(spec.shape);
  const tensor = allocTensor(spec.dtype, [...spec.shape]);
  let promptPosition: number | undefined;
  if (source.kind === 'prompt') {
    if (spec.dtype !== 'int32' || spec.shape.length !== 2 || spec.shape[0] !== 1)
      throw new InputPreparationError(`this model takes a ${spec.dtype} [${spec.shape}] tensor, not token ids: pass --image (or --values) instead of --prompt`);
    const { ids, position } = promptToIds(source.text, spec.shape[1]);
    tensor.data.set(ids);
    promptPosition = position;
  } else {
    const values = source.kind === 'image' ? pngToMnist(source.png) : source.values;
    if (source.kind === 'image' && spec.dtype === 'int32')
      throw new InputPreparationError('this model takes token ids, not an image: pass --prompt "..." instead of --image');
    if (values.length !== count)
      throw new InputPreparationError(`the model's input [${spec.shape}] has ${count} elements, the ${source.kind === 'image' ? 'image gives' : 'values are'} ${values.length}`);
    if (spec.dtype === 'int32') tensor.data.set(Array.from(values, Math.trunc));
    else tensor.data.set(quantizeValues(values, spec));
  }
  const bytes = Uint8Array.from(tensorBytes(tensor));
  return { tensor, bytes, inputRoot: toHex(merkleRootOfBytes(bytes)), inputCid: bytes.length <= CHUNK_SIZE ? rawCid(bytes) : null, promptPosition };
}
