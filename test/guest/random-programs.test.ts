/**
 * Random RV32IM instruction sequences (random-asm.ts) assembled with the guest toolchain, run in
 * the TypeScript VM and in qemu-riscv32: the register snapshots and memory must be equal byte for
 * byte (40 programs x 480 random instructions by default). Set OPML_RANDOM_PROGRAMS to run more (the seeds are 1..N, so any failure replays).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine } from '../../shared/vm/machine';
import { Status } from '../../shared/vm/spec';
import { buildGuest } from '../../scripts/build-guest';
import { DUMP_BYTES, SNAPSHOTS, randomProgram } from './random-asm';
import { runQemu } from './run-program';

const COUNT = Number(process.env.OPML_RANDOM_PROGRAMS ?? 40);
const SEGMENT_LENGTH = 40;
const seeds = Array.from({ length: COUNT }, (_, i) => i + 1);

let dir: string;
const elves = new Map<number, string>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'opml-guest-random-'));
  const programs = seeds.map((seed) => {
    const source = join(dir, `random${seed}.S`);
    writeFileSync(source, randomProgram(seed, SEGMENT_LENGTH));
    return { name: `random${seed}`, sources: [source] };
  });
  for (const a of buildGuest({ programs, outDir: join(dir, 'elf') })) elves.set(Number(a.name.slice(6)), a.path);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each(seeds)('seed %i: VM and qemu-riscv32 dump the same registers and memory', (seed) => {
  const elf = elves.get(seed)!;
  const vm = Machine.fromElf(readFileSync(elf));
  vm.run(1_000_000);
  const qemu = runQemu(elf);
  expect(vm.status).toBe(Status.EXITED);
  expect(qemu.exitCode).toBe(0);
  const vmDump = Buffer.from(vm.output());
  const qemuDump = Buffer.from(qemu.stdout, 'latin1');
  expect(vmDump.length).toBe(DUMP_BYTES);
  // Snapshot by snapshot, register by name, so a mismatch points at the segment and destination.
  const snapshots = (b: Buffer) =>
    Array.from({ length: SNAPSHOTS }, (_, k) =>
      Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`x${i + 1}`, b.readUInt32LE(124 * k + 4 * i).toString(16)])),
    );
  expect(snapshots(vmDump)).toEqual(snapshots(qemuDump));
  expect(vmDump.equals(qemuDump)).toBe(true);
});
