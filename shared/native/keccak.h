/*
 * keccak256(left ‖ right) of 32-byte Merkle nodes (docs/vm-spec.md section 3): one keccak-f[1600]
 * permutation per pair, the 64-byte message padded with 0x01 at byte 64 and 0x80 at byte 135.
 *
 * Two kernels with the same meaning: one pair at a time in portable C, and four pairs at once in
 * AVX2 (one 256-bit register per lane index holding that lane of four states). keccak_has_avx2()
 * says whether the CPU runs the second; one binary carries both.
 */
#ifndef OPML_KECCAK_H
#define OPML_KECCAK_H

#include <stdbool.h>
#include <stdint.h>

/* Node and pair sizes in bytes. */
#define NODE_BYTES 32
#define PAIR_BYTES 64

/* out (32 bytes) = keccak256(pair (64 bytes)); out may overlap pair. */
void keccak_pair(const uint8_t *pair, uint8_t *out);

/* out[i] = keccak256(pairs[i]) for i < 4; every input is read before any output is written. */
void keccak_pair4(const uint8_t *const pairs[4], uint8_t *const out[4]);

bool keccak_has_avx2(void);

#endif
