/**
 * Runs a guest ELF under qemu-riscv32 (Debian qemu-user: the independent RISC-V implementation
 * the VM is checked against) or a native executable, capturing stdout and the exit status.
 */
import { spawnSync } from 'node:child_process';

export interface ProgramRun {
  /** Bytes as latin1, one character per byte: binary output survives, text reads as text. */
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
  const r = spawnSync(command, args, { timeout: 60_000 });
  if (r.error) throw new ProgramRunFailed(command, r.error.message);
  if (r.status === null) throw new ProgramRunFailed(command, `killed by ${r.signal}; stderr: ${r.stderr.toString('utf8')}`);
  return { stdout: r.stdout.toString('latin1'), exitCode: r.status };
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
