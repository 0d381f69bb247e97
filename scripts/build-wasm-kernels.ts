/**
 * `npm run build:wasm`: the guest DNN kernels (guest/dnn/*.c, all but the VM-only main.c) plus the
 * WebAssembly glue in shared/dnn/wasm/ compiled by Debian clang to one WebAssembly module with
 * SIMD, build/wasm/dnn-kernels.wasm, which the native executor's default backend runs. Same
 * sources as the VM kernel image, so native and VM semantics come from one place.
 *
 * Reproducible like build:guest: sources named relative to the repo root (the compiler's working
 * directory), no debug info, fixed input order.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
export const WASM_KERNELS_PATH = join(ROOT, 'build', 'wasm', 'dnn-kernels.wasm');

const SOURCES = [
  'shared/dnn/wasm/kernels.c',
  'shared/dnn/wasm/memory.c',
  ...['gemm.c', 'linear.c', 'elementwise.c', 'pool.c', 'layout.c', 'normalize.c'].map((f) => `guest/dnn/${f}`),
];

/**
 * -msimd128 lets clang vectorise the int8 loops; -mbulk-memory turns memcpy/memset into single
 * instructions. The 1 MiB stack holds the kernels' on-stack scratch (Softmax and LayerNorm rows).
 */
const FLAGS = [
  '--target=wasm32',
  '-O3',
  '-msimd128',
  '-mbulk-memory',
  '-std=c11',
  '-ffreestanding',
  '-nostdlib',
  '-Iguest/dnn',
  '-g0',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-Wl,--no-entry',
  '-Wl,--export=__heap_base',
  '-Wl,-z,stack-size=1048576',
];

export class WasmBuildFailed extends Error {
  override name = 'WasmBuildFailed';
  constructor(
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`clang --target=wasm32 failed (exit ${status}): ${stderr.trim() || 'clang not found: run `bash scripts/setup.sh`'}`);
  }
}

export function buildWasmKernels(out: string = WASM_KERNELS_PATH): { path: string; bytes: number; sha256: string } {
  mkdirSync(resolve(out, '..'), { recursive: true });
  const r = spawnSync('clang', [...FLAGS, '-o', out, ...SOURCES], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new WasmBuildFailed(r.status, r.stderr ?? String(r.error ?? ''));
  const bytes = readFileSync(out);
  return { path: out, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

if (require.main === module) console.log(JSON.stringify(buildWasmKernels()));
