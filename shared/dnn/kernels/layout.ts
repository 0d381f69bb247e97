/** Reshape, Transpose and Gather: data movement only (docs/dnn-spec.md section 6). */
import { allocTensor, type Tensor } from '../tensor';
import type { KernelArgs } from './types';

export function reshape({ inputs: [x], outShape }: KernelArgs): Tensor {
  return { dtype: x.dtype, shape: outShape, data: x.data.slice() };
}

export function transpose({ inputs: [x], outShape, attrs }: KernelArgs): Tensor {
  const rank = x.shape.length;
  const pad = 4 - rank;
  const in4 = [...Array(pad).fill(1), ...x.shape];
  const perm = [...Array(pad).keys(), ...x.shape.map((_, i) => attrs[`perm${i}`] + pad)];
  const inStrides = [in4[1] * in4[2] * in4[3], in4[2] * in4[3], in4[3], 1];
  const st = perm.map((p) => inStrides[p]);
  const o4 = perm.map((p) => in4[p]);
  const out = allocTensor(x.dtype, outShape);
  const od = out.data;
  let o = 0;
  for (let a = 0; a < o4[0]; a++)
    for (let b = 0; b < o4[1]; b++)
      for (let c = 0; c < o4[2]; c++) {
        let i = a * st[0] + b * st[1] + c * st[2];
        for (let d = 0; d < o4[3]; d++, i += st[3]) od[o++] = x.data[i];
      }
  return out;
}

export function gather({ inputs: [table, idx], outShape }: KernelArgs): Tensor {
  const [v, d] = table.shape;
  const out = allocTensor(table.dtype, outShape);
  for (let i = 0; i < idx.data.length; i++) {
    // Clamped so the operator is total; the importer's graphs never index out of range.
    const row = Math.min(v - 1, Math.max(0, idx.data[i]));
    out.data.set(table.data.subarray(row * d, (row + 1) * d), i * d);
  }
  return out;
}
