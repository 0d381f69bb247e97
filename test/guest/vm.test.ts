/**
 * The same ELF in the TypeScript VM (shared/vm/machine.ts) and in qemu-riscv32: identical write()
 * output and exit code, for every guest program at its default size (matmul: 256x256, about
 * 153 million steps). Linux reports a0 & 0xff as the exit status, the VM all of a0.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadElf } from '../../shared/vm/elf';
import { Machine } from '../../shared/vm/machine';
import { Status } from '../../shared/vm/spec';
import { buildGuest, listGuestPrograms, type GuestArtifact } from '../../scripts/build-guest';
import { runQemu } from './run-program';

let dir: string;
let artifacts: GuestArtifact[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'opml-guest-vm-'));
  artifacts = buildGuest({
    programs: [...listGuestPrograms(), { name: 'wide_exit', sources: ['test/guest/fixtures/wide_exit.c'] }],
    outDir: dir,
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runVm(elf: string): Machine {
  const machine = Machine.fromElf(readFileSync(elf));
  machine.run();
  return machine;
}

test.each(listGuestPrograms())('%s: VM and qemu-riscv32 agree on output and exit code', (name) => {
  const elf = artifacts.find((a) => a.name === name)!.path;
  const vm = runVm(elf);
  const qemu = runQemu(elf);
  expect(vm.status).toBe(Status.EXITED);
  expect(Buffer.from(vm.output()).toString('latin1')).toBe(qemu.stdout);
  expect(vm.exitCode & 0xff).toBe(qemu.exitCode);
  // The programs return values below 256, so nothing is hidden by the mask above.
  expect(vm.exitCode).toBe(qemu.exitCode);
});

test('exit code: the VM keeps all 32 bits of a0, qemu reports the low 8', () => {
  const elf = artifacts.find((a) => a.name === 'wide_exit')!.path;
  const vm = runVm(elf);
  const qemu = runQemu(elf);
  expect(Buffer.from(vm.output()).toString('latin1')).toBe(qemu.stdout);
  expect(vm.exitCode).toBe(0xfffffffe);
  expect(qemu.exitCode).toBe(0xfe);
});

test('crt0: sp is the 16-byte aligned top of a 1 MiB stack ending the last segment, before main runs', () => {
  const file = readFileSync(artifacts.find((a) => a.name === 'sort')!.path);
  const { entry, segments } = loadElf(file);
  const last = segments[segments.length - 1];
  const vm = Machine.fromElf(file);
  vm.run(2); // la sp, __stack_top: auipc + addi
  const sp = vm.regs[2] >>> 0;
  expect(vm.pc).toBe(entry + 8);
  expect(sp % 16).toBe(0);
  expect(sp).toBe(last.vaddr + last.memsz);
  expect(last.memsz - last.filesz).toBeGreaterThanOrEqual(1 << 20);
});
