/**
 * LlamaForCausalLM's forward pass over a batch of windows, with the activations the backward pass
 * needs kept, and that backward pass written out by hand. The math is the float reference's
 * (`FloatLlama`: RMSNorm, rotate_half RoPE, grouped-query causal attention, SwiGLU, untied head), in
 * matrix form: the batch's B·T positions are the rows of every activation.
 *
 * The backward section walks the forward one in reverse, line for line. Gradients are added into
 * `grads`, so several batches can be summed before an optimizer step.
 */
import { ropeInverseFrequencies, type LlamaConfig } from '../hf/config';
import { LlmError } from '../errors';
import { CausalAttention } from './attention';
import { matmulABt, transpose, type Floats, type FloatsConstructor } from './kernels';
import type { TrainWeights } from './weights';

export class TrainShapeError extends LlmError {
  override name = 'TrainShapeError';
}

/** What one layer's backward pass reads, saved by its forward pass. */
interface LayerActivations {
  /** the residual stream entering the layer */
  xIn: Floats;
  /** 1/rms of xIn's rows, and xIn normalised */
  r1: Floats;
  h1: Floats;
  /** queries and keys after RoPE, values */
  q: Floats;
  k: Floats;
  v: Floats;
  /** softmax probabilities [batch, head, query, key], each row causal */
  probs: Floats;
  /** the heads' outputs, concatenated: o_proj's input */
  att: Floats;
  /** the stream after attention, 1/rms of its rows, and it normalised */
  xMid: Floats;
  r2: Floats;
  h2: Floats;
  /** gate_proj and up_proj outputs, and silu(gate)·up: down_proj's input */
  gate: Floats;
  up: Floats;
  act: Floats;
}

export class LlamaTrainStep {
  readonly rows: number;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly attention: CausalAttention;
  private readonly acts: LayerActivations[];
  private readonly xOut: Floats;
  private readonly rOut: Floats;
  private readonly hOut: Floats;
  private readonly logits: Floats;
  private readonly inputs: Int32Array;
  private readonly targets: Int32Array;
  // backward scratch
  private readonly dx: Floats;
  private readonly dh: Floats;
  private readonly dq: Floats;
  private readonly dk: Floats;
  private readonly dv: Floats;
  private readonly dAtt: Floats;
  private readonly dGate: Floats;
  private readonly dUp: Floats;
  private readonly dAct: Floats;
  private readonly weightT: Floats;
  private readonly rowsT: Floats;
  private readonly gradT: Floats;

  /**
   * @param batch windows per call
   * @param seqLen positions per window; a window is seqLen + 1 ids (inputs, then the last target)
   */
  constructor(
    readonly config: LlamaConfig,
    readonly batch: number,
    readonly seqLen: number,
    arrayType: FloatsConstructor = Float32Array,
  ) {
    const c = config;
    if (c.tiedEmbeddings) throw new TrainShapeError('tied embeddings are not trained here: the trainer keeps embed_tokens and lm_head apart');
    if (seqLen > c.maxPositions) throw new TrainShapeError(`seqLen ${seqLen} exceeds max_position_embeddings ${c.maxPositions}`);
    const n = (this.rows = batch * seqLen);
    const d = c.hiddenSize;
    const dq = c.heads * c.headDim;
    const dkv = c.kvHeads * c.headDim;
    const inter = c.intermediateSize;
    const A = (size: number) => new arrayType(size);
    this.acts = Array.from({ length: c.layers }, () => ({
      xIn: A(n * d), r1: A(n), h1: A(n * d), q: A(n * dq), k: A(n * dkv), v: A(n * dkv),
      probs: A(batch * c.heads * seqLen * seqLen), att: A(n * dq),
      xMid: A(n * d), r2: A(n), h2: A(n * d), gate: A(n * inter), up: A(n * inter), act: A(n * inter),
    }));
    this.xOut = A(n * d);
    this.rOut = A(n);
    this.hOut = A(n * d);
    this.logits = A(n * c.vocabSize);
    this.inputs = new Int32Array(n);
    this.targets = new Int32Array(n);
    this.dx = A(n * d);
    this.dh = A(n * d);
    this.dq = A(n * dq);
    this.dk = A(n * dkv);
    this.dv = A(n * dkv);
    this.dAtt = A(n * dq);
    this.dGate = A(n * inter);
    this.dUp = A(n * inter);
    this.dAct = A(n * inter);
    this.attention = new CausalAttention(c, batch, seqLen, arrayType);
    const widest = Math.max(d, dq, inter, c.vocabSize);
    this.weightT = A(widest * Math.max(d, dq, inter));
    this.rowsT = A(n * widest);
    this.gradT = A(n * widest);
    const half = c.headDim / 2;
    const inv = ropeInverseFrequencies(c);
    this.cos = new Float64Array(seqLen * half);
    this.sin = new Float64Array(seqLen * half);
    for (let t = 0; t < seqLen; t++) {
      for (let i = 0; i < half; i++) {
        this.cos[t * half + i] = Math.cos(t * inv[i]);
        this.sin[t * half + i] = Math.sin(t * inv[i]);
      }
    }
  }

  /** Mean next-token cross-entropy (nats) of the windows, batch × (seqLen + 1) ids back to back. */
  loss(w: TrainWeights, windows: ArrayLike<number>): number {
    this.load(windows);
    return this.forward(w);
  }

  /** The loss, with its gradient added into `grads`. */
  lossAndGrad(w: TrainWeights, windows: ArrayLike<number>, grads: TrainWeights): number {
    const loss = this.loss(w, windows);
    this.backward(w, grads);
    return loss;
  }

  private load(windows: ArrayLike<number>): void {
    const { batch, seqLen } = this;
    if (windows.length !== batch * (seqLen + 1)) throw new TrainShapeError(`want ${batch} windows of ${seqLen + 1} ids (${batch * (seqLen + 1)}), got ${windows.length}`);
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < seqLen; t++) {
        const id = windows[b * (seqLen + 1) + t];
        const next = windows[b * (seqLen + 1) + t + 1];
        if (!(id >= 0 && id < this.config.vocabSize && next >= 0 && next < this.config.vocabSize)) throw new TrainShapeError(`window ${b} has an id outside [0, ${this.config.vocabSize})`);
        this.inputs[b * seqLen + t] = id;
        this.targets[b * seqLen + t] = next;
      }
    }
  }

  // ---- forward ----

  private forward(w: TrainWeights): number {
    const c = this.config;
    const n = this.rows;
    const d = c.hiddenSize;
    const dq = c.heads * c.headDim;
    const dkv = c.kvHeads * c.headDim;
    const inter = c.intermediateSize;
    const x0 = this.acts[0].xIn;
    for (let r = 0; r < n; r++) x0.set(w.embed.subarray(this.inputs[r] * d, (this.inputs[r] + 1) * d), r * d);
    for (let l = 0; l < c.layers; l++) {
      const a = this.acts[l];
      const lw = w.layers[l];
      const next = l + 1 < c.layers ? this.acts[l + 1].xIn : this.xOut;
      rmsNorm(a.xIn, lw.inputNorm, a.h1, a.r1, n, d, c.rmsNormEps);
      matmulABt(a.h1, lw.q, a.q, n, dq, d);
      matmulABt(a.h1, lw.k, a.k, n, dkv, d);
      matmulABt(a.h1, lw.v, a.v, n, dkv, d);
      this.rope(a.q, c.heads, 1);
      this.rope(a.k, c.kvHeads, 1);
      this.attention.forward(a.q, a.k, a.v, a.probs, a.att);
      matmulABt(a.att, lw.o, a.xMid, n, d, dq);
      for (let i = 0; i < n * d; i++) a.xMid[i] += a.xIn[i];
      rmsNorm(a.xMid, lw.postNorm, a.h2, a.r2, n, d, c.rmsNormEps);
      matmulABt(a.h2, lw.gate, a.gate, n, inter, d);
      matmulABt(a.h2, lw.up, a.up, n, inter, d);
      for (let i = 0; i < n * inter; i++) a.act[i] = silu(a.gate[i]) * a.up[i];
      matmulABt(a.act, lw.down, next, n, d, inter);
      for (let i = 0; i < n * d; i++) next[i] += a.xMid[i];
    }
    rmsNorm(this.xOut, w.norm, this.hOut, this.rOut, n, d, c.rmsNormEps);
    matmulABt(this.hOut, w.lmHead, this.logits, n, c.vocabSize, d);
    return softmaxCrossEntropy(this.logits, this.targets, n, c.vocabSize);
  }

  /**
   * Rotates each head's pairs (i, i + headDim/2) by position·invFreq[i], HF's rotate_half RoPE;
   * `sign` -1 rotates back, which is the rotation's transpose: the backward pass.
   */
  private rope(x: Floats, heads: number, sign: 1 | -1): void {
    const { headDim } = this.config;
    const half = headDim / 2;
    const width = heads * headDim;
    for (let r = 0; r < this.rows; r++) {
      const tb = (r % this.seqLen) * half;
      for (let h = 0; h < heads; h++) {
        const o = r * width + h * headDim;
        for (let i = 0; i < half; i++) {
          const cs = this.cos[tb + i];
          const sn = sign * this.sin[tb + i];
          const xa = x[o + i];
          const xb = x[o + i + half];
          x[o + i] = xa * cs - xb * sn;
          x[o + i + half] = xb * cs + xa * sn;
        }
      }
    }
  }

  // ---- backward ----

  private backward(w: TrainWeights, g: TrainWeights): void {
    const c = this.config;
    const n = this.rows;
    const d = c.hiddenSize;
    const dqw = c.heads * c.headDim;
    const dkvw = c.kvHeads * c.headDim;
    const inter = c.intermediateSize;
    const { dx, dh } = this;
    // logits now hold softmax(logits); d(mean CE)/d logits = (p - onehot) / n
    const V = c.vocabSize;
    for (let r = 0; r < n; r++) {
      const o = r * V;
      for (let j = 0; j < V; j++) this.logits[o + j] /= n;
      this.logits[o + this.targets[r]] -= 1 / n;
    }
    this.linearBackward(this.hOut, w.lmHead, this.logits, dh, g.lmHead, n, d, V, false);
    dx.fill(0);
    rmsNormBackward(this.xOut, this.rOut, w.norm, dh, dx, g.norm, n, d);
    for (let l = c.layers - 1; l >= 0; l--) {
      const a = this.acts[l];
      const lw = w.layers[l];
      const lg = g.layers[l];
      // dx is d loss / d (layer output) = d / d xMid through the residual, plus the MLP's path
      this.linearBackward(a.act, lw.down, dx, this.dAct, lg.down, n, inter, d, false);
      for (let i = 0; i < n * inter; i++) {
        const gt = a.gate[i];
        const sig = 1 / (1 + Math.exp(-gt));
        this.dUp[i] = this.dAct[i] * gt * sig;
        this.dGate[i] = this.dAct[i] * a.up[i] * sig * (1 + gt * (1 - sig));
      }
      this.linearBackward(a.h2, lw.gate, this.dGate, dh, lg.gate, n, d, inter, false);
      this.linearBackward(a.h2, lw.up, this.dUp, dh, lg.up, n, d, inter, true);
      rmsNormBackward(a.xMid, a.r2, lw.postNorm, dh, dx, lg.postNorm, n, d);
      // dx is now d / d xMid = d / d xIn through the residual, plus attention's path
      this.linearBackward(a.att, lw.o, dx, this.dAtt, lg.o, n, dqw, d, false);
      this.attention.backward(a.q, a.k, a.v, a.probs, this.dAtt, this.dq, this.dk, this.dv);
      this.rope(this.dq, c.heads, -1);
      this.rope(this.dk, c.kvHeads, -1);
      this.linearBackward(a.h1, lw.q, this.dq, dh, lg.q, n, d, dqw, false);
      this.linearBackward(a.h1, lw.k, this.dk, dh, lg.k, n, d, dkvw, true);
      this.linearBackward(a.h1, lw.v, this.dv, dh, lg.v, n, d, dkvw, true);
      rmsNormBackward(a.xIn, a.r1, lw.inputNorm, dh, dx, lg.inputNorm, n, d);
    }
    for (let r = 0; r < n; r++) {
      const o = this.inputs[r] * d;
      for (let i = 0; i < d; i++) g.embed[o + i] += dx[r * d + i];
    }
  }

  /**
   * For y = x·Wᵀ (x [n×inDim], W [outDim×inDim]): dW += dyᵀ·x, and dx = dy·W (added into dx when
   * `accumulateDx`, for inputs that feed several projections).
   */
  private linearBackward(x: Floats, weight: Floats, dy: Floats, dx: Floats, dw: Floats, n: number, inDim: number, outDim: number, accumulateDx: boolean): void {
    transpose(weight, outDim, inDim, this.weightT);
    matmulABt(dy, this.weightT, dx, n, inDim, outDim, accumulateDx);
    transpose(dy, n, outDim, this.gradT);
    transpose(x, n, inDim, this.rowsT);
    matmulABt(this.gradT, this.rowsT, dw, outDim, inDim, n, true);
  }
}

export const silu = (x: number) => x / (1 + Math.exp(-x));

/** y = weight · x / rms(x) per row; keeps 1/rms for the backward pass. */
function rmsNorm(x: Floats, weight: Floats, y: Floats, invRms: Floats, n: number, d: number, eps: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * d;
    let ss = 0;
    for (let i = 0; i < d; i++) ss += x[o + i] * x[o + i];
    const inv = 1 / Math.sqrt(ss / d + eps);
    invRms[r] = inv;
    for (let i = 0; i < d; i++) y[o + i] = weight[i] * (x[o + i] * inv);
  }
}

/**
 * With ρ = 1/rms(x): dweight_i += dy_i·x_i·ρ, and dx_i += ρ·w_i·dy_i − (ρ³/d)·x_i·Σ_j w_j·dy_j·x_j
 * (the second term is ρ's own dependence on x).
 */
function rmsNormBackward(x: Floats, invRms: Floats, weight: Floats, dy: Floats, dx: Floats, dWeight: Floats, n: number, d: number): void {
  for (let r = 0; r < n; r++) {
    const o = r * d;
    const inv = invRms[r];
    let dot = 0;
    for (let i = 0; i < d; i++) {
      const wdy = weight[i] * dy[o + i];
      dot += wdy * x[o + i];
      dWeight[i] += dy[o + i] * x[o + i] * inv;
    }
    const k = (inv * inv * inv * dot) / d;
    for (let i = 0; i < d; i++) dx[o + i] += inv * weight[i] * dy[o + i] - k * x[o + i];
  }
}

/** Mean cross-entropy of each row's target; leaves softmax(logits) in place for the backward pass. */
function softmaxCrossEntropy(logits: Floats, targets: Int32Array, n: number, V: number): number {
  let total = 0;
  for (let r = 0; r < n; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) if (logits[o + j] > max) max = logits[o + j];
    const target = logits[o + targets[r]];
    let sum = 0;
    for (let j = 0; j < V; j++) sum += logits[o + j] = Math.exp(logits[o + j] - max);
    total += Math.log(sum) + max - target;
    const inv = 1 / sum;
    for (let j = 0; j < V; j++) logits[o + j] *= inv;
  }
  return total / n;
}
