/**
 * The constants the LLaMA operators read (docs/dnn-spec.md section 6), computed once at import
 * from real numbers and stored in the package: RoPE's fixed-point cos/sin, Attention's exp2
 * fractions, and the rq rows that carry each operator's scales. Nothing at run time touches a float.
 */
import { encodeMultiplier } from '../dnn/intmath';
import { ATTENTION_AVG_BITS, ATTENTION_EXP_ONE, ROPE_ONE } from '../dnn/kernels/attention';
import { allocTensor, type Tensor } from '../dnn/tensor';

/** int32 [positions, headDim/2, 2]: round(2^14 cos(p θ_i)), round(2^14 sin(p θ_i)). */
export function ropeTable(invFreq: Float64Array, positions: number): Tensor {
  const half = invFreq.length;
  const t = allocTensor('int32', [positions, half, 2]);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * invFreq[i];
      t.data[(p * half + i) * 2] = Math.round(ROPE_ONE * Math.cos(angle));
      t.data[(p * half + i) * 2 + 1] = Math.round(ROPE_ONE * Math.sin(angle));
    }
  }
  return t;
}

/** int32 [1, 2]: Rope's output scale from its input's (same scale: a multiplier of 2^-14). */
export function ropeRq(inScale: number, outScale: number): Tensor {
  const m = encodeMultiplier(inScale / (ROPE_ONE * outScale));
  const t = allocTensor('int32', [1, 2]);
  t.data.set([m.m, m.s]);
  return t;
}

/** int32 [256]: exp2[f] = round(2^20 × 2^(−f/256)). */
export function exp2Table(): Tensor {
  const t = allocTensor('int32', [256]);
  for (let f = 0; f < 256; f++) t.data[f] = Math.round(ATTENTION_EXP_ONE * 2 ** (-f / 256));
  return t;
}

/**
 * int32 [2, 2]: row 0 turns a score gap into 1/256ths of a power of two
 * (q_scale × k_scale / sqrt(headDim) × log2 e × 256); row 1 the 8-fraction-bit average into the output scale.
 */
export function attentionRq(qScale: number, kScale: number, vScale: number, outScale: number, headDim: number): Tensor {
  const gap = encodeMultiplier(((qScale * kScale) / Math.sqrt(headDim)) * Math.LOG2E * 256);
  const out = encodeMultiplier(vScale / (2 ** ATTENTION_AVG_BITS * outScale));
  const t = allocTensor('int32', [2, 2]);
  t.data.set([gap.m, gap.s, out.m, out.s]);
  return t;
}
