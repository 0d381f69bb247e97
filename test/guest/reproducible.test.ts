/**
 * Reproducible guest builds: the same sources give the same ELF bytes whatever the output
 * directory and wherever the sources themselves live (a copy of guest/ under another absolute
 * path), so every party of a dispute derives the same image root from source.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GUEST_DIR, buildGuest, type GuestArtifact } from '../../scripts/build-guest';

let dir: string;
let first: GuestArtifact[];
let second: GuestArtifact[];
let relocated: GuestArtifact[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'opml-guest-repro-'));
  first = buildGuest({ outDir: join(dir, 'out-a') });
  second = buildGuest({ outDir: join(dir, 'second', 'out-b') });
  const copy = join(dir, 'elsewhere with a longer path', 'guest');
  cpSync(GUEST_DIR, copy, { recursive: true });
  relocated = buildGuest({ guestDir: copy, outDir: join(copy, 'out') });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const summary = (artifacts: GuestArtifact[]) => artifacts.map(({ name, size, sha256, imageRoot }) => ({ name, size, sha256, imageRoot }));

test('two builds into different directories give identical bytes and image roots', () => {
  expect(first.length).toBeGreaterThanOrEqual(4);
  expect(summary(second)).toEqual(summary(first));
  for (let i = 0; i < first.length; i++) expect(readFileSync(second[i].path).equals(readFileSync(first[i].path))).toBe(true);
});

test('a copy of guest/ under another absolute path builds to identical bytes and image roots', () => {
  expect(summary(relocated)).toEqual(summary(first));
});

test('a source outside guest/ gives the same bytes from two different directories', () => {
  const fixture = join(__dirname, 'fixtures', 'memcalls.c');
  const copy = join(dir, 'fixture copy', 'memcalls.c');
  cpSync(fixture, copy);
  const [a] = buildGuest({ programs: [{ name: 'memcalls', sources: [fixture] }], outDir: join(dir, 'fixture-a') });
  const [b] = buildGuest({ programs: [{ name: 'memcalls', sources: [copy] }], outDir: join(dir, 'fixture-b') });
  expect(b.sha256).toBe(a.sha256);
  expect(b.imageRoot).toBe(a.imageRoot);
});

test('different defines give a different image root', () => {
  const [small] = buildGuest({ programs: ['matmul'], outDir: join(dir, 'small'), defines: { MATMUL_N: 8 } });
  expect(small.imageRoot).toMatch(/^0x[0-9a-f]{64}$/);
  expect(small.imageRoot).not.toBe(first.find((a) => a.name === 'matmul')!.imageRoot);
});

test('no build path leaks into the ELF', () => {
  for (const a of first) {
    const text = readFileSync(a.path).toString('latin1');
    expect(text).not.toContain(GUEST_DIR);
    expect(text).not.toContain(dir);
    expect(text).not.toContain(tmpdir() + '/');
  }
});
