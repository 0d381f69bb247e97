/*
 * Four output channels per pass, as in gemm.ts, so each loaded `a` value feeds four
 * accumulators. Sums are uint32 so that overflow (which the importer's bounds exclude) would
 * wrap instead of being undefined behaviour.
 */
#include "gemm.h"
#include "intmath.h"

static inline void emit(const gemm_operands *g, uint32_t r, uint32_t c, uint32_t acc) {
  uint32_t ch = g->perChannel ? c : 0;
  int32_t total = (int32_t)(acc + (g->bias ? (uint32_t)g->bias[c] : 0u));
  int32_t v = sat8(g->zo + rq(total, g->rqData[2 * ch], g->rqData[2 * ch + 1]));
  g->out[r * g->n + c] = (int8_t)(v < g->lo ? g->lo : v);
}

void gemmRequant(const gemm_operands *g) {
  const uint32_t k = g->k, sc = g->wStrideC, sk = g->wStrideK;
  const int32_t za = g->za, zw = g->zw;
  for (uint32_t r = 0; r < g->rows; r++) {
    const int8_t *ar = g->a + r * k;
    uint32_t c = 0;
    for (; c + 4 <= g->n; c += 4) {
      const int8_t *w0 = g->w + c * sc;
      const int8_t *w1 = w0 + sc, *w2 = w1 + sc, *w3 = w2 + sc;
      uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (uint32_t i = 0, o = 0; i < k; i++, o += sk) {
        uint32_t av = (uint32_t)(ar[i] - za);
        s0 += av * (uint32_t)(w0[o] - zw);
        s1 += av * (uint32_t)(w1[o] - zw);
        s2 += av * (uint32_t)(w2[o] - zw);
        s3 += av * (uint32_t)(w3[o] - zw);
      }
      emit(g, r, c, s0);
      emit(g, r, c + 1, s1);
      emit(g, r, c + 2, s2);
      emit(g, r, c + 3, s3);
    }
    for (; c < g->n; c++) {
      const int8_t *wc = g->w + c * sc;
      uint32_t s = 0;
      for (uint32_t i = 0, o = 0; i < k; i++, o += sk) s += (uint32_t)(ar[i] - za) * (uint32_t)(wc[o] - zw);
      emit(g, r, c, s);
    }
  }
}
