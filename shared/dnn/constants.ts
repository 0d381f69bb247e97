/**
 * A package's constant tensors, read from the weights blob by offset when a node needs them and
 * kept while they fit a byte budget (least recently used dropped first). A small model ends up
 * wholly cached after its first run; a large one holds only what its recent nodes read.
 */
import type { TensorSpec } from './spec';
import { allocTensor, tensorBytes, type Tensor } from './tensor';
import type { WeightsSource } from './weights';

/** Bytes of decoded constants a model keeps between uses, unless told otherwise. */
export const DEFAULT_CONSTANT_CACHE_BYTES = 256 << 20;

/** What a kernel or check needs of the constants: by name, read on demand. */
export interface ConstantLookup {
  has(name: string): boolean;
  get(name: string): Tensor | undefined;
}

export class ConstantTensors implements ConstantLookup {
  private readonly specs = new Map<string, TensorSpec>();
  private readonly cache = new Map<string, Tensor>();
  private cachedBytes = 0;

  constructor(
    specs: Iterable<TensorSpec>,
    private readonly weights: WeightsSource,
    private readonly budgetBytes = DEFAULT_CONSTANT_CACHE_BYTES,
  ) {
    for (const s of specs) if (s.offset !== undefined) this.specs.set(s.name, s);
  }

  has(name: string): boolean {
    return this.specs.has(name);
  }

  names(): IterableIterator<string> {
    return this.specs.keys();
  }

  get size(): number {
    return this.specs.size;
  }

  /** The tensor (a fresh read, or the cached one: never write into it). */
  get(name: string): Tensor | undefined {
    const cached = this.cache.get(name);
    if (cached) {
      this.cache.delete(name);
      this.cache.set(name, cached);
      return cached;
    }
    const spec = this.specs.get(name);
    if (!spec) return undefined;
    const t = allocTensor(spec.dtype, [...spec.shape]);
    this.weights.readInto(spec.offset!, tensorBytes(t));
    this.remember(name, t);
    return t;
  }

  private remember(name: string, t: Tensor): void {
    const bytes = t.data.byteLength;
    if (bytes > this.budgetBytes) return;
    this.cache.set(name, t);
    this.cachedBytes += bytes;
    for (const [oldest, old] of this.cache) {
      if (this.cachedBytes <= this.budgetBytes) break;
      this.cache.delete(oldest);
      this.cachedBytes -= old.data.byteLength;
    }
  }
}
