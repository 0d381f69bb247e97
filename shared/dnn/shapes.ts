/**
 * What loadModel checks per operator (docs/dnn-spec.md section 6): the output shape from the input
 * shapes and attributes, and the value bounds that keep every intermediate of an accepted node
 * inside int32, where the native kernels (exact doubles) and the guest kernels (int32 that wraps)
 * agree.
 */
import { DnnShapeError, DnnSpecError } from './errors';
import { isqrt, rq, RQ_SHIFT_MAX, RQ_SHIFT_MIN } from './intmath';
import { INT32_MAX, type NodeSpec, type TensorSpec } from './spec';
import type { ConstantLookup } from './constants';
import { elementCount } from './tensor';
import { ATTENTION_AVG_BITS, ATTENTION_EXP_ONE, ROPE_ONE } from './kernels/attention';

export type Attrs = Record<string, number>;

/** NumPy broadcasting of two shapes (right-aligned). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | undefined {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(Math.max(da, db));
  }
  return out;
}

/** Window output size of a pooling or convolution axis. */
export function windowOut(size: number, kernel: number, stride: number, padA: number, padB: number, dilation = 1): number {
  return Math.floor((size + padA + padB - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function inferOutputShape(node: NodeSpec, nodeName: string, inputs: readonly (readonly number[])[], declared: readonly number[]): number[] {
  const fail = (msg: string): never => {
    throw new DnnShapeError(msg, nodeName, node.op, inputs);
  };
  const a = node.attrs;
  const arity = (n: number) => {
    if (inputs.length !== n) fail(`expects ${n} inputs`);
  };
  const x = inputs[0];
  const rqShape = (r: readonly number[], rows: number) => {
    if (r.length !== 2 || r[0] !== rows || r[1] !== 2) fail(`rq must be [${rows}, 2]`);
  };
  switch (node.op) {
    case 'Dense': {
      arity(4);
      const [w, b, r] = [inputs[1], inputs[2], inputs[3]];
      const n = w[0];
      if (w.length !== 2 || x[x.length - 1] !== w[1]) fail('weight must be [N, K] with K the last input dimension');
      if (b.length !== 1 || b[0] !== n || r.length !== 2 || r[0] !== n || r[1] !== 2) fail('bias [N] and rq [N, 2] expected');
      return [...x.slice(0, -1), n];
    }
    case 'Conv2d': {
      arity(4);
      const [w, b, r] = [inputs[1], inputs[2], inputs[3]];
      const g = a.group ?? 1;
      if (x.length !== 4 || w.length !== 4) fail('input and weight must be 4-D');
      if (g < 1 || x[1] % g !== 0 || w[0] % g !== 0 || w[1] !== x[1] / g) fail('channels do not match the group count');
      if (b[0] !== w[0] || r[0] !== w[0] || r[1] !== 2) fail('bias [OC] and rq [OC, 2] expected');
      const oh = windowOut(x[2], w[2], a.strideH, a.padTop, a.padBottom, a.dilationH);
      const ow = windowOut(x[3], w[3], a.strideW, a.padLeft, a.padRight, a.dilationW);
      if (!(oh >= 1 && ow >= 1)) fail('empty output');
      return [x[0], w[0], oh, ow];
    }
    case 'MatMul': {
      arity(3);
      const bsh = inputs[1];
      rqShape(inputs[2], 1);
      if (x.length < 2 || bsh.length !== x.length || x[x.length - 1] !== bsh[bsh.length - 2]) fail('[…, M, K] × […, K, N] expected');
      for (let i = 0; i < x.length - 2; i++) if (x[i] !== bsh[i]) fail('leading dimensions must be equal');
      return [...x.slice(0, -1), bsh[bsh.length - 1]];
    }
    case 'Add':
    case 'Mul': {
      arity(3);
      rqShape(inputs[2], node.op === 'Add' ? 3 : 1);
      const out = broadcastShape(x, inputs[1]);
      if (!out || out.length > 4) return fail('shapes do not broadcast');
      return out;
    }
    case 'Relu':
      arity(1);
      return [...x];
    case 'MaxPool':
    case 'AvgPool': {
      arity(1);
      if (x.length !== 4) fail('input must be 4-D');
      const oh = windowOut(x[2], a.kernelH, a.strideH, a.padTop, a.padBottom);
      const ow = windowOut(x[3], a.kernelW, a.strideW, a.padLeft, a.padRight);
      if (!(oh >= 1 && ow >= 1)) fail('empty output');
      return [x[0], x[1], oh, ow];
    }
    case 'Reshape':
      arity(1);
      if (elementCount(declared) !== elementCount(x)) fail(`cannot reshape to ${JSON.stringify(declared)}`);
      return [...declared];
    case 'Transpose': {
      arity(1);
      const perm = x.map((_, i) => a[`perm${i}`]);
      if ([...perm].sort().some((p, i) => p !== i)) fail('perm must be a permutation of the axes');
      for (let k = x.length; k < 4; k++) if (a[`perm${k}`] !== 0) fail(`perm${k} must be 0 for a rank-${x.length} input`);
      return perm.map((p) => x[p]);
    }
    case 'Gather':
      arity(2);
      if (x.length !== 2 || inputs[1].length > 3) fail('table [V, D] and indices of rank <= 3 expected');
      return [...inputs[1], x[1]];
    case 'Softmax': {
      if (inputs.length !== 2 && inputs.length !== 3) fail('expects 2 or 3 inputs');
      const d = x[x.length - 1];
      if (d > 2048 || elementCount(inputs[1]) !== 256) fail('last axis <= 2048 and a 256-entry table expected');
      const m = inputs[2];
      if (m && (x.length < 2 || m.length !== 2 || m[1] !== d || m[0] !== x[x.length - 2])) fail('mask must be [T, D] for an input [..., T, D]');
      return [...x];
    }
    case 'LayerNorm': {
      arity(4);
      const d = x[x.length - 1];
      if (d > 4096 || inputs[1].length !== 1 || inputs[1][0] !== d || inputs[2].length !== 1 || inputs[2][0] !== d) fail('gamma [D] and beta [D] with D <= 4096 expected');
      rqShape(inputs[3], 1);
      return [...x];
    }
    case 'Lut':
      arity(2);
      if (elementCount(inputs[1]) !== 256) fail('a 256-entry table expected');
      return [...x];
    case 'RmsNorm': {
      arity(3);
      const d = x[x.length - 1];
      if (d > RMSNORM_MAX_D || inputs[1].length !== 1 || inputs[1][0] !== d) fail(`gamma [D] with D <= ${RMSNORM_MAX_D} expected`);
      rqShape(inputs[2], 1);
      return [...x];
    }
    case 'Rope': {
      arity(4);
      const t = inputs[1];
      if (t.length !== 3 || t[2] !== 2) fail('table must be [P, headDim / 2, 2]');
      if (x[x.length - 1] % (2 * t[1]) !== 0) fail(`the last axis must be a whole number of heads of ${2 * t[1]}`);
      position(inputs[2]);
      rqShape(inputs[3], 1);
      return [...x];
    }
    case 'KvWrite': {
      if (inputs.length !== 2 && inputs.length !== 3) fail('expects 2 or 3 inputs');
      position(inputs[1]);
      const cache = inputs[2] ?? declared;
      if (cache.length !== 2 || cache[1] !== x[x.length - 1]) fail('the cache must be [P, W] with W the rows\' last axis');
      if (cache[0] > ATTENTION_MAX_POSITIONS) fail(`a cache holds at most ${ATTENTION_MAX_POSITIONS} positions`);
      return [...cache];
    }
    case 'Attention': {
      arity(6);
      const [k, v, pos, table, r] = inputs.slice(1);
      const heads = a.heads;
      const kvHeads = a.kvHeads;
      const wq = x[x.length - 1];
      if (wq % heads !== 0 || heads % kvHeads !== 0) fail('heads must divide the query width, and kvHeads must divide heads');
      if (k.length !== 2 || k.join(',') !== v.join(',') || k[1] !== kvHeads * (wq / heads)) fail('k and v caches must both be [P, kvHeads × headDim]');
      if (k[0] > ATTENTION_MAX_POSITIONS) fail(`a cache holds at most ${ATTENTION_MAX_POSITIONS} positions`);
      if (wq / heads > ATTENTION_MAX_HEAD_DIM) fail(`headDim must be <= ${ATTENTION_MAX_HEAD_DIM}`);
      position(pos);
      if (elementCount(table) !== 256) fail('a 256-entry exp2 table expected');
      rqShape(r, 2);
      return [...x];
    }
    case 'DenseWide': {
      arity(3);
      const [w, r] = [inputs[1], inputs[2]];
      if (w.length !== 2 || x[x.length - 1] !== w[1]) fail('weight must be [N, K] with K the last input dimension');
      rqShape(r, w[0]);
      return [...x.slice(0, -1), w[0]];
    }
    case 'Sample': {
      arity(4);
      const [state, table, r] = inputs.slice(1);
      if (x.length > 2 || (x.length === 2 && x[0] !== 1) || x[x.length - 1] > MAX_VOCAB_LOGITS) fail(`logits must be [V] or [1, V] with V <= ${MAX_VOCAB_LOGITS}`);
      if (state.length !== 1 || state[0] < STATE_MIN_LENGTH) fail(`the state must be an int32 vector of at least ${STATE_MIN_LENGTH} words`);
      if (elementCount(table) !== 256) fail('a 256-entry exp2 table expected');
      rqShape(r, 1);
      return [...state];
    }
    case 'TokenEmbed': {
      arity(2);
      const state = inputs[1];
      if (x.length !== 2 || state.length !== 1 || state[0] < 2) fail('table [V, D] and a state vector of at least 2 words expected');
      return [1, 1, x[1]];
    }
  }
}

/** The position operand of Rope, KvWrite and Attention: an int32 vector whose element 0 is the position (a generation state is one). */
function position(shape: readonly number[]): void {
  if (shape.length !== 1) throw new DnnShapeError('the position must be an int32 vector (element 0 is read)', 'pos', 'position', [shape]);
}

/** Largest |x − z| over int8 codes x. */
function span8(zeroPoint: number): number {
  return Math.max(127 - zeroPoint, zeroPoint + 128);
}

/**
 * `zo + rq(…)` must stay in int32 for every int8 zo (the guest adds in int32, then saturates),
 * and so must Add's `ta + tb`.
 */
export const RQ_RESULT_MAX = INT32_MAX - 128;
export const ADD_LEFT_SHIFT = 2 ** 20;
export const SOFTMAX_EXP_ONE = 2 ** 20;
export const RMSNORM_MAX_D = 8192;
/** A cache of 2^12 rows keeps an attention row's weight sum within 2^32 (so |acc| × norm < 2^52). */
export const ATTENTION_MAX_POSITIONS = 4096;
export const ATTENTION_MAX_HEAD_DIM = 512;
export const MAX_VOCAB_LOGITS = 131072;
/** The state's 8 header words and at least one token. */
export const STATE_MIN_LENGTH = 9;

/**
 * The value bounds of docs/dnn-spec.md section 6 ("Value bounds"), from the constants and the
 * operands' zero points: rq rows in range, Softmax tables in range, pooling windows that always
 * hold an element, and for every accumulator and rq result a worst case (over all int8 inputs)
 * inside int32. rq is monotone in |acc|, so rq(worst |acc|) bounds every result.
 */
export function checkValueBounds(node: NodeSpec, where: string, specs: ReadonlyMap<string, TensorSpec>, constants: ConstantLookup): void {
  const fail = (msg: string, field: string, value: number, limit: string): never => {
    throw new DnnSpecError(msg, where, { field, value, limit });
  };
  const zp = (i: number) => specs.get(node.inputs[i])!.zeroPoint;
  const data = (i: number) => constants.get(node.inputs[i])!.data;
  const a = node.attrs;
  const rows = (i: number): { m: number; s: number }[] => {
    const q = data(i);
    const out: { m: number; s: number }[] = [];
    for (let r = 0; r < q.length / 2; r++) {
      const [m, s] = [q[2 * r], q[2 * r + 1]];
      if (m < 0) fail(`rq row ${r} (${node.inputs[i]}): M = ${m} is outside [0, 2^31)`, `${node.inputs[i]}[${r}].M`, m, '[0, 2^31)');
      if (s < RQ_SHIFT_MIN || s > RQ_SHIFT_MAX) fail(`rq row ${r} (${node.inputs[i]}): s = ${s} is outside [${RQ_SHIFT_MIN}, ${RQ_SHIFT_MAX}]`, `${node.inputs[i]}[${r}].s`, s, `[${RQ_SHIFT_MIN}, ${RQ_SHIFT_MAX}]`);
      out.push({ m, s });
    }
    return out;
  };
  const accumulator = (acc: number, what: string) => {
    if (acc > INT32_MAX) fail(`${what} can reach ${acc}, outside int32 (bound 2^31 - 1)`, what, acc, '<= 2^31 - 1');
  };
  const result = (acc: number, row: { m: number; s: number }, what: string) => {
    const q = rq(acc, row.m, row.s);
    if (q > RQ_RESULT_MAX) fail(`${what}: rq(${acc}, ${row.m}, ${row.s}) can reach ${q}, above ${RQ_RESULT_MAX} (2^31 - 129, so zo + rq stays in int32)`, `${what} rq result`, q, '<= 2^31 - 129');
    return q;
  };
  /** Per output channel of a weight tensor: |Σ (x − zx) × w + bias| and its rq result inside int32. */
  const channelBounds = (w: ArrayLike<number>, bias: ArrayLike<number> | undefined, rq: { m: number; s: number }[]) => {
    const per = w.length / rq.length;
    const sx = span8(zp(0));
    for (let c = 0; c < rq.length; c++) {
      let sumAbs = 0;
      for (let k = c * per; k < (c + 1) * per; k++) sumAbs += Math.abs(w[k]);
      const b = bias ? Math.abs(bias[c]) : 0;
      const acc = sx * sumAbs + b;
      accumulator(acc, bias ? `channel ${c}: |Σ (x - zx) × w + bias| (${sx} × ${sumAbs} + |${bias[c]}|)` : `channel ${c}: |Σ (x - zx) × w| (${sx} × ${sumAbs})`);
      result(acc, rq[c], `channel ${c}`);
    }
  };
  /** Attention's and Sample's exp2 table (input `i`): entries in [0, 2^20], exp2[0] >= 1, so a weight sum is never 0. */
  const exp2Bounds = (i: number) => {
    const t = data(i);
    if (t[0] < 1) fail(`exp2 table (${node.inputs[i]}): exp2[0] = ${t[0]} must be >= 1`, `${node.inputs[i]}[0]`, t[0], '>= 1');
    t.forEach((v, k) => {
      if (v < 0 || v > ATTENTION_EXP_ONE) fail(`exp2 table (${node.inputs[i]}): exp2[${k}] = ${v} is outside [0, 2^20]`, `${node.inputs[i]}[${k}]`, v, '[0, 2^20]');
    });
  };
  switch (node.op) {
    case 'Dense':
    case 'Conv2d':
      channelBounds(data(1), data(2), rows(3));
      return;
    case 'DenseWide':
      channelBounds(data(1), undefined, rows(2));
      return;
    case 'MatMul': {
      const k = specs.get(node.inputs[0])!.shape.at(-1)!;
      const acc = k * span8(zp(0)) * span8(zp(1));
      accumulator(acc, `|Σ (a - za)(b - zb)| (K = ${k})`);
      result(acc, rows(2)[0], 'output');
      return;
    }
    case 'Add': {
      const [ra, rb, ro] = rows(2);
      const ta = result(span8(zp(0)) * ADD_LEFT_SHIFT, ra, 'ta');
      const tb = result(span8(zp(1)) * ADD_LEFT_SHIFT, rb, 'tb');
      accumulator(ta + tb, `|ta + tb| (${ta} + ${tb})`);
      result(ta + tb, ro, 'output');
      return;
    }
    case 'Mul':
      result(span8(zp(0)) * span8(zp(1)), rows(2)[0], 'output');
      return;
    case 'LayerNorm': {
      // |n| < 2^13 × sqrt(D − 1) + 1: |D×c − S1| <= sqrt((D − 1)(D×S2 − S1²)) (Cauchy–Schwarz,
      // Lagrange's identity) and sqrt(D×S2 − S1²) < 2 × sd whenever it is not 0.
      const d = specs.get(node.inputs[0])!.shape.at(-1)!;
      const nMax = isqrt(2 ** 26 * (d - 1)) + 1;
      const gamma = data(1);
      const beta = data(2);
      let acc = 0;
      for (let i = 0; i < d; i++) acc = Math.max(acc, nMax * Math.abs(gamma[i]) + Math.abs(beta[i]));
      accumulator(acc, `|n × gamma + beta| (|n| <= ${nMax})`);
      result(acc, rows(3)[0], 'output');
      return;
    }
    case 'RmsNorm': {
      // |n| <= 2^13 × sqrt(D) + 1/2: |D×c| <= sqrt(D) × sqrt(D×S2) (c² <= S2) and
      // sqrt(D×S2) < 2 × sd whenever D×S2 >= 1.
      const d = specs.get(node.inputs[0])!.shape.at(-1)!;
      const nMax = isqrt(2 ** 26 * d) + 1;
      let g = 0;
      for (const v of data(1)) g = Math.max(g, Math.abs(v));
      accumulator(nMax * g, `|n × gamma| (|n| <= ${nMax})`);
      result(nMax * g, rows(2)[0], 'output');
      return;
    }
    case 'Rope': {
      const t = data(1);
      t.forEach((v, i) => {
        if (Math.abs(v) > ROPE_ONE) fail(`rope table (${node.inputs[1]}): entry ${i} = ${v} is outside [-2^14, 2^14]`, `${node.inputs[1]}[${i}]`, v, '[-2^14, 2^14]');
      });
      result(2 * span8(zp(0)) * ROPE_ONE, rows(3)[0], 'output');
      return;
    }
    case 'Attention': {
      const hd = specs.get(node.inputs[0])!.shape.at(-1)! / a.heads;
      const gap = 2 * hd * span8(zp(0)) * span8(zp(1));
      accumulator(gap, `|max score − score| (2 × headDim ${hd} × ${span8(zp(0))} × ${span8(zp(1))})`);
      const [scores, values] = rows(5);
      result(gap, scores, 'score gap');
      exp2Bounds(4);
      result(span8(zp(2)) * 2 ** ATTENTION_AVG_BITS, values, 'output');
      return;
    }
    case 'Sample': {
      exp2Bounds(2);
      // The gap multiplier stays below 1, so a gap's rq is a non-negative int32.
      const [row] = rows(3);
      if (row.s < 31) fail(`sampling rq (${node.inputs[3]}): s = ${row.s} must be >= 31 (a multiplier below 1)`, `${node.inputs[3]}[0].s`, row.s, '>= 31');
      return;
    }
    case 'Softmax': {
      const t = data(1);
      if (t[0] < 1) fail(`exp table (${node.inputs[1]}): exp[0] = ${t[0]} must be >= 1`, `${node.inputs[1]}[0]`, t[0], '>= 1');
      t.forEach((v, i) => {
        if (v < 0 || v > SOFTMAX_EXP_ONE) fail(`exp table (${node.inputs[1]}): exp[${i}] = ${v} is outside [0, 2^20]`, `${node.inputs[1]}[${i}]`, v, '[0, 2^20]');
      });
      return;
    }
    case 'MaxPool':
    case 'AvgPool': {
      // A pad as large as the kernel allows a window with no element (ONNX forbids it too).
      for (const [p, k] of [['padTop', 'kernelH'], ['padBottom', 'kernelH'], ['padLeft', 'kernelW'], ['padRight', 'kernelW']])
        if (a[p] >= a[k]) fail(`attribute ${p} = ${a[p]} must be < ${k} = ${a[k]}`, p, a[p], `< ${k} = ${a[k]}`);
      if (node.op === 'AvgPool') accumulator(a.kernelH * a.kernelW * span8(zp(0)), `|window sum| (kernelH × kernelW × ${span8(zp(0))})`);
      return;
    }
    default:
    // Relu, Reshape, Transpose, Gather, Lut and KvWrite only move or look up int8 values.
  }
}
