import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliUsageError, main, parseArgs, runElf } from '../../shared/vm/cli';
import { buildElf, words } from './elfFile';
import { rv } from './rv';

describe('vm CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'opml-vm-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validates its arguments', () => {
    expect(parseArgs(['a.elf'])).toEqual({ file: 'a.elf', maxSteps: Number.MAX_SAFE_INTEGER, json: false });
    expect(parseArgs(['--json', 'a.elf', '--max-steps', '10'])).toEqual({ file: 'a.elf', maxSteps: 10, json: true });
    expect(parseArgs(['a.elf', '--max-steps=7']).maxSteps).toBe(7);
    for (const bad of [[], ['a.elf', '--max-steps', 'x'], ['a.elf', '--max-steps', '0'], ['a.elf', '--fast'], ['a', 'b'], ['a', '--max-steps']]) {
      expect(() => parseArgs(bad)).toThrow(CliUsageError);
    }
  });

  it('runs an ELF and reports output, exit code, steps and state hash', () => {
    const data = 0x20000;
    const code = [
      rv.lui(11, data >>> 12),
      rv.addi(12, 0, 5),
      rv.addi(17, 0, 64),
      rv.ecall(),
      rv.addi(10, 0, 3),
      rv.addi(17, 0, 93),
      rv.ecall(),
    ];
    const file = join(dir, 'hello.elf');
    writeFileSync(file, buildElf(0x10000, [{ vaddr: 0x10000, data: words(code) }, { vaddr: data, data: new TextEncoder().encode('hello') }]));
    const report = runElf(file, Number.MAX_SAFE_INTEGER);
    expect(report).toMatchObject({ status: 'EXITED', exitCode: 3, steps: 7, output: 'hello', entry: '0x10000' });
    expect(report.stateHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(runElf(file, 4)).toMatchObject({ status: 'RUNNING', steps: 4 });
  });

  it('exits non-zero with a clear message on bad input', () => {
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const notElf = join(dir, 'not.elf');
    writeFileSync(notElf, '#!/bin/sh\necho this is a shell script\n');
    expect(main([notElf])).toBe(1);
    expect(main([join(dir, 'missing.elf')])).toBe(1);
    expect(main([])).toBe(2);
    const messages = stderr.mock.calls.map((c) => String(c[0])).join('');
    stderr.mockRestore();
    expect(messages).toContain('ElfMagicInvalid');
    expect(messages).toContain('cannot read');
    expect(messages).toContain('usage');
  });
});
