/** MaxPool and AvgPool over NCHW windows (docs/dnn-spec.md section 6). */
import { roundDivAway } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import type { KernelArgs } from './types';

type Reduce = (x: ArrayLike<number>, plane: number, w: number, y0: number, y1: number, x0: number, x1: number, windowArea: number) => number;

function pool({ inputs: [x], outShape, attrs }: KernelArgs, reduce: Reduce): Tensor {
  const [b, c, h, w] = x.shape;
  const [, , oh, ow] = outShape;
  const out = allocTensor('int8', outShape);
  const od = out.data;
  const { kernelH, kernelW, strideH, strideW, padTop, padLeft } = attrs;
  const area = kernelH * kernelW;
  let o = 0;
  for (let p = 0; p < b * c; p++) {
    const plane = p * h * w;
    for (let oy = 0; oy < oh; oy++) {
      const ys = oy * strideH - padTop;
      const y0 = Math.max(0, ys);
      const y1 = Math.min(h, ys + kernelH);
      for (let ox = 0; ox < ow; ox++) {
        const xs = ox * strideW - padLeft;
        od[o++] = reduce(x.data, plane, w, y0, y1, Math.max(0, xs), Math.min(w, xs + kernelW), area);
      }
    }
  }
  return out;
}

export function maxPool(args: KernelArgs): Tensor {
  return pool(args, (x, plane, w, y0, y1, x0, x1) => {
    let m = -128;
    for (let y = y0; y < y1; y++) for (let i = x0; i < x1; i++) if (x[plane + y * w + i] > m) m = x[plane + y * w + i];
    return m;
  });
}

export function avgPool(args: KernelArgs): Tensor {
  const zx = args.zeroPoints[0];
  const includePad = args.attrs.countIncludePad === 1;
  return pool(args, (x, plane, w, y0, y1, x0, x1, area) => {
    let s = 0;
    for (let y = y0; y < y1; y++) for (let i = x0; i < x1; i++) s += x[plane + y * w + i] - zx;
    return zx + roundDivAway(s, includePad ? area : (y1 - y0) * (x1 - x0));
  });
}
