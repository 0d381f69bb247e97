/*
 * Rope, KvWrite and Attention: the decoder operators of a LLaMA block (docs/dnn-spec.md
 * section 6; shared/dnn/kernels/attention.ts). main.c has checked every shape, the rq rows, the
 * exp2 table and the Rope table rows the input's positions use.
 */
#include "intmath.h"
#include "node.h"

#define ATTENTION_AVG_BITS 8
#define ATTENTION_NORM_BITS 44
#define AVG_SHIFT (ATTENTION_NORM_BITS - ATTENTION_AVG_BITS)
#define EXP2_MAX_SHIFT 21

/* pos + r clamped into [0, limit): 64-bit, since pos is any int32. */
int32_t clampPosition(int32_t pos, uint32_t r, int32_t limit) {
  int64_t p = (int64_t)pos + r;
  return p < 0 ? 0 : p >= limit ? limit - 1 : (int32_t)p;
}

static uint32_t rowsOf(const tensor_desc *t) { return elementCount(t) / (uint32_t)t->dims[t->rank - 1]; }

void rope(const node *n) {
  const tensor_desc *x = in(n, 0), *table = in(n, 1);
  const uint32_t w = (uint32_t)x->dims[x->rank - 1], half = (uint32_t)table->dims[1], hd = 2 * half, rows = rowsOf(x);
  const int8_t *xd = i8(x);
  const int32_t *t = i32(table), *r = i32(in(n, 3));
  const int32_t pos = i32(in(n, 2))[0], zx = x->zeroPoint, zo = n->p->output.zeroPoint, m = r[0], s = r[1];
  int8_t *o = out8(n);
  for (uint32_t row = 0; row < rows; row++) {
    const int32_t *cs = t + (uint32_t)clampPosition(pos, row, table->dims[0]) * hd;
    for (uint32_t h = 0; h < w; h += hd) {
      const uint32_t base = row * w + h;
      for (uint32_t i = 0; i < half; i++) {
        int32_t c = cs[2 * i], sn = cs[2 * i + 1];
        int32_t a = xd[base + i] - zx, b = xd[base + half + i] - zx;
        o[base + i] = (int8_t)sat8(zo + rq(a * c - b * sn, m, s));
        o[base + half + i] = (int8_t)sat8(zo + rq(b * c + a * sn, m, s));
      }
    }
  }
}

void kvWrite(const node *n) {
  const tensor_desc *rows = in(n, 0), *out = &n->p->output;
  const uint32_t p = (uint32_t)out->dims[0], w = (uint32_t)out->dims[1], count = rowsOf(rows);
  const int32_t pos = i32(in(n, 1))[0];
  int8_t *o = out8(n);
  if (n->p->inputCount == 3) {
    const int8_t *cache = i8(in(n, 2));
    for (uint32_t i = 0; i < p * w; i++) o[i] = cache[i];
  } else {
    for (uint32_t i = 0; i < p * w; i++) o[i] = (int8_t)out->zeroPoint;
  }
  const int8_t *src = i8(rows);
  for (uint32_t r = 0; r < count; r++) {
    int64_t at = (int64_t)pos + r;
    if (at < 0 || at >= (int64_t)p) continue;
    int8_t *dst = o + (uint32_t)at * w;
    for (uint32_t i = 0; i < w; i++) dst[i] = src[r * w + i];
  }
}

/*
 * Scores are int32 dot products (main.c bounds headDim, and the importer |gap| <= 2^31 - 1);
 * weights e = exp2[d & 255] >> (d >> 8) are at most 2^20, so a row's sum over at most 4096 keys
 * is at most 2^32 and the value sums |acc| <= 255 * sum are 64-bit. The maximum key's weight is
 * exp2[0] >= 1 (checked), so the sum is never 0.
 */
void attention(const node *n) {
  const tensor_desc *q = in(n, 0), *k = in(n, 1), *v = in(n, 2);
  const uint32_t wq = (uint32_t)q->dims[q->rank - 1], wk = (uint32_t)k->dims[1], rows = rowsOf(q);
  const uint32_t heads = (uint32_t)n->attrs[0], hd = wq / heads, group = heads / (uint32_t)n->attrs[1];
  const int8_t *qd = i8(q), *kd = i8(k), *vd = i8(v);
  const int32_t *exp2 = i32(in(n, 4)), *r = i32(in(n, 5));
  const int32_t pos = i32(in(n, 3))[0], zq = q->zeroPoint, zk = k->zeroPoint, zv = v->zeroPoint, zo = n->p->output.zeroPoint;
  int32_t scores[4096];
  uint32_t weights[4096];
  int64_t acc[512];
  int8_t *o = out8(n);
  for (uint32_t row = 0; row < rows; row++) {
    const uint32_t last = (uint32_t)clampPosition(pos, row, k->dims[0]);
    for (uint32_t h = 0; h < heads; h++) {
      const uint32_t qo = row * wq + h * hd, ko = (h / group) * hd;
      int32_t max = INT32_MIN;
      for (uint32_t j = 0; j <= last; j++) {
        uint32_t dot = 0;
        const int8_t *kj = kd + j * wk + ko;
        for (uint32_t i = 0; i < hd; i++) dot += (uint32_t)((qd[qo + i] - zq) * (kj[i] - zk));
        scores[j] = (int32_t)dot;
        if ((int32_t)dot > max) max = (int32_t)dot;
      }
      uint64_t sum = 0;
      for (uint32_t j = 0; j <= last; j++) {
        int32_t d = rq((int32_t)((uint32_t)max - (uint32_t)scores[j]), r[0], r[1]);
        uint32_t shift = (uint32_t)d >> 8;
        weights[j] = shift >= EXP2_MAX_SHIFT ? 0 : (uint32_t)exp2[d & 255] >> shift;
        sum += weights[j];
      }
      for (uint32_t i = 0; i < hd; i++) acc[i] = 0;
      for (uint32_t j = 0; j <= last; j++) {
        const int8_t *vj = vd + j * wk + ko;
        const uint32_t e = weights[j];
        if (e == 0) continue;
        for (uint32_t i = 0; i < hd; i++) acc[i] += (int32_t)(e * (uint32_t)(vj[i] - zv));
      }
      /* One 64-bit division per head; then |acc| * norm <= 255 * 2^44 < 2^52 per element. */
      const uint64_t norm = udiv64((uint64_t)1 << ATTENTION_NORM_BITS, sum);
      for (uint32_t i = 0; i < hd; i++) {
        uint64_t a = acc[i] < 0 ? (uint64_t)0 - (uint64_t)acc[i] : (uint64_t)acc[i];
        int32_t mag = (int32_t)((a * norm + ((uint64_t)1 << (AVG_SHIFT - 1))) >> AVG_SHIFT);
        o[qo + i] = (int8_t)sat8(zo + rq(acc[i] < 0 ? -mag : mag, r[2], r[3]));
      }
    }
  }
}
