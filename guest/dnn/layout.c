/* Reshape, Transpose and Gather: data movement only (docs/dnn-spec.md section 6; layout.ts). */
#include <stddef.h>

#include "node.h"

/* guest/lib/mem.c (there is no libc header in a freestanding build). */
void *memcpy(void *dst, const void *src, size_t n);

void reshape(const node *n) { memcpy(out8(n), i8(in(n, 0)), elementCount(in(n, 0))); }

void transpose(const node *n) {
  const tensor_desc *x = in(n, 0);
  const uint32_t pad = 4 - x->rank;
  int32_t in4[4], perm[4], st[4], o4[4];
  dims4(x, in4);
  for (uint32_t i = 0; i < 4; i++) perm[i] = i < pad ? (int32_t)i : n->attrs[i - pad] + (int32_t)pad;
  const int32_t inStrides[4] = {in4[1] * in4[2] * in4[3], in4[2] * in4[3], in4[3], 1};
  for (int i = 0; i < 4; i++) {
    st[i] = inStrides[perm[i]];
    o4[i] = in4[perm[i]];
  }
  const int8_t *xd = i8(x);
  int8_t *o = out8(n);
  for (int32_t a = 0; a < o4[0]; a++)
    for (int32_t b = 0; b < o4[1]; b++)
      for (int32_t c = 0; c < o4[2]; c++) {
        int32_t i = a * st[0] + b * st[1] + c * st[2];
        for (int32_t d = 0; d < o4[3]; d++, i += st[3]) *o++ = xd[i];
      }
}

void gather(const node *n) {
  const tensor_desc *table = in(n, 0), *idx = in(n, 1);
  const int32_t v = table->dims[0], d = table->dims[1];
  const int32_t *id = i32(idx);
  int8_t *o = out8(n);
  for (uint32_t i = 0, len = elementCount(idx); i < len; i++) {
    /* Clamped so the operator is total; the importer's graphs never index out of range. */
    int32_t row = id[i] < 0 ? 0 : id[i] > v - 1 ? v - 1 : id[i];
    memcpy(o + i * (uint32_t)d, i8(table) + row * d, (uint32_t)d);
  }
}
