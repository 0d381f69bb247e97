/**
 * Generation tasks from the requester's side: a prompt (text through the package's own tokenizer,
 * or token ids) and decoding settings become the initial state the task carries, with the steps it
 * runs; a committed final state becomes the generated tokens and text.
 */
import { getBytes } from 'ethers';
import type { ModelSpec } from '../dnn/spec';
import { tensorBytes, tensorFromBytes, toHex } from '../dnn/tensor';
import { rawCid } from '../dnn/cid';
import { CHUNK_SIZE } from '../ipfs/store';
import { decodingSchema, generationSteps, GenerationRequestError, initialState, promptIds, readGeneration, type Decoding, type GenerationResult } from '../llm/generate';
import { merkleRootOfBytes } from '../vm/merkle';
import { InputPreparationError } from './errors';
import type { PreparedInput } from './inputs';

export interface PreparedGeneration {
  input: PreparedInput;
  steps: bigint;
  promptTokens: number[];
}

export function prepareGeneration(spec: ModelSpec, prompt: string | readonly number[], decoding: Decoding): PreparedGeneration {
  try {
    const ids = promptIds(spec, prompt);
    const d = decodingSchema.parse(decoding);
    const tensor = initialState(spec, ids, d);
    const bytes = Uint8Array.from(tensorBytes(tensor));
    return {
      input: { tensor, bytes, inputRoot: toHex(merkleRootOfBytes(bytes)), inputCid: bytes.length <= CHUNK_SIZE ? rawCid(bytes) : null },
      steps: BigInt(generationSteps(ids.length, d.maxTokens)),
      promptTokens: ids,
    };
  } catch (e) {
    if (e instanceof GenerationRequestError) throw new InputPreparationError(e.message, { cause: e });
    if (e instanceof Error && e.name === 'ZodError') throw new InputPreparationError(`decoding settings: ${e.message}`, { cause: e });
    throw e;
  }
}

/** A committed output (the final state, hex) read as a generation. */
export function readGenerationOutput(spec: ModelSpec, outputHex: string): GenerationResult {
  const out = spec.tensors.find((t) => t.name === spec.output)!;
  return readGeneration(spec, tensorFromBytes(out.dtype, [...out.shape], getBytes(outputHex)));
}
