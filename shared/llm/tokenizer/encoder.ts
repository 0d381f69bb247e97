/**
 * Our encoder for a `BpeModel`: the same ids Hugging Face's tokenizer gives for the tokenizer.json
 * `tokenizerJson` writes (test/llm/bpe.test.ts holds the two together), but word by word with a
 * cache, so tokenizing the whole training corpus takes a second rather than a BPE over one
 * multi-megabyte string. The steps are HF's: cut out special tokens written in the text, normalize
 * each other section, merge by rank (lowest first, leftmost on ties), bytes for unknown pieces.
 */
import { BOS_ID, BYTE_ID_BASE, SPECIAL_TOKENS, WORD_START, normalizeSection, splitWords, type BpeModel } from './bpe';

const SPECIAL_SPLIT = new RegExp(`(${SPECIAL_TOKENS.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`);

export interface EncodeOptions {
  /** put `<s>` first, as the post-processor does (default true) */
  bos?: boolean;
}

export class BpeEncoder {
  private readonly ids: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();

  constructor(readonly model: BpeModel) {
    this.ids = new Map(model.vocab.map((p, i) => [p, i]));
    this.ranks = new Map(model.merges.map(([a, b], i) => [`${a} ${b}`, i]));
  }

  get vocabSize(): number {
    return this.model.vocab.length;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = opts.bos === false ? [] : [BOS_ID];
    for (const section of text.split(SPECIAL_SPLIT)) {
      if (section.length === 0) continue;
      const special = (SPECIAL_TOKENS as readonly string[]).indexOf(section);
      if (special >= 0) {
        out.push(special);
        continue;
      }
      for (const word of splitWords(normalizeSection(section))) out.push(...this.encodeWord(word));
    }
    return out;
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const pieces = Array.from(word);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < pieces.length; i++) {
        const rank = this.ranks.get(`${pieces[i]} ${pieces[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      pieces.splice(best, 2, pieces[best] + pieces[best + 1]);
    }
    const ids: number[] = [];
    for (const p of pieces) {
      const id = this.ids.get(p);
      if (id !== undefined) ids.push(id);
      else for (const b of this.utf8.encode(p)) ids.push(BYTE_ID_BASE + b);
    }
    this.cache.set(word, ids);
    return ids;
  }

  /** Text of ids; special tokens are dropped unless `keepSpecial`. */
  decode(ids: readonly number[], keepSpecial = false): string {
    const bytes: number[] = [];
    let text = '';
    const flush = () => {
      if (bytes.length) text += new TextDecoder().decode(Uint8Array.from(bytes));
      bytes.length = 0;
    };
    for (const id of ids) {
      // Skipped specials go first, as in HF, so bytes either side of one still form a character.
      if (id < SPECIAL_TOKENS.length && !keepSpecial) continue;
      if (id >= BYTE_ID_BASE && id < BYTE_ID_BASE + 256) {
        bytes.push(id - BYTE_ID_BASE);
        continue;
      }
      flush();
      text += (this.model.vocab[id] ?? SPECIAL_TOKENS[0]).replaceAll(WORD_START, ' ');
    }
    flush();
    return text.startsWith(' ') ? text.slice(1) : text;
  }
}
