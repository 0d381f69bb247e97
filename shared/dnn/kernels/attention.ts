/**
 * The decoder operators of a LLaMA block (docs/dnn-spec.md section 6): rotary embeddings, the KV
 * cache write and causal grouped-query attention. Positions come from an int32 tensor, not an
 * attribute, so one token's nodes are the same for every token and only the tensors differ.
 */
import { rq, sat8 } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import type { KernelArgs } from './types';

/** Fixed-point one of the Rope tables: cos and sin are stored as round(2^14 × value). */
export const ROPE_ONE = 2 ** 14;
/** exp2[f] = round(2^20 × 2^(−f/256)): the Attention table's scale. */
export const ATTENTION_EXP_ONE = 2 ** 20;
/** Fraction bits of the attention average before its rq (precision the int8 values alone lack). */
export const ATTENTION_AVG_BITS = 8;
/** The average is |acc| × floor(2^44 / sum) >> 36: one division per head, not per element. */
export const ATTENTION_NORM_BITS = 44;
/** Past this the exp2 shift empties every table entry (entries are at most 2^20). */
const EXP2_MAX_SHIFT = 21;

/** Rows of a tensor whose last axis is `w`, and the position of row r: pos + r, clamped into [0, limit). */
const rowsOf = (t: Tensor) => t.data.length / t.shape[t.shape.length - 1];
export function clampPosition(pos: number, r: number, limit: number): number {
  const p = pos + r;
  return p < 0 ? 0 : p >= limit ? limit - 1 : p;
}

/**
 * Rope: x [..., W] with W = heads × headDim, table int32 [P, headDim/2, 2] (cos, sin), pos int32 [1],
 * rq [1, 2]. Element i of each head pairs with i + headDim/2 (transformers' rotate_half).
 */
export function rope({ inputs: [x, table, pos, r], zeroPoints: [zx], outZp, outShape }: KernelArgs): Tensor {
  const w = x.shape[x.shape.length - 1];
  const [p, half] = table.shape;
  const hd = 2 * half;
  const out = allocTensor('int8', outShape);
  const m = r.data[0];
  const s = r.data[1];
  const rows = rowsOf(x);
  for (let row = 0; row < rows; row++) {
    const at = clampPosition(pos.data[0], row, p) * half * 2;
    for (let h = 0; h < w; h += hd) {
      const base = row * w + h;
      for (let i = 0; i < half; i++) {
        const c = table.data[at + 2 * i];
        const sn = table.data[at + 2 * i + 1];
        const a = x.data[base + i] - zx;
        const b = x.data[base + half + i] - zx;
        out.data[base + i] = sat8(outZp + rq(a * c - b * sn, m, s));
        out.data[base + half + i] = sat8(outZp + rq(b * c + a * sn, m, s));
      }
    }
  }
  return out;
}

/**
 * KvWrite: rows [..., W] written into a cache [P, W] at rows pos, pos + 1, …; rows that would
 * fall outside [0, P) are dropped. Without a cache operand the cache starts at its zero point.
 */
export function kvWrite({ inputs: [rows, pos, cache], outZp, outShape }: KernelArgs): Tensor {
  const out = allocTensor('int8', outShape);
  const [p, w] = outShape;
  if (cache) out.data.set(cache.data);
  else out.data.fill(outZp);
  const n = rowsOf(rows);
  for (let r = 0; r < n; r++) {
    const at = pos.data[0] + r;
    if (at >= 0 && at < p) out.data.set(rows.data.subarray(r * w, (r + 1) * w), at * w);
  }
  return out;
}

/**
 * Attention: q [..., H·Dh] (row r at position pos + r), k and v caches [P, KvH·Dh], pos, exp2
 * table int32 [256], rq [2, 2]. Query head h reads KV head floor(h / (H / KvH)) and the cache rows
 * 0 … position (exactly the causal mask). Scores are exact int32 dot products; their gaps to the
 * row maximum are requantised (row 0) into 1/256ths of a power of two, weighted by exp2 with a
 * shift; the value average keeps 8 fraction bits (64-bit sums, one reciprocal per head) before
 * its rq (row 1).
 */
export function attention({ inputs: [q, k, v, pos, exp2, r], zeroPoints: [zq, zk, zv], outZp, outShape, attrs }: KernelArgs): Tensor {
  const wq = q.shape[q.shape.length - 1];
  const [p, wk] = k.shape;
  const heads = attrs.heads;
  const hd = wq / heads;
  const group = heads / attrs.kvHeads;
  const out = allocTensor('int8', outShape);
  const [m0, s0, m1, s1] = r.data;
  const rows = rowsOf(q);
  const scores = new Float64Array(p);
  const weights = new Float64Array(p);
  for (let row = 0; row < rows; row++) {
    const last = clampPosition(pos.data[0], row, p);
    for (let h = 0; h < heads; h++) {
      const qo = row * wq + h * hd;
      const ko = Math.floor(h / group) * hd;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += (q.data[qo + i] - zq) * (k.data[j * wk + ko + i] - zk);
        scores[j] = dot;
        if (dot > max) max = dot;
      }
      let sum = 0;
      for (let j = 0; j <= last; j++) {
        const d = rq(max - scores[j], m0, s0);
        const shift = Math.floor(d / 256);
        weights[j] = shift >= EXP2_MAX_SHIFT ? 0 : Math.floor(exp2.data[d % 256] / 2 ** shift);
        sum += weights[j];
      }
      // |acc| <= 255 × sum and norm <= 2^44 / sum, so |acc| × norm < 2^52: exact in doubles.
      const norm = Math.floor(2 ** ATTENTION_NORM_BITS / sum);
      const shift = 2 ** (ATTENTION_NORM_BITS - ATTENTION_AVG_BITS);
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = 0; j <= last; j++) acc += weights[j] * (v.data[j * wk + ko + i] - zv);
        const mag = Math.floor((Math.abs(acc) * norm + shift / 2) / shift);
        out.data[qo + i] = sat8(outZp + rq(acc < 0 ? -mag : mag, m1, s1));
      }
    }
  }
  return out;
}
