/**
 * Float-to-integer quantisation, used only by the importer (never while executing): activation
 * ranges to (scale, zero point), per-output-channel int8 weights, int32 biases and rq tensors.
 */
import { DnnQuantizationError } from './errors';
import { encodeMultiplier, sat8 } from './intmath';
import { allocTensor, type Tensor } from './tensor';

export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

export function roundHalfAway(x: number): number {
  return x < 0 ? 0 - Math.round(-x) : Math.round(x);
}

/** Asymmetric int8 parameters covering [min, max] and always 0 (so zero padding is exact). */
export function activationQuant(min: number, max: number): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new DnnQuantizationError('activation range must be finite', Number.isFinite(min) ? max : min);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zeroPoint: sat8(roundHalfAway(-128 - lo / scale)) };
}

export function quantizeValues(x: ArrayLike<number>, q: QuantParams): Int8Array {
  const out = new Int8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = sat8(roundHalfAway(x[i] / q.scale) + q.zeroPoint);
  return out;
}

export function dequantizeValues(x: ArrayLike<number>, q: QuantParams): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = q.scale * (x[i] - q.zeroPoint);
  return out;
}

export interface ChannelQuantized {
  tensor: Tensor;
  scales: number[];
}

/** Symmetric int8 per output channel (axis 0), values in [−127, 127]. */
export function quantizePerChannel(w: ArrayLike<number>, shape: number[]): ChannelQuantized {
  const channels = shape[0];
  const per = w.length / channels;
  const tensor = allocTensor('int8', shape);
  const scales: number[] = [];
  for (let c = 0; c < channels; c++) {
    let maxAbs = 0;
    for (let i = 0; i < per; i++) maxAbs = Math.max(maxAbs, Math.abs(w[c * per + i]));
    const s = maxAbs > 0 ? maxAbs / 127 : 1;
    scales.push(s);
    for (let i = 0; i < per; i++) tensor.data[c * per + i] = roundHalfAway(w[c * per + i] / s);
  }
  return { tensor, scales };
}

/** Symmetric int8 per tensor. */
export function quantizeSymmetric(w: ArrayLike<number>, shape: number[]): ChannelQuantized {
  const { tensor, scales } = quantizePerChannel(w, [1, ...shape]);
  return { tensor: { ...tensor, shape }, scales };
}

/** int32 values round(x / scale[c]), checked to fit. */
export function quantizeInt32(x: ArrayLike<number>, scales: readonly number[]): Tensor {
  const t = allocTensor('int32', [x.length]);
  const per = x.length / scales.length;
  for (let i = 0; i < x.length; i++) {
    const v = roundHalfAway(x[i] / scales[Math.floor(i / per)]);
    if (Math.abs(v) >= 2 ** 31) throw new DnnQuantizationError('int32 value out of range', x[i]);
    t.data[i] = v;
  }
  return t;
}

/** An rq tensor [C, 2] of (M, s) rows for real multipliers. */
export function rqTensor(multipliers: readonly number[]): Tensor {
  const t = allocTensor('int32', [multipliers.length, 2]);
  multipliers.forEach((r, c) => {
    const { m, s } = encodeMultiplier(r);
    t.data[2 * c] = m;
    t.data[2 * c + 1] = s;
  });
  return t;
}

/** Running min/max per tensor over calibration samples. */
export class RangeTracker {
  readonly ranges = new Map<string, { min: number; max: number }>();

  observe(name: string, values: ArrayLike<number>): void {
    const r = this.ranges.get(name) ?? { min: Infinity, max: -Infinity };
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v < r.min) r.min = v;
      if (v > r.max) r.max = v;
    }
    this.ranges.set(name, r);
  }

  quantFor(name: string): QuantParams {
    const r = this.ranges.get(name);
    if (!r) throw new DnnQuantizationError(`no calibration range for tensor ${name}`, NaN);
    return activationQuant(r.min, r.max);
  }
}
