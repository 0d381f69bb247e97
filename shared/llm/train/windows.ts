/**
 * Documents as one token stream, and the windows a LLaMA trains and is evaluated on.
 *
 * Each sentence is encoded on its own (so it starts with a "▁" word, as a prompt does), a
 * paragraph's sentences follow one another, a newline byte token separates paragraphs and `</s>`
 * ends a document. A window is `<s>` and then the stream from a sentence start: the model always
 * sees `<s>` at position 0 followed by the start of a sentence, which is how a prompt reaches it.
 */
import { LlmError } from '../errors';

export class WindowError extends LlmError {
  override name = 'WindowError';
}

export interface TokenStream {
  tokens: Int32Array;
  /** offsets in tokens where a sentence starts, ascending */
  sentenceStarts: Int32Array;
}

export interface StreamTokens {
  bos: number;
  eos: number;
  /** the token between paragraphs (LLaMA's vocabulary writes "\n" as the byte token <0x0A>) */
  newline: number;
}

export interface StreamDocument {
  /** each paragraph is its sentences */
  paragraphs: readonly (readonly string[])[];
}

/** `encode` must not add `<s>`. */
export function tokenStream(docs: readonly StreamDocument[], encode: (text: string) => number[], ids: StreamTokens): TokenStream {
  const tokens: number[] = [];
  const starts: number[] = [];
  for (const doc of docs) {
    doc.paragraphs.forEach((sentences, p) => {
      if (p > 0) tokens.push(ids.newline);
      for (const s of sentences) {
        const enc = encode(s);
        if (enc.length === 0) continue;
        starts.push(tokens.length);
        for (const t of enc) tokens.push(t);
      }
    });
    tokens.push(ids.eos);
  }
  return { tokens: Int32Array.from(tokens), sentenceStarts: Int32Array.from(starts) };
}

/** The sentence starts that leave room for a window of seqLen positions. */
function usableStarts(stream: TokenStream, seqLen: number): Int32Array {
  const last = stream.tokens.length - seqLen;
  let end = stream.sentenceStarts.length;
  while (end > 0 && stream.sentenceStarts[end - 1] > last) end--;
  if (end === 0) throw new WindowError(`the stream (${stream.tokens.length} tokens) has no sentence start with ${seqLen} tokens after it`);
  return stream.sentenceStarts.subarray(0, end);
}

/** Writes `<s>` and stream[start, start + seqLen) into out at offset: one window of seqLen + 1 ids. */
function writeWindow(stream: TokenStream, start: number, seqLen: number, bos: number, out: Int32Array, offset: number): void {
  out[offset] = bos;
  out.set(stream.tokens.subarray(start, start + seqLen), offset + 1);
}

/** `count` windows from sentence starts drawn uniformly, back to back (a training batch). */
export function sampleWindows(stream: TokenStream, count: number, seqLen: number, bos: number, rand: () => number): Int32Array {
  const starts = usableStarts(stream, seqLen);
  const out = new Int32Array(count * (seqLen + 1));
  for (let b = 0; b < count; b++) writeWindow(stream, starts[Math.floor(rand() * starts.length)], seqLen, bos, out, b * (seqLen + 1));
  return out;
}

/**
 * Up to `count` windows that do not overlap, at the sentence starts nearest to evenly spaced points
 * of the stream, so an evaluation covers every part of it (every genre, for the Brown corpus).
 */
export function evaluationWindows(stream: TokenStream, count: number, seqLen: number, bos: number): Int32Array[] {
  const starts = usableStarts(stream, seqLen);
  const spacing = stream.tokens.length / count;
  const out: Int32Array[] = [];
  let j = 0;
  let nextFree = 0;
  for (let i = 0; i < count; i++) {
    const target = Math.max(nextFree, Math.floor(i * spacing));
    while (j < starts.length && starts[j] < target) j++;
    if (j === starts.length) break;
    const w = new Int32Array(seqLen + 1);
    writeWindow(stream, starts[j], seqLen, bos, w, 0);
    out.push(w);
    nextFree = starts[j] + seqLen;
  }
  return out;
}
