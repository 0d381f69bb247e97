/** Moving between real values and a model's int8 input/output codes (outside the committed computation). */
import { DnnInputError } from './errors';
import type { DnnModel } from './model';
import { dequantizeValues, quantizeValues } from './quantize';
import { allocTensor, elementCount, type Tensor } from './tensor';

export function quantizeInput(model: DnnModel, values: ArrayLike<number>): Tensor {
  const spec = model.tensorSpecs.get(model.spec.input)!;
  if (values.length !== elementCount(spec.shape)) throw new DnnInputError('input element count mismatch', spec.shape, values.length);
  const t = allocTensor(spec.dtype, [...spec.shape]);
  if (spec.dtype === 'int32') t.data.set(Array.from(values, Math.trunc));
  else t.data.set(quantizeValues(values, spec));
  return t;
}

export function dequantizeOutput(model: DnnModel, output: Tensor): Float32Array {
  return dequantizeValues(output.data, model.tensorSpecs.get(model.spec.output)!);
}

export function argmaxRows(t: Tensor): number[] {
  const n = t.shape[t.shape.length - 1];
  const out: number[] = [];
  for (let r = 0; r < t.data.length; r += n) {
    let best = 0;
    for (let i = 1; i < n; i++) if (t.data[r + i] > t.data[r + best]) best = i;
    out.push(best);
  }
  return out;
}
