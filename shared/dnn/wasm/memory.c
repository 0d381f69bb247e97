/*
 * memcpy and memset for the kernels (layout.c declares memcpy itself, as in the guest image, where
 * guest/lib/mem.c supplies it). Built with -mbulk-memory, the builtins below lower to the
 * memory.copy and memory.fill instructions, not to calls back into these functions.
 */
#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n) {
  __builtin_memcpy(dst, src, n);
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  __builtin_memset(dst, c, n);
  return dst;
}
