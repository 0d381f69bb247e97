/**
 * Runs a guest ELF under qemu-riscv32 (Debian qemu-user: the independent RISC-V implementation
 * the VM is checked against) or a native executable, capturing stdout and the exit status.
 */
import { spawnSync } from 'node:child_process';

export interface ProgramRun {
  stdout: string;
  /** Linux reports a0 & 0xff of the exit syscall. */
  exitCode: number;
}

export class ProgramRunFailed extends Error {
  override name = 'ProgramRunFailed';
  constructor(
    readonly command: string,
    readonly detail: string,
  ) {
    super(`${command}: ${detail}`);
  }
}

function runCaptured(command: string, args: string[]): ProgramRun {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new ProgramRunFailed(command, r.error.message);
  if (r.status === null) throw new ProgramRunFailed(command, `killed by ${r.signal}; stderr: ${r.stderr}`);
  return { stdout: r.stdout, exitCode: r.status };
}

export function runQemu(elf: string): ProgramRun {
  return runCaptured('qemu-riscv32', [elf]);
}

export function runNative(exe: string): ProgramRun {
  return runCaptured(exe, []);
}

/** `label=value` lines as a map; the output format of every guest program (guest/include/opml.h). */
export function parseResults(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.lastIndexOf('=');
    if (eq > 0) out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
