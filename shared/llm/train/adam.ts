/**
 * Adam (Kingma & Ba) with bias correction, optional decoupled weight decay (AdamW) on matrices, and
 * gradient clipping by global norm, over the flat tensor list `namedTensors` gives.
 */
import type { Floats } from './kernels';

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** AdamW's decoupled decay, applied to tensors of two or more dimensions (not norm weights) */
  weightDecay?: number;
}

export interface AdamTensor {
  shape: readonly number[];
  data: Floats;
}

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly eps: number;
  private readonly weightDecay: number;
  /** steps taken */
  step = 0;

  constructor(
    private readonly params: readonly AdamTensor[],
    opts: AdamOptions = {},
  ) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
  }

  /** One update with the gradients (same order and sizes as the parameters), then zeroes them. */
  update(grads: readonly Floats[], lr: number): void {
    this.step++;
    const { beta1, beta2, eps } = this;
    const c1 = 1 / (1 - beta1 ** this.step);
    const c2 = 1 / (1 - beta2 ** this.step);
    this.params.forEach((p, t) => {
      const w = p.data;
      const g = grads[t];
      const m = this.m[t];
      const v = this.v[t];
      const decay = p.shape.length > 1 ? 1 - lr * this.weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        w[i] = w[i] * decay - (lr * m[i] * c1) / (Math.sqrt(v[i] * c2) + eps);
      }
      g.fill(0);
    });
  }
}

/** The gradients' global L2 norm; scales them down to `maxNorm` when it is larger. */
export function clipGradNorm(grads: readonly Floats[], maxNorm: number): number {
  let ss = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  const norm = Math.sqrt(ss);
  if (norm > maxNorm) {
    const s = maxNorm / norm;
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= s;
  }
  return norm;
}
