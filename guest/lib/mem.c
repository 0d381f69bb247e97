/*
 * The four functions clang may call on its own even with -ffreestanding -fno-builtin (struct
 * copies, zero-initialised locals, loop idioms): the C standard requires a freestanding
 * environment to provide them. Linked into every guest program, never into native builds.
 *
 * Byte loops on purpose: the compiler must not turn them back into calls to themselves, which
 * -fno-builtin (set by the build) guarantees, and simplicity beats speed for copies this rare.
 */
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  while (n--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d < s) {
    while (n--) *d++ = *s++;
  } else {
    while (n--) d[n] = s[n];
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
