/**
 * The character-level corpus of the shipped decoder-only transformer: models/charlm-corpus.txt
 * (ASCII text of the project's VM and DNN specs). The first 90% trains, the last 10% is held out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Vocabulary: newline then printable ASCII (32..126): 96 ids. */
export const CHARLM_VOCAB = '\n' + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

export const CHARLM = { vocab: CHARLM_VOCAB.length, context: 32, dim: 32, hidden: 64, layers: 2 } as const;

export function encodeText(text: string): number[] {
  return Array.from(text, (c) => Math.max(0, CHARLM_VOCAB.indexOf(c)));
}

export function decodeIds(ids: readonly number[]): string {
  return ids.map((i) => CHARLM_VOCAB[i]).join('');
}

export function charlmCorpus(): { train: number[]; test: number[] } {
  const ids = encodeText(readFileSync(join(__dirname, '..', '..', '..', 'models', 'charlm-corpus.txt'), 'utf8'));
  const cut = Math.floor(ids.length * 0.9);
  return { train: ids.slice(0, cut), test: ids.slice(cut) };
}
