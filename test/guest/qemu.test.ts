/**
 * The guest programs under qemu-riscv32 give the results computed independently: by the same C
 * compiled natively with gcc (arith's division and high-multiply results come from a C model of
 * the RISC-V specification there, instructions here), and by node's SHA-256 and ethers'
 * Keccak-256 for the hash digests. Also checks the ELF layout the linker script promises.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256 } from 'ethers';
import { buildGuest, buildNative, listGuestPrograms, type GuestArtifact } from '../../scripts/build-guest';
import { parseResults, runNative, runQemu } from './run-program';

let dir: string;
let artifacts: Map<string, GuestArtifact>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'opml-guest-qemu-'));
  artifacts = new Map(buildGuest({ outDir: join(dir, 'elf') }).map((a) => [a.name, a]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PROGRAMS = ['arith', 'hash', 'matmul', 'memops', 'sort'];

test('every program in guest/programs is covered here', () => {
  expect(listGuestPrograms()).toEqual(PROGRAMS);
});

describe.each(PROGRAMS)('%s', (name) => {
  test('qemu-riscv32 output and exit code equal the native gcc -O2 build', () => {
    const guest = runQemu(artifacts.get(name)!.path);
    const native = runNative(buildNative({ program: name, outDir: join(dir, 'native') }));
    expect(guest.stdout).toBe(native.stdout);
    expect(guest.exitCode).toBe(native.exitCode);
    expect(guest.stdout.length).toBeGreaterThan(0);
  });
});

test('arith: the edge cases the RISC-V specification names', () => {
  const r = parseResults(runQemu(artifacts.get('arith')!.path).stdout);
  expect(Object.fromEntries(r)).toMatchObject({
    'div(7,0)': '0xffffffff',
    'divu(7,0)': '0xffffffff',
    'rem(7,0)': '0x00000007',
    'remu(7,0)': '0x00000007',
    'div(INT_MIN,-1)': '0x80000000',
    'rem(INT_MIN,-1)': '0x00000000',
    'div(-7,2)': '0xfffffffd', // rounds toward zero
    'rem(-7,2)': '0xffffffff', // sign of the dividend
    'rem(7,-2)': '0x00000001',
    'mulh(INT_MIN,INT_MIN)': '0x40000000',
    'mulhsu(-1,0xffffffff)': '0xffffffff',
    'mulhu(0xffffffff,0xffffffff)': '0xfffffffe',
    'sra(INT_MIN,32)': '0x80000000', // shift amount taken mod 32
  });
});

test('hash: digests equal node:crypto SHA-256 and ethers Keccak-256', () => {
  const longMsg = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
  const sha = (m: Uint8Array | string) => createHash('sha256').update(m).digest('hex');
  const kec = (m: Uint8Array | string) => keccak256(typeof m === 'string' ? Buffer.from(m) : m).slice(2);
  const r = parseResults(runQemu(artifacts.get('hash')!.path).stdout);
  expect(Object.fromEntries(r)).toEqual({
    'sha256()': sha(''),
    'sha256(abc)': sha('abc'),
    'sha256(nist56)': sha('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    'sha256(long)': sha(longMsg),
    'keccak256()': kec(''),
    'keccak256(abc)': kec('abc'),
    'keccak256(long[0..136])': kec(longMsg.subarray(0, 136)),
    'keccak256(long)': kec(longMsg),
  });
});

test('matmul: size is a compile-time define, and results match native at that size', () => {
  const small = buildGuest({ programs: ['matmul'], outDir: join(dir, 'small'), defines: { MATMUL_N: 16 } })[0];
  const guest = runQemu(small.path);
  const native = runNative(buildNative({ program: 'matmul', outDir: join(dir, 'native-small'), defines: { MATMUL_N: 16 } }));
  expect(parseResults(guest.stdout).get('n')).toBe('16');
  expect(guest).toEqual(native);
  expect(small.sha256).not.toBe(artifacts.get('matmul')!.sha256);
});

describe('ELF layout (docs/vm-spec.md sections 6 and 7)', () => {
  const PT_LOAD = 1;
  test.each(PROGRAMS)('%s: ELF32 LE RISC-V executable, entry 0x10000, page-aligned disjoint PT_LOADs', (name) => {
    const elf = readFileSync(artifacts.get(name)!.path);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect([elf[4], elf[5]]).toEqual([1, 1]); // ELFCLASS32, little-endian
    expect(elf.readUInt16LE(16)).toBe(2); // ET_EXEC
    expect(elf.readUInt16LE(18)).toBe(243); // EM_RISCV
    expect(elf.readUInt32LE(24)).toBe(0x10000);
    const phoff = elf.readUInt32LE(28);
    const phentsize = elf.readUInt16LE(42);
    const phnum = elf.readUInt16LE(44);
    const segments = Array.from({ length: phnum }, (_, i) => {
      const o = phoff + i * phentsize;
      return { type: elf.readUInt32LE(o), vaddr: elf.readUInt32LE(o + 8), filesz: elf.readUInt32LE(o + 16), memsz: elf.readUInt32LE(o + 20), flags: elf.readUInt32LE(o + 24) };
    });
    expect(segments.every((s) => s.type === PT_LOAD)).toBe(true);
    expect(segments[0]).toMatchObject({ vaddr: 0x10000, flags: 5 });
    const last = segments[segments.length - 1];
    expect(last.flags).toBe(6);
    // The 1 MiB stack is the tail of .bss, inside the last (RW) segment, and below the tensor region.
    expect(last.memsz - last.filesz).toBeGreaterThanOrEqual(1 << 20);
    expect(last.vaddr + last.memsz).toBeLessThanOrEqual(0x10000000);
    for (let i = 0; i < segments.length; i++) {
      expect(segments[i].vaddr % 0x1000).toBe(0);
      expect(segments[i].filesz).toBeLessThanOrEqual(segments[i].memsz);
      if (i > 0) expect(segments[i].vaddr).toBeGreaterThanOrEqual(segments[i - 1].vaddr + segments[i - 1].memsz);
    }
  });
});

test('compiler-emitted memcpy/memset/memmove calls link against guest/lib and behave like libc', () => {
  const program = { name: 'memcalls', sources: ['test/guest/fixtures/memcalls.c'] };
  const elf = buildGuest({ programs: [program], outDir: join(dir, 'fixtures') })[0];
  // --gc-sections drops unreferenced functions: memcpy in the symbol table means code calls it.
  const symbols = readFileSync(elf.path).toString('latin1');
  for (const fn of ['memcpy', 'memset', 'memmove']) expect(symbols).toContain(`${fn}\0`);
  expect(runQemu(elf.path)).toEqual(runNative(buildNative({ program, outDir: join(dir, 'native-fixtures') })));
});
