import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ElfClassInvalid,
  ElfEndiannessInvalid,
  ElfMachineInvalid,
  ElfMagicInvalid,
  ElfSegmentInvalid,
  ElfTruncated,
  ElfTypeInvalid,
  loadElf,
} from '../../shared/vm/elf';
import { Memory } from '../../shared/vm/memory';
import { buildElf, words } from './elfFile';

describe('ELF loader', () => {
  it('copies file bytes to p_vaddr and leaves the rest of p_memsz zero', () => {
    const file = buildElf(0x10000, [
      { vaddr: 0x10000, data: words([0x00100513, 0x05d00893, 0x00000073]) },
      { vaddr: 0x20000, data: Uint8Array.from([1, 2, 3]), memsz: 0x2000 },
    ]);
    const image = loadElf(file);
    expect(image.entry).toBe(0x10000);
    expect(image.segments).toEqual([
      { vaddr: 0x10000, filesz: 12, memsz: 12 },
      { vaddr: 0x20000, filesz: 3, memsz: 0x2000 },
    ]);
    expect(image.memory.readWord(0x10004)).toBe(0x05d00893);
    expect([...image.memory.readBytes(0x20000, 5)]).toEqual([1, 2, 3, 0, 0]);
    const expected = new Memory();
    expected.writeBytes(0x10000, words([0x00100513, 0x05d00893, 0x00000073]));
    expected.writeBytes(0x20000, Uint8Array.from([1, 2, 3]));
    expect(Buffer.from(image.memory.root())).toEqual(Buffer.from(expected.root()));
  });

  it('rejects what is not a little-endian ELF32 RISC-V executable, naming the problem', () => {
    const good = buildElf(0x10000, [{ vaddr: 0x10000, data: words([0x13]) }]);
    expect(() => loadElf(new Uint8Array(3))).toThrow(ElfTruncated);
    expect(() => loadElf(new TextEncoder().encode('#!/bin/sh\necho not an elf\n'))).toThrow(ElfMagicInvalid);
    expect(() => loadElf(buildElf(0, [], { class: 2 }))).toThrow(ElfClassInvalid);
    expect(() => loadElf(buildElf(0, [], { data: 2 }))).toThrow(ElfEndiannessInvalid);
    expect(() => loadElf(buildElf(0, [], { machine: 62 }))).toThrow(ElfMachineInvalid);
    expect(() => loadElf(buildElf(0, [], { type: 3 }))).toThrow(ElfTypeInvalid);
    expect(() => loadElf(good.subarray(0, 40))).toThrow(ElfTruncated);
    expect(() => loadElf(good.subarray(0, good.length - 1))).toThrow(ElfTruncated);
    expect(() => loadElf(buildElf(0, [{ vaddr: 0xfffff000, data: new Uint8Array(4), memsz: 0x2000 }]))).toThrow(
      ElfSegmentInvalid,
    );
    expect(() => loadElf(buildElf(0, [{ vaddr: 0x1000, data: new Uint8Array(8), memsz: 4 }]))).toThrow(ElfSegmentInvalid);
    try {
      loadElf(buildElf(0, [], { machine: 62 }));
    } catch (e) {
      expect((e as ElfMachineInvalid).name).toBe('ElfMachineInvalid');
      expect((e as ElfMachineInvalid).machine).toBe(62);
    }
  });

  const guestElf = join(__dirname, '../../build/guest/arith.elf');
  (existsSync(guestElf) ? it : it.skip)('loads a toolchain-built guest deterministically', () => {
    const file = readFileSync(guestElf);
    const a = loadElf(file);
    const b = loadElf(file);
    expect(a.entry % 4).toBe(0);
    expect(Buffer.from(a.memory.root())).toEqual(Buffer.from(b.memory.root()));
  });
});
