/**
 * A LlamaForCausalLM checkpoint as an opml-dnn package (docs/dnn-spec.md): the next-token model
 * over a fixed-length prompt. Weights are int8 per output channel, read from the checkpoint one
 * tensor at a time as the package writer asks for them; activations are int8 with ranges from a
 * layer-by-layer float calibration run; RMSNorm, RoPE, the KV cache and causal grouped-query
 * attention are the decoder operators, SiLU a Lut.
 *
 * Node order per layer: RmsNorm, Dense q/k/v, Rope q/k, KvWrite k/v, Attention, Dense o, Add,
 * RmsNorm, Dense gate/up, Lut (SiLU), Mul, Dense down, Add. Then RmsNorm, the last row (Gather)
 * and the output projection.
 */
import { ADD_LEFT_SHIFT } from '../dnn/shapes';
import { LAYERNORM_FRACTION_BITS } from '../dnn/kernels/normalize';
import { quantizeValues, RangeTracker, roundHalfAway, rqTensor, type QuantParams } from '../dnn/quantize';
import { writePackage, type ConstantDraft, type PackageDraft } from '../dnn/packageWriter';
import type { TensorDraft } from '../dnn/model';
import type { NodeSpec } from '../dnn/spec';
import type { Tensor } from '../dnn/tensor';
import { ropeInverseFrequencies } from './hf/config';
import type { LlamaCheckpoint } from './hf/checkpoint';
import { EMBED, FINAL_NORM, layerNames } from './hf/names';
import { silu } from './float/forward';
import { runLayerwise } from './float/layerwise';
import { attentionRq, exp2Table, ropeRq, ropeTable } from './tables';
import { LlmError } from './errors';

export interface LlamaLowerOptions {
  name: string;
  /** prompt length the package takes (its input is int32 ids [1, seqLen]) */
  seqLen: number;
  /** token sequences the activation ranges are measured on (each at most seqLen long) */
  calibration: readonly (readonly number[])[];
  onProgress?: (stage: string, done: number, total: number) => void;
}

export class LlamaLowerError extends LlmError {
  override name = 'LlamaLowerError';
}

/** Measured ranges of every named activation, over the calibration sequences. */
export function calibrateLlama(ckpt: LlamaCheckpoint, sequences: readonly (readonly number[])[], onLayer?: (done: number, total: number) => void): RangeTracker {
  if (sequences.length === 0 || sequences.some((s) => s.length === 0)) throw new LlamaLowerError('calibration needs at least one non-empty token sequence');
  const ranges = new RangeTracker();
  runLayerwise(ckpt, sequences, { observe: (name, values) => ranges.observe(name, values), onLayer });
  return ranges;
}

/** The package draft for writePackage (constants filled from the checkpoint when written). */
export function llamaPackageDraft(ckpt: LlamaCheckpoint, ranges: RangeTracker, opts: Omit<LlamaLowerOptions, 'calibration'>): PackageDraft {
  const c = ckpt.config;
  const T = opts.seqLen;
  if (!Number.isInteger(T) || T < 1 || T > c.maxPositions || T > 4096) throw new LlamaLowerError(`seqLen ${T} must be in [1, min(max_position_embeddings ${c.maxPositions}, 4096)]`);
  const d = c.hiddenSize;
  const hd = c.headDim;
  const tensors: (TensorDraft | ConstantDraft)[] = [];
  const nodes: NodeSpec[] = [];
  const quant = new Map<string, QuantParams>();
  const act = (name: string, shape: number[], q: QuantParams) => {
    tensors.push({ name, dtype: 'int8', shape, scale: q.scale, zeroPoint: q.zeroPoint });
    quant.set(name, q);
    return name;
  };
  const measured = (name: string) => ranges.quantFor(name);
  const constant = (name: string, dtype: 'int8' | 'int32', shape: number[], fill: (t: Tensor) => void, q: QuantParams = { scale: 1, zeroPoint: 0 }, channelScales?: number[]) => {
    tensors.push({ name, dtype, shape, scale: q.scale, zeroPoint: q.zeroPoint, fill, ...(channelScales ? { channelScales } : {}) });
    return name;
  };
  const node = (op: NodeSpec['op'], inputs: string[], output: string, attrs: Record<string, number> = {}) => nodes.push({ op, inputs, output, attrs });
  const fromTensor = (src: Tensor) => (t: Tensor) => t.data.set(src.data);

  /**
   * Dense with int8 weights per output channel. The weight's fill computes the channel scales
   * that its rq row needs, so the weight is declared (and written) before its rq.
   */
  const dense = (x: string, weightName: string, rows: number, cols: number, out: string, outShape: number[]) => {
    const scales: number[] = new Array(rows).fill(1);
    const w = constant(`${out}#w`, 'int8', [rows, cols], (t) => {
      const f = ckpt.read(weightName);
      for (let r = 0; r < rows; r++) {
        let max = 0;
        for (let i = 0; i < cols; i++) max = Math.max(max, Math.abs(f[r * cols + i]));
        const s = max > 0 ? max / 127 : 1;
        scales[r] = s;
        for (let i = 0; i < cols; i++) t.data[r * cols + i] = roundHalfAway(f[r * cols + i] / s);
      }
    }, { scale: 1, zeroPoint: 0 }, scales);
    const b = constant(`${out}#b`, 'int32', [rows], () => undefined);
    const oq = measured(out);
    const sx = quant.get(x)!.scale;
    const r = constant(`${out}#rq`, 'int32', [rows, 2], (t) => t.data.set(rqTensor(scales.map((s) => (sx * s) / oq.scale)).data));
    node('Dense', [x, w, b, r], act(out, outShape, oq), { relu: 0 });
    return out;
  };
  const rms = (x: string, weightName: string, out: string, shape: number[]) => {
    const sx = quant.get(x)!.scale;
    const oq = measured(out);
    let gammaScale = 1;
    const g = constant(`${out}#gamma`, 'int8', [d], (t) => {
      const f = ckpt.read(weightName);
      const max = f.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      gammaScale = max > 0 ? max / 127 : 1;
      for (let i = 0; i < d; i++) t.data[i] = roundHalfAway(f[i] / gammaScale);
    });
    const r = constant(`${out}#rq`, 'int32', [1, 2], (t) => t.data.set(rqTensor([gammaScale / (2 ** LAYERNORM_FRACTION_BITS * oq.scale)]).data));
    const epsTerm = Math.round((c.rmsNormEps * d * d) / (sx * sx));
    if (epsTerm > 2 ** 31 - 1) throw new LlamaLowerError(`${out}: rms_norm_eps ${c.rmsNormEps} is too large for the input scale ${sx} (epsTerm ${epsTerm} > 2^31 - 1)`);
    node('RmsNorm', [x, g, r], act(out, shape, oq), { epsTerm });
    return out;
  };
  const add = (a: string, b: string, out: string, shape: number[]) => {
    const [sa, sb] = [quant.get(a)!.scale, quant.get(b)!.scale];
    const oq = measured(out);
    const twice = 2 * Math.max(sa, sb);
    const r = constant(`${out}#rq`, 'int32', [3, 2], fromTensor(rqTensor([sa / twice, sb / twice, twice / (ADD_LEFT_SHIFT * oq.scale)])));
    node('Add', [a, b, r], act(out, shape, oq), { relu: 0 });
    return out;
  };

  const ids = 'ids';
  tensors.push({ name: ids, dtype: 'int32', shape: [1, T], scale: 1, zeroPoint: 0 });
  const pos = constant('pos', 'int32', [1], () => undefined);
  const inv = ropeInverseFrequencies(c);
  const rope = constant('rope#table', 'int32', [T, hd / 2, 2], fromTensor(ropeTable(inv, T)));
  const exp2 = constant('attention#exp2', 'int32', [256], fromTensor(exp2Table()));

  // The embedding's own (symmetric, per-tensor) scale is the residual stream's first scale.
  const embedRange = ranges.ranges.get('embed');
  if (!embedRange) throw new LlamaLowerError('no calibration range for embed');
  const eq: QuantParams = { scale: Math.max(Math.abs(embedRange.min), Math.abs(embedRange.max)) / 127 || 1, zeroPoint: 0 };
  const table = constant('embed#table', 'int8', [c.vocabSize, d], (t) => {
    for (let v = 0; v < c.vocabSize; v += 1024) {
      const n = Math.min(1024, c.vocabSize - v);
      t.data.set(quantizeValues(ckpt.readRows(EMBED, v, n), eq), v * d);
    }
  }, eq);
  node('Gather', [table, ids], act('embed', [1, T, d], eq));
  let x = 'embed';
  const rowShape = (w: number) => [1, T, w];
  for (let l = 0; l < c.layers; l++) {
    const n = layerNames(l);
    const p = `layers.${l}`;
    const h = rms(x, n.inputNorm, `${p}.input_norm`, rowShape(d));
    const q = dense(h, n.q, c.heads * hd, d, `${p}.q`, rowShape(c.heads * hd));
    const k = dense(h, n.k, c.kvHeads * hd, d, `${p}.k`, rowShape(c.kvHeads * hd));
    const v = dense(h, n.v, c.kvHeads * hd, d, `${p}.v`, rowShape(c.kvHeads * hd));
    const qrq = measured(`${p}.q_rope`);
    const krq = measured(`${p}.k_rope`);
    const qr = constant(`${p}.q_rope#rq`, 'int32', [1, 2], fromTensor(ropeRq(quant.get(q)!.scale, qrq.scale)));
    node('Rope', [q, rope, pos, qr], act(`${p}.q_rope`, rowShape(c.heads * hd), qrq));
    const kr = constant(`${p}.k_rope#rq`, 'int32', [1, 2], fromTensor(ropeRq(quant.get(k)!.scale, krq.scale)));
    node('Rope', [k, rope, pos, kr], act(`${p}.k_rope`, rowShape(c.kvHeads * hd), krq));
    node('KvWrite', [`${p}.k_rope`, pos], act(`${p}.k_cache`, [T, c.kvHeads * hd], krq));
    node('KvWrite', [v, pos], act(`${p}.v_cache`, [T, c.kvHeads * hd], quant.get(v)!));
    const aq = measured(`${p}.attn`);
    const arq = constant(`${p}.attn#rq`, 'int32', [2, 2], fromTensor(attentionRq(qrq.scale, krq.scale, quant.get(v)!.scale, aq.scale, hd)));
    node('Attention', [`${p}.q_rope`, `${p}.k_cache`, `${p}.v_cache`, pos, exp2, arq], act(`${p}.attn`, rowShape(c.heads * hd), aq), { heads: c.heads, kvHeads: c.kvHeads });
    const o = dense(`${p}.attn`, n.o, d, c.heads * hd, `${p}.o`, rowShape(d));
    const res1 = add(x, o, `${p}.res1`, rowShape(d));
    const h2 = rms(res1, n.postNorm, `${p}.post_norm`, rowShape(d));
    const gate = dense(h2, n.gate, c.intermediateSize, d, `${p}.gate`, rowShape(c.intermediateSize));
    const up = dense(h2, n.up, c.intermediateSize, d, `${p}.up`, rowShape(c.intermediateSize));
    const gq = quant.get(gate)!;
    const sq = measured(`${p}.silu`);
    const lut = constant(`${p}.silu#lut`, 'int8', [256], (t) => t.data.set(quantizeValues(Array.from({ length: 256 }, (_, i) => silu(gq.scale * (i - 128 - gq.zeroPoint))), sq)), sq);
    node('Lut', [gate, lut], act(`${p}.silu`, rowShape(c.intermediateSize), sq));
    const mq = measured(`${p}.swiglu`);
    const mrq = constant(`${p}.swiglu#rq`, 'int32', [1, 2], fromTensor(rqTensor([(sq.scale * quant.get(up)!.scale) / mq.scale])));
    node('Mul', [`${p}.silu`, up, mrq], act(`${p}.swiglu`, rowShape(c.intermediateSize), mq));
    const down = dense(`${p}.swiglu`, n.down, d, c.intermediateSize, `${p}.down`, rowShape(d));
    x = add(res1, down, `${p}.res2`, rowShape(d));
    opts.onProgress?.('layers', l + 1, c.layers);
  }
  const fin = rms(x, FINAL_NORM, 'final_norm', rowShape(d));
  const fq = quant.get(fin)!;
  node('Reshape', [fin], act('final_rows', [T, d], fq));
  const lastIdx = constant('last#idx', 'int32', [1], (t) => (t.data[0] = T - 1));
  node('Gather', ['final_rows', lastIdx], act('last', [1, d], fq));
  dense('last', ckpt.lmHeadName, c.vocabSize, d, 'logits', [1, c.vocabSize]);
  return { name: opts.name, input: ids, output: 'logits', tensors, nodes };
}

/**
 * Imports a checkpoint folder into `<base>.dnn.json` / `<base>.dnn.bin`: calibration, then every
 * constant quantised and written as the package writer reaches it (one tensor in memory at a time).
 */
export function importLlama(ckpt: LlamaCheckpoint, base: string, opts: LlamaLowerOptions): { specBytes: Uint8Array; weightsBytes: number } {
  const ranges = calibrateLlama(ckpt, opts.calibration, (done, total) => opts.onProgress?.('calibration', done, total));
  const draft = llamaPackageDraft(ckpt, ranges, opts);
  return writePackage(base, draft, (_name, written, total) => opts.onProgress?.('weights', written, total));
}
