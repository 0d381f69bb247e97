/**
 * The integer semantics of every kernel (docs/dnn-spec.md section 5), defined once. The guest
 * kernels mirror these functions; everything here is exact integer arithmetic carried in doubles
 * below 2^53, so it equals the C code's int32/int64 results bit for bit.
 */
import { DnnQuantizationError } from './errors';

export const INT8_MIN = -128;
export const INT8_MAX = 127;
export const RQ_SHIFT_MIN = 17;
export const RQ_SHIFT_MAX = 62;

export function sat8(v: number): number {
  return v < INT8_MIN ? INT8_MIN : v > INT8_MAX ? INT8_MAX : v;
}

export function satU8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Nearest integer to n / d (d > 0), halves away from zero. Exact for |n| < 2^51. */
export function roundDivAway(n: number, d: number): number {
  const q = Math.floor((2 * Math.abs(n) + d) / (2 * d));
  return n < 0 ? 0 - q : q; // 0 - q, not -q: never a negative zero
}

// 2^k for k in 0..62, so the hot path does no Math.pow.
const POW2: number[] = Array.from({ length: 63 }, (_, k) => 2 ** k);

/**
 * rq(acc, M, s): nearest integer to acc × M / 2^s, halves away from zero; acc int32,
 * M in [0, 2^31), s in [17, 62]. The 62-bit product is split at bit 16 so every partial
 * result stays an exact double (< 2^48): a×M + 2^(s−1) = (hi + floor(lo/2^16) + 2^(s−17))×2^16
 * + (lo mod 2^16), and the dropped low part cannot move the floor of a division by 2^(s−16).
 */
export function rq(acc: number, m: number, s: number): number {
  const a = acc < 0 ? -acc : acc;
  const hi = a * (m >>> 16);
  const lo = a * (m & 0xffff);
  const q = Math.floor((hi + Math.floor(lo / 65536) + POW2[s - 17]) / POW2[s - 16]);
  return acc < 0 ? 0 - q : q;
}

/** Largest r with r × r <= v, for 0 <= v < 2^53. */
export function isqrt(v: number): number {
  let r = Math.floor(Math.sqrt(v));
  while (r * r > v) r--;
  while ((r + 1) * (r + 1) <= v) r++;
  return r;
}

/** One (M, s) pair of an rq tensor. */
export interface Multiplier {
  m: number;
  s: number;
}

/** Encodes a real multiplier r > 0 as (M, s), r ≈ M / 2^s (docs/dnn-spec.md section 5). */
export function encodeMultiplier(r: number): Multiplier {
  if (!(r > 0) || !Number.isFinite(r)) throw new DnnQuantizationError('multiplier must be positive and finite', r);
  const e = Math.floor(Math.log2(r));
  let s = 30 - e;
  let m = Math.round(r * 2 ** s);
  // log2 can be off by one ulp near powers of two; renormalise into [2^30, 2^31].
  while (m < 2 ** 30) {
    s += 1;
    m = Math.round(r * 2 ** s);
  }
  while (m > 2 ** 31) {
    s -= 1;
    m = Math.round(r * 2 ** s);
  }
  if (m === 2 ** 31) {
    m = 2 ** 30;
    s -= 1;
  }
  if (s > RQ_SHIFT_MAX) return { m: 0, s: 31 };
  if (s < RQ_SHIFT_MIN) throw new DnnQuantizationError('multiplier too large for rq (must be < 2^14)', r);
  return { m, s };
}
