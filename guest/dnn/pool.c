/* MaxPool and AvgPool over NCHW windows (docs/dnn-spec.md section 6; pool.ts). */
#include "intmath.h"
#include "node.h"

/* Reduces the in-bounds part [y0, y1) x [x0, x1) of one window of one plane. */
typedef int32_t (*reduce_fn)(const int8_t *plane, int32_t w, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t zx, int32_t area, int32_t includePad);

static void pool(const node *n, reduce_fn reduce, int32_t includePad) {
  const tensor_desc *x = in(n, 0);
  const int32_t *at = n->attrs;
  const int32_t kernelH = at[0], kernelW = at[1], strideH = at[2], strideW = at[3], padTop = at[4], padLeft = at[5];
  const int32_t planes = x->dims[0] * x->dims[1], h = x->dims[2], w = x->dims[3];
  const int32_t oh = n->p->output.dims[2], ow = n->p->output.dims[3];
  const int32_t area = kernelH * kernelW;
  const int8_t *xd = i8(x);
  int8_t *o = out8(n);
  for (int32_t p = 0; p < planes; p++) {
    const int8_t *plane = xd + p * h * w;
    for (int32_t oy = 0; oy < oh; oy++) {
      const int32_t ys = oy * strideH - padTop;
      const int32_t y0 = ys > 0 ? ys : 0, y1 = ys + kernelH < h ? ys + kernelH : h;
      for (int32_t ox = 0; ox < ow; ox++) {
        const int32_t xs = ox * strideW - padLeft;
        const int32_t x0 = xs > 0 ? xs : 0, x1 = xs + kernelW < w ? xs + kernelW : w;
        *o++ = (int8_t)reduce(plane, w, y0, y1, x0, x1, x->zeroPoint, area, includePad);
      }
    }
  }
}

static int32_t maxWindow(const int8_t *plane, int32_t w, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t zx, int32_t area, int32_t includePad) {
  (void)zx, (void)area, (void)includePad;
  int32_t m = -128;
  for (int32_t y = y0; y < y1; y++)
    for (int32_t i = x0; i < x1; i++)
      if (plane[y * w + i] > m) m = plane[y * w + i];
  return m;
}

/* The window always holds an in-bounds element: main.c rejects padding >= the kernel. */
static int32_t avgWindow(const int8_t *plane, int32_t w, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t zx, int32_t area, int32_t includePad) {
  int32_t s = 0;
  for (int32_t y = y0; y < y1; y++)
    for (int32_t i = x0; i < x1; i++) s += plane[y * w + i] - zx;
  return zx + (int32_t)roundDivAway(s, includePad ? area : (y1 - y0) * (x1 - x0));
}

void maxPool(const node *n) { pool(n, maxWindow, 0); }

void avgPool(const node *n) { pool(n, avgWindow, n->attrs[8] == 1); }
