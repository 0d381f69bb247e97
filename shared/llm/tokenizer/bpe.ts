/**
 * A small byte-pair-encoding tokenizer in the form LLaMA's tokenizer.json has (SentencePiece BPE as
 * Hugging Face's tokenizers library converts it): `<unk>`, `<s>`, `</s>` at ids 0–2, the 256 byte
 * tokens `<0x00>` … `<0xFF>` next, then the alphabet and the merged pieces. Text is normalized by
 * prepending "▁" and writing every space as "▁", so "▁" marks the start of each word; BPE merges
 * adjacent pieces by rank; a piece the vocabulary lacks is written as its UTF-8 bytes.
 *
 * Training counts words (a word is "▁" and what follows up to the next "▁") and merges only inside
 * them, so no piece ever has "▁" except as its first character. That is what makes per-word
 * encoding (ours, `encoder.ts`) give exactly the ids of Hugging Face's BPE over the whole string:
 * no merge can join across a word start. Whitespace other than the space (newline, tab) never
 * enters the alphabet, so it is always a byte token and splits the pieces around it.
 */
import { LlmError } from '../errors';

export class BpeTrainError extends LlmError {
  override name = 'BpeTrainError';
}

export const UNK = '<unk>';
export const BOS = '<s>';
export const EOS = '</s>';
export const SPECIAL_TOKENS = [UNK, BOS, EOS] as const;
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const WORD_START = '\u2581';
/** Id of byte b's token. */
export const BYTE_ID_BASE = SPECIAL_TOKENS.length;
export const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

export interface BpeModel {
  /** piece of each id */
  vocab: string[];
  /** in rank order: merge i joins merges[i][0] and merges[i][1] into their concatenation */
  merges: [string, string][];
}

export interface TrainBpeOptions {
  /** total vocabulary, the 3 special and 256 byte tokens included */
  vocabSize: number;
  /** characters seen fewer times stay out of the alphabet (written as bytes) */
  minCharCount?: number;
}

/** The pre-BPE form of a text section: "▁" in front and for every space (the normalizer). */
export function normalizeSection(text: string): string {
  return WORD_START + text.replaceAll(' ', WORD_START);
}

/** A normalized section cut before every "▁": the units BPE works inside. */
export function splitWords(normalized: string): string[] {
  return normalized.split(/(?=\u2581)/u);
}

/** Characters that never join the alphabet: whitespace is bytes, as in LLaMA's vocabulary. */
const NEVER_IN_ALPHABET = /^\s$/u;

function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    if (text.length === 0) continue;
    for (const w of splitWords(normalizeSection(text))) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

function chooseAlphabet(words: Map<string, number>, minCount: number): string[] {
  const chars = new Map<string, number>();
  for (const [w, c] of words) for (const ch of w) chars.set(ch, (chars.get(ch) ?? 0) + c);
  chars.set(WORD_START, Math.max(minCount, chars.get(WORD_START) ?? 0));
  return [...chars]
    .filter(([ch, c]) => c >= minCount && !NEVER_IN_ALPHABET.test(ch))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([ch]) => ch);
}

/** Symbol ids are < 2^16 (the vocabulary is far smaller), so a pair packs into one number. */
const PAIR = 65536;
const BARRIER = -1;

/**
 * Learns merges from texts until the vocabulary has `vocabSize` pieces, most frequent pair first;
 * equal counts go to the pair whose pieces sort first, so the result depends only on the texts.
 */
export function trainBpe(texts: Iterable<string>, opts: TrainBpeOptions): BpeModel {
  const wordCounts = countWords(texts);
  const alphabet = chooseAlphabet(wordCounts, opts.minCharCount ?? 2);
  const reserved = BYTE_ID_BASE + 256;
  const mergeBudget = opts.vocabSize - reserved - alphabet.length;
  if (mergeBudget < 0) throw new BpeTrainError(`vocabSize ${opts.vocabSize} is below the ${reserved} special and byte tokens plus the ${alphabet.length}-character alphabet`);
  if (reserved + alphabet.length + mergeBudget >= PAIR) throw new BpeTrainError(`vocabSize ${opts.vocabSize} is above ${PAIR - 1}`);

  const pieces = [...alphabet];
  const symbolOf = new Map(alphabet.map((ch, i) => [ch, i]));
  const words = [...wordCounts].map(([w, count]) => ({ symbols: Array.from(w, (ch) => symbolOf.get(ch) ?? BARRIER), count }));
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1) => {
    const { symbols, count } = words[wi];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const [a, b] = [symbols[i], symbols[i + 1]];
      if (a === BARRIER || b === BARRIER) continue;
      const key = a * PAIR + b;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * count);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addPairs(wi, 1));

  const pieceIds = new Map(pieces.map((p, i) => [p, i]));
  const merges: [string, string][] = [];
  while (pieces.length < alphabet.length + mergeBudget) {
    let best = -1;
    let bestCount = 1; // a pair seen once is not worth a vocabulary slot
    for (const [key, count] of pairCounts) {
      if (count < bestCount) continue;
      if (count > bestCount || best < 0 || comparePairs(pieces, key, best) < 0) {
        best = key;
        bestCount = count;
      }
    }
    if (best < 0) break;
    const [a, b] = [Math.floor(best / PAIR), best % PAIR];
    // Two merges can spell one piece ("ab"+"c", "a"+"bc"); it keeps one id, as in HF's vocab.
    const joined = pieces[a] + pieces[b];
    let merged = pieceIds.get(joined);
    if (merged === undefined) {
      merged = pieces.push(joined) - 1;
      pieceIds.set(joined, merged);
    }
    merges.push([pieces[a], pieces[b]]);
    for (const wi of pairWords.get(best) ?? []) {
      addPairs(wi, -1);
      const s = words[wi].symbols;
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(s[i]);
      }
      words[wi].symbols = out;
      addPairs(wi, 1);
    }
    pairCounts.delete(best);
    pairWords.delete(best);
  }
  const vocab = [...SPECIAL_TOKENS, ...Array.from({ length: 256 }, (_, b) => byteToken(b)), ...pieces];
  return { vocab, merges };
}

function comparePairs(pieces: string[], x: number, y: number): number {
  const [xa, xb] = [pieces[Math.floor(x / PAIR)], pieces[x % PAIR]];
  const [ya, yb] = [pieces[Math.floor(y / PAIR)], pieces[y % PAIR]];
  if (xa !== ya) return xa < ya ? -1 : 1;
  return xb === yb ? 0 : xb < yb ? -1 : 1;
}

/**
 * tokenizer.json as Hugging Face writes LLaMA's (tokenizers ≥ 0.14, legacy normalizer form): the
 * normalizer prepends "▁" and replaces spaces, the post-processor puts `<s>` first, and the decoder
 * undoes both (strip the one leading space), so decode(encode(text)) is the text.
 */
export function tokenizerJson(model: BpeModel): string {
  const special = SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const bos = (typeId: number) => ({ SpecialToken: { id: BOS, type_id: typeId } });
  const seq = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special,
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: WORD_START },
        { type: 'Replace', pattern: { String: ' ' }, content: WORD_START },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos(0), seq('A', 0)],
      pair: [bos(0), seq('A', 0), bos(1), seq('B', 1)],
      special_tokens: { [BOS]: { id: BOS, ids: [BOS_ID], tokens: [BOS] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: WORD_START }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: UNK,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(model.vocab.map((piece, id) => [piece, id])),
      // "left right": no piece holds a space (spaces are "▁"), so the split is unambiguous
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(json, null, 1) + '\n';
}

/** tokenizer_config.json beside it, as transformers saves a LlamaTokenizerFast. */
export function tokenizerConfigJson(modelMaxLength: number): string {
  return (
    JSON.stringify(
      {
        tokenizer_class: 'LlamaTokenizerFast',
        add_bos_token: true,
        add_eos_token: false,
        bos_token: BOS,
        eos_token: EOS,
        unk_token: UNK,
        pad_token: null,
        clean_up_tokenization_spaces: false,
        legacy: true,
        model_max_length: modelMaxLength,
      },
      null,
      2,
    ) + '\n'
  );
}
