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
import { ADD_LEFT_SHIFT, ATTENTION_MAX_POSITIONS } from '../dnn/shapes';
import { STATE } from '../dnn/kernels/sample';
import { LAYERNORM_FRACTION_BITS } from '../dnn/kernels/normalize';
import { quantizeValues, RangeTracker, roundHalfAway, rqTensor, type QuantParams } from '../dnn/quantize';
import { writePackage, type ConstantDraft, type PackageDraft } from '../dnn/packageWriter';
import type { TensorDraft } from '../dnn/model';
import type { NodeSpec } from '../dnn/spec';
import type { Tensor } from '../dnn/tensor';
import { ropeInverseFrequencies } from './hf/config';
import type { LlamaCheckpoint } from './hf/checkpoint';
import type { LlamaConfig } from './hf/config';
import { EMBED, FINAL_NORM, layerNames } from './hf/names';
import { silu } from './float/forward';
import { runLayerwise } from './float/layerwise';
import { attentionRq, exp2Table, ropeRq, ropeTable } from './tables';
import { LlmError } from './errors';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TextSpec } from '../dnn/spec';
import { textTokenizer } from './tokenizer/json';

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

/**
 * The graph both package kinds share: quantisation helpers over one checkpoint and its measured
 * ranges, and the decoder layer, so prefill and generation differ only in their ends.
 */
class LlamaGraph {
  readonly tensors: (TensorDraft | ConstantDraft)[] = [];
  readonly nodes: NodeSpec[] = [];
  private readonly quant = new Map<string, QuantParams>();
  readonly c: LlamaConfig;

  constructor(
    private readonly ckpt: LlamaCheckpoint,
    private readonly ranges: RangeTracker,
  ) {
    this.c = ckpt.config;
  }

  act(name: string, shape: number[], q: QuantParams, dtype: 'int8' | 'int32' = 'int8'): string {
    this.tensors.push({ name, dtype, shape, scale: q.scale, zeroPoint: q.zeroPoint });
    this.quant.set(name, q);
    return name;
  }

  q(name: string): QuantParams {
    return this.quant.get(name)!;
  }

  measured(name: string): QuantParams {
    return this.ranges.quantFor(name);
  }

  constant(name: string, dtype: 'int8' | 'int32', shape: number[], fill: (t: Tensor) => void, q: QuantParams = { scale: 1, zeroPoint: 0 }, channelScales?: number[]): string {
    this.tensors.push({ name, dtype, shape, scale: q.scale, zeroPoint: q.zeroPoint, fill, ...(channelScales ? { channelScales } : {}) });
    return name;
  }

  node(op: NodeSpec['op'], inputs: string[], output: string, attrs: Record<string, number> = {}): string {
    this.nodes.push({ op, inputs, output, attrs });
    return output;
  }

  /**
   * int8 weights per output channel. The fill computes the channel scales the rq row needs, so a
   * weight is declared (and written) before its rq.
   */
  weight(name: string, source: string, rows: number, cols: number): { name: string; scales: number[] } {
    const scales: number[] = new Array(rows).fill(1);
    this.constant(name, 'int8', [rows, cols], (t) => {
      const f = this.ckpt.read(source);
      for (let r = 0; r < rows; r++) {
        let max = 0;
        for (let i = 0; i < cols; i++) max = Math.max(max, Math.abs(f[r * cols + i]));
        const s = max > 0 ? max / 127 : 1;
        scales[r] = s;
        for (let i = 0; i < cols; i++) t.data[r * cols + i] = roundHalfAway(f[r * cols + i] / s);
      }
    }, { scale: 1, zeroPoint: 0 }, scales);
    return { name, scales };
  }

  dense(x: string, source: string, rows: number, cols: number, out: string, outShape: number[]): string {
    const w = this.weight(`${out}#w`, source, rows, cols);
    const b = this.constant(`${out}#b`, 'int32', [rows], () => undefined);
    const oq = this.measured(out);
    const sx = this.q(x).scale;
    const r = this.constant(`${out}#rq`, 'int32', [rows, 2], (t) => t.data.set(rqTensor(w.scales.map((s) => (sx * s) / oq.scale)).data));
    return this.node('Dense', [x, w.name, b, r], this.act(out, outShape, oq), { relu: 0 });
  }

  rms(x: string, source: string, out: string, shape: number[]): string {
    const d = this.c.hiddenSize;
    const sx = this.q(x).scale;
    const oq = this.measured(out);
    let gammaScale = 1;
    const g = this.constant(`${out}#gamma`, 'int8', [d], (t) => {
      const f = this.ckpt.read(source);
      const max = f.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      gammaScale = max > 0 ? max / 127 : 1;
      for (let i = 0; i < d; i++) t.data[i] = roundHalfAway(f[i] / gammaScale);
    });
    const r = this.constant(`${out}#rq`, 'int32', [1, 2], (t) => t.data.set(rqTensor([gammaScale / (2 ** LAYERNORM_FRACTION_BITS * oq.scale)]).data));
    const epsTerm = Math.round((this.c.rmsNormEps * d * d) / (sx * sx));
    if (epsTerm > 2 ** 31 - 1) throw new LlamaLowerError(`${out}: rms_norm_eps ${this.c.rmsNormEps} is too large for the input scale ${sx} (epsTerm ${epsTerm} > 2^31 - 1)`);
    return this.node('RmsNorm', [x, g, r], this.act(out, shape, oq), { epsTerm });
  }

  add(a: string, b: string, out: string, shape: number[]): string {
    const [sa, sb] = [this.q(a).scale, this.q(b).scale];
    const oq = this.measured(out);
    const twice = 2 * Math.max(sa, sb);
    const r = this.constant(`${out}#rq`, 'int32', [3, 2], fromTensor(rqTensor([sa / twice, sb / twice, twice / (ADD_LEFT_SHIFT * oq.scale)])));
    return this.node('Add', [a, b, r], this.act(out, shape, oq), { relu: 0 });
  }

  /** The embedding table, int8 with the embedding's own symmetric scale: the residual stream's first scale. */
  embedTable(): { name: string; q: QuantParams } {
    const embedRange = this.ranges.ranges.get('embed');
    if (!embedRange) throw new LlamaLowerError('no calibration range for embed');
    const c = this.c;
    const eq: QuantParams = { scale: Math.max(Math.abs(embedRange.min), Math.abs(embedRange.max)) / 127 || 1, zeroPoint: 0 };
    const name = this.constant('embed#table', 'int8', [c.vocabSize, c.hiddenSize], (t) => {
      for (let v = 0; v < c.vocabSize; v += 1024) {
        const n = Math.min(1024, c.vocabSize - v);
        t.data.set(quantizeValues(this.ckpt.readRows(EMBED, v, n), eq), v * c.hiddenSize);
      }
    }, eq);
    return { name, q: eq };
  }

  /**
   * Decoder layer `l` over rows [1, T, ·] at the positions `pos` names. `past(kind)` is the cache
   * KvWrite writes into (undefined: a fresh cache of `cacheRows`); returns the layer's output and caches.
   */
  layer(l: number, x: string, T: number, pos: string, rope: string, exp2: string, cacheRows: number, past?: (kind: 'k' | 'v', q: QuantParams) => string): { out: string; kCache: string; vCache: string } {
    const c = this.c;
    const d = c.hiddenSize;
    const hd = c.headDim;
    const n = layerNames(l);
    const p = `layers.${l}`;
    const rows = (w: number) => [1, T, w];
    const h = this.rms(x, n.inputNorm, `${p}.input_norm`, rows(d));
    const q = this.dense(h, n.q, c.heads * hd, d, `${p}.q`, rows(c.heads * hd));
    const k = this.dense(h, n.k, c.kvHeads * hd, d, `${p}.k`, rows(c.kvHeads * hd));
    const v = this.dense(h, n.v, c.kvHeads * hd, d, `${p}.v`, rows(c.kvHeads * hd));
    const qrq = this.measured(`${p}.q_rope`);
    const krq = this.measured(`${p}.k_rope`);
    const qr = this.constant(`${p}.q_rope#rq`, 'int32', [1, 2], fromTensor(ropeRq(this.q(q).scale, qrq.scale)));
    this.node('Rope', [q, rope, pos, qr], this.act(`${p}.q_rope`, rows(c.heads * hd), qrq));
    const kr = this.constant(`${p}.k_rope#rq`, 'int32', [1, 2], fromTensor(ropeRq(this.q(k).scale, krq.scale)));
    this.node('Rope', [k, rope, pos, kr], this.act(`${p}.k_rope`, rows(c.kvHeads * hd), krq));
    const vq = this.q(v);
    const cache = [cacheRows, c.kvHeads * hd];
    const kPast = past?.('k', krq);
    const vPast = past?.('v', vq);
    const kCache = this.node('KvWrite', [`${p}.k_rope`, pos, ...(kPast ? [kPast] : [])], this.act(`${p}.k_cache`, cache, krq));
    const vCache = this.node('KvWrite', [v, pos, ...(vPast ? [vPast] : [])], this.act(`${p}.v_cache`, cache, vq));
    const aq = this.measured(`${p}.attn`);
    const arq = this.constant(`${p}.attn#rq`, 'int32', [2, 2], fromTensor(attentionRq(qrq.scale, krq.scale, vq.scale, aq.scale, hd)));
    this.node('Attention', [`${p}.q_rope`, kCache, vCache, pos, exp2, arq], this.act(`${p}.attn`, rows(c.heads * hd), aq), { heads: c.heads, kvHeads: c.kvHeads });
    const o = this.dense(`${p}.attn`, n.o, d, c.heads * hd, `${p}.o`, rows(d));
    const res1 = this.add(x, o, `${p}.res1`, rows(d));
    const h2 = this.rms(res1, n.postNorm, `${p}.post_norm`, rows(d));
    const gate = this.dense(h2, n.gate, c.intermediateSize, d, `${p}.gate`, rows(c.intermediateSize));
    const up = this.dense(h2, n.up, c.intermediateSize, d, `${p}.up`, rows(c.intermediateSize));
    const gq = this.q(gate);
    const sq = this.measured(`${p}.silu`);
    const lut = this.constant(`${p}.silu#lut`, 'int8', [256], (t) => t.data.set(quantizeValues(Array.from({ length: 256 }, (_, i) => silu(gq.scale * (i - 128 - gq.zeroPoint))), sq)), sq);
    this.node('Lut', [gate, lut], this.act(`${p}.silu`, rows(c.intermediateSize), sq));
    const mq = this.measured(`${p}.swiglu`);
    const mrq = this.constant(`${p}.swiglu#rq`, 'int32', [1, 2], fromTensor(rqTensor([(sq.scale * this.q(up).scale) / mq.scale])));
    this.node('Mul', [`${p}.silu`, up, mrq], this.act(`${p}.swiglu`, rows(c.intermediateSize), mq));
    const down = this.dense(`${p}.swiglu`, n.down, d, c.intermediateSize, `${p}.down`, rows(d));
    return { out: this.add(res1, down, `${p}.res2`, rows(d)), kCache, vCache };
  }

  ropeTable(positions: number): string {
    const hd = this.c.headDim;
    return this.constant('rope#table', 'int32', [positions, hd / 2, 2], fromTensor(ropeTable(ropeInverseFrequencies(this.c), positions)));
  }

  exp2(): string {
    return this.constant('exp2#table', 'int32', [256], fromTensor(exp2Table()));
  }
}

const fromTensor = (src: Tensor) => (t: Tensor) => t.data.set(src.data);

/** The next-token package over a fixed-length prompt (input int32 ids [1, seqLen], output int8 logits [1, V] of the last position). */
export function llamaPackageDraft(ckpt: LlamaCheckpoint, ranges: RangeTracker, opts: Omit<LlamaLowerOptions, 'calibration'>): PackageDraft {
  const c = ckpt.config;
  const T = opts.seqLen;
  if (!Number.isInteger(T) || T < 1 || T > c.maxPositions || T > ATTENTION_MAX_POSITIONS) throw new LlamaLowerError(`seqLen ${T} must be in [1, min(max_position_embeddings ${c.maxPositions}, ${ATTENTION_MAX_POSITIONS})]`);
  const d = c.hiddenSize;
  const g = new LlamaGraph(ckpt, ranges);
  g.tensors.push({ name: 'ids', dtype: 'int32', shape: [1, T], scale: 1, zeroPoint: 0 });
  const pos = g.constant('pos', 'int32', [1], () => undefined);
  const rope = g.ropeTable(T);
  const exp2 = g.exp2();
  const table = g.embedTable();
  let x = g.node('Gather', [table.name, 'ids'], g.act('embed', [1, T, d], table.q));
  for (let l = 0; l < c.layers; l++) {
    x = g.layer(l, x, T, pos, rope, exp2, T).out;
    opts.onProgress?.('layers', l + 1, c.layers);
  }
  const fin = g.rms(x, FINAL_NORM, 'final_norm', [1, T, d]);
  g.node('Reshape', [fin], g.act('final_rows', [T, d], g.q(fin)));
  const lastIdx = g.constant('last#idx', 'int32', [1], (t) => (t.data[0] = T - 1));
  g.node('Gather', ['final_rows', lastIdx], g.act('last', [1, d], g.q(fin)));
  g.dense('last', ckpt.lmHeadName, c.vocabSize, d, 'logits', [1, c.vocabSize]);
  return { name: opts.name, input: 'ids', output: 'logits', tensors: g.tensors, nodes: g.nodes };
}

/** Header words and token capacity of a generation package's state (shared/dnn/kernels/sample.ts STATE). */
export function stateLength(context: number): number {
  return STATE.tokens + context;
}

/**
 * The generation package: one step per position, one token in (from the state), the next token
 * out (Sample: prompt, greedy or drawn), KV caches of `context` rows carried between steps.
 */
export function llamaGenerationDraft(ckpt: LlamaCheckpoint, ranges: RangeTracker, opts: { name: string; context: number; text?: TextSpec; onProgress?: LlamaLowerOptions['onProgress'] }): PackageDraft {
  const c = ckpt.config;
  const P = opts.context;
  if (!Number.isInteger(P) || P < 2 || P > c.maxPositions || P > ATTENTION_MAX_POSITIONS) throw new LlamaLowerError(`context ${P} must be in [2, min(max_position_embeddings ${c.maxPositions}, ${ATTENTION_MAX_POSITIONS})]`);
  const d = c.hiddenSize;
  const g = new LlamaGraph(ckpt, ranges);
  const state = 'state';
  g.tensors.push({ name: state, dtype: 'int32', shape: [stateLength(P)], scale: 1, zeroPoint: 0 });
  const rope = g.ropeTable(P);
  const exp2 = g.exp2();
  const table = g.embedTable();
  let x = g.node('TokenEmbed', [table.name, state], g.act('embed', [1, 1, d], table.q));
  const carry: { from: string; to: string }[] = [];
  for (let l = 0; l < c.layers; l++) {
    const layer = g.layer(l, x, 1, state, rope, exp2, P, (kind, q) => g.act(`layers.${l}.${kind}_past`, [P, c.kvHeads * c.headDim], q));
    carry.push({ from: layer.kCache, to: `layers.${l}.k_past` }, { from: layer.vCache, to: `layers.${l}.v_past` });
    x = layer.out;
    opts.onProgress?.('layers', l + 1, c.layers);
  }
  const fin = g.rms(x, FINAL_NORM, 'final_norm', [1, 1, d]);
  g.node('Reshape', [fin], g.act('final_row', [1, d], g.q(fin)));
  // int32 logits at 2^20 steps of the largest calibrated logit: fine enough to rank and sample 32,000 tokens like float.
  const logitRange = ranges.ranges.get('logits');
  if (!logitRange) throw new LlamaLowerError('no calibration range for logits');
  const lq: QuantParams = { scale: Math.max(Math.abs(logitRange.min), Math.abs(logitRange.max), 1e-6) / 2 ** 20, zeroPoint: 0 };
  const head = g.weight('logits#w', ckpt.lmHeadName, c.vocabSize, d);
  const sx = g.q('final_row').scale;
  const hrq = g.constant('logits#rq', 'int32', [c.vocabSize, 2], (t) => t.data.set(rqTensor(head.scales.map((s) => (sx * s) / lq.scale)).data));
  g.node('DenseWide', ['final_row', head.name, hrq], g.act('logits', [1, c.vocabSize], lq, 'int32'));
  const srq = g.constant('sample#rq', 'int32', [1, 2], fromTensor(rqTensor([lq.scale * Math.LOG2E * 256])));
  g.node('Sample', ['logits', state, exp2, srq], g.act('next_state', [stateLength(P)], { scale: 1, zeroPoint: 0 }, 'int32'));
  return { name: opts.name, input: state, output: 'next_state', tensors: g.tensors, nodes: g.nodes, generation: { state, next: 'next_state', carry }, ...(opts.text ? { text: opts.text } : {}) };
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

/**
 * The checkpoint's tokenizer as a spec `text` section (tokenizer.json, tokenizer_config.json when
 * present, BOS and EOS from config.json), or undefined for a folder without tokenizer.json.
 */
export function checkpointText(ckpt: LlamaCheckpoint): TextSpec | undefined {
  const path = ckpt.tokenizerPath;
  if (!path) return undefined;
  const read = (p: string) => {
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new LlamaLowerError(`${p} is not JSON (${(e as Error).message})`);
    }
  };
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const c = ckpt.config;
  const text: TextSpec = {
    tokenizer: read(path),
    ...(existsSync(configPath) ? { tokenizerConfig: read(configPath) } : {}),
    ...(c.bosTokenId !== undefined ? { bos: c.bosTokenId } : {}),
    ...(c.eosTokenIds.length ? { eos: c.eosTokenIds } : {}),
  };
  const vocab = textTokenizer(text, path).vocabSize;
  if (vocab > c.vocabSize) throw new LlamaLowerError(`${path} has ${vocab} tokens, more than the model's vocab_size ${c.vocabSize}`);
  return text;
}

/** The same for the generation package (one token per step, KV caches of `context` rows), with the checkpoint's tokenizer. */
export function importLlamaGeneration(ckpt: LlamaCheckpoint, base: string, opts: { name: string; context: number; calibration: readonly (readonly number[])[]; onProgress?: LlamaLowerOptions['onProgress'] }): { specBytes: Uint8Array; weightsBytes: number } {
  const ranges = calibrateLlama(ckpt, opts.calibration, (done, total) => opts.onProgress?.('calibration', done, total));
  const draft = llamaGenerationDraft(ckpt, ranges, { ...opts, text: checkpointText(ckpt) });
  return writePackage(base, draft, (_name, written, total) => opts.onProgress?.('weights', written, total));
}
