/**
 * Output shape of every operator from its input shapes and attributes (docs/dnn-spec.md section 6).
 * The executor checks the spec's declared shapes against these before running anything.
 */
import { DnnShapeError } from './errors';
import type { NodeSpec } from './spec';
import { elementCount } from './tensor';

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
      if (x.length < 2 || bsh.length !== x.length || x[x.length - 1] !== bsh[bsh.length - 2]) fail('[…, M, K] × […, K, N] expected');
      for (let i = 0; i < x.length - 2; i++) if (x[i] !== bsh[i]) fail('leading dimensions must be equal');
      return [...x.slice(0, -1), bsh[bsh.length - 1]];
    }
    case 'Add':
    case 'Mul': {
      arity(3);
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
      if (d > 4096 || inputs[1][0] !== d || inputs[2][0] !== d) fail('gamma [D] and beta [D] with D <= 4096 expected');
      return [...x];
    }
    case 'Lut':
      arity(2);
      if (elementCount(inputs[1]) !== 256) fail('a 256-entry table expected');
      return [...x];
  }
}
