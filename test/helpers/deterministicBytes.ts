/**
 * The bytes of the UnixFS golden vectors (scripts/golden-cids.ts writes them, test/ipfs checks
 * them): the xorshift32 stream of test/helpers/rng.ts from `seed`, each 32-bit output giving four
 * bytes, least significant first. Anyone can regenerate them from this definition.
 */
import { Rng } from './rng';

export const GOLDEN_SEED = 1;

export function deterministicBytes(size: number, seed = GOLDEN_SEED): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const x = rng.next();
    out[i] = x & 0xff;
    out[i + 1] = (x >>> 8) & 0xff;
    out[i + 2] = (x >>> 16) & 0xff;
    out[i + 3] = x >>> 24;
  }
  return out;
}
