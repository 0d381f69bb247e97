/**
 * LlamaForCausalLM in float arithmetic, as transformers computes it in float32: the reference the
 * integer graph is measured against (perplexity, greedy agreement), and the model the training
 * script evaluates. Tokens run one at a time against a KV cache, like decoding; a prompt is the
 * same loop. Weights are whole Float32Arrays, so this is for models that fit in memory.
 */
import { ropeInverseFrequencies, type LlamaConfig } from '../hf/config';
import type { LlamaCheckpoint } from '../hf/checkpoint';
import { EMBED, FINAL_NORM, layerNames } from '../hf/names';

export interface FloatLayerWeights {
  inputNorm: Float32Array;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  o: Float32Array;
  postNorm: Float32Array;
  gate: Float32Array;
  up: Float32Array;
  down: Float32Array;
}

export interface FloatLlamaWeights {
  embed: Float32Array;
  layers: FloatLayerWeights[];
  norm: Float32Array;
  lmHead: Float32Array;
}

export function loadFloatWeights(ckpt: LlamaCheckpoint): FloatLlamaWeights {
  const c = ckpt.config;
  const layers: FloatLayerWeights[] = [];
  for (let i = 0; i < c.layers; i++) {
    const n = layerNames(i);
    layers.push({
      inputNorm: ckpt.read(n.inputNorm), q: ckpt.read(n.q), k: ckpt.read(n.k), v: ckpt.read(n.v), o: ckpt.read(n.o),
      postNorm: ckpt.read(n.postNorm), gate: ckpt.read(n.gate), up: ckpt.read(n.up), down: ckpt.read(n.down),
    });
  }
  const embed = ckpt.read(EMBED);
  return { embed, layers, norm: ckpt.read(FINAL_NORM), lmHead: c.tiedEmbeddings ? embed : ckpt.read(ckpt.lmHeadName) };
}

/** y[o] = Σ_i w[o, i] x[i], w row-major [out, in]. */
export function matVec(w: Float32Array, x: Float32Array, out: number): Float32Array {
  const n = x.length;
  const y = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let acc = 0;
    const base = o * n;
    for (let i = 0; i < n; i++) acc += w[base + i] * x[i];
    y[o] = acc;
  }
  return y;
}

export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const inv = 1 / Math.sqrt(ss / x.length + eps);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = weight[i] * Math.fround(x[i] * inv);
  return y;
}

/** HF's rotate_half convention: element i pairs with i + headDim/2 in every head. */
export function applyRope(x: Float32Array, heads: number, headDim: number, position: number, invFreq: Float64Array): void {
  const half = headDim / 2;
  for (let i = 0; i < half; i++) {
    const angle = position * invFreq[i];
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    for (let h = 0; h < heads; h++) {
      const a = h * headDim + i;
      const b = a + half;
      const xa = x[a];
      const xb = x[b];
      x[a] = xa * c - xb * s;
      x[b] = xb * c + xa * s;
    }
  }
}

export const silu = (v: number) => v / (1 + Math.exp(-v));

export class FloatLlama {
  private readonly invFreq: Float64Array;
  private keys: Float32Array[][] = [];
  private values: Float32Array[][] = [];

  constructor(
    readonly config: LlamaConfig,
    readonly weights: FloatLlamaWeights,
  ) {
    this.invFreq = ropeInverseFrequencies(config);
    this.reset();
  }

  /** Tokens in the cache: the position the next token takes. */
  get position(): number {
    return this.keys[0]?.length ?? 0;
  }

  reset(): void {
    this.keys = this.weights.layers.map(() => []);
    this.values = this.weights.layers.map(() => []);
  }

  /** Runs one token at the next position and returns its next-token logits. */
  step(token: number): Float32Array {
    const c = this.config;
    if (!Number.isInteger(token) || token < 0 || token >= c.vocabSize) throw new RangeError(`token ${token} is outside the vocabulary [0, ${c.vocabSize})`);
    const d = c.hiddenSize;
    const pos = this.position;
    let x: Float32Array = this.weights.embed.slice(token * d, (token + 1) * d);
    const group = c.heads / c.kvHeads;
    const scale = 1 / Math.sqrt(c.headDim);
    for (let l = 0; l < c.layers; l++) {
      const lw = this.weights.layers[l];
      const h = rmsNorm(x, lw.inputNorm, c.rmsNormEps);
      const q = matVec(lw.q, h, c.heads * c.headDim);
      const k = matVec(lw.k, h, c.kvHeads * c.headDim);
      const v = matVec(lw.v, h, c.kvHeads * c.headDim);
      applyRope(q, c.heads, c.headDim, pos, this.invFreq);
      applyRope(k, c.kvHeads, c.headDim, pos, this.invFreq);
      this.keys[l].push(k);
      this.values[l].push(v);
      const attn = new Float32Array(c.heads * c.headDim);
      const scores = new Float64Array(pos + 1);
      for (let hd = 0; hd < c.heads; hd++) {
        const g = Math.floor(hd / group);
        const qo = hd * c.headDim;
        const ko = g * c.headDim;
        let max = -Infinity;
        for (let t = 0; t <= pos; t++) {
          const kt = this.keys[l][t];
          let s = 0;
          for (let i = 0; i < c.headDim; i++) s += q[qo + i] * kt[ko + i];
          scores[t] = s * scale;
          if (scores[t] > max) max = scores[t];
        }
        let sum = 0;
        for (let t = 0; t <= pos; t++) sum += scores[t] = Math.exp(scores[t] - max);
        for (let t = 0; t <= pos; t++) {
          const p = scores[t] / sum;
          const vt = this.values[l][t];
          for (let i = 0; i < c.headDim; i++) attn[qo + i] += p * vt[ko + i];
        }
      }
      const o = matVec(lw.o, attn, d);
      for (let i = 0; i < d; i++) x[i] += o[i];
      const h2 = rmsNorm(x, lw.postNorm, c.rmsNormEps);
      const gate = matVec(lw.gate, h2, c.intermediateSize);
      const up = matVec(lw.up, h2, c.intermediateSize);
      for (let i = 0; i < gate.length; i++) gate[i] = silu(gate[i]) * up[i];
      const down = matVec(lw.down, gate, d);
      for (let i = 0; i < d; i++) x[i] += down[i];
    }
    x = rmsNorm(x, this.weights.norm, c.rmsNormEps);
    return matVec(this.weights.lmHead, x, c.vocabSize);
  }

  /** Runs every token and returns each one's next-token logits. */
  forward(tokens: readonly number[]): Float32Array[] {
    return tokens.map((t) => this.step(t));
  }

  /** Greedy continuation of a prompt (after the cache's current contents). */
  generateGreedy(prompt: readonly number[], maxTokens: number, stopTokens: readonly number[] = []): number[] {
    if (prompt.length === 0) throw new RangeError('a prompt needs at least one token');
    let logits = this.forward(prompt).at(-1)!;
    const out: number[] = [];
    while (out.length < maxTokens) {
      const next = argmax(logits);
      out.push(next);
      if (stopTokens.includes(next) || out.length === maxTokens) break;
      logits = this.step(next);
    }
    return out;
  }
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Mean negative log-likelihood (nats per token) of each token after the first; exp of it is perplexity. */
export function meanNll(model: FloatLlama, tokens: readonly number[]): number {
  model.reset();
  let nll = 0;
  for (let t = 0; t + 1 < tokens.length; t++) {
    const logits = model.step(tokens[t]);
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    let sum = 0;
    for (const v of logits) sum += Math.exp(v - max);
    nll += Math.log(sum) + max - logits[tokens[t + 1]];
  }
  return nll / Math.max(1, tokens.length - 1);
}
