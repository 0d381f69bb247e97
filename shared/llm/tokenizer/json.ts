/**
 * A tokenizer from the JSON a package carries (the spec's `text` section, docs/dnn-spec.md
 * section 10) rather than from files: what the SDK, the CLI and the dashboard use to turn a
 * prompt into ids and a generation back into text, exactly as the model was trained.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextSpec } from '../../dnn/spec';
import { LlmError } from '../errors';

export class TextSpecError extends LlmError {
  override name = 'TextSpecError';
}

export interface TextTokenizer {
  vocabSize: number;
  bos?: number;
  eos: number[];
  /** `bos` (default true): the tokenizer's post-processor puts the model's start token first */
  encode(text: string, opts?: { bos?: boolean }): number[];
  /** special tokens dropped */
  decode(ids: readonly number[]): string;
}

const cache = new WeakMap<TextSpec, TextTokenizer>();

export function textTokenizer(text: TextSpec, where = 'the model spec'): TextTokenizer {
  const known = cache.get(text);
  if (known) return known;
  let tokenizer: Tokenizer;
  try {
    // Cleaning up "tokenization spaces" would make decode(encode(text)) differ from the text.
    tokenizer = new Tokenizer(text.tokenizer as never, { ...(text.tokenizerConfig ?? {}), clean_up_tokenization_spaces: false } as never);
  } catch (e) {
    throw new TextSpecError(`${where}: its tokenizer is not one the tokenizers library reads (${(e as Error).message})`);
  }
  const ids = [...tokenizer.get_vocab().values()];
  const made: TextTokenizer = {
    vocabSize: Math.max(...ids) + 1,
    bos: text.bos,
    eos: text.eos ?? [],
    encode: (s, opts = {}) => tokenizer.encode(s, { add_special_tokens: opts.bos ?? true }).ids,
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode([...ids], { skip_special_tokens: true })),
  };
  cache.set(text, made);
  return made;
}
