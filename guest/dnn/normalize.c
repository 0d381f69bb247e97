/* Softmax and LayerNorm over the last axis (docs/dnn-spec.md section 6; normalize.ts). */
#include "intmath.h"
#include "node.h"

#define SOFTMAX_OUT_ZP (-128)
#define LAYERNORM_FRACTION_BITS 12
#define RMSNORM_ROUND_BITS 16
#define RMSNORM_FACTOR_BITS (LAYERNORM_FRACTION_BITS + RMSNORM_ROUND_BITS)

/*
 * main.c checks every entry is in [0, 2^20], exp[0] >= 1 and D <= 2048, so a row's sum is in
 * [1, 2^31] whenever one entry is kept (the kept maximum contributes exp[0]) and e * 256 < 2^29.
 * With the optional uint8 mask [T, D], row r uses mask row r mod T; dropped entries join neither
 * max nor sum and output -128 (probability 0), so a fully masked row is -128 throughout.
 */
void softmax(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t d = (uint32_t)x->dims[x->rank - 1], len = elementCount(x);
  const uint8_t *mask = n->p->inputCount == 3 ? (const uint8_t *)i8(in(n, 2)) : 0;
  const uint32_t maskRows = mask ? (uint32_t)in(n, 2)->dims[0] : 1;
  const int8_t *xd = i8(x);
  const int32_t *t = i32(in(n, 1));
  int8_t *o = out8(n);
  for (uint32_t r = 0, row = 0; r < len; r += d, row++) {
    const uint8_t *keep = mask ? mask + (row % maskRows) * d : 0;
    int32_t max = -128;
    for (uint32_t i = 0; i < d; i++)
      if ((!keep || keep[i]) && xd[r + i] > max) max = xd[r + i];
    int64_t sum = 0;
    for (uint32_t i = 0; i < d; i++)
      if (!keep || keep[i]) sum += t[max - xd[r + i]];
    for (uint32_t i = 0; i < d; i++)
      o[r + i] = (int8_t)(!keep || keep[i] ? sat8((int32_t)roundDivAway((int64_t)t[max - xd[r + i]] * 256, sum) + SOFTMAX_OUT_ZP) : SOFTMAX_OUT_ZP);
  }
}

void layerNorm(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t d = (uint32_t)x->dims[x->rank - 1], len = elementCount(x);
  const int8_t *xd = i8(x), *gamma = i8(in(n, 1));
  const int32_t *beta = i32(in(n, 2)), *r = i32(in(n, 3));
  const int32_t zx = x->zeroPoint, zo = n->p->output.zeroPoint, m = r[0], s = r[1];
  int8_t *o = out8(n);
  for (uint32_t row = 0; row < len; row += d) {
    int32_t s1 = 0;
    int64_t s2 = 0;
    for (uint32_t i = 0; i < d; i++) {
      int32_t c = xd[row + i] - zx;
      s1 += c;
      s2 += c * c;
    }
    /* D*S2 - S1^2 >= 0 (Cauchy-Schwarz) and epsTerm >= 0 (checked), so the radicand is >= 0. */
    uint32_t root = isqrt((uint64_t)((int64_t)d * s2 - (int64_t)s1 * s1 + n->attrs[0]));
    int64_t sd = root > 1 ? root : 1;
    for (uint32_t i = 0; i < d; i++) {
      int64_t num = ((int64_t)d * (xd[row + i] - zx) - s1) * (1 << LAYERNORM_FRACTION_BITS);
      int32_t v = (int32_t)roundDivAway(num, sd);
      int32_t acc = (int32_t)((uint32_t)v * (uint32_t)gamma[i] + (uint32_t)beta[i]);
      o[row + i] = (int8_t)sat8(zo + rq(acc, m, s));
    }
  }
}

/*
 * RMSNorm: with sd = max(1, isqrt(D * S2 + epsTerm)) and f = floor(D * 2^28 / sd) (one 64-bit
 * division per row), n = sign(c) * ((|c| * f + 2^15) >> 16), i.e. c / rms * 2^12. main.c checks
 * D <= 8192, so D * S2 < 2^42 and |c| * f < 2^49; the importer bounds |n * gamma| to int32.
 */
void rmsNorm(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t d = (uint32_t)x->dims[x->rank - 1], len = elementCount(x);
  const int8_t *xd = i8(x), *gamma = i8(in(n, 1));
  const int32_t *r = i32(in(n, 2));
  const int32_t zx = x->zeroPoint, zo = n->p->output.zeroPoint, m = r[0], s = r[1];
  int8_t *o = out8(n);
  for (uint32_t row = 0; row < len; row += d) {
    uint32_t s2 = 0; /* D * 255^2 < 2^32 for D <= 8192 */
    for (uint32_t i = 0; i < d; i++) {
      int32_t c = xd[row + i] - zx;
      s2 += (uint32_t)(c * c);
    }
    uint32_t root = isqrt((uint64_t)d * s2 + (uint64_t)(uint32_t)n->attrs[0]);
    uint64_t f = udiv64((uint64_t)d << RMSNORM_FACTOR_BITS, root > 1 ? root : 1);
    for (uint32_t i = 0; i < d; i++) {
      int32_t c = xd[row + i] - zx;
      uint32_t a = (uint32_t)(c < 0 ? -c : c);
      int32_t mag = (int32_t)((a * f + ((uint64_t)1 << (RMSNORM_ROUND_BITS - 1))) >> RMSNORM_ROUND_BITS);
      int32_t v = c < 0 ? -mag : mag;
      int32_t acc = (int32_t)((uint32_t)v * (uint32_t)gamma[i]);
      o[row + i] = (int8_t)sat8(zo + rq(acc, m, s));
    }
  }
}
