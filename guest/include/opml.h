/*
 * opml guest API: freestanding output and exit for programs run in the opml VM
 * (docs/vm-spec.md section 5: ecall 64 write, ecall 93 exit).
 *
 * The same source also compiles natively (host gcc/clang, hosted libc) so a kernel can be
 * benchmarked and cross-checked against the VM: off RISC-V, opml_write and opml_exit become
 * libc write(2) and _exit(2). Nothing else here depends on the target.
 */
#ifndef OPML_H
#define OPML_H

#include <stddef.h>
#include <stdint.h>

#if defined(__riscv)

static inline long opml_write(const void *buf, size_t len) {
  register long a0 __asm__("a0") = 1; /* fd: stdout */
  register long a1 __asm__("a1") = (long)buf;
  register long a2 __asm__("a2") = (long)len;
  register long a7 __asm__("a7") = 64;
  /* "memory": the VM/kernel reads buf, so pending stores to it must be done before the ecall. */
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

static inline __attribute__((noreturn)) void opml_exit(int code) {
  register long a0 __asm__("a0") = code;
  register long a7 __asm__("a7") = 93;
  __asm__ volatile("ecall" : : "r"(a0), "r"(a7) : "memory");
  __builtin_unreachable();
}

#else /* native build, for benchmarks and cross-checks */

#include <unistd.h>

static inline long opml_write(const void *buf, size_t len) { return (long)write(1, buf, len); }
static inline __attribute__((noreturn)) void opml_exit(int code) { _exit(code); }

#endif

/* Freestanding code may not call strlen from libc; this one is safe on both targets. */
static inline size_t opml_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline void opml_puts(const char *s) { opml_write(s, opml_strlen(s)); }

/* Fixed width (8 digits, lower case, no prefix): output stays byte-comparable across targets. */
static inline void opml_put_hex32(uint32_t v) {
  char buf[8];
  for (int i = 7; i >= 0; i--) {
    buf[i] = "0123456789abcdef"[v & 15];
    v >>= 4;
  }
  opml_write(buf, sizeof buf);
}

static inline void opml_put_hex_bytes(const uint8_t *p, size_t n) {
  char buf[64];
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    if (used == sizeof buf) {
      opml_write(buf, used);
      used = 0;
    }
    buf[used++] = "0123456789abcdef"[p[i] >> 4];
    buf[used++] = "0123456789abcdef"[p[i] & 15];
  }
  opml_write(buf, used);
}

static inline void opml_put_u32(uint32_t v) {
  char buf[10];
  int i = sizeof buf;
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  opml_write(buf + i, sizeof buf - (size_t)i);
}

static inline void opml_put_i32(int32_t v) {
  if (v < 0) {
    opml_write("-", 1);
    /* Negate in unsigned arithmetic: -INT32_MIN overflows int32_t. */
    opml_put_u32(0u - (uint32_t)v);
  } else {
    opml_put_u32((uint32_t)v);
  }
}

/* "label=0x0000abcd\n": the line format every test program prints its results in. */
static inline void opml_put_kv_hex(const char *label, uint32_t v) {
  opml_puts(label);
  opml_puts("=0x");
  opml_put_hex32(v);
  opml_puts("\n");
}

static inline void opml_put_kv_i32(const char *label, int32_t v) {
  opml_puts(label);
  opml_puts("=");
  opml_put_i32(v);
  opml_puts("\n");
}

/* Deterministic pseudo-random numbers (xorshift32): same sequence on every target. */
typedef struct {
  uint32_t s;
} opml_rng;

static inline uint32_t opml_rng_next(opml_rng *r) {
  uint32_t x = r->s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  r->s = x;
  return x;
}

#endif
