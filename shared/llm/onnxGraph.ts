/**
 * A LlamaForCausalLM as an ONNX graph, built with the project's ONNX writer: onnxruntime runs it
 * as the reference runtime (correctness of our float forward, and the speed we compare against).
 * The graph takes one fixed-length sequence and returns every position's logits; RoPE's cos/sin
 * and the causal mask are initializers for that length, as an exporter's constant folding leaves them.
 */
import { buildOnnxModel, type OnnxInitializerDraft, type OnnxNodeDraft } from '../dnn/onnx/build';
import { ropeInverseFrequencies } from './hf/config';
import type { FloatLlamaWeights } from './float/forward';
import type { LlamaConfig } from './hf/config';

const INT64 = 7;

/** w [out, in] row-major → [in, out], the right operand of MatMul(x, w^T). */
function transposed(w: Float32Array, out: number, inDim: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) t[i * out + o] = w[o * inDim + i];
  return t;
}

export function llamaOnnxModel(c: LlamaConfig, w: FloatLlamaWeights, seqLen: number): Uint8Array {
  const nodes: OnnxNodeDraft[] = [];
  const inits: OnnxInitializerDraft[] = [];
  const d = c.hiddenSize;
  const hd = c.headDim;
  const half = hd / 2;
  const group = c.heads / c.kvHeads;
  const T = seqLen;
  const node = (op: string, inputs: string[], output: string, attrs?: OnnxNodeDraft['attrs']) => {
    nodes.push({ name: output, op, inputs, outputs: [output], attrs });
    return output;
  };
  const init = (name: string, dims: number[], values: ArrayLike<number>, int64 = false) => {
    inits.push({ name, dims, values, int64 });
    return name;
  };
  const ints = (name: string, values: number[]) => init(name, [values.length], values, true);

  const inv = ropeInverseFrequencies(c);
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * inv[i];
      cos[p * hd + i] = cos[p * hd + i + half] = Math.cos(a);
      sin[p * hd + i] = sin[p * hd + i + half] = Math.sin(a);
    }
  }
  init('rope_cos', [T, hd], cos);
  init('rope_sin', [T, hd], sin);
  init('causal_mask', [T, T], Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0)));
  init('eps', [], [c.rmsNormEps]);
  init('two', [], [2]);
  init('attn_scale', [], [1 / Math.sqrt(hd)]);
  ints('shape_q', [1, T, c.heads, hd]);
  ints('shape_kv', [1, T, c.kvHeads, hd]);
  if (group > 1) {
    ints('shape_expand', [1, c.kvHeads, group, T, hd]);
    ints('shape_heads', [1, c.heads, T, hd]);
    ints('axis_group', [2]);
  }
  ints('shape_merged', [1, T, c.heads * hd]);
  ints('axis_last', [3]);
  ints('lo_start', [0]);
  ints('mid', [half]);
  ints('hi_end', [hd]);

  const rms = (x: string, weight: Float32Array, name: string) => {
    const wName = init(`${name}.weight`, [d], weight);
    const sq = node('Pow', [x, 'two'], `${name}/sq`);
    const mean = node('ReduceMean', [sq], `${name}/mean`, { axes: [-1], keepdims: 1 });
    const root = node('Sqrt', [node('Add', [mean, 'eps'], `${name}/eps`)], `${name}/root`);
    return node('Mul', [node('Div', [x, root], `${name}/normed`), wName], name);
  };
  const linear = (x: string, weight: Float32Array, out: number, inDim: number, name: string) =>
    node('MatMul', [x, init(`${name}.wT`, [inDim, out], transposed(weight, out, inDim))], name);
  /** [1, T, n·hd] → [1, n, T, hd] with rotary embedding applied. */
  const heads = (x: string, shape: string, name: string, rotate: boolean) => {
    const split = node('Transpose', [node('Reshape', [x, shape], `${name}/split`)], `${name}/heads`, { perm: [0, 2, 1, 3] });
    if (!rotate) return split;
    const lo = node('Slice', [split, 'lo_start', 'mid', 'axis_last'], `${name}/lo`);
    const hi = node('Slice', [split, 'mid', 'hi_end', 'axis_last'], `${name}/hi`);
    const rotated = node('Concat', [node('Neg', [hi], `${name}/neg_hi`), lo], `${name}/rotated`, { axis: 3 });
    return node('Add', [node('Mul', [split, 'rope_cos'], `${name}/xcos`), node('Mul', [rotated, 'rope_sin'], `${name}/xsin`)], `${name}/rope`);
  };
  /** transformers' repeat_kv: KV head j serves query heads j·group … j·group + group − 1. */
  const repeatKv = (x: string, name: string) => {
    if (group === 1) return x;
    const u = node('Unsqueeze', [x, 'axis_group'], `${name}/unsq`);
    return node('Reshape', [node('Expand', [u, 'shape_expand'], `${name}/expand`), 'shape_heads'], `${name}/repeat`);
  };

  init('embed', [c.vocabSize, d], w.embed);
  let x = node('Gather', ['embed', 'input_ids'], 'embedded', { axis: 0 });
  for (let l = 0; l < c.layers; l++) {
    const lw = w.layers[l];
    const p = `layers.${l}`;
    const h = rms(x, lw.inputNorm, `${p}.input_norm`);
    const q = heads(linear(h, lw.q, c.heads * hd, d, `${p}.q`), 'shape_q', `${p}.q`, true);
    const k = repeatKv(heads(linear(h, lw.k, c.kvHeads * hd, d, `${p}.k`), 'shape_kv', `${p}.k`, true), `${p}.k`);
    const v = repeatKv(heads(linear(h, lw.v, c.kvHeads * hd, d, `${p}.v`), 'shape_kv', `${p}.v`, false), `${p}.v`);
    const kT = node('Transpose', [k], `${p}.kT`, { perm: [0, 1, 3, 2] });
    const scores = node('Add', [node('Mul', [node('MatMul', [q, kT], `${p}.qk`), 'attn_scale'], `${p}.scaled`), 'causal_mask'], `${p}.masked`);
    const probs = node('Softmax', [scores], `${p}.probs`, { axis: -1 });
    const ctx = node('MatMul', [probs, v], `${p}.ctx`);
    const merged = node('Reshape', [node('Transpose', [ctx], `${p}.ctxT`, { perm: [0, 2, 1, 3] }), 'shape_merged'], `${p}.merged`);
    x = node('Add', [x, linear(merged, lw.o, d, c.heads * hd, `${p}.o`)], `${p}.res1`);
    const h2 = rms(x, lw.postNorm, `${p}.post_norm`);
    const gate = linear(h2, lw.gate, c.intermediateSize, d, `${p}.gate`);
    const act = node('Mul', [gate, node('Sigmoid', [gate], `${p}.sigmoid`)], `${p}.silu`);
    const up = linear(h2, lw.up, c.intermediateSize, d, `${p}.up`);
    const down = linear(node('Mul', [act, up], `${p}.swiglu`), lw.down, d, c.intermediateSize, `${p}.down`);
    x = node('Add', [x, down], `${p}.res2`);
  }
  const final = rms(x, w.norm, 'norm');
  linear(final, w.lmHead, c.vocabSize, d, 'logits');
  return buildOnnxModel({
    inputs: [{ name: 'input_ids', elemType: INT64, shape: [1, T] }],
    outputs: [{ name: 'logits', shape: [1, T, c.vocabSize] }],
    nodes,
    initializers: inits,
    opset: 17,
    producer: 'opml-market llama',
  });
}
