/*
 * SIMD LayerNorm (guest/dnn/normalize.c), WebAssembly build only: the row statistics as the
 * guest computes them, then four elements at a time, with the division by the row's deviation
 * done in doubles where it is exact and the final rq shared (rqShared4).
 */
#include "simd.h"

void guest_layerNorm(const node *n);

#define LAYERNORM_FRACTION_BITS 12

/*
 * Rows up to this length keep every quantity below exact-double range: |D·(x − zx) − S1| <
 * 2·D·255 < 2^25, so the dividend 2|num| + sd of roundDivAway is below 2^39 and the divisor 2·sd
 * below 2^33; for integers a, b with a + b < 2^53, floor(fl(a / b)) = floor(a / b) (the rounding
 * error of fl(a / b) is under 2^-53 (a / b), less than the gap 1/b to the next integer). The
 * quotient |v| ≤ 2^12·√D stays far inside int32, so the saturating conversion is exact.
 */
#define MAX_ROW 65536

void layerNorm(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t d = (uint32_t)x->dims[x->rank - 1], len = elementCount(x);
  if (d > MAX_ROW) return guest_layerNorm(n);
  const int8_t *xd = i8(x), *gamma = i8(in(n, 1));
  const int32_t *beta = i32(in(n, 2)), *r = i32(in(n, 3));
  const int32_t zx = x->zeroPoint, zo = n->p->output.zeroPoint;
  const channel_rq q = channelRq(r, 0, 0, 0);
  const v128_t zxv = wasm_i32x4_splat(zx), dv = wasm_i32x4_splat((int32_t)d), zov = wasm_i32x4_splat(zo);
  const v128_t unit = wasm_f64x2_splat((double)(1 << (LAYERNORM_FRACTION_BITS + 1)));
  int8_t *o = out8(n);
  for (uint32_t row = 0; row < len; row += d) {
    int32_t s1 = 0;
    int64_t s2 = 0;
    for (uint32_t i = 0; i < d; i++) {
      int32_t c = xd[row + i] - zx;
      s1 += c;
      s2 += c * c;
    }
    uint32_t root = isqrt((uint64_t)((int64_t)d * s2 - (int64_t)s1 * s1 + n->attrs[0]));
    int64_t sd = root > 1 ? root : 1;
    const v128_t sdv = wasm_f64x2_splat((double)sd), twoSd = wasm_f64x2_splat(2.0 * (double)sd), s1v = wasm_i32x4_splat(s1);
    uint32_t i = 0;
    for (; i + 4 <= d; i += 4) {
      /* t = D·(x − zx) − S1; num = t·2^12; v = sign(t)·floor((2|num| + sd) / (2·sd)). */
      const v128_t t = wasm_i32x4_sub(wasm_i32x4_mul(dv, wasm_i32x4_sub(load4xI8(xd + row + i), zxv)), s1v);
      const v128_t at = wasm_i32x4_abs(t);
      const v128_t lo = wasm_f64x2_floor(wasm_f64x2_div(wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(at), unit), sdv), twoSd));
      const v128_t hi = wasm_f64x2_floor(wasm_f64x2_div(wasm_f64x2_add(wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(at, at, 2, 3, 0, 1)), unit), sdv), twoSd));
      const v128_t mag = wasm_i32x4_shuffle(wasm_i32x4_trunc_sat_f64x2_zero(lo), wasm_i32x4_trunc_sat_f64x2_zero(hi), 0, 1, 4, 5);
      const v128_t negative = wasm_i32x4_shr(t, 31);
      const v128_t v = wasm_i32x4_sub(wasm_v128_xor(mag, negative), negative);
      const v128_t acc = wasm_i32x4_add(wasm_i32x4_mul(v, load4xI8(gamma + i)), wasm_v128_load(beta + i));
      wasm_v128_store32_lane(o + row + i, sat8x4(wasm_i32x4_add(rqShared4(acc, q.m, q.half, q.shift), zov)), 0);
    }
    for (; i < d; i++) {
      int64_t num = ((int64_t)d * (xd[row + i] - zx) - s1) * (1 << LAYERNORM_FRACTION_BITS);
      int32_t v = (int32_t)roundDivAway(num, sd);
      int32_t acc = (int32_t)((uint32_t)v * (uint32_t)gamma[i] + (uint32_t)beta[i]);
      o[row + i] = (int8_t)sat8(zo + rq(acc, r[0], r[1]));
    }
  }
}
