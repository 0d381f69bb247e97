/**
 * LlamaForCausalLM in float, one layer at a time over whole sequences: each layer's weights are
 * read from the checkpoint, applied to every sequence, and dropped. Memory is one layer plus the
 * activations, so it runs at 7B shape where the token-by-token FloatLlama cannot hold the weights.
 * The importer calibrates with it (every tensor the integer graph quantises is observed by name)
 * and benchmarks use it as the float reference at large shapes.
 */
import { ropeInverseFrequencies } from '../hf/config';
import type { LlamaCheckpoint } from '../hf/checkpoint';
import { EMBED, FINAL_NORM, layerNames } from '../hf/names';
import { applyRope, rmsNorm, silu } from './forward';

/** Called with every activation the integer graph names (per layer `layers.<i>.<what>`), for each sequence. */
export type Observer = (name: string, values: Float32Array) => void;

/** X [T, in] times W [out, in]^T: [T, out]. */
export function matMulRows(x: Float32Array, rows: number, w: Float32Array, out: number): Float32Array {
  const inDim = x.length / rows;
  const y = new Float32Array(rows * out);
  for (let o = 0; o < out; o++) {
    const wo = o * inDim;
    for (let t = 0; t < rows; t++) {
      let acc = 0;
      const xt = t * inDim;
      for (let i = 0; i < inDim; i++) acc += w[wo + i] * x[xt + i];
      y[t * out + o] = acc;
    }
  }
  return y;
}

function normRows(x: Float32Array, rows: number, weight: Float32Array, eps: number): Float32Array {
  const d = weight.length;
  const y = new Float32Array(x.length);
  for (let t = 0; t < rows; t++) y.set(rmsNorm(x.subarray(t * d, (t + 1) * d), weight, eps), t * d);
  return y;
}

export interface LayerwiseResult {
  /** next-token logits of every position of every sequence, [T, V] each */
  logits: Float32Array[];
}

/**
 * Runs every sequence (each starting at position 0) through the model. `onLayer` reports progress;
 * `lastOnly` computes the output projection for the last position only (what a next-token task needs).
 */
export function runLayerwise(ckpt: LlamaCheckpoint, sequences: readonly (readonly number[])[], opts: { observe?: Observer; onLayer?: (done: number, total: number) => void; lastOnly?: boolean } = {}): LayerwiseResult {
  const c = ckpt.config;
  const d = c.hiddenSize;
  const hd = c.headDim;
  const inv = ropeInverseFrequencies(c);
  const observe = opts.observe ?? (() => undefined);
  const xs = sequences.map((seq) => {
    const x = new Float32Array(seq.length * d);
    seq.forEach((tok, t) => x.set(ckpt.readRows(EMBED, tok, 1), t * d));
    observe('embed', x);
    return x;
  });
  const group = c.heads / c.kvHeads;
  for (let l = 0; l < c.layers; l++) {
    const n = layerNames(l);
    const p = `layers.${l}`;
    const [wIn, wq, wk, wv, wo] = [ckpt.read(n.inputNorm), ckpt.read(n.q), ckpt.read(n.k), ckpt.read(n.v), ckpt.read(n.o)];
    const [wPost, wg, wu, wd] = [ckpt.read(n.postNorm), ckpt.read(n.gate), ckpt.read(n.up), ckpt.read(n.down)];
    xs.forEach((x, s) => {
      const T = sequences[s].length;
      const h = normRows(x, T, wIn, c.rmsNormEps);
      observe(`${p}.input_norm`, h);
      const q = matMulRows(h, T, wq, c.heads * hd);
      const k = matMulRows(h, T, wk, c.kvHeads * hd);
      const v = matMulRows(h, T, wv, c.kvHeads * hd);
      observe(`${p}.q`, q);
      observe(`${p}.k`, k);
      observe(`${p}.v`, v);
      for (let t = 0; t < T; t++) {
        applyRope(q.subarray(t * c.heads * hd, (t + 1) * c.heads * hd), c.heads, hd, t, inv);
        applyRope(k.subarray(t * c.kvHeads * hd, (t + 1) * c.kvHeads * hd), c.kvHeads, hd, t, inv);
      }
      observe(`${p}.q_rope`, q);
      observe(`${p}.k_rope`, k);
      const attn = new Float32Array(T * c.heads * hd);
      const scale = 1 / Math.sqrt(hd);
      const scores = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        for (let h2 = 0; h2 < c.heads; h2++) {
          const qo = t * c.heads * hd + h2 * hd;
          const ko = Math.floor(h2 / group) * hd;
          let max = -Infinity;
          for (let j = 0; j <= t; j++) {
            let dot = 0;
            for (let i = 0; i < hd; i++) dot += q[qo + i] * k[j * c.kvHeads * hd + ko + i];
            scores[j] = dot * scale;
            if (scores[j] > max) max = scores[j];
          }
          let sum = 0;
          for (let j = 0; j <= t; j++) sum += scores[j] = Math.exp(scores[j] - max);
          for (let j = 0; j <= t; j++) {
            const w = scores[j] / sum;
            for (let i = 0; i < hd; i++) attn[qo + i] += w * v[j * c.kvHeads * hd + ko + i];
          }
        }
      }
      observe(`${p}.attn`, attn);
      const o = matMulRows(attn, T, wo, d);
      observe(`${p}.o`, o);
      for (let i = 0; i < x.length; i++) x[i] += o[i];
      observe(`${p}.res1`, x);
      const h2 = normRows(x, T, wPost, c.rmsNormEps);
      observe(`${p}.post_norm`, h2);
      const gate = matMulRows(h2, T, wg, c.intermediateSize);
      const up = matMulRows(h2, T, wu, c.intermediateSize);
      observe(`${p}.gate`, gate);
      observe(`${p}.up`, up);
      for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]);
      observe(`${p}.silu`, gate);
      for (let i = 0; i < gate.length; i++) gate[i] *= up[i];
      observe(`${p}.swiglu`, gate);
      const down = matMulRows(gate, T, wd, d);
      observe(`${p}.down`, down);
      for (let i = 0; i < x.length; i++) x[i] += down[i];
      observe(`${p}.res2`, x);
    });
    opts.onLayer?.(l + 1, c.layers);
  }
  const wNorm = ckpt.read(FINAL_NORM);
  const head = ckpt.read(ckpt.lmHeadName);
  const logits = xs.map((x, s) => {
    const T = sequences[s].length;
    const normed = normRows(x, T, wNorm, c.rmsNormEps);
    observe('final_norm', normed);
    const rows = opts.lastOnly ? normed.subarray((T - 1) * d) : normed;
    const out = matMulRows(rows, opts.lastOnly ? 1 : T, head, c.vocabSize);
    observe('logits', out);
    return out;
  });
  return { logits };
}
