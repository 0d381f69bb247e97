/*
 * Int8 matrix product C = A x B with int32 accumulation, the inner loop of every quantized DNN
 * layer and the VM's speed benchmark (bench/vm.ts). Inputs are deterministic pseudo-random int8;
 * prints a digest of C. MATMUL_N (default 256) sets the size at compile time; MATMUL_REPEAT
 * (default 1) accumulates the product that many times, so a native run lasts long enough to time.
 */
#include "opml.h"

#ifndef MATMUL_N
#define MATMUL_N 256
#endif
#ifndef MATMUL_REPEAT
#define MATMUL_REPEAT 1
#endif

static int8_t a[MATMUL_N][MATMUL_N];
static int8_t b[MATMUL_N][MATMUL_N];
static int32_t c[MATMUL_N][MATMUL_N];

/* i-k-j order: the inner loop walks rows of b and c contiguously. */
static void matmul(void) {
  for (int i = 0; i < MATMUL_N; i++) {
    for (int k = 0; k < MATMUL_N; k++) {
      int32_t aik = a[i][k];
      for (int j = 0; j < MATMUL_N; j++) c[i][j] += aik * b[k][j];
    }
  }
}

int main(void) {
  opml_rng rng = {0x6d2b79f5u};
  for (int i = 0; i < MATMUL_N; i++)
    for (int j = 0; j < MATMUL_N; j++) a[i][j] = (int8_t)opml_rng_next(&rng);
  for (int i = 0; i < MATMUL_N; i++)
    for (int j = 0; j < MATMUL_N; j++) b[i][j] = (int8_t)opml_rng_next(&rng);

  for (int r = 0; r < MATMUL_REPEAT; r++) matmul();

  uint32_t digest = 0x811c9dc5u;
  int32_t trace = 0;
  for (int i = 0; i < MATMUL_N; i++) {
    trace += c[i][i];
    for (int j = 0; j < MATMUL_N; j++) digest = (digest ^ (uint32_t)c[i][j]) * 0x01000193u;
  }
  opml_put_kv_i32("n", MATMUL_N);
  opml_put_kv_i32("repeat", MATMUL_REPEAT);
  opml_put_kv_i32("c[0][0]", c[0][0]);
  opml_put_kv_i32("c[n-1][n-1]", c[MATMUL_N - 1][MATMUL_N - 1]);
  opml_put_kv_i32("trace", trace);
  opml_put_kv_hex("matmul", digest);
  return (int)(digest & 0xff);
}
