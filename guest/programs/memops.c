/*
 * Loads and stores of every width and signedness (LB LBU LH LHU LW SB SH SW), little-endian
 * aliasing between widths, and immediate compares and shifts (SLTI SLTIU SRAI), which the other
 * programs barely use. Every access is aligned: misaligned ones halt the opml VM by design while
 * qemu performs them, so they belong to the VM's own tests, not to this cross-check.
 */
#include "opml.h"

#define N 512

static volatile int8_t s8[N];
static volatile uint8_t u8[N];
static volatile int16_t s16[N];
static volatile uint16_t u16[N];
static volatile uint32_t words[N];

static uint32_t mix(uint32_t h, uint32_t v) { return (h ^ v) * 0x01000193u; }

int main(void) {
  opml_rng rng = {0xa5a5a5a5u};
  for (int i = 0; i < N; i++) {
    uint32_t r = opml_rng_next(&rng);
    s8[i] = (int8_t)r; /* SB; the top bit set on half of them */
    u8[i] = (uint8_t)(r >> 8);
    s16[i] = (int16_t)(r >> 3); /* SH */
    u16[i] = (uint16_t)(r >> 16);
    words[i] = r;
  }

  uint32_t widths = 0x811c9dc5u;
  int32_t signed_sum = 0;
  for (int i = 0; i < N; i++) {
    int32_t a = s8[i];   /* LB: sign-extends */
    uint32_t b = u8[i];  /* LBU */
    int32_t c = s16[i];  /* LH */
    uint32_t d = u16[i]; /* LHU */
    signed_sum += a + c;
    widths = mix(widths, (uint32_t)a);
    widths = mix(widths, b);
    widths = mix(widths, (uint32_t)c);
    widths = mix(widths, d);
  }

  /* The bytes and halves of each word, read back through narrower pointers (little-endian). */
  uint32_t aliasing = 0x811c9dc5u;
  const volatile uint8_t *bytes = (const volatile uint8_t *)words;
  const volatile int8_t *sbytes = (const volatile int8_t *)words;
  const volatile uint16_t *halves = (const volatile uint16_t *)words;
  const volatile int16_t *shalves = (const volatile int16_t *)words;
  for (int i = 0; i < 4 * N; i++) aliasing = mix(aliasing, bytes[i] + (uint32_t)sbytes[i]);
  for (int i = 0; i < 2 * N; i++) aliasing = mix(aliasing, halves[i] ^ (uint32_t)shalves[i]);
  /* Narrow stores into a word: only their bytes change. */
  volatile uint8_t *wbytes = (volatile uint8_t *)words;
  volatile uint16_t *whalves = (volatile uint16_t *)words;
  for (int i = 0; i < N; i++) {
    wbytes[4 * i + (i & 3)] = 0x80;
    whalves[2 * i + (i & 1)] ^= 0x8001;
    aliasing = mix(aliasing, words[i]);
  }

  uint32_t compares = 0;
  for (int i = 0; i < N; i++) {
    int32_t v = (int32_t)words[i];
    compares += (v < -5) + (v < 7) * 2 + ((uint32_t)v < 9u) * 4 + ((uint32_t)v < 0xfffff800u) * 8; /* SLTI/SLTIU */
    compares += (uint32_t)(v >> 7) + (uint32_t)(v >> 31); /* SRAI */
  }

  opml_put_kv_hex("widths", widths);
  opml_put_kv_i32("signed_sum", signed_sum);
  opml_put_kv_hex("aliasing", aliasing);
  opml_put_kv_hex("compares", compares);
  return (int)((widths ^ aliasing ^ compares) & 0xff);
}
