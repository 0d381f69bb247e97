/**
 * Multi-node patterns that exporters write for one runtime operator: element-wise functions of
 * one activation spelled out in arithmetic (GELU as PyTorch writes it before opset 20, with Erf or
 * with the tanh approximation; SiLU; c − x) become one Lut, and LayerNorm as PyTorch writes it
 * before opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add) becomes one
 * LayerNorm (ReduceMean's axes as the attribute or, from opset 18, as an input). Matching only reads the graph; Lowering emits the runtime nodes.
 */
import type { onnx } from 'onnx-proto';
import { erf } from '../erf';
import { attrInt, attrInts, attrsOf, type ConstTensor } from './read';

/** The graph with its consumers indexed, as the matchers see it. */
export class GraphView {
  private readonly consumers = new Map<string, number[]>();
  private readonly outputs: Set<string>;

  constructor(
    readonly graph: onnx.IGraphProto,
    private readonly constants: ReadonlyMap<string, ConstTensor>,
  ) {
    graph.node!.forEach((n, i) => (n.input ?? []).forEach((x) => this.consumers.set(x, [...(this.consumers.get(x) ?? []), i])));
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  }

  node(i: number): onnx.INodeProto {
    return this.graph.node![i];
  }

  constant(name: string): ConstTensor | undefined {
    return this.constants.get(name);
  }

  consumersOf(name: string): number[] {
    return this.consumers.get(name) ?? [];
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.has(name);
  }

  /** If `name` feeds exactly one node, of type `op`, and is not a graph output: that node's index. */
  soleConsumer(name: string, op: string): number | undefined {
    const users = this.consumersOf(name);
    if (users.length !== 1 || this.isGraphOutput(name) || this.node(users[0]).opType !== op) return undefined;
    return users[0];
  }
}

function scalar(c: ConstTensor | undefined): number | undefined {
  return c && c.values.length === 1 ? c.values[0] : undefined;
}

const ARITHMETIC = new Set(['Add', 'Sub', 'Mul', 'Div']);
const TRANSCENDENTAL = new Set(['Pow', 'Erf', 'Tanh', 'Sigmoid']);
/** The ONNX operators an element-wise region may hold. */
export const ELEMENTWISE_OPS: ReadonlySet<string> = new Set([...ARITHMETIC, ...TRANSCENDENTAL]);

const APPLY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b,
  Sub: (a, b) => a - b,
  Mul: (a, b) => a * b,
  Div: (a, b) => a / b,
  Pow: (a, b) => a ** b,
  Erf: (a) => erf(a),
  Tanh: (a) => Math.tanh(a),
  Sigmoid: (a) => 1 / (1 + Math.exp(-a)),
};

export interface ElementwiseRegion {
  /** the one activation every node derives from (an ONNX name) */
  x: string;
  /** node indices, in graph order; the last one's output is the region's only outside-visible value */
  nodes: number[];
  output: string;
  /** the region as a real function of x */
  f: (x: number) => number;
}

/**
 * The element-wise function of one activation that starts at node `start`: the nodes (from
 * ELEMENTWISE_OPS) that compute from `start`'s activation input x and scalar constants only, down
 * to the single value that leaves the region. Only regions that the one-node lowerings cannot
 * express are returned (they hold Erf or Pow, Tanh/Sigmoid mixed with arithmetic, or c − x), so
 * graphs those lowerings handle keep their runtime nodes.
 */
export function elementwiseRegion(g: GraphView, start: number, isFused: (i: number) => boolean): ElementwiseRegion | undefined {
  const first = g.node(start);
  const activations = (first.input ?? []).filter((name) => scalar(g.constant(name)) === undefined);
  if (!ELEMENTWISE_OPS.has(first.opType ?? '') || activations.length === 0 || activations.some((a) => a !== activations[0])) return undefined;
  const x = activations[0];
  // Every node computable from x and scalars, in graph order.
  const computable = new Set([x]);
  const candidates: number[] = [];
  for (let i = start; i < g.graph.node!.length; i++) {
    const n = g.node(i);
    const ins = n.input ?? [];
    if (isFused(i) || !ELEMENTWISE_OPS.has(n.opType ?? '') || n.output!.length !== 1) continue;
    if (ins.some((name) => computable.has(name)) && ins.every((name) => computable.has(name) || scalar(g.constant(name)) !== undefined)) {
      candidates.push(i);
      computable.add(n.output![0]);
    }
  }
  // The nodes downstream of `start`; exactly one of them may have its value leave them.
  const downstream = new Set<string>();
  const down: number[] = [];
  for (const i of candidates) {
    if (i !== start && !(g.node(i).input ?? []).some((name) => downstream.has(name))) continue;
    down.push(i);
    downstream.add(g.node(i).output![0]);
  }
  const sinks = down.filter((i) => !g.consumersOf(g.node(i).output![0]).some((c) => down.includes(c)));
  if (sinks.length !== 1) return undefined;
  const sink = sinks[0];
  // The sink's ancestors among the candidates: the region.
  const needed = new Set([sink]);
  for (let k = candidates.length - 1; k >= 0; k--) {
    const i = candidates[k];
    if (!needed.has(i)) continue;
    for (const name of g.node(i).input ?? []) {
      const producer = candidates.find((j) => g.node(j).output![0] === name);
      if (producer !== undefined) needed.add(producer);
    }
  }
  const nodes = candidates.filter((i) => needed.has(i));
  const output = g.node(sink).output![0];
  const inside = new Set(nodes);
  for (const i of nodes) {
    const value = g.node(i).output![0];
    if (value !== output && (g.isGraphOutput(value) || g.consumersOf(value).some((c) => !inside.has(c)))) return undefined;
  }
  const ops = nodes.map((i) => g.node(i).opType!);
  // c − x needs a negative multiplier, which Add does not have: tabulated too.
  const reversedSub = nodes.some((i) => g.node(i).opType === 'Sub' && scalar(g.constant(g.node(i).input![0])) !== undefined);
  const tabulate = ops.includes('Erf') || ops.includes('Pow') || (ops.some((o) => TRANSCENDENTAL.has(o)) && ops.some((o) => ARITHMETIC.has(o))) || reversedSub;
  if (!tabulate) return undefined;
  const f = (v: number): number => {
    const env = new Map([[x, v]]);
    const value = (name: string) => env.get(name) ?? scalar(g.constant(name))!;
    for (const i of nodes) {
      const n = g.node(i);
      const [a, b] = (n.input ?? []).map(value);
      env.set(n.output![0], APPLY[n.opType!](a, b));
    }
    return env.get(output)!;
  };
  return { x, nodes, output, f };
}

export interface LayerNormPattern {
  x: string;
  nodes: number[];
  output: string;
  eps: number;
  /** undefined: no affine Mul/Add (gamma 1, beta 0) */
  gamma?: Float64Array;
  beta?: Float64Array;
  /** the reduced axes as written (the caller checks they are the last axis) */
  axes: number[];
}

/** ReduceMean's axes: the attribute (opset < 18) or the constant second input (opset 18). */
function reduceAxes(g: GraphView, n: onnx.INodeProto): number[] | undefined {
  const fromInput = n.input?.[1] ? g.constant(n.input[1]) : undefined;
  return fromInput ? Array.from(fromInput.values) : attrInts(attrsOf(n), 'axes');
}

/**
 * LayerNorm as PyTorch exports it for opset < 17, from its first ReduceMean at `start`:
 * mean = ReduceMean(x); d = Sub(x, mean); v = ReduceMean(Pow(d, 2)) (or of Mul(d, d));
 * y = Div(d, Sqrt(Add(v, eps)));
 * then optionally Mul(y, gamma) and Add(·, beta) with constant vectors.
 */
export function layerNormPattern(g: GraphView, start: number): LayerNormPattern | undefined {
  const mean = g.node(start);
  const x = mean.input![0];
  const axes = reduceAxes(g, mean);
  if (!axes || axes.length !== 1 || attrInt(attrsOf(mean), 'keepdims', 1) !== 1) return undefined;
  const next = (value: string, op: string) => {
    const i = g.soleConsumer(value, op);
    return i === undefined ? undefined : { i, n: g.node(i) };
  };
  const sub = next(mean.output![0], 'Sub');
  if (!sub || sub.n.input![0] !== x || sub.n.input![1] !== mean.output![0]) return undefined;
  const d = sub.n.output![0];
  const users = [...new Set(g.consumersOf(d))].map((i) => ({ i, n: g.node(i) }));
  const square = (n: onnx.INodeProto) =>
    n.input![0] === d && ((n.opType === 'Pow' && scalar(g.constant(n.input![1])) === 2) || (n.opType === 'Mul' && n.input![1] === d));
  const pow = users.find((u) => square(u.n));
  const div = users.find((u) => u.n.opType === 'Div' && u.n.input![0] === d);
  if (users.length !== 2 || !pow || !div || g.isGraphOutput(d)) return undefined;
  const variance = next(pow.n.output![0], 'ReduceMean');
  if (!variance || reduceAxes(g, variance.n)?.join() !== axes.join() || attrInt(attrsOf(variance.n), 'keepdims', 1) !== 1) return undefined;
  const addEps = next(variance.n.output![0], 'Add');
  const epsName = addEps?.n.input!.find((name) => name !== variance.n.output![0]);
  const eps = epsName === undefined ? undefined : scalar(g.constant(epsName));
  if (!addEps || eps === undefined) return undefined;
  const sqrt = next(addEps.n.output![0], 'Sqrt');
  if (!sqrt || next(sqrt.n.output![0], 'Div')?.i !== div.i || div.n.input![1] !== sqrt.n.output![0]) return undefined;
  const nodes = [start, sub.i, pow.i, variance.i, addEps.i, sqrt.i, div.i];
  let output = div.n.output![0];
  const affine = (op: string) => {
    const step = next(output, op);
    const other = step?.n.input!.find((name) => name !== output);
    const c = other === undefined ? undefined : g.constant(other);
    if (!step || !c) return undefined;
    nodes.push(step.i);
    output = step.n.output![0];
    return Float64Array.from(c.values);
  };
  const gamma = affine('Mul');
  const beta = gamma ? affine('Add') : undefined;
  return { x, nodes, output, eps, gamma, beta, axes };
}
