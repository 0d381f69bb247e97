/**
 * The guest kernel image (guest/dnn/): one RV32IM ELF holding every operator, dispatching on the
 * node's op code (docs/dnn-spec.md section 8). Built reproducibly by scripts/build-guest.ts, so
 * anyone with the same sources and clang/lld gets the same bytes, image root and CID.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { loadElf } from '../../vm/elf';
import { buildGuest } from '../../vm/guestToolchain';
import { rawCid } from '../cid';

export const KERNEL_IMAGE_NAME = 'dnn-kernels';

/** Sources in link order (the order is part of the image bytes). */
export const KERNEL_SOURCES: readonly string[] = ['main.c', 'gemm.c', 'linear.c', 'elementwise.c', 'pool.c', 'layout.c', 'normalize.c', 'attention.c', 'sample.c'].map((f) =>
  join('guest', 'dnn', f),
);

export interface KernelImage {
  elf: Uint8Array;
  /** 0x-prefixed initial VM memory root after loading the ELF (docs/vm-spec.md section 6) */
  imageRoot: string;
  /** CIDv1 (raw codec, sha2-256) of the ELF bytes, as for the model package files */
  cid: string;
  sha256: string;
}

const cache = new Map<string, KernelImage>();

/** Builds the image into `outDir` (default build/guest) once per process and directory. */
export function buildKernelImage(outDir: string = resolve(__dirname, '..', '..', '..', 'build', 'guest')): KernelImage {
  const cached = cache.get(outDir);
  if (cached) return cached;
  const [artifact] = buildGuest({ programs: [{ name: KERNEL_IMAGE_NAME, sources: [...KERNEL_SOURCES] }], outDir });
  const elf = new Uint8Array(readFileSync(artifact.path));
  const image = { elf, imageRoot: artifact.imageRoot, cid: rawCid(elf), sha256: artifact.sha256 };
  cache.set(outDir, image);
  return image;
}

/** The image of an already built ELF (a worker or a function has no compiler): the same fields buildKernelImage gives. */
export function kernelImageFromElf(elf: Uint8Array): KernelImage {
  return {
    elf,
    imageRoot: `0x${Buffer.from(loadElf(elf).memory.root()).toString('hex')}`,
    cid: rawCid(elf),
    sha256: createHash('sha256').update(elf).digest('hex'),
  };
}

/** The built kernel image file, where functions and workers find it (packaged with them). */
export const KERNEL_ELF_PATH = resolve(__dirname, '..', '..', '..', 'build', 'guest', `${KERNEL_IMAGE_NAME}.elf`);

if (require.main === module) {
  const { elf, imageRoot, cid, sha256 } = buildKernelImage();
  console.log(JSON.stringify({ name: KERNEL_IMAGE_NAME, size: elf.length, sha256, imageRoot, cid }));
}
