/** Softmax, LayerNorm and RMSNorm over the last axis (docs/dnn-spec.md section 6). */
import { isqrt, roundDivAway, rq, sat8 } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import type { KernelArgs } from './types';

export const SOFTMAX_OUT_ZP = -128;
export const SOFTMAX_OUT_SCALE = 1 / 256;
export const LAYERNORM_FRACTION_BITS = 12;

/**
 * Softmax with an optional uint8 mask [T, D] (1 keeps, 0 drops) applied to the rows of each
 * trailing [T, D] block: dropped entries take no part in max and sum and output −128 (probability
 * 0). This is how a decoder's causal attention mask runs without quantising −∞.
 */
export function softmax({ inputs: [x, expTable, mask], outShape }: KernelArgs): Tensor {
  const d = x.shape[x.shape.length - 1];
  const maskRows = mask ? mask.shape[0] : 1;
  const out = allocTensor('int8', outShape);
  const xd = x.data;
  const t = expTable.data;
  for (let r = 0, row = 0; r < xd.length; r += d, row++) {
    const keep = (i: number) => !mask || mask.data[(row % maskRows) * d + i] !== 0;
    let max = -128;
    for (let i = 0; i < d; i++) if (keep(i) && xd[r + i] > max) max = xd[r + i];
    let sum = 0;
    for (let i = 0; i < d; i++) if (keep(i)) sum += t[max - xd[r + i]];
    for (let i = 0; i < d; i++) out.data[r + i] = keep(i) ? sat8(roundDivAway(t[max - xd[r + i]] * 256, sum) + SOFTMAX_OUT_ZP) : SOFTMAX_OUT_ZP;
  }
  return out;
}

export function layerNorm({ inputs: [x, gamma, beta, r], zeroPoints: [zx], outZp, outShape, attrs }: KernelArgs): Tensor {
  const d = x.shape[x.shape.length - 1];
  const out = allocTensor('int8', outShape);
  const xd = x.data;
  const m = r.data[0];
  const s = r.data[1];
  const one = 2 ** LAYERNORM_FRACTION_BITS;
  for (let row = 0; row < xd.length; row += d) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < d; i++) {
      const c = xd[row + i] - zx;
      s1 += c;
      s2 += c * c;
    }
    const sd = Math.max(1, isqrt(d * s2 - s1 * s1 + attrs.epsTerm));
    for (let i = 0; i < d; i++) {
      const n = roundDivAway((d * (xd[row + i] - zx) - s1) * one, sd);
      out.data[row + i] = sat8(outZp + rq(n * gamma.data[i] + beta.data[i], m, s));
    }
  }
  return out;
}

/** RmsNorm's per-row factor f = floor(D × 2^28 / sd), applied with a 16-bit rounding shift. */
export const RMSNORM_ROUND_BITS = 16;

/**
 * RMSNorm (LLaMA): like LayerNorm without the mean, `n = c / rms(c) × 2^12`, the root taken over
 * D × S2 + epsTerm with the same integer square root. The division is one per row (the factor f),
 * so the guest does one 64-bit division per row, not per element; then one int8 gamma per element.
 */
export function rmsNorm({ inputs: [x, gamma, r], zeroPoints: [zx], outZp, outShape, attrs }: KernelArgs): Tensor {
  const d = x.shape[x.shape.length - 1];
  const out = allocTensor('int8', outShape);
  const xd = x.data;
  const m = r.data[0];
  const s = r.data[1];
  const round = 2 ** RMSNORM_ROUND_BITS;
  for (let row = 0; row < xd.length; row += d) {
    let s2 = 0;
    for (let i = 0; i < d; i++) {
      const c = xd[row + i] - zx;
      s2 += c * c;
    }
    const sd = Math.max(1, isqrt(d * s2 + attrs.epsTerm));
    const f = Math.floor((d * 2 ** (LAYERNORM_FRACTION_BITS + RMSNORM_ROUND_BITS)) / sd);
    for (let i = 0; i < d; i++) {
      const c = xd[row + i] - zx;
      const mag = Math.floor((Math.abs(c) * f + round / 2) / round);
      out.data[row + i] = sat8(outZp + rq((c < 0 ? -mag : mag) * gamma.data[i], m, s));
    }
  }
  return out;
}
