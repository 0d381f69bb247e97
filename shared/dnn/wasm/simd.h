/*
 * What the SIMD kernels share (simd_gemm.c, simd_elementwise.c, simd_normalize.c): the exact
 * requantisation of four lanes that share one (M, s), for the WebAssembly build only. Each SIMD
 * kernel replaces a guest kernel of guest/dnn/ (scripts/build-wasm-kernels.ts links the guest's
 * under a guest_ name) with the same integer steps, so the same bytes; test/dnn/wasm.test.ts
 * checks every path against the TypeScript kernels.
 */
#ifndef DNN_WASM_SIMD_H
#define DNN_WASM_SIMD_H

#include <wasm_simd128.h>

#include "intmath.h"
#include "node.h"

/*
 * rq of four int32 lanes sharing one (M, s), in integers exactly as intmath.h computes it: |acc|
 * as u32 (so -2^31 works) times M as u64, plus 2^(s−1), shifted by s, the low 32 bits negated
 * back mod 2^32 where acc < 0. wasm has no per-lane 64-bit shift, hence lanes of one channel.
 */
static inline v128_t rqShared4(v128_t acc, v128_t m, v128_t half, uint32_t shift) {
  const v128_t negative = wasm_i32x4_shr(acc, 31);
  const v128_t a = wasm_i32x4_abs(acc);
  const v128_t lo = wasm_u64x2_shr(wasm_i64x2_add(wasm_u64x2_extmul_low_u32x4(a, m), half), shift);
  const v128_t hi = wasm_u64x2_shr(wasm_i64x2_add(wasm_u64x2_extmul_high_u32x4(a, m), half), shift);
  const v128_t q = wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6);
  return wasm_i32x4_sub(wasm_v128_xor(q, negative), negative);
}

/* One channel's requantisation for rqShared4, and the output clamp [lo, 127] after zo. */
typedef struct {
  v128_t m, half, bias;
  uint32_t shift;
} channel_rq;

static inline channel_rq channelRq(const int32_t *rqData, const int32_t *bias, uint32_t c, int perChannel) {
  const uint32_t ch = perChannel ? c : 0;
  const uint32_t shift = (uint32_t)rqData[2 * ch + 1];
  return (channel_rq){
      .m = wasm_i32x4_splat(rqData[2 * ch]), .half = wasm_i64x2_splat((int64_t)1 << (shift - 1)),
      .bias = wasm_i32x4_splat(bias ? bias[c] : 0), .shift = shift,
  };
}

/* Four sums of one channel to four int8 outputs (bytes 0..3 of the result), as emit does each. */
static inline v128_t emitShared4(v128_t sums, const channel_rq *q, int32_t zo, int32_t lo) {
  v128_t v = wasm_i32x4_add(rqShared4(wasm_i32x4_add(sums, q->bias), q->m, q->half, q->shift), wasm_i32x4_splat(zo));
  v = wasm_i32x4_min(wasm_i32x4_max(v, wasm_i32x4_splat(lo)), wasm_i32x4_splat(127));
  return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v, v), wasm_i16x8_narrow_i32x4(v, v));
}

/* Four int8 values at p as int32 lanes. */
static inline v128_t load4xI8(const int8_t *p) { return wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(wasm_v128_load32_zero(p))); }

/* The low bytes of four int32 lanes after sat8 (saturating narrows), the low 32 bits of the result. */
static inline v128_t sat8x4(v128_t v) { return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v, v), wasm_i16x8_narrow_i32x4(v, v)); }

#endif
