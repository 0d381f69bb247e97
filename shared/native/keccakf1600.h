/*
 * keccak-f[1600], written once for any lane type that has ^, &, ~, << and >>: uint64_t for one
 * state, or a GCC vector of uint64_t holding the same lane of several states. The includer
 * defines KECCAK_LANE (the type) and KECCAK_PERMUTE (the function's name and attributes), then
 * includes this file; the function permutes the 25 lanes a[x + 5y] in place.
 */
#include <stdint.h>

#ifndef OPML_KECCAK_CONSTANTS
#define OPML_KECCAK_CONSTANTS
static const uint64_t KECCAK_RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};
/* rho rotation of lane x + 5y, and its destination y + 5((2x + 3y) mod 5) under pi. */
static const unsigned KECCAK_ROT[25] = {0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14};
static const unsigned KECCAK_PI[25] = {0, 10, 20, 5, 15, 16, 1, 11, 21, 6, 7, 17, 2, 12, 22, 23, 8, 18, 3, 13, 14, 24, 9, 19, 4};
#endif

KECCAK_PERMUTE(KECCAK_LANE a[25]) {
  for (int round = 0; round < 24; round++) {
    KECCAK_LANE c[5], d[5], b[25];
#pragma GCC unroll 5
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
#pragma GCC unroll 5
    for (int x = 0; x < 5; x++) d[x] = c[(x + 4) % 5] ^ ((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63));
#pragma GCC unroll 25
    for (int i = 0; i < 25; i++) {
      KECCAK_LANE t = a[i] ^ d[i % 5];
      /* KECCAK_ROT[0] is 0, where the two shifts would be by 0 and 64. */
      b[KECCAK_PI[i]] = i == 0 ? t : (t << KECCAK_ROT[i]) | (t >> (64 - KECCAK_ROT[i]));
    }
#pragma GCC unroll 25
    for (int i = 0; i < 25; i++) a[i] = b[i] ^ (~b[i - i % 5 + (i + 1) % 5] & b[i - i % 5 + (i + 2) % 5]);
    a[0] ^= KECCAK_RC[round];
  }
}
