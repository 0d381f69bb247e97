/**
 * The Merkle benchmarks' common workload: 64 MiB of non-zero data written at the tensor base, so
 * every page and every tree node above it must be hashed on the next root().
 */
import { Memory } from '../shared/vm/memory';

export const TOUCHED_BYTES = 64 << 20;
export const TOUCHED_BASE = 0x10000000;

export function touched64MiB(): Memory {
  const memory = new Memory();
  const chunk = new Uint8Array(1 << 20);
  for (let o = 0; o < TOUCHED_BYTES; o += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4) chunk[i] = (o + i) * 2654435761;
    memory.writeBytes(TOUCHED_BASE + o, chunk);
  }
  return memory;
}
