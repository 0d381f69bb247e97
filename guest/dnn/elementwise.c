/* Add, Mul (NumPy broadcasting), Relu and Lut (docs/dnn-spec.md section 6; elementwise.ts). */
#include "gemm.h"
#include "intmath.h"
#include "node.h"

#define ADD_LEFT_SHIFT (1 << 20)

/* Strides of `t` read as the right-aligned 4-D output shape, 0 along broadcast axes. */
static void broadcastStrides(const tensor_desc *t, const int32_t o4[4], int32_t strides[4]) {
  int32_t full[4];
  dims4(t, full);
  int32_t s = 1;
  for (int i = 3; i >= 0; i--) {
    strides[i] = full[i] == 1 && o4[i] != 1 ? 0 : s;
    s *= full[i];
  }
}

typedef int32_t (*pair_fn)(int32_t a, int32_t b, const int32_t *q, int32_t zo, int32_t lo);

/* out[o] = f(a[ia], b[ib]) over the broadcast output, in row-major output order. */
static void forEachBroadcast(const node *n, pair_fn f, int32_t lo) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  const int8_t *ad = i8(a), *bd = i8(b);
  const int32_t *q = i32(in(n, 2));
  const int32_t za = a->zeroPoint, zb = b->zeroPoint, zo = n->p->output.zeroPoint;
  int32_t o4[4], sa[4], sb[4];
  dims4(&n->p->output, o4);
  broadcastStrides(a, o4, sa);
  broadcastStrides(b, o4, sb);
  int8_t *out = out8(n);
  for (int32_t i0 = 0; i0 < o4[0]; i0++)
    for (int32_t i1 = 0; i1 < o4[1]; i1++)
      for (int32_t i2 = 0; i2 < o4[2]; i2++) {
        int32_t ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        int32_t ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        for (int32_t i3 = 0; i3 < o4[3]; i3++, ia += sa[3], ib += sb[3]) *out++ = (int8_t)f(ad[ia] - za, bd[ib] - zb, q, zo, lo);
      }
}

static int32_t addPair(int32_t a, int32_t b, const int32_t *q, int32_t zo, int32_t lo) {
  int32_t ta = rq(a * ADD_LEFT_SHIFT, q[0], q[1]);
  int32_t tb = rq(b * ADD_LEFT_SHIFT, q[2], q[3]);
  int32_t v = sat8(zo + rq(ta + tb, q[4], q[5]));
  return v < lo ? lo : v;
}

static int32_t mulPair(int32_t a, int32_t b, const int32_t *q, int32_t zo, int32_t lo) {
  (void)lo;
  return sat8(zo + rq(a * b, q[0], q[1]));
}

void add(const node *n) { forEachBroadcast(n, addPair, lowerClamp(n->attrs[0], n->p->output.zeroPoint)); }

void mul(const node *n) { forEachBroadcast(n, mulPair, -128); }

void relu(const node *n) {
  const tensor_desc *x = in(n, 0);
  const int8_t *xd = i8(x);
  const int32_t zx = x->zeroPoint;
  int8_t *o = out8(n);
  for (uint32_t i = 0, len = elementCount(x); i < len; i++) o[i] = (int8_t)(xd[i] < zx ? zx : xd[i]);
}

void lut(const node *n) {
  const tensor_desc *x = in(n, 0);
  const int8_t *xd = i8(x), *td = i8(in(n, 1));
  int8_t *o = out8(n);
  for (uint32_t i = 0, len = elementCount(x); i < len; i++) o[i] = td[xd[i] + 128];
}
