/**
 * Bytes for Merkle tests: random except for zeroed runs at some granularity, so the hashers'
 * zero-subtree shortcuts (single pairs, pairs of pairs, whole blocks) meet real data beside them.
 */
import fc from 'fast-check';

export const regionBytes = (maxLength: number, minLength = 0) =>
  fc
    .tuple(
      fc.integer({ min: minLength, max: maxLength }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      fc.constantFrom(0, 32, 64, 128, 4096, 65536),
      fc.nat(),
    )
    .map(([length, seed, zeroRun, pattern]) => {
      const bytes = Uint8Array.from({ length }, (_, i) => seed[i % 64] ^ ((i * 2654435761) >>> 24));
      if (zeroRun > 0) {
        for (let run = 0; run * zeroRun < length; run++) {
          if ((pattern >>> run % 31) & 1) bytes.fill(0, run * zeroRun, (run + 1) * zeroRun);
        }
      }
      return bytes;
    });
