/**
 * The prebuilt guest kernel image a function or worker ships with (OPML_KERNEL_ELF; no service runs a
 * compiler), read once on first use. A failed read is not remembered, so the next call tries again.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { kernelImageFromElf, type KernelImage } from './kernelImage';

export class KernelElfMissingError extends Error {
  override name = 'KernelElfMissingError';
  constructor(readonly path: string, cause: unknown) {
    super(`cannot read the guest kernel image ${path} (OPML_KERNEL_ELF): package build/guest/dnn-kernels.elf with the function or point OPML_KERNEL_ELF at it`, { cause });
  }
}

export function kernelService(elfPath: string): () => Promise<KernelImage> {
  let kernel: Promise<KernelImage> | undefined;
  return () => {
    if (!kernel) {
      const path = resolve(elfPath);
      kernel = readFile(path).then(
        (elf) => kernelImageFromElf(new Uint8Array(elf)),
        (e: unknown) => {
          throw new KernelElfMissingError(path, e);
        },
      );
      kernel.catch(() => (kernel = undefined));
    }
    return kernel;
  };
}
