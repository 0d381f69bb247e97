/** Add, Mul (NumPy broadcasting), Relu and Lut (docs/dnn-spec.md section 6). */
import { rq, sat8 } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import { lowerClamp } from './gemm';
import type { KernelArgs } from './types';

/** Strides of `shape` read as the right-aligned 4-D `outShape`, 0 along broadcast axes. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const full = [...Array(4 - shape.length).fill(1), ...shape];
  const strides = [0, 0, 0, 0];
  let s = 1;
  for (let i = 3; i >= 0; i--) {
    strides[i] = full[i] === 1 && (outShape[i] ?? 1) !== 1 ? 0 : s;
    s *= full[i];
  }
  return strides;
}

/** Calls f(out index, a index, b index) over the broadcast output. */
function forEachBroadcast(a: Tensor, b: Tensor, outShape: readonly number[], f: (o: number, ia: number, ib: number) => void): void {
  const o4 = [...Array(4 - outShape.length).fill(1), ...outShape];
  const sa = broadcastStrides(a.shape, o4);
  const sb = broadcastStrides(b.shape, o4);
  let o = 0;
  for (let i0 = 0; i0 < o4[0]; i0++)
    for (let i1 = 0; i1 < o4[1]; i1++)
      for (let i2 = 0; i2 < o4[2]; i2++) {
        let ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2];
        let ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2];
        for (let i3 = 0; i3 < o4[3]; i3++, ia += sa[3], ib += sb[3]) f(o++, ia, ib);
      }
}

const ADD_LEFT_SHIFT = 2 ** 20;

export function add({ inputs: [a, b, r], zeroPoints: [za, zb], outZp, outShape, attrs }: KernelArgs): Tensor {
  const out = allocTensor('int8', outShape);
  const od = out.data;
  const q = r.data;
  const lo = lowerClamp(attrs.relu, outZp);
  forEachBroadcast(a, b, outShape, (o, ia, ib) => {
    const ta = rq((a.data[ia] - za) * ADD_LEFT_SHIFT, q[0], q[1]);
    const tb = rq((b.data[ib] - zb) * ADD_LEFT_SHIFT, q[2], q[3]);
    const v = sat8(outZp + rq(ta + tb, q[4], q[5]));
    od[o] = v < lo ? lo : v;
  });
  return out;
}

export function mul({ inputs: [a, b, r], zeroPoints: [za, zb], outZp, outShape }: KernelArgs): Tensor {
  const out = allocTensor('int8', outShape);
  const od = out.data;
  const m = r.data[0];
  const s = r.data[1];
  forEachBroadcast(a, b, outShape, (o, ia, ib) => {
    od[o] = sat8(outZp + rq((a.data[ia] - za) * (b.data[ib] - zb), m, s));
  });
  return out;
}

export function relu({ inputs: [x], zeroPoints: [zx], outShape }: KernelArgs): Tensor {
  const out = allocTensor('int8', outShape);
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = xd[i] < zx ? zx : xd[i];
  return out;
}

export function lut({ inputs: [x, table], outShape }: KernelArgs): Tensor {
  const out = allocTensor('int8', outShape);
  const xd = x.data;
  const td = table.data;
  const od = out.data;
  for (let i = 0; i < xd.length; i++) od[i] = td[xd[i] + 128];
  return out;
}
