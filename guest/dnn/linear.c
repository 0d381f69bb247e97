/* Dense, Conv2d and MatMul (docs/dnn-spec.md section 6; shared/dnn/kernels/linear.ts). */
#include "gemm.h"
#include "intmath.h"
#include "node.h"

void dense(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  uint32_t k = (uint32_t)w->dims[1], ch = (uint32_t)w->dims[0];
  gemm_operands g = {
      .a = i8(x), .za = x->zeroPoint, .rows = elementCount(x) / k, .k = k,
      .w = i8(w), .zw = 0, .n = ch, .wStrideC = k, .wStrideK = 1,
      .bias = i32(in(n, 2)), .rqData = i32(in(n, 3)), .perChannel = 1,
      .out = out8(n), .zo = n->p->output.zeroPoint, .lo = lowerClamp(n->attrs[0], n->p->output.zeroPoint),
  };
  gemmRequant(&g);
}

/* First k in [0, kSize) whose tap start + k*dilation is >= 0, and one past the last that is < size. */
static void tapRange(int32_t start, int32_t dilation, int32_t kSize, int32_t size, int32_t *k0, int32_t *k1) {
  int32_t a = 0, b = kSize;
  while (a < kSize && start + a * dilation < 0) a++;
  while (b > a && start + (b - 1) * dilation >= size) b--;
  *k0 = a;
  *k1 = b;
}

/* Direct convolution: padded taps are skipped, which is adding x - zx = 0 for them. */
void conv2d(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  const int32_t *bias = i32(in(n, 2)), *rqData = i32(in(n, 3));
  const int32_t *at = n->attrs;
  const int32_t strideH = at[0], strideW = at[1], padTop = at[2], padLeft = at[3];
  const int32_t dilationH = at[6], dilationW = at[7], group = at[8];
  const int32_t batch = x->dims[0], c = x->dims[1], h = x->dims[2], wd = x->dims[3];
  const int32_t oc = w->dims[0], cg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
  const int32_t oh = n->p->output.dims[2], ow = n->p->output.dims[3];
  const int32_t ocg = oc / group, zx = x->zeroPoint, zo = n->p->output.zeroPoint;
  const int32_t lo = lowerClamp(at[9], zo);
  const int8_t *xd = i8(x), *wAll = i8(w);
  int8_t *o = out8(n);
  for (int32_t bi = 0; bi < batch; bi++) {
    for (int32_t co = 0; co < oc; co++) {
      const int32_t g = co / ocg;
      const int8_t *wc = wAll + co * cg * kh * kw;
      const int8_t *xg = xd + (bi * c + g * cg) * h * wd;
      for (int32_t oy = 0; oy < oh; oy++) {
        const int32_t iy0 = oy * strideH - padTop;
        int32_t ky0, ky1;
        tapRange(iy0, dilationH, kh, h, &ky0, &ky1);
        for (int32_t ox = 0; ox < ow; ox++) {
          const int32_t ix0 = ox * strideW - padLeft;
          int32_t kx0, kx1;
          tapRange(ix0, dilationW, kw, wd, &kx0, &kx1);
          uint32_t acc = 0;
          for (int32_t ci = 0; ci < cg; ci++) {
            const int8_t *plane = xg + ci * h * wd;
            const int8_t *wk = wc + ci * kh * kw;
            for (int32_t ky = ky0; ky < ky1; ky++) {
              const int8_t *row = plane + (iy0 + ky * dilationH) * wd + ix0;
              const int8_t *wr = wk + ky * kw;
              for (int32_t kx = kx0; kx < kx1; kx++) acc += (uint32_t)(row[kx * dilationW] - zx) * (uint32_t)wr[kx];
            }
          }
          int32_t v = sat8(zo + rq((int32_t)(acc + (uint32_t)bias[co]), rqData[2 * co], rqData[2 * co + 1]));
          *o++ = (int8_t)(v < lo ? lo : v);
        }
      }
    }
  }
}

void matMul(const node *n) {
  const tensor_desc *a = in(n, 0), *b = in(n, 1);
  uint32_t rank = a->rank;
  uint32_t m = (uint32_t)a->dims[rank - 2], k = (uint32_t)a->dims[rank - 1], cols = (uint32_t)b->dims[rank - 1];
  uint32_t batches = elementCount(a) / (m * k);
  for (uint32_t bi = 0; bi < batches; bi++) {
    gemm_operands g = {
        .a = i8(a) + bi * m * k, .za = a->zeroPoint, .rows = m, .k = k,
        .w = i8(b) + bi * k * cols, .zw = b->zeroPoint, .n = cols, .wStrideC = 1, .wStrideK = cols,
        .bias = 0, .rqData = i32(in(n, 2)), .perChannel = 0,
        .out = out8(n) + bi * m * cols, .zo = n->p->output.zeroPoint, .lo = -128,
    };
    gemmRequant(&g);
  }
}

/* DenseWide: int32 outputs rq(sum (x - zx) * w, M[c], s[c]), no bias, no saturation (linear.ts). */
void denseWide(const node *n) {
  const tensor_desc *x = in(n, 0), *w = in(n, 1);
  const uint32_t k = (uint32_t)w->dims[1], ch = (uint32_t)w->dims[0], rows = elementCount(x) / k;
  const int8_t *xd = i8(x), *wd = i8(w);
  const int32_t *r = i32(in(n, 2)), zx = x->zeroPoint;
  int32_t *o = (int32_t *)(uintptr_t)n->p->output.address;
  for (uint32_t row = 0; row < rows; row++) {
    const int8_t *xr = xd + row * k;
    for (uint32_t c = 0; c < ch; c++) {
      const int8_t *wc = wd + c * k;
      uint32_t acc = 0;
      for (uint32_t i = 0; i < k; i++) acc += (uint32_t)(xr[i] - zx) * (uint32_t)wc[i];
      o[row * ch + c] = rq((int32_t)acc, r[2 * c], r[2 * c + 1]);
    }
  }
}
