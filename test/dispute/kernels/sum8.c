/*
 * A small real kernel for dispute tests: reads a node-parameter block (docs/dnn-spec.md section 8)
 * and writes out[i] = saturate_int8(sum over inputs k of in_k[i]). It exercises every part of the
 * phase link (parameter block, input regions from slots and weights, output region) with a run
 * short enough for many games per test.
 */
#include <stdint.h>

#define NODE_PARAMS_ADDR 0x10000000u
#define SUM8_OP 900
#define MAX_INPUTS 8

int main(void) {
  const int32_t *params = (const int32_t *)NODE_PARAMS_ADDR;
  int32_t inputs = params[1];
  if (params[0] != SUM8_OP || inputs < 1 || inputs > MAX_INPUTS) return 1;
  const int32_t *out = params + 4;
  int8_t *dst = (int8_t *)(uintptr_t)out[0];
  int32_t count = out[4] * out[5] * out[6] * out[7];
  for (int32_t i = 0; i < count; i++) {
    int32_t sum = 0;
    for (int32_t k = 0; k < inputs; k++) {
      const int32_t *d = params + 12 + 8 * k;
      sum += ((const int8_t *)(uintptr_t)d[0])[i];
    }
    dst[i] = (int8_t)(sum > 127 ? 127 : sum < -128 ? -128 : sum);
  }
  return 0;
}
