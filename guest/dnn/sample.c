/*
 * TokenEmbed and Sample, generation's state operators (docs/dnn-spec.md section 6;
 * shared/dnn/kernels/sample.ts). main.c has checked the shapes, the exp2 table and that the
 * sampling rq row's multiplier is below 1 (s >= 31), so every rq result is a non-negative int32.
 */
#include "intmath.h"
#include "node.h"

enum { POSITION = 0, TOKEN = 1, RNG = 2, PROMPT_LENGTH = 3, TOTAL_LENGTH = 4, TEMPERATURE = 5, TOP_K = 6, TOP_P = 7, TOKENS = 8 };
#define TEMPERATURE_ONE 1000
#define TOP_P_ONE 65536
#define EXP2_MAX_SHIFT 21
#define GAP_MAX (1u << 24)
#define TEMPERATURE_MAX 100000u
#define RNG_ZERO_SEED 0x9e3779b9u
#define MAX_VOCAB 131072

static uint32_t xorshift32(uint32_t v) {
  if (v == 0) v = RNG_ZERO_SEED;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  return v;
}

void tokenEmbed(const node *n) {
  const tensor_desc *table = in(n, 0);
  const int32_t v = table->dims[0], d = table->dims[1], t = i32(in(n, 1))[TOKEN];
  const int32_t row = t < 0 ? 0 : t >= v ? v - 1 : t;
  const int8_t *src = i8(table) + (uint32_t)row * (uint32_t)d;
  int8_t *o = out8(n);
  for (int32_t i = 0; i < d; i++) o[i] = src[i];
}

static uint32_t argmax(const int32_t *l, uint32_t v) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < v; i++)
    if (l[i] > l[best]) best = i;
  return best;
}

/* The largest theta in [0, 2^20] whose kept set is enough: count >= k (topK) or mass * 2^16 >= p * total (topP). */
static uint32_t threshold(const uint32_t *e, uint32_t v, int byCount, uint64_t want) {
  uint32_t lo = 0, hi = 1u << 20;
  while (lo < hi) {
    uint32_t mid = (lo + hi + 1) / 2;
    uint64_t count = 0, mass = 0;
    for (uint32_t i = 0; i < v; i++)
      if (e[i] >= mid) {
        count++;
        mass += e[i];
      }
    if ((byCount ? count : mass * TOP_P_ONE) >= want) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

static uint32_t draw(const int32_t *l, uint32_t v, const int32_t *s, const int32_t *exp2, int32_t m, int32_t sh, uint32_t *rng) {
  uint32_t e[MAX_VOCAB]; /* 512 KiB of the 1 MiB stack: the one large scratch of any kernel */
  const uint32_t temperature = (uint32_t)s[TEMPERATURE] < TEMPERATURE_MAX ? (uint32_t)s[TEMPERATURE] : TEMPERATURE_MAX; /* > 0 here */
  const uint32_t inv = ((uint32_t)1 << 16) * TEMPERATURE_ONE / temperature; /* < 2^26: one divu */
  int32_t max = l[0];
  for (uint32_t i = 1; i < v; i++)
    if (l[i] > max) max = l[i];
  uint64_t total = 0;
  for (uint32_t i = 0; i < v; i++) {
    uint32_t gap = (uint32_t)max - (uint32_t)l[i];
    if (gap > 0x7fffffffu) gap = 0x7fffffffu;
    uint32_t g = (uint32_t)rq((int32_t)gap, m, sh);
    if (g > GAP_MAX) g = GAP_MAX;
    uint64_t d = ((uint64_t)g * inv) >> 16;
    uint64_t shift = d >> 8;
    e[i] = shift >= EXP2_MAX_SHIFT ? 0 : (uint32_t)exp2[d & 255] >> shift;
    total += e[i];
  }
  uint32_t theta = 0;
  const int32_t k = s[TOP_K], p = s[TOP_P];
  if (k >= 1 && (uint32_t)k < v) theta = threshold(e, v, 1, (uint64_t)k);
  if (p >= 1 && p < TOP_P_ONE) {
    uint32_t t = threshold(e, v, 0, (uint64_t)p * total);
    if (t > theta) theta = t;
  }
  uint64_t kept = 0;
  for (uint32_t i = 0; i < v; i++)
    if (e[i] >= theta) kept += e[i];
  const uint32_t hi = xorshift32(*rng), lo = xorshift32(hi);
  const uint64_t x = ((uint64_t)hi << 32) | lo;
  const uint64_t r = x - udiv64(x, kept) * kept;
  *rng = lo;
  uint64_t run = 0;
  for (uint32_t i = 0; i < v; i++) {
    if (e[i] < theta) continue;
    run += e[i];
    if (run > r) return i;
  }
  return argmax(l, v);
}

void sample(const node *n) {
  const tensor_desc *logits = in(n, 0), *state = in(n, 1);
  const uint32_t v = elementCount(logits), len = elementCount(state), capacity = len - TOKENS;
  const int32_t *l = i32(logits), *s = i32(state), *r = i32(in(n, 3));
  int32_t *o = (int32_t *)(uintptr_t)n->p->output.address;
  for (uint32_t i = 0; i < len; i++) o[i] = s[i];
  const int64_t total = s[TOTAL_LENGTH] < (int64_t)capacity ? s[TOTAL_LENGTH] : (int64_t)capacity;
  const int64_t next = (int64_t)s[POSITION] + 1;
  if (next < 1 || next >= total) return;
  uint32_t rng = (uint32_t)s[RNG], token;
  if (next < s[PROMPT_LENGTH]) token = (uint32_t)s[TOKENS + next];
  else if (s[TEMPERATURE] <= 0) token = argmax(l, v);
  else token = draw(l, v, s, i32(in(n, 2)), r[0], r[1], &rng);
  o[POSITION] = (int32_t)next;
  o[TOKEN] = (int32_t)token;
  o[RNG] = (int32_t)rng;
  o[TOKENS + next] = (int32_t)token;
}
