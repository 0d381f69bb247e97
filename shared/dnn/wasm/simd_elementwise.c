/*
 * SIMD MaxPool, Add and Mul (guest/dnn/pool.c and elementwise.c), WebAssembly build only.
 */
#include "gemm.h"
#include "simd.h"

/*
 * MaxPool with the window loop inline (the guest's goes through a reduce function pointer per
 * window) and, for 2×2 windows at stride 2 without padding, 8 outputs per i8x16 step. A maximum
 * is exact in any order, so this equals guest/dnn/pool.c.
 */
void maxPool(const node *n) {
  const tensor_desc *x = in(n, 0);
  const int32_t *at = n->attrs;
  const int32_t kernelH = at[0], kernelW = at[1], strideH = at[2], strideW = at[3], padTop = at[4], padLeft = at[5];
  const int32_t planes = x->dims[0] * x->dims[1], h = x->dims[2], w = x->dims[3];
  const int32_t oh = n->p->output.dims[2], ow = n->p->output.dims[3];
  const int pairs = kernelH == 2 && kernelW == 2 && strideH == 2 && strideW == 2 && padTop == 0 && padLeft == 0;
  const int8_t *xd = i8(x);
  int8_t *o = out8(n);
  for (int32_t p = 0; p < planes; p++) {
    const int8_t *plane = xd + p * h * w;
    for (int32_t oy = 0; oy < oh; oy++) {
      const int32_t ys = oy * strideH - padTop;
      const int32_t y0 = ys > 0 ? ys : 0, y1 = ys + kernelH < h ? ys + kernelH : h;
      int32_t ox = 0;
      if (pairs && y1 - y0 == 2) {
        const int8_t *r0 = plane + y0 * w, *r1 = r0 + w;
        /* 16 input columns -> 8 outputs, while all 16 columns lie inside the row. */
        for (; 2 * ox + 16 <= w && ox + 8 <= ow; ox += 8) {
          v128_t v = wasm_i8x16_max(wasm_v128_load(r0 + 2 * ox), wasm_v128_load(r1 + 2 * ox));
          v128_t even = wasm_i8x16_shuffle(v, v, 0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
          v128_t odd = wasm_i8x16_shuffle(v, v, 1, 3, 5, 7, 9, 11, 13, 15, 1, 3, 5, 7, 9, 11, 13, 15);
          wasm_v128_store64_lane(o + ox, wasm_i8x16_max(even, odd), 0);
        }
      }
      for (; ox < ow; ox++) {
        const int32_t xs = ox * strideW - padLeft;
        const int32_t x0 = xs > 0 ? xs : 0, x1 = xs + kernelW < w ? xs + kernelW : w;
        int32_t m = -128;
        for (int32_t y = y0; y < y1; y++)
          for (int32_t i = x0; i < x1; i++)
            if (plane[y * w + i] > m) m = plane[y * w + i];
        o[ox] = (int8_t)m;
      }
      o += ow;
    }
  }
}

void guest_add(const node *n);
void guest_mul(const node *n);

/* Elements at a time in the Add and Mul loops (one i8x16 of outputs); the rest go one by one. */
#define LANES 16

/*
 * Add without broadcasting (both operands have the output's element count, so element i of each
 * is element i of the output): rq(a·2^20, M_a, s_a) takes one of 256 values per operand, so both
 * are looked up from tables built once per call (four entries at a time, sharing their rq),
 * leaving one rq per element instead of three, sixteen elements at a time. Same integer steps
 * as guest/dnn/elementwise.c addPair, so the same bytes; broadcasting Adds run the guest kernel.
 */
void add(const node *n) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  const uint32_t count = elementCount(&n->p->output);
  if (elementCount(a) != count || elementCount(b) != count) return guest_add(n);
  const int32_t *q = i32(in(n, 2));
  const int32_t zo = n->p->output.zeroPoint, lo = lowerClamp(n->attrs[0], zo);
  int32_t ta[256] __attribute__((aligned(16))), tb[256] __attribute__((aligned(16)));
  const channel_rq qa = channelRq(q, 0, 0, 0), qb = channelRq(q + 2, 0, 0, 0), qo = channelRq(q + 4, 0, 0, 0);
  for (int32_t v = -128; v < 128; v += 4) {
    const v128_t raw = wasm_i32x4_make(v, v + 1, v + 2, v + 3);
    const v128_t da = wasm_i32x4_shl(wasm_i32x4_sub(raw, wasm_i32x4_splat(a->zeroPoint)), 20);
    const v128_t db = wasm_i32x4_shl(wasm_i32x4_sub(raw, wasm_i32x4_splat(b->zeroPoint)), 20);
    wasm_v128_store(ta + v + 128, rqShared4(da, qa.m, qa.half, qa.shift));
    wasm_v128_store(tb + v + 128, rqShared4(db, qb.m, qb.half, qb.shift));
  }
  const int8_t *ad = i8(a), *bd = i8(b);
  int8_t *o = out8(n);
  const v128_t zov = wasm_i32x4_splat(zo);
  uint32_t i = 0;
  for (; i + LANES <= count; i += LANES) {
    int32_t sum[LANES] __attribute__((aligned(16)));
    for (int j = 0; j < LANES; j++) sum[j] = ta[ad[i + j] + 128] + tb[bd[i + j] + 128];
    v128_t v[4];
    for (int j = 0; j < 4; j++) v[j] = wasm_i32x4_add(rqShared4(wasm_v128_load(sum + 4 * j), qo.m, qo.half, qo.shift), zov);
    const v128_t bytes = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v[0], v[1]), wasm_i16x8_narrow_i32x4(v[2], v[3]));
    wasm_v128_store(o + i, wasm_i8x16_max(bytes, wasm_i8x16_splat((int8_t)lo)));
  }
  for (; i < count; i++) {
    int32_t v = sat8(zo + rq(ta[ad[i] + 128] + tb[bd[i] + 128], q[4], q[5]));
    o[i] = (int8_t)(v < lo ? lo : v);
  }
}

/*
 * Mul of an operand by one of the same element count or by a single element (a scale), sixteen
 * elements at a time with one shared rq: sat8(zo + rq((a − za)(b − zb), M, s)) as mulPair. Other
 * broadcasts run the guest kernel.
 */
void mul(const node *n) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  const uint32_t count = elementCount(&n->p->output), bCount = elementCount(b);
  if (elementCount(a) != count || (bCount != count && bCount != 1)) return guest_mul(n);
  const int32_t *q = i32(in(n, 2));
  const int32_t za = a->zeroPoint, zb = b->zeroPoint, zo = n->p->output.zeroPoint;
  const channel_rq r = channelRq(q, 0, 0, 0);
  const int8_t *ad = i8(a), *bd = i8(b);
  int8_t *o = out8(n);
  const v128_t zav = wasm_i16x8_splat((int16_t)za), zbv = wasm_i16x8_splat((int16_t)zb), zov = wasm_i32x4_splat(zo);
  const v128_t scale = wasm_i16x8_splat((int16_t)(bd[0] - zb));
  uint32_t i = 0;
  for (; i + LANES <= count; i += LANES) {
    v128_t v[4];
    for (int h = 0; h < 2; h++) {
      /* (a − za) and (b − zb) lie in [-383, 383]: i16, with i32 products. */
      const v128_t x = wasm_i16x8_sub(wasm_i16x8_load8x8(ad + i + 8 * h), zav);
      const v128_t y = bCount == 1 ? scale : wasm_i16x8_sub(wasm_i16x8_load8x8(bd + i + 8 * h), zbv);
      v[2 * h] = wasm_i32x4_add(rqShared4(wasm_i32x4_extmul_low_i16x8(x, y), r.m, r.half, r.shift), zov);
      v[2 * h + 1] = wasm_i32x4_add(rqShared4(wasm_i32x4_extmul_high_i16x8(x, y), r.m, r.half, r.shift), zov);
    }
    wasm_v128_store(o + i, wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(v[0], v[1]), wasm_i16x8_narrow_i32x4(v[2], v[3])));
  }
  for (; i < count; i++) o[i] = (int8_t)sat8(zo + rq((ad[i] - za) * (bd[bCount == 1 ? 0 : i] - zb), q[0], q[1]));
}
