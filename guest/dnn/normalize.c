/* Softmax and LayerNorm over the last axis (docs/dnn-spec.md section 6; normalize.ts). */
#include "intmath.h"
#include "node.h"

#define SOFTMAX_OUT_ZP (-128)
#define LAYERNORM_FRACTION_BITS 12

/* main.c checks every entry is in [0, 2^20] and D <= 2048, so sum <= 2^31 and e * 256 < 2^29. */
void softmax(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t d = (uint32_t)x->dims[x->rank - 1], len = elementCount(x);
  const int8_t *xd = i8(x);
  const int32_t *t = i32(in(n, 1));
  int8_t *o = out8(n);
  for (uint32_t r = 0; r < len; r += d) {
    int32_t max = -128;
    for (uint32_t i = 0; i < d; i++)
      if (xd[r + i] > max) max = xd[r + i];
    int64_t sum = 0;
    for (uint32_t i = 0; i < d; i++) sum += t[max - xd[r + i]];
    for (uint32_t i = 0; i < d; i++)
      o[r + i] = (int8_t)sat8((int32_t)roundDivAway((int64_t)t[max - xd[r + i]] * 256, sum) + SOFTMAX_OUT_ZP);
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
