/**
 * A Hugging Face tokenizer.json (with tokenizer_config.json beside it when there is one), run by
 * @huggingface/tokenizers, the pure-JS port of the tokenizers library. The files are checked with
 * zod first, so a wrong download fails naming the file and field rather than deep inside the library.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { LlmError } from '../errors';

/** A tokenizer file that is missing, not JSON, not a tokenizer.json, or refused by the library. */
export class TokenizerFileError extends LlmError {
  override name = 'TokenizerFileError';
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(`${file}: ${message}`);
  }
}

const component = z.record(z.string(), z.unknown()).nullable();

export const tokenizerFileSchema = z
  .object({
    added_tokens: z.array(z.object({ id: z.number().int().nonnegative(), content: z.string(), special: z.boolean().default(false) }).passthrough()),
    normalizer: component,
    pre_tokenizer: component,
    post_processor: component,
    decoder: component,
    model: z
      .object({
        type: z.string().optional(),
        vocab: z.union([z.record(z.string(), z.number().int().nonnegative()), z.array(z.tuple([z.string(), z.number()]))]),
      })
      .passthrough(),
  })
  .passthrough();

export const tokenizerConfigSchema = z
  .object({
    clean_up_tokenization_spaces: z.boolean().optional(),
    bos_token: z.union([z.string(), z.object({ content: z.string() }).passthrough()]).nullable().optional(),
    eos_token: z.union([z.string(), z.object({ content: z.string() }).passthrough()]).nullable().optional(),
  })
  .passthrough();

export interface LoadedTokenizer {
  /** the file it was read from */
  path: string;
  /** the largest id plus one: the rows an embedding needs */
  vocabSize: number;
  bosId?: number;
  eosId?: number;
  /** `bos` (default true) runs the file's post-processor, which puts `<s>` first in LLaMA's */
  encode(text: string, opts?: { bos?: boolean }): number[];
  /** special tokens are dropped unless `keepSpecial` */
  decode(ids: readonly number[], opts?: { keepSpecial?: boolean }): string;
  /** the id of a vocabulary piece ("<0x0A>", "▁the"), or undefined */
  tokenId(piece: string): number | undefined;
}

function readJson<T>(path: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TokenizerFileError(`is not JSON (${(e as Error).message})`, path);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new TokenizerFileError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '), path);
  return parsed.data;
}

const tokenContent = (t: string | { content: string } | null | undefined) => (typeof t === 'string' ? t : t?.content);

/** Opens tokenizer.json, given its path or the folder holding it. */
export function loadTokenizer(path: string): LoadedTokenizer {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  if (!existsSync(file)) throw new TokenizerFileError('not found (a Hugging Face model folder holds tokenizer.json beside config.json)', file);
  const json = readJson(file, tokenizerFileSchema);
  const configPath = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath, tokenizerConfigSchema) : {};
  let tokenizer: Tokenizer;
  try {
    // Cleaning up "tokenization spaces" (" ." → ".") would make decode(encode(text)) differ from the text.
    tokenizer = new Tokenizer(json, { ...config, clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? false });
  } catch (e) {
    throw new TokenizerFileError(`the tokenizers library refused it: ${(e as Error).message}`, file);
  }
  const ids = [...tokenizer.get_vocab().values()];
  const idOf = (t: string | undefined) => (t === undefined ? undefined : tokenizer.token_to_id(t));
  const bosId = idOf(tokenContent(config.bos_token) ?? (json.added_tokens.some((t) => t.content === '<s>') ? '<s>' : undefined));
  const eosId = idOf(tokenContent(config.eos_token) ?? (json.added_tokens.some((t) => t.content === '</s>') ? '</s>' : undefined));
  return {
    path: file,
    vocabSize: Math.max(...ids) + 1,
    bosId,
    eosId,
    encode: (text, opts = {}) => tokenizer.encode(text, { add_special_tokens: opts.bos ?? true }).ids,
    // The library refuses an empty list; its text is the empty string.
    decode: (ids, opts = {}) => (ids.length === 0 ? '' : tokenizer.decode([...ids], { skip_special_tokens: !opts.keepSpecial })),
    tokenId: (piece) => tokenizer.token_to_id(piece),
  };
}
