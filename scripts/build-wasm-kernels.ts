/**
 * `npm run build:wasm`: the guest DNN kernels (guest/dnn/*.c, all but the VM-only main.c) plus the
 * WebAssembly glue in shared/dnn/wasm/ compiled by Debian clang to one WebAssembly module with
 * SIMD, build/wasm/dnn-kernels.wasm, which the native executor's default backend runs. Same
 * sources as the VM kernel image, so native and VM semantics come from one place.
 *
 * Reproducible like build:guest: sources named relative to the repo root (the compiler's working
 * directory), no debug info, objects linked in a fixed order.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WASM_KERNELS_PATH } from '../shared/dnn/wasm/wasmBackend';

const ROOT = resolve(__dirname, '..');

/**
 * Sources in link order, with per-file defines: shared/dnn/wasm/simd_*.c supply gemmRequant,
 * conv2d, maxPool, add, mul and layerNorm, so the guest's own versions are compiled under guest_
 * names (the SIMD kernels fall back to them beyond their scratch or their exact-double bounds,
 * and for broadcasts they do not cover).
 */
const SOURCES: readonly [string, string[]][] = [
  ['shared/dnn/wasm/kernels.c', []],
  ['shared/dnn/wasm/memory.c', []],
  ['shared/dnn/wasm/simd_gemm.c', []],
  ['shared/dnn/wasm/simd_elementwise.c', []],
  ['shared/dnn/wasm/simd_normalize.c', []],
  ['guest/dnn/gemm.c', ['-DgemmRequant=guest_gemmRequant']],
  ['guest/dnn/linear.c', ['-Dconv2d=guest_conv2d']],
  ['guest/dnn/pool.c', ['-DmaxPool=guest_maxPool']],
  ['guest/dnn/elementwise.c', ['-Dadd=guest_add', '-Dmul=guest_mul']],
  ['guest/dnn/layout.c', []],
  ['guest/dnn/normalize.c', ['-DlayerNorm=guest_layerNorm']],
  ['guest/dnn/attention.c', []],
  ['guest/dnn/sample.c', []],
];

/**
 * -msimd128 lets clang vectorise the int8 loops; -mbulk-memory turns memcpy/memset into single
 * instructions. The 1 MiB stack holds the kernels' on-stack scratch (Softmax and LayerNorm rows).
 */
const CFLAGS = [
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
];
const LDFLAGS = ['--target=wasm32', '-nostdlib', '-Wl,--no-entry', '-Wl,--export=__heap_base', '-Wl,-z,stack-size=1048576'];

export class WasmBuildFailed extends Error {
  override name = 'WasmBuildFailed';
  constructor(
    readonly status: number | null,
    readonly stderr: string,
  ) {
    super(`clang --target=wasm32 failed (exit ${status}): ${stderr.trim() || 'clang not found: run `bash scripts/setup.sh`'}`);
  }
}

function clang(args: string[]): void {
  const r = spawnSync('clang', args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new WasmBuildFailed(r.status, r.stderr ?? String(r.error ?? ''));
}

export function buildWasmKernels(out: string = WASM_KERNELS_PATH): { path: string; bytes: number; sha256: string } {
  mkdirSync(resolve(out, '..'), { recursive: true });
  const objDir = mkdtempSync(join(tmpdir(), 'dnn-wasm-'));
  try {
    const objects = SOURCES.map(([src, defines], i) => {
      const obj = join(objDir, `${i}.o`);
      clang([...CFLAGS, ...defines, '-c', src, '-o', obj]);
      return obj;
    });
    clang([...LDFLAGS, '-o', out, ...objects]);
  } finally {
    rmSync(objDir, { recursive: true, force: true });
  }
  const bytes = readFileSync(out);
  return { path: out, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

if (require.main === module) console.log(JSON.stringify(buildWasmKernels()));
