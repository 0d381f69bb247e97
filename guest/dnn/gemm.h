/*
 * The one integer GEMM behind Dense and MatMul (shared/dnn/kernels/gemm.ts):
 * out[r][c] = max(lo, sat8(zo + rq(sum_k (a[r][k] - za) * (w[c][k] - zw) + bias[c], M, s))).
 */
#ifndef DNN_GEMM_H
#define DNN_GEMM_H

#include <stdint.h>

typedef struct {
  const int8_t *a; /* rows x k, row-major */
  int32_t za;
  uint32_t rows, k;
  const int8_t *w; /* element (c, i) at w[c * wStrideC + i * wStrideK] */
  int32_t zw;
  uint32_t n, wStrideC, wStrideK;
  const int32_t *bias;   /* n biases, or 0 for none */
  const int32_t *rqData; /* (M, s) rows */
  int perChannel;        /* 1: row c of rqData for channel c; 0: row 0 for all */
  int8_t *out;           /* out[r * n + c] */
  int32_t zo, lo;
} gemm_operands;

void gemmRequant(const gemm_operands *g);

static inline int32_t lowerClamp(int32_t relu, int32_t zo) { return relu ? (zo > -128 ? zo : -128) : -128; }

#endif
