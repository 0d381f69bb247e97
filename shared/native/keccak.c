/*
 * The pair kernels of keccak.h: the permutation of keccakf1600.h over two lane types. The AVX2
 * kernel exists on x86-64 only; OPML_PORTABLE_KECCAK leaves it out there too, so that a test can
 * check the kernel other CPUs run on this one.
 */
#include "keccak.h"

#include <string.h>

#if defined(__x86_64__) && !defined(OPML_PORTABLE_KECCAK)
#define AVX2_KERNEL 1
#endif

#define KECCAK_LANE uint64_t
#define KECCAK_PERMUTE(args) static void keccakf1600(args)
#include "keccakf1600.h"
#undef KECCAK_LANE
#undef KECCAK_PERMUTE

/* Lane 8 takes the 0x01 after the 64-byte message, lane 16 the 0x80 ending the 136-byte rate. */
#define PAD_FIRST_LANE 8
#define PAD_LAST_LANE 16

/* Little-endian lanes by memcpy: inputs need no alignment, and the compiler emits plain loads. */
static uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

void keccak_pair(const uint8_t *pair, uint8_t *out) {
  uint64_t a[25] = {0};
  for (int i = 0; i < 8; i++) a[i] = load64(pair + 8 * i);
  a[PAD_FIRST_LANE] = 1;
  a[PAD_LAST_LANE] = 1ULL << 63;
  keccakf1600(a);
  memcpy(out, a, NODE_BYTES);
}

#ifdef AVX2_KERNEL
/* Four states side by side: lane i of state k is a[i][k]. */
typedef uint64_t lane4 __attribute__((vector_size(32)));

#define KECCAK_LANE lane4
#define KECCAK_PERMUTE(args) __attribute__((target("avx2"))) static void keccakf1600x4(args)
#include "keccakf1600.h"
#undef KECCAK_LANE
#undef KECCAK_PERMUTE

__attribute__((target("avx2"))) static void keccak_pair4_avx2(const uint8_t *const pairs[4], uint8_t *const out[4]) {
  lane4 a[25] = {0};
  for (int i = 0; i < 8; i++) {
    a[i] = (lane4){load64(pairs[0] + 8 * i), load64(pairs[1] + 8 * i), load64(pairs[2] + 8 * i), load64(pairs[3] + 8 * i)};
  }
  a[PAD_FIRST_LANE] = (lane4){1, 1, 1, 1};
  a[PAD_LAST_LANE] = (lane4){1ULL << 63, 1ULL << 63, 1ULL << 63, 1ULL << 63};
  keccakf1600x4(a);
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 4; i++) memcpy(out[k] + 8 * i, (const uint64_t *)&a[i] + k, 8);
  }
}

static bool has_avx2;

__attribute__((constructor)) static void detect_cpu(void) {
  __builtin_cpu_init();
  has_avx2 = __builtin_cpu_supports("avx2");
}

bool keccak_has_avx2(void) { return has_avx2; }
#else
bool keccak_has_avx2(void) { return false; }
#endif

void keccak_pair4(const uint8_t *const pairs[4], uint8_t *const out[4]) {
#ifdef AVX2_KERNEL
  if (has_avx2) {
    keccak_pair4_avx2(pairs, out);
    return;
  }
#endif
  /* Hash into a buffer first: an output may overlap a later input. */
  uint8_t nodes[4][NODE_BYTES];
  for (int k = 0; k < 4; k++) keccak_pair(pairs[k], nodes[k]);
  for (int k = 0; k < 4; k++) memcpy(out[k], nodes[k], NODE_BYTES);
}
