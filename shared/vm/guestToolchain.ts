/**
 * The guest toolchain: builds the guest programs (freestanding C for the opml RV32IM VM) with Debian clang and ld.lld,
 * using the project's linker script (guest/link.ld) and start-up code (guest/crt0.S).
 *
 * Builds are reproducible: the same sources, defines and compiler give the same ELF bytes, and so
 * the same VM image root, whichever directory the sources or the output live in. That is what
 * lets two parties of a dispute agree on a program's image root without exchanging binaries.
 * What makes it so: sources are named relative to the guest directory (the compiler's working
 * directory) and any absolute prefix is mapped away, no debug info, no build-id, no compiler
 * ident, inputs in a fixed order, and object files that never reach the output.
 *
 * `buildGuest({ programs, outDir, defines })` (see BuildGuestOptions), and `buildNative(...)` for the
 * same C compiled by the host gcc -O2, for benchmarks and cross-checks. The command line is
 * scripts/build-guest.ts (`npm run build:guest`).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { loadElf } from './elf';

const ROOT = resolve(__dirname, '..', '..');
export const GUEST_DIR = join(ROOT, 'guest');
export const GUEST_OUT_DIR = join(ROOT, 'build', 'guest');

const SETUP_HINT = 'run `bash scripts/setup.sh` (or `sudo apt-get install -y clang lld qemu-user`)';

/** Target and code generation; shared by C and assembly so every object has the same ABI attributes. */
const TARGET_FLAGS = ['--target=riscv32-unknown-elf', '-march=rv32im', '-mabi=ilp32', '-mcmodel=medlow', '-mno-relax'];

/**
 * -mno-relax: ld.lld 14 does not relax, and without relaxation nothing depends on `gp`, which
 * crt0 therefore leaves at 0. -fno-builtin keeps lib/mem.c from being compiled into calls to
 * itself. -nostdlibinc: only clang's own freestanding headers (stdint.h, stddef.h), never the host's.
 */
export const GUEST_CFLAGS: readonly string[] = [
  ...TARGET_FLAGS,
  '-std=c11',
  '-O2',
  '-ffreestanding',
  '-fno-builtin',
  '-nostdlib',
  '-nostdlibinc',
  '-g0',
  '-fno-ident',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-ffunction-sections',
  '-fdata-sections',
  '-Wall',
  '-Wextra',
  '-Werror',
];

export const GUEST_LDFLAGS: readonly string[] = ['-m', 'elf32lriscv', '-static', '--build-id=none', '--gc-sections', '--no-undefined'];

/** Host build of the same sources: opml.h maps opml_write/opml_exit to libc when not on RISC-V. */
export const NATIVE_CFLAGS: readonly string[] = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Werror'];

/** Linked into every guest program, in this order, before the program's own sources. */
const RUNTIME_SOURCES = ['crt0.S', 'lib/mem.c'];

export class GuestToolMissing extends Error {
  override name = 'GuestToolMissing';
  constructor(readonly tool: string) {
    super(`${tool} not found on PATH: ${SETUP_HINT}`);
  }
}

export class GuestSourceMissing extends Error {
  override name = 'GuestSourceMissing';
  constructor(
    readonly program: string,
    readonly source: string,
  ) {
    super(`guest program "${program}": source ${source} does not exist`);
  }
}

export class GuestDefineInvalid extends Error {
  override name = 'GuestDefineInvalid';
  constructor(
    readonly key: string,
    readonly value: string,
  ) {
    super(`define ${key}=${value} is not a C identifier with a value free of spaces and quotes`);
  }
}

export class GuestBuildFailed extends Error {
  override name = 'GuestBuildFailed';
  constructor(
    readonly step: 'compile' | 'link' | 'native',
    readonly target: string,
    readonly output: string,
  ) {
    super(`${step} of ${target} failed:\n${output}`);
  }
}

/** A program: its output name and its C sources (absolute, or relative to the repository root). */
export interface GuestProgram {
  name: string;
  sources: string[];
}

export interface BuildGuestOptions {
  /** Names of guest/programs/<name>.c, or full descriptions; default: every guest/programs/*.c. */
  programs?: (string | GuestProgram)[];
  /** Default build/guest. Existing files of the same names are overwritten. */
  outDir?: string;
  /** -D definitions applied to every source, e.g. { MATMUL_N: 64 }. */
  defines?: Record<string, string | number>;
  /** Where crt0.S, link.ld, include/ and lib/ are; default guest/. Tests point it at a copy. */
  guestDir?: string;
}

export interface GuestArtifact {
  name: string;
  path: string;
  size: number;
  sha256: string;
  /** 0x-prefixed initial memRoot of the VM after loading the ELF (docs/vm-spec.md section 6). */
  imageRoot: string;
}

export function listGuestPrograms(guestDir: string = GUEST_DIR): string[] {
  return readdirSync(join(guestDir, 'programs'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => f.slice(0, -2))
    .sort();
}

function resolveProgram(p: string | GuestProgram, guestDir: string): GuestProgram {
  if (typeof p !== 'string') return { name: p.name, sources: p.sources.map((s) => resolve(ROOT, s)) };
  return { name: p, sources: [join(guestDir, 'programs', `${p}.c`)] };
}

function defineFlags(defines: Record<string, string | number>): string[] {
  return Object.keys(defines)
    .sort()
    .map((key) => {
      const value = String(defines[key]);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || !/^[^\s'"\\]*$/.test(value)) throw new GuestDefineInvalid(key, value);
      return `-D${key}=${value}`;
    });
}

function run(tool: string, args: string[], cwd: string): { ok: boolean; output: string } {
  // env passed explicitly: the caller's view of process.env (PATH included) is what counts.
  const r = spawnSync(tool, args, { cwd, encoding: 'utf8', env: process.env });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new GuestToolMissing(tool);
  if (r.error) throw r.error;
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The compiler's version line, part of what a reproducible build depends on. */
export function guestToolchainVersion(): string {
  const clang = run('clang', ['--version'], ROOT).output.split('\n')[0];
  const lld = run('ld.lld', ['--version'], ROOT).output.split('\n')[0];
  return `${clang}; ${lld}`;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function guestImageRoot(elf: Uint8Array): string {
  return `0x${Buffer.from(loadElf(elf).memory.root()).toString('hex')}`;
}

/**
 * Compiles and links each program into `<outDir>/<name>.elf`, one at a time (the build machines
 * are small). Throws GuestToolMissing, GuestSourceMissing, GuestDefineInvalid or GuestBuildFailed.
 */
export function buildGuest(options: BuildGuestOptions = {}): GuestArtifact[] {
  const guestDir = resolve(options.guestDir ?? GUEST_DIR);
  const outDir = resolve(options.outDir ?? GUEST_OUT_DIR);
  const programs = (options.programs ?? listGuestPrograms(guestDir)).map((p) => resolveProgram(p, guestDir));
  const defines = defineFlags(options.defines ?? {});
  // The working directory is the guest directory, and every source is named relative to it, so
  // no absolute path can reach the output; the prefix map covers what the compiler derives itself.
  const cflags = [...GUEST_CFLAGS, `-ffile-prefix-map=${guestDir}=.`, '-I', 'include', ...defines];
  mkdirSync(outDir, { recursive: true });
  const objDir = mkdtempSync(join(tmpdir(), 'opml-guest-'));
  try {
    const compiled = new Map<string, string>();
    const compile = (source: string, program: string): string => {
      if (!existsSync(source)) throw new GuestSourceMissing(program, source);
      const cached = compiled.get(source);
      if (cached) return cached;
      const obj = join(objDir, `${compiled.size}.o`);
      const rel = relative(guestDir, source);
      const r = run('clang', [...cflags, '-c', rel, '-o', obj], guestDir);
      if (!r.ok) throw new GuestBuildFailed('compile', rel, r.output);
      compiled.set(source, obj);
      return obj;
    };
    const runtime = RUNTIME_SOURCES.map((s) => join(guestDir, s));
    return programs.map((program) => {
      const objects = [...runtime, ...program.sources].map((s) => compile(s, program.name));
      const elf = join(outDir, `${program.name}.elf`);
      const r = run('ld.lld', [...GUEST_LDFLAGS, '-T', 'link.ld', '-o', elf, ...objects], guestDir);
      if (!r.ok) throw new GuestBuildFailed('link', program.name, r.output);
      const bytes = readFileSync(elf);
      return { name: program.name, path: elf, size: bytes.length, sha256: sha256Hex(bytes), imageRoot: guestImageRoot(bytes) };
    });
  } finally {
    rmSync(objDir, { recursive: true, force: true });
  }
}

export interface BuildNativeOptions {
  program: string | GuestProgram;
  /** Default build/native. The executable is `<outDir>/<name>`. */
  outDir?: string;
  defines?: Record<string, string | number>;
  /** Default gcc. */
  compiler?: string;
}

/** The same C compiled for the host (gcc -O2, hosted libc): the native baseline of the bench. */
export function buildNative(options: BuildNativeOptions): string {
  const program = resolveProgram(options.program, GUEST_DIR);
  for (const s of program.sources) if (!existsSync(s)) throw new GuestSourceMissing(program.name, s);
  const outDir = resolve(options.outDir ?? join(ROOT, 'build', 'native'));
  mkdirSync(outDir, { recursive: true });
  const exe = join(outDir, program.name);
  const compiler = options.compiler ?? 'gcc';
  const args = [...NATIVE_CFLAGS, '-I', join(GUEST_DIR, 'include'), ...defineFlags(options.defines ?? {}), ...program.sources, '-o', exe];
  const r = run(compiler, args, ROOT);
  if (!r.ok) throw new GuestBuildFailed('native', program.name, r.output);
  return exe;
}
