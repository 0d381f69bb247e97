/**
 * The Brown corpus as plain text: tags stripped, punctuation printed as English prints it,
 * paragraphs and sentences kept, and the by-file split holding out every genre.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrownCorpusError, brownSplit, detokenize, loadBrownDocuments, paragraphText, parseBrownFile } from '../../shared/llm/datasets/brown';

test('tokens are printed with English spacing and punctuation', () => {
  expect(detokenize(['He', 'said', ',', '``', 'Hello', "''", '.'])).toBe('He said, "Hello."');
  expect(detokenize(['``', 'Who', 'is', 'it', ',', 'Mr.', 'Brenner', "''", '?', '?'])).toBe('"Who is it, Mr. Brenner?"');
  expect(detokenize(['Ivan', 'Allen', 'Jr.', '.'])).toBe('Ivan Allen Jr.');
  expect(detokenize(['rates', '(', '7.6', '%', ')', 'cost', '$', '5', ';', 'so', '--', 'no'])).toBe('rates (7.6%) cost $5; so -- no');
});

test('a tab starts a paragraph; every line is a sentence', () => {
  const text = '\n\n\tThe/at jury/nn said/vbd ./.\nIt/pps agreed/vbd ./.\n\n\n\tA/at 1/2/cd share/nn ./.\n';
  const paragraphs = parseBrownFile(text);
  expect(paragraphs).toEqual([['The jury said.', 'It agreed.'], ['A 1/2 share.']]);
  expect(paragraphText(paragraphs[0])).toBe('The jury said. It agreed.');
  expect(() => parseBrownFile('untagged words here')).toThrow(BrownCorpusError);
});

test('every 10th file is held out, and the held-out files span every genre', () => {
  const { train, heldOut } = brownSplit();
  expect([train.length, heldOut.length]).toEqual([450, 50]);
  expect(heldOut.map((d) => d.file).slice(0, 3)).toEqual(['ca10', 'ca20', 'ca30']);
  expect(new Set(heldOut.map((d) => d.genre))).toEqual(new Set(train.map((d) => d.genre)));
  expect(train[0].paragraphs[0][0]).toMatch(/^The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced "no evidence" that any irregularities took place\.$/);
  const words = train.reduce((a, d) => a + d.paragraphs.flat().join(' ').split(' ').length, 0);
  expect(words).toBeGreaterThan(800_000);
  expect(JSON.stringify(train)).not.toMatch(/\/(nn|vbd|at)\b/);
});

test('a folder without the corpus is refused by name', () => {
  const empty = mkdtempSync(join(tmpdir(), 'opml-brown-'));
  try {
    expect(() => loadBrownDocuments(empty)).toThrow(BrownCorpusError);
    expect(() => loadBrownDocuments(join(empty, 'missing'))).toThrow(/does not exist/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});
