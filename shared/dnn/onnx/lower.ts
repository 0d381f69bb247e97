/**
 * Lowering ONNX nodes to quantised runtime nodes (docs/dnn-spec.md section 6), one function per
 * ONNX operator family. Patterns exporters emit are fused here: MatMul + Add(bias) into Dense,
 * BatchNormalization into the Conv before it, a Relu into the Dense/Conv2d/Add that feeds only it
 * (its range is the one calibrated), and the multi-node patterns of ./patterns.ts.
 */
import type { onnx } from 'onnx-proto';
import { DnnQuantizationError } from '../errors';
import { gelu } from '../erf';
import { LAYERNORM_FRACTION_BITS, SOFTMAX_OUT_SCALE, SOFTMAX_OUT_ZP } from '../kernels/normalize';
import type { TensorDraft } from '../model';
import { activationQuant, quantizeInt32, quantizePerChannel, quantizeSymmetric, quantizeValues, rqTensor, type QuantParams } from '../quantize';
import type { Attrs } from '../shapes';
import type { NodeSpec, OpName } from '../spec';
import { allocTensor, elementCount } from '../tensor';
import type { Observed } from './calibrate';
import { OnnxUnsupportedOperatorError, OnnxUnsupportedShapeError } from './errors';
import { elementwiseRegion, ELEMENTWISE_OPS, GraphView, layerNormPattern, type ElementwiseRegion } from './patterns';
import { attrFloat, attrInt, attrInts, attrsOf, attrString, type AttrMap, type ConstTensor } from './read';

const ACC_LIMIT = 2 ** 31;
/** Additive mask entries at or below this are "masked out" (exporters write −∞, −1e9 or −1e4). */
const MASKED_LOGIT = -1e4;

/** The ONNX operators lowerNode handles (checked before calibration runs anything). */
export const SUPPORTED_ONNX_OPS: ReadonlySet<string> = new Set([
  'Gemm', 'MatMul', 'Conv', 'Add', 'Mul', 'Div', 'Relu', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten', 'Reshape',
  'Squeeze', 'Unsqueeze', 'Constant', 'Identity', 'Dropout', 'Transpose', 'Gather', 'Softmax', 'LayerNormalization',
  'Gelu', 'Sigmoid', 'Tanh', 'Sub', 'Erf', 'Pow', 'Sqrt', 'ReduceMean', 'BatchNormalization',
]);

/** GELU's tanh approximation (ONNX Gelu approximate = 'tanh', PyTorch approximate='tanh'). */
function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export class Lowering {
  readonly tensors = new Map<string, TensorDraft>();
  readonly nodes: NodeSpec[] = [];
  /** ONNX names that are plain renames of another tensor (Identity, Dropout) */
  private readonly alias = new Map<string, string>();
  /** ONNX node indices already folded into an earlier runtime node */
  private readonly fused = new Set<number>();
  private readonly view: GraphView;

  constructor(
    private readonly graph: onnx.IGraphProto,
    private readonly constants: Map<string, ConstTensor>,
    private readonly observed: Observed,
  ) {
    this.view = new GraphView(graph, constants);
  }

  resolve(name: string): string {
    return this.alias.get(name) ?? name;
  }

  declare(name: string, draft: Omit<TensorDraft, 'name'>): string {
    this.tensors.set(name, { name, ...draft });
    return name;
  }

  lowerAll(): void {
    this.graph.node!.forEach((node, i) => {
      if (!this.fused.has(i)) this.lowerNode(node, i);
    });
  }

  private lowerNode(node: onnx.INodeProto, index: number): void {
    const op = node.opType ?? '';
    const ctx = new NodeContext(this, node, index);
    if (ELEMENTWISE_OPS.has(op)) {
      const region = elementwiseRegion(this.view, index, (i) => this.fused.has(i));
      if (region) return this.lutRegion(ctx, region);
    }
    switch (op) {
      case 'Gemm':
        return this.gemm(ctx);
      case 'MatMul':
        return this.matMul(ctx);
      case 'Conv':
        return this.conv(ctx);
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        return this.binary(ctx, op);
      case 'ReduceMean':
        return this.reduceMeanLayerNorm(ctx, index);
      case 'BatchNormalization':
        throw ctx.unsupported('BatchNormalization only directly after a Conv (sole consumer), which it is folded into');
      case 'Erf':
      case 'Pow':
        throw ctx.unsupported(`${op} only inside an element-wise function of one activation and scalar constants (such as GELU), tabulated as a Lut`);
      case 'Sqrt':
        throw ctx.unsupported('Sqrt only inside the LayerNorm pattern (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div)');
      case 'Relu':
        return this.emit(ctx, 'Relu', [ctx.act(0)], {}, ctx.sameQuant(0));
      case 'MaxPool':
      case 'AveragePool':
      case 'GlobalAveragePool':
        return this.pool(ctx, op);
      case 'Flatten':
      case 'Reshape':
      case 'Squeeze':
      case 'Unsqueeze':
        return this.emit(ctx, 'Reshape', [ctx.act(0)], {}, ctx.sameQuant(0));
      case 'Constant':
        return; // registered as a constant before lowering
      case 'Identity':
      case 'Dropout':
        this.alias.set(ctx.output, ctx.act(0));
        return;
      case 'Transpose': {
        const rank = ctx.shapeOf(node.input![0]).length;
        const perm = attrInts(ctx.attrs, 'perm') ?? [...Array(rank).keys()].reverse();
        return this.emit(ctx, 'Transpose', [ctx.act(0)], Object.fromEntries(perm.map((p, i) => [`perm${i}`, p])), ctx.sameQuant(0));
      }
      case 'Gather':
        return this.gather(ctx);
      case 'Softmax':
        return this.softmax(ctx);
      case 'LayerNormalization':
        return this.layerNorm(ctx);
      case 'Gelu':
      case 'Sigmoid':
      case 'Tanh':
        return this.lut(ctx, op);
      default:
        throw new OnnxUnsupportedOperatorError(ctx.name, op);
    }
  }

  /** Adds a runtime node whose output is `ctx`'s output, quantised as given. */
  emit(ctx: NodeContext, op: OpName, inputs: string[], attrs: Attrs, q: QuantParams, output = ctx.output): void {
    const shape = ctx.shapeOf(output);
    this.declare(output, { dtype: 'int8', shape, scale: q.scale, zeroPoint: q.zeroPoint });
    this.nodes.push({ op, inputs, output, attrs });
  }

  soleConsumer(name: string, op: string): number | undefined {
    return this.view.soleConsumer(name, op);
  }

  /** Folds a following Relu: returns the final output name and whether Relu applies. */
  private foldRelu(output: string): { output: string; relu: number } {
    const r = this.soleConsumer(output, 'Relu');
    if (r === undefined) return { output, relu: 0 };
    this.fused.add(r);
    return { output: this.graph.node![r].output![0], relu: 1 };
  }

  /** Dense from float weights [N, K] (row per output channel) and bias [N]. */
  private dense(ctx: NodeContext, x: string, w: Float64Array, n: number, k: number, bias: Float64Array, output: string): void {
    const folded = this.foldRelu(output);
    const xq = this.tensors.get(x)!;
    const oq = ctx.rangeQuant(folded.output);
    const { tensor, scales } = quantizePerChannel(w, [n, k]);
    const biasScales = scales.map((s) => s * xq.scale);
    const b = quantizeInt32(bias, biasScales);
    checkAccumulator(ctx, k, b.data as Int32Array);
    const names = this.weightsTensors(ctx, tensor, scales, b, biasScales, biasScales.map((s) => s / oq.scale));
    this.emit(ctx, 'Dense', [x, ...names], { relu: folded.relu }, oq, folded.output);
  }

  private weightsTensors(ctx: NodeContext, w: ReturnType<typeof quantizePerChannel>['tensor'], scales: number[], b: ReturnType<typeof quantizeInt32>, biasScales: number[], multipliers: number[]): string[] {
    const base = ctx.name;
    return [
      this.declare(`${base}#w`, { dtype: 'int8', shape: w.shape, scale: Math.max(...scales), zeroPoint: 0, channelScales: scales, data: w }),
      this.declare(`${base}#b`, { dtype: 'int32', shape: b.shape, scale: Math.max(...biasScales), zeroPoint: 0, data: b }),
      this.declare(`${base}#rq`, { dtype: 'int32', shape: [multipliers.length, 2], scale: 1, zeroPoint: 0, data: ctx.rq(multipliers) }),
    ];
  }

  private gemm(ctx: NodeContext): void {
    const a = ctx.attrs;
    if (attrInt(a, 'transA', 0) !== 0) throw ctx.unsupported('transA = 1');
    const x = ctx.act(0);
    if (ctx.shapeOf(ctx.input(0)).length !== 2) throw ctx.unsupported('input must be 2-D');
    const b = ctx.constant(1);
    const transB = attrInt(a, 'transB', 0);
    const [n, k] = transB ? b.dims : [b.dims[1], b.dims[0]];
    const alpha = attrFloat(a, 'alpha', 1);
    const beta = attrFloat(a, 'beta', 1);
    const w = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) w[i * k + j] = alpha * (transB ? b.values[i * k + j] : b.values[j * n + i]);
    const bias = new Float64Array(n);
    if (ctx.inputCount > 2 && ctx.input(2)) {
      const c = ctx.constant(2);
      if (c.values.length !== n && c.values.length !== 1) throw ctx.unsupported('C must broadcast along the output channels');
      for (let i = 0; i < n; i++) bias[i] = beta * c.values[c.values.length === 1 ? 0 : i];
    }
    this.dense(ctx, x, w, n, k, bias, ctx.output);
  }

  private matMul(ctx: NodeContext): void {
    if (!ctx.isConstant(1)) {
      const k = ctx.shapeOf(ctx.input(0)).at(-1)!;
      if (k * 255 * 255 >= ACC_LIMIT) throw ctx.unsupported(`a dot product of length ${k} of two activations could overflow int32`);
      const q = ctx.rangeQuant(ctx.output);
      const sa = this.tensors.get(ctx.act(0))!.scale;
      const sb = this.tensors.get(ctx.act(1))!.scale;
      const rq = this.declare(`${ctx.name}#rq`, { dtype: 'int32', shape: [1, 2], scale: 1, zeroPoint: 0, data: ctx.rq([(sa * sb) / q.scale]) });
      return this.emit(ctx, 'MatMul', [ctx.act(0), ctx.act(1), rq], {}, q);
    }
    const b = ctx.constant(1);
    if (b.dims.length !== 2) throw ctx.unsupported('a constant right operand must be 2-D');
    const [k, n] = b.dims;
    const w = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) w[i * k + j] = b.values[j * n + i];
    const bias = new Float64Array(n);
    let output = ctx.output;
    const addIndex = this.soleConsumer(output, 'Add');
    if (addIndex !== undefined) {
      const add = this.graph.node![addIndex];
      const other = add.input![0] === output ? add.input![1] : add.input![0];
      const c = this.constants.get(other);
      if (c && c.values.length === n) {
        bias.set(c.values);
        this.fused.add(addIndex);
        output = add.output![0];
      }
    }
    this.dense(ctx, ctx.act(0), w, n, k, bias, output);
  }

  private conv(ctx: NodeContext): void {
    const a = ctx.attrs;
    const wt = ctx.constant(1);
    if (wt.dims.length !== 4) throw ctx.unsupported('only 2-D convolutions are supported');
    const autoPad = attrString(a, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw ctx.unsupported(`auto_pad ${autoPad}`);
    const [oc, , kh, kw] = wt.dims;
    const pads = attrInts(a, 'pads') ?? [0, 0, 0, 0];
    const strides = attrInts(a, 'strides') ?? [1, 1];
    const dil = attrInts(a, 'dilations') ?? [1, 1];
    const ks = attrInts(a, 'kernel_shape');
    if (ks && (ks[0] !== kh || ks[1] !== kw)) throw ctx.unsupported('kernel_shape differs from the weight shape');
    const x = ctx.act(0);
    const xq = this.tensors.get(x)!;
    const weights = Float64Array.from(wt.values);
    const bias = ctx.inputCount > 2 && ctx.input(2) ? Float64Array.from(ctx.constant(2).values) : new Float64Array(oc);
    const folded = this.foldRelu(this.foldBatchNorm(ctx.output, weights, bias));
    const oq = ctx.rangeQuant(folded.output);
    const { tensor, scales } = quantizePerChannel(weights, wt.dims);
    const biasScales = scales.map((s) => s * xq.scale);
    const b = quantizeInt32(bias, biasScales);
    checkAccumulator(ctx, elementCount(wt.dims) / oc, b.data as Int32Array);
    const names = this.weightsTensors(ctx, tensor, scales, b, biasScales, biasScales.map((s) => s / oq.scale));
    const attrs = {
      strideH: strides[0],
      strideW: strides[1],
      padTop: pads[0],
      padLeft: pads[1],
      padBottom: pads[2],
      padRight: pads[3],
      dilationH: dil[0],
      dilationW: dil[1],
      group: attrInt(a, 'group', 1),
      relu: folded.relu,
    };
    this.emit(ctx, 'Conv2d', [x, ...names], attrs, oq, folded.output);
  }

  /**
   * A BatchNormalization (inference mode) that is the sole consumer of a Conv's output, folded into
   * the Conv's float weights and bias in place: w·f and (b − mean)·f + B with f = scale/√(var + ε).
   * Returns the value the Conv now produces.
   */
  private foldBatchNorm(output: string, weights: Float64Array, bias: Float64Array): string {
    const index = this.soleConsumer(output, 'BatchNormalization');
    if (index === undefined) return output;
    const bn = new NodeContext(this, this.graph.node![index], index);
    if (attrInt(bn.attrs, 'training_mode', 0) !== 0 || bn.node.output!.length > 1) throw bn.unsupported('training mode');
    const [scale, shift, mean, variance] = [1, 2, 3, 4].map((i) => bn.constant(i).values);
    const eps = attrFloat(bn.attrs, 'epsilon', 1e-5);
    const per = weights.length / bias.length;
    if (scale.length !== bias.length || shift.length !== bias.length || mean.length !== bias.length || variance.length !== bias.length)
      throw bn.unsupported(`scale, B, mean and var must have the Conv's ${bias.length} channels`);
    for (let c = 0; c < bias.length; c++) {
      const f = scale[c] / Math.sqrt(variance[c] + eps);
      for (let k = c * per; k < (c + 1) * per; k++) weights[k] *= f;
      bias[c] = (bias[c] - mean[c]) * f + shift[c];
    }
    this.fused.add(index);
    return bn.output;
  }

  /**
   * Add, Sub, Mul or Div (by a constant) of two activations, or of an activation and a constant
   * (stored as int8). Sub is Add of the negated constant; c − x of a scalar c never gets here
   * (an element-wise region, tabulated), and x − y of two activations has no encoding: Add's
   * multipliers are never negative.
   */
  private binary(ctx: NodeContext, op: 'Add' | 'Sub' | 'Mul' | 'Div'): void {
    if (op === 'Add' && this.maskedSoftmax(ctx)) return;
    if (op === 'Div' && !ctx.isConstant(1)) throw ctx.unsupported('division only by a constant');
    if (op === 'Sub' && !ctx.isConstant(1))
      throw ctx.unsupported(ctx.isConstant(0) ? 'a non-scalar constant minus an activation' : 'Sub of two activations: Add has no negative multiplier (rq M >= 0)');
    const negate = op === 'Sub' ? (v: number) => -v : undefined;
    const [a, b] = [0, 1].map((i) => (ctx.isConstant(i) ? ctx.constantAsInt8(i, op === 'Div' ? (v) => 1 / v : negate) : ctx.act(i)));
    const qa = this.tensors.get(a)!;
    const qb = this.tensors.get(b)!;
    if (op === 'Mul' || op === 'Div') {
      const oq = ctx.rangeQuant(ctx.output);
      const rq = this.declare(`${ctx.name}#rq`, { dtype: 'int32', shape: [1, 2], scale: 1, zeroPoint: 0, data: ctx.rq([(qa.scale * qb.scale) / oq.scale]) });
      return this.emit(ctx, 'Mul', [a, b, rq], {}, oq);
    }
    const folded = this.foldRelu(ctx.output);
    const oq = ctx.rangeQuant(folded.output);
    const twice = 2 * Math.max(qa.scale, qb.scale);
    const multipliers = [qa.scale / twice, qb.scale / twice, twice / (2 ** 20 * oq.scale)];
    const rq = this.declare(`${ctx.name}#rq`, { dtype: 'int32', shape: [3, 2], scale: 1, zeroPoint: 0, data: ctx.rq(multipliers) });
    this.emit(ctx, 'Add', [a, b, rq], { relu: folded.relu }, oq, folded.output);
  }

  /**
   * Add(scores, mask) feeding only a Softmax, the mask a constant of 0 and large negative values
   * (−∞ or <= −1e4, as exporters write a causal mask): one masked Softmax, so −∞ is never quantised.
   */
  private maskedSoftmax(ctx: NodeContext): boolean {
    const maskIndex = [0, 1].find((i) => ctx.isConstant(i));
    const softmaxIndex = this.soleConsumer(ctx.output, 'Softmax');
    if (maskIndex === undefined || softmaxIndex === undefined) return false;
    const mask = ctx.constant(maskIndex);
    if (!mask.values.every((v) => v === 0 || v <= MASKED_LOGIT) || mask.values.every((v) => v === 0)) return false;
    const x = ctx.act(1 - maskIndex);
    const xShape = ctx.shapeOf(x);
    const [t, d] = xShape.slice(-2);
    if (mask.dims.slice(0, -2).some((n) => n !== 1) || mask.dims[mask.dims.length - 2] !== t || mask.dims[mask.dims.length - 1] !== d)
      throw ctx.unsupported(`mask ${JSON.stringify(mask.dims)} must be [.., T, D] with leading 1s for scores ${JSON.stringify(xShape)}`);
    const keep = allocTensor('uint8', [t, d]);
    mask.values.forEach((v, i) => (keep.data[i] = v === 0 ? 1 : 0));
    const maskName = this.declare(`${ctx.name}#mask`, { dtype: 'uint8', shape: [t, d], scale: 1, zeroPoint: 0, data: keep });
    const softmax = this.graph.node![softmaxIndex];
    this.fused.add(softmaxIndex);
    this.emitSoftmax(new NodeContext(this, softmax, softmaxIndex), x, maskName);
    return true;
  }

  private pool(ctx: NodeContext, op: 'MaxPool' | 'AveragePool' | 'GlobalAveragePool'): void {
    const a = ctx.attrs;
    const x = ctx.act(0);
    const shape = ctx.shapeOf(ctx.input(0));
    if (shape.length !== 4) throw ctx.unsupported('only 2-D pooling (NCHW) is supported');
    if (op === 'GlobalAveragePool') {
      const attrs = { kernelH: shape[2], kernelW: shape[3], strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0, countIncludePad: 0 };
      return this.emit(ctx, 'AvgPool', [x], attrs, ctx.sameQuant(0));
    }
    if (attrInt(a, 'ceil_mode', 0) !== 0) throw ctx.unsupported('ceil_mode = 1');
    if ((attrInts(a, 'dilations') ?? [1, 1]).some((d) => d !== 1)) throw ctx.unsupported('dilated pooling');
    const autoPad = attrString(a, 'auto_pad', 'NOTSET');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw ctx.unsupported(`auto_pad ${autoPad}`);
    if (ctx.node.output!.length > 1 && ctx.node.output![1]) throw ctx.unsupported('MaxPool indices output');
    const k = attrInts(a, 'kernel_shape')!;
    const s = attrInts(a, 'strides') ?? [1, 1];
    const p = attrInts(a, 'pads') ?? [0, 0, 0, 0];
    const attrs: Attrs = { kernelH: k[0], kernelW: k[1], strideH: s[0], strideW: s[1], padTop: p[0], padLeft: p[1], padBottom: p[2], padRight: p[3] };
    if (op === 'MaxPool') return this.emit(ctx, 'MaxPool', [x], attrs, ctx.sameQuant(0));
    this.emit(ctx, 'AvgPool', [x], { ...attrs, countIncludePad: attrInt(a, 'count_include_pad', 0) }, ctx.sameQuant(0));
  }

  private gather(ctx: NodeContext): void {
    const table = ctx.constant(0);
    if (attrInt(ctx.attrs, 'axis', 0) !== 0 || table.dims.length !== 2) throw ctx.unsupported('only row lookups (axis 0) in a 2-D table');
    if (ctx.isConstant(1)) throw ctx.unsupported('constant indices');
    const idx = this.resolve(ctx.input(1));
    if (this.tensors.get(idx)?.dtype !== 'int32') throw ctx.unsupported('indices must be the model input (token ids)');
    let min = Infinity;
    let max = -Infinity;
    for (const v of table.values) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const q = activationQuant(min, max);
    const t = allocTensor('int8', table.dims);
    t.data.set(quantizeValues(table.values, q));
    const name = this.declare(`${ctx.name}#table`, { dtype: 'int8', shape: table.dims, ...q, data: t });
    this.emit(ctx, 'Gather', [name, idx], {}, q);
  }

  private softmax(ctx: NodeContext): void {
    this.emitSoftmax(ctx, ctx.act(0));
  }

  /** Softmax node `ctx` over activation `x` (its scores), optionally masked. */
  private emitSoftmax(ctx: NodeContext, x: string, mask?: string): void {
    const rank = ctx.shapeOf(x).length;
    const axis = attrInt(ctx.attrs, 'axis', -1);
    if (axis !== -1 && axis !== rank - 1) throw ctx.unsupported('softmax only over the last axis');
    const sx = this.tensors.get(x)!.scale;
    const table = allocTensor('int32', [256]);
    for (let d = 0; d < 256; d++) table.data[d] = Math.round(2 ** 20 * Math.exp(-d * sx));
    const t = this.declare(`${ctx.name}#exp`, { dtype: 'int32', shape: [256], scale: 2 ** -20, zeroPoint: 0, data: table });
    this.emit(ctx, 'Softmax', mask ? [x, t, mask] : [x, t], {}, { scale: SOFTMAX_OUT_SCALE, zeroPoint: SOFTMAX_OUT_ZP });
  }

  private layerNorm(ctx: NodeContext): void {
    const shape = ctx.shapeOf(ctx.input(0));
    const axis = attrInt(ctx.attrs, 'axis', -1);
    if (axis !== -1 && axis !== shape.length - 1) throw ctx.unsupported('normalisation only over the last axis');
    const d = shape[shape.length - 1];
    const beta = ctx.inputCount > 2 && ctx.input(2) ? ctx.constant(2).values : new Float64Array(d);
    this.emitLayerNorm(ctx, ctx.act(0), ctx.constant(1).values, beta, attrFloat(ctx.attrs, 'epsilon', 1e-5), ctx.output);
  }

  /** The LayerNorm pattern PyTorch writes below opset 17, from its first ReduceMean (./patterns.ts). */
  private reduceMeanLayerNorm(ctx: NodeContext, index: number): void {
    const p = layerNormPattern(this.view, index);
    if (!p) throw ctx.unsupported('ReduceMean only as the start of the LayerNorm pattern (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div[, Mul, Add])');
    const shape = ctx.shapeOf(ctx.input(0));
    if (p.axes[0] !== -1 && p.axes[0] !== shape.length - 1) throw ctx.unsupported('normalisation only over the last axis');
    const d = shape[shape.length - 1];
    for (const v of [p.gamma, p.beta]) if (v && v.length !== d && v.length !== 1) throw ctx.unsupported(`affine vectors must have ${d} entries`);
    const vector = (v: Float64Array | undefined, dflt: number) => Float64Array.from({ length: d }, (_, i) => (v ? v[v.length === 1 ? 0 : i] : dflt));
    p.nodes.forEach((i) => this.fused.add(i));
    this.emitLayerNorm(ctx, ctx.act(0), vector(p.gamma, 1), vector(p.beta, 0), p.eps, p.output);
  }

  private emitLayerNorm(ctx: NodeContext, x: string, gammaValues: ArrayLike<number>, betaValues: ArrayLike<number>, eps: number, output: string): void {
    const shape = ctx.shapeOf(x);
    const d = shape[shape.length - 1];
    const sx = this.tensors.get(x)!.scale;
    const gamma = quantizeSymmetric(gammaValues, [d]);
    const sg = gamma.scales[0];
    const betaScale = sg / 2 ** LAYERNORM_FRACTION_BITS;
    const beta = quantizeInt32(betaValues, [betaScale]);
    const oq = ctx.rangeQuant(output);
    const names = [
      this.declare(`${ctx.name}#gamma`, { dtype: 'int8', shape: [d], scale: sg, zeroPoint: 0, data: gamma.tensor }),
      this.declare(`${ctx.name}#beta`, { dtype: 'int32', shape: [d], scale: betaScale, zeroPoint: 0, data: beta }),
      this.declare(`${ctx.name}#rq`, { dtype: 'int32', shape: [1, 2], scale: 1, zeroPoint: 0, data: ctx.rq([betaScale / oq.scale]) }),
    ];
    const epsTerm = Math.min(2 ** 31 - 1, Math.round((eps * d * d) / (sx * sx)));
    this.emit(ctx, 'LayerNorm', [x, ...names], { epsTerm }, oq, output);
  }

  private lut(ctx: NodeContext, op: 'Gelu' | 'Sigmoid' | 'Tanh'): void {
    const approximate = op === 'Gelu' ? attrString(ctx.attrs, 'approximate', 'none') : 'none';
    if (approximate !== 'none' && approximate !== 'tanh') throw ctx.unsupported(`GELU approximate = ${approximate}`);
    const f = { Gelu: approximate === 'tanh' ? geluTanh : gelu, Sigmoid: (v: number) => 1 / (1 + Math.exp(-v)), Tanh: Math.tanh }[op];
    this.emitLut(ctx, ctx.act(0), f, ctx.output);
  }

  /** An element-wise region of ./patterns.ts (GELU before opset 20, SiLU, c − x): one Lut. */
  private lutRegion(ctx: NodeContext, region: ElementwiseRegion): void {
    const x = this.resolve(region.x);
    if (!this.tensors.has(x)) throw ctx.unsupported(`input ${x} must be an activation`);
    if (ctx.shapeOf(region.output).join() !== ctx.shapeOf(x).join()) throw ctx.unsupported(`the element-wise function of ${x} broadcasts to another shape`);
    region.nodes.forEach((i) => this.fused.add(i));
    this.emitLut(ctx, x, region.f, region.output);
  }

  /** Element-wise functions as a 256-entry table over the input's int8 codes. */
  private emitLut(ctx: NodeContext, x: string, f: (v: number) => number, output: string): void {
    const xq = this.tensors.get(x)!;
    const oq = ctx.rangeQuant(output);
    const values = Array.from({ length: 256 }, (_, i) => f(xq.scale * (i - 128 - xq.zeroPoint)));
    if (!values.every(Number.isFinite)) throw ctx.unsupported('the element-wise function is not finite on the input range');
    const table = allocTensor('int8', [256]);
    table.data.set(quantizeValues(values, oq));
    const t = this.declare(`${ctx.name}#lut`, { dtype: 'int8', shape: [256], ...oq, data: table });
    this.emit(ctx, 'Lut', [x, t], {}, oq, output);
  }

  get observedShapes(): Map<string, number[]> {
    return this.observed.shapes;
  }

  get observedRanges(): Observed['ranges'] {
    return this.observed.ranges;
  }

  constant(name: string): ConstTensor | undefined {
    return this.constants.get(name);
  }
}

/** One ONNX node being lowered: its inputs, attributes and the errors that name it. */
class NodeContext {
  readonly attrs: AttrMap;
  readonly name: string;
  readonly output: string;

  constructor(
    private readonly l: Lowering,
    readonly node: onnx.INodeProto,
    index: number,
  ) {
    this.attrs = attrsOf(node);
    this.name = node.name || `${node.opType}#${index}`;
    this.output = node.output![0];
  }

  get inputCount(): number {
    return this.node.input?.length ?? 0;
  }

  input(i: number): string {
    return this.node.input![i];
  }

  unsupported(detail: string): OnnxUnsupportedShapeError {
    return new OnnxUnsupportedShapeError(this.name, this.node.opType ?? '', detail);
  }

  isConstant(i: number): boolean {
    return this.l.constant(this.input(i)) !== undefined;
  }

  constant(i: number): ConstTensor {
    const c = this.l.constant(this.input(i));
    if (!c) throw this.unsupported(`input ${i} (${this.input(i)}) must be a constant initializer`);
    return c;
  }

  act(i: number): string {
    const name = this.l.resolve(this.input(i));
    if (!this.l.tensors.has(name)) throw this.unsupported(`input ${i} (${name}) must be an activation, not a constant`);
    return name;
  }

  /** A constant operand of an element-wise op, quantised asymmetrically to int8. */
  constantAsInt8(i: number, map?: (v: number) => number): string {
    const c = map ? { ...this.constant(i), values: this.constant(i).values.map(map) } : this.constant(i);
    if (c.dims.length > 4) throw this.unsupported('constants of rank > 4');
    let min = 0;
    let max = 0;
    for (const v of c.values) [min, max] = [Math.min(min, v), Math.max(max, v)];
    const q = activationQuant(min, max);
    const t = allocTensor('int8', c.dims.length ? c.dims : [1]);
    t.data.set(quantizeValues(c.values, q));
    return this.l.declare(`${this.name}#const${i}`, { dtype: 'int8', shape: t.shape, ...q, data: t });
  }

  shapeOf(name: string): number[] {
    const s = this.l.observedShapes.get(name);
    if (!s) throw this.unsupported(`no shape observed for ${name}`);
    if (s.length === 0 || s.length > 4) throw this.unsupported(`tensor ${name} has rank ${s.length} (1 to 4 supported)`);
    return s;
  }

  rangeQuant(name: string): QuantParams {
    return this.l.observedRanges.quantFor(name);
  }

  sameQuant(i: number): QuantParams {
    const t = this.l.tensors.get(this.act(i))!;
    return { scale: t.scale, zeroPoint: t.zeroPoint };
  }

  rq(multipliers: number[]) {
    try {
      return rqTensor(multipliers);
    } catch (e) {
      if (e instanceof DnnQuantizationError) throw this.unsupported(e.message);
      throw e;
    }
  }
}

function checkAccumulator(ctx: NodeContext, k: number, bias: Int32Array): void {
  let maxBias = 0;
  for (const b of bias) maxBias = Math.max(maxBias, Math.abs(b));
  if (k * 255 * 128 + maxBias >= ACC_LIMIT) throw ctx.unsupported(`a dot product of length ${k} with bias ${maxBias} could overflow int32`);
}
