/*
 * The integer semantics of every kernel (docs/dnn-spec.md section 5), mirroring
 * shared/dnn/intmath.ts function by function, in the same order. The TypeScript side carries
 * exact integers in doubles; here 64-bit intermediates are explicit int64_t/uint64_t, and the
 * only 64-bit division is udiv64 below, so no compiler-rt helper is ever needed (rv32im has no
 * 64-bit divide, and the image links with --no-undefined).
 * encodeMultiplier is not mirrored: it works on real numbers and only the importer runs it.
 */
#ifndef DNN_INTMATH_H
#define DNN_INTMATH_H

#include <stdint.h>

/* INT8_MIN / INT8_MAX come from stdint.h with the same values (-128, 127). */
#define RQ_SHIFT_MIN 17
#define RQ_SHIFT_MAX 62

static inline int32_t sat8(int32_t v) { return v < INT8_MIN ? INT8_MIN : v > INT8_MAX ? INT8_MAX : v; }

static inline int32_t satU8(int32_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

/*
 * Unsigned 64-bit quotient. The 32-bit case (every Softmax and AvgPool division) is one divu;
 * the general case is restoring division, 64 iterations, used once per LayerNorm element.
 * d must be non-zero (callers guarantee d > 0).
 */
static inline uint64_t udiv64(uint64_t n, uint64_t d) {
  if ((n >> 32) == 0 && (d >> 32) == 0) return (uint32_t)n / (uint32_t)d;
  uint64_t q = 0, r = 0;
  for (int i = 63; i >= 0; i--) {
    r = (r << 1) | ((n >> i) & 1);
    if (r >= d) {
      r -= d;
      q |= (uint64_t)1 << i;
    }
  }
  return q;
}

/* Nearest integer to n / d (d > 0), halves away from zero: sign(n) * floor((2|n| + d) / (2d)). */
static inline int64_t roundDivAway(int64_t n, int64_t d) {
  uint64_t a = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  uint64_t q = udiv64(2 * a + (uint64_t)d, 2 * (uint64_t)d);
  return n < 0 ? -(int64_t)q : (int64_t)q;
}

/*
 * rq(acc, M, s): nearest integer to acc * M / 2^s, halves away from zero; M in [0, 2^31),
 * s in [17, 62] (checked by the caller when it validates the rq tensor). |acc| as uint64 so
 * -2^31 works; the product is < 2^62.
 */
static inline int32_t rq(int32_t acc, int32_t m, int32_t s) {
  uint64_t a = acc < 0 ? (uint64_t)0 - (uint64_t)(int64_t)acc : (uint64_t)acc;
  uint64_t q = (a * (uint64_t)(uint32_t)m + ((uint64_t)1 << (s - 1))) >> s;
  return acc < 0 ? (int32_t)(0u - (uint32_t)q) : (int32_t)(uint32_t)q;
}

/* Largest r with r * r <= v (digit by digit, exact for every uint64 v; the spec needs v < 2^53). */
static inline uint32_t isqrt(uint64_t v) {
  uint64_t r = 0;
  uint64_t bit = (uint64_t)1 << 62;
  while (bit > v) bit >>= 2;
  while (bit) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  return (uint32_t)r;
}

#endif
