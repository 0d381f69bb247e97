/** buildGuest's typed errors, each carrying the values that caused it. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestBuildFailed, GuestDefineInvalid, GuestSourceMissing, GuestToolMissing, buildGuest } from '../../scripts/build-guest';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'opml-guest-errors-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

test('clang missing from PATH: GuestToolMissing pointing at the setup script', () => {
  const path = process.env.PATH;
  process.env.PATH = dir; // an empty directory: no clang, no ld.lld
  try {
    const err = thrown(() => buildGuest({ programs: ['arith'], outDir: join(dir, 'out') }));
    expect(err).toBeInstanceOf(GuestToolMissing);
    expect(err).toMatchObject({ name: 'GuestToolMissing', tool: 'clang' });
    expect(err.message).toContain('scripts/setup.sh');
  } finally {
    process.env.PATH = path;
  }
});

test('unknown program: GuestSourceMissing with the program and path', () => {
  const err = thrown(() => buildGuest({ programs: ['no_such_program'], outDir: join(dir, 'out') }));
  expect(err).toMatchObject({ name: 'GuestSourceMissing', program: 'no_such_program' });
  expect((err as GuestSourceMissing).source).toMatch(/programs\/no_such_program\.c$/);
});

test('define that is not a C identifier, or a value that could inject flags: GuestDefineInvalid', () => {
  expect(thrown(() => buildGuest({ programs: ['arith'], defines: { 'BAD-NAME': 1 } }))).toMatchObject({ name: 'GuestDefineInvalid', key: 'BAD-NAME' });
  const err = thrown(() => buildGuest({ programs: ['arith'], defines: { N: '1 -o /etc/x' } }));
  expect(err).toBeInstanceOf(GuestDefineInvalid);
  expect(err).toMatchObject({ key: 'N', value: '1 -o /etc/x' });
});

test('C that does not compile (or uses libc): GuestBuildFailed with the compiler output', () => {
  const source = join(dir, 'broken.c');
  writeFileSync(source, '#include "opml.h"\nint main(void) { return undeclared; }\n');
  const err = thrown(() => buildGuest({ programs: [{ name: 'broken', sources: [source] }], outDir: join(dir, 'out') }));
  expect(err).toBeInstanceOf(GuestBuildFailed);
  expect(err).toMatchObject({ step: 'compile' });
  expect((err as GuestBuildFailed).output).toContain('undeclared');
});

test('a call to a function nobody defines fails at link time: GuestBuildFailed', () => {
  const source = join(dir, 'unresolved.c');
  writeFileSync(source, 'int printf(const char *, ...);\nint main(void) { return printf("x"); }\n');
  const err = thrown(() => buildGuest({ programs: [{ name: 'unresolved', sources: [source] }], outDir: join(dir, 'out') }));
  expect(err).toMatchObject({ name: 'GuestBuildFailed', step: 'link', target: 'unresolved' });
  expect((err as GuestBuildFailed).output).toContain('printf');
});
