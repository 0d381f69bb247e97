/**
 * Generation's two state operators (docs/dnn-spec.md section 6, "Generation"): TokenEmbed reads
 * the token a step processes from the state, and Sample writes the next one — from the prompt
 * while there is prompt left, else chosen from the logits: greedy, or drawn with temperature,
 * top-k and top-p from the state's random stream, all in integers, so a drawn token is as
 * disputable as any other node output.
 */
import { rq } from '../intmath';
import { allocTensor, type Tensor } from '../tensor';
import type { KernelArgs } from './types';

/** The state tensor's header words (int32), then the tokens of the sequence from position 0. */
export const STATE = { position: 0, token: 1, rng: 2, promptLength: 3, totalLength: 4, temperature: 5, topK: 6, topP: 7, tokens: 8 } as const;
/** Temperature is in thousandths; top-p in 1/65536ths. */
export const TEMPERATURE_ONE = 1000;
export const TOP_P_ONE = 65536;
const EXP2_MAX_SHIFT = 21;
/** Gaps past 2^24 (1/256-octave units) weigh 0 at every temperature the state may ask for. */
const GAP_MAX = 2 ** 24;
/** Temperatures are clamped into [0.001, 100]. */
export const TEMPERATURE_MAX = 100_000;
/** xorshift32's state must not be 0; a zero seed starts here instead. */
export const RNG_ZERO_SEED = 0x9e3779b9;

export function xorshift32(x: number): number {
  let v = x >>> 0 || RNG_ZERO_SEED;
  v ^= v << 13;
  v >>>= 0;
  v ^= v >>> 17;
  v ^= v << 5;
  return v >>> 0;
}

export function tokenEmbed({ inputs: [table, state], outShape }: KernelArgs): Tensor {
  const [v, d] = table.shape;
  const out = allocTensor('int8', outShape);
  const t = state.data[STATE.token];
  const row = t < 0 ? 0 : t >= v ? v - 1 : t;
  out.data.set(table.data.subarray(row * d, (row + 1) * d));
  return out;
}

/** The index of the largest logit, the lowest index on ties. */
function argmax(l: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
  return best;
}

/** The largest threshold θ in [0, 2^20] with enough of `e` at or above it, by binary search over θ. */
function threshold(e: Float64Array, enough: (count: number, mass: number) => boolean): number {
  let lo = 0;
  let hi = 2 ** 20;
  while (lo < hi) {
    const mid = Math.floor((lo + hi + 1) / 2);
    let count = 0;
    let mass = 0;
    for (let i = 0; i < e.length; i++)
      if (e[i] >= mid) {
        count++;
        mass += e[i];
      }
    if (enough(count, mass)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The token drawn from logits with the state's sampling words: with g_i = min(rq(min(max − l_i,
 * 2^31 − 1), M, s), 2^24) (1/256ths of an octave at temperature 1) and inv = floor(2^16 × 1000 /
 * clamp(temperature, 1, 100000)) (one division per draw), d_i = floor(g_i × inv / 2^16); weights
 * e_i are exp2 table entries of d_i, kept above the top-k and top-p thresholds, and the token is
 * the first index whose running weight exceeds r = (two xorshift32 words as 64 bits) mod (kept weight).
 */
function draw(l: ArrayLike<number>, s: ArrayLike<number>, exp2: ArrayLike<number>, m: number, sh: number, rng: number): { token: number; rng: number } {
  const temperature = Math.min(s[STATE.temperature], TEMPERATURE_MAX);
  const inv = Math.floor((2 ** 16 * TEMPERATURE_ONE) / temperature);
  let max = l[0];
  for (let i = 1; i < l.length; i++) if (l[i] > max) max = l[i];
  const e = new Float64Array(l.length);
  for (let i = 0; i < l.length; i++) {
    const g = Math.min(rq(Math.min(max - l[i], 2 ** 31 - 1), m, sh), GAP_MAX);
    const d = Math.floor((g * inv) / 2 ** 16);
    const shift = Math.floor(d / 256);
    e[i] = shift >= EXP2_MAX_SHIFT ? 0 : Math.floor(exp2[d % 256] / 2 ** shift);
  }
  let total = 0;
  for (const v of e) total += v;
  let theta = 0;
  const k = s[STATE.topK];
  if (k >= 1 && k < l.length) theta = threshold(e, (count) => count >= k);
  const p = s[STATE.topP];
  if (p >= 1 && p < TOP_P_ONE) theta = Math.max(theta, threshold(e, (_count, mass) => mass * TOP_P_ONE >= p * total));
  let kept = 0;
  for (const v of e) if (v >= theta) kept += v;
  const hi = xorshift32(rng);
  const lo = xorshift32(hi);
  const r = Number(((BigInt(hi) << 32n) | BigInt(lo)) % BigInt(kept));
  let run = 0;
  for (let i = 0; i < e.length; i++) {
    if (e[i] < theta) continue;
    run += e[i];
    if (run > r) return { token: i, rng: lo };
  }
  return { token: argmax(l), rng: lo }; // not reached: run ends at kept > r
}

export function sample({ inputs: [logits, state, exp2, r] }: KernelArgs): Tensor {
  const s = state.data;
  const out = allocTensor('int32', [...state.shape]);
  out.data.set(s);
  const capacity = s.length - STATE.tokens;
  const total = Math.min(s[STATE.totalLength], capacity);
  const next = s[STATE.position] + 1;
  if (next < 1 || next >= total) return out; // nothing left to produce: the state stays as it is
  let token: number;
  let rng = s[STATE.rng] >>> 0;
  if (next < s[STATE.promptLength]) token = s[STATE.tokens + next];
  else if (s[STATE.temperature] <= 0) token = argmax(logits.data);
  else ({ token, rng } = draw(logits.data, s, exp2.data, r.data[0], r.data[1], rng));
  out.data[STATE.position] = next;
  out.data[STATE.token] = token;
  out.data[STATE.rng] = rng | 0;
  out.data[STATE.tokens + next] = token;
  return out;
}
