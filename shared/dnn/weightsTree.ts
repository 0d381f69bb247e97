/**
 * The Merkle tree of a weights blob (docs/dnn-spec.md section 4) from its constants' regions.
 * Every constant occupies an aligned power-of-two region whose root the spec lists, the regions
 * tile the blob, and the tree is zero beyond it. So once the regions' roots are known to match the
 * bytes, the blob's root and the proof of any region inside it follow from those roots alone: a
 * 7 GB blob is never rehashed to register it or to prove one of its tensors in a dispute.
 */
import { DnnSpecError } from './errors';
import { hashPair, ZERO_HASHES } from '../vm/merkle';
import { LEAF_SIZE } from '../vm/spec';
import { paddedSize } from './tensor';

export interface WeightsRegion {
  offset: number;
  /** the region's padded size: a power of two >= 32, `offset` a multiple of it */
  size: number;
  root: Uint8Array;
}

const level = (size: number): number => Math.log2(size / LEAF_SIZE);

export class WeightsTree {
  /** paddedSize of the blob: the size whose tree `root()` is the root of. */
  readonly size: number;
  private readonly byOffset = new Map<number, WeightsRegion>();
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    regions: readonly WeightsRegion[],
    readonly blobLength: number,
  ) {
    this.size = paddedSize(blobLength);
    let end = 0;
    for (const r of [...regions].sort((a, b) => a.offset - b.offset)) {
      if (r.offset !== end || r.size < LEAF_SIZE || (r.size & (r.size - 1)) !== 0 || r.offset % r.size !== 0)
        throw new DnnSpecError(`region [${r.offset}, +${r.size}) does not continue the blob's aligned tiling at ${end}`, 'weights');
      this.byOffset.set(r.offset, r);
      end = r.offset + r.size;
    }
    if (end !== blobLength) throw new DnnSpecError(`the regions cover ${end} bytes of a ${blobLength}-byte blob`, 'weights');
  }

  root(): Uint8Array {
    return this.node(0, this.size);
  }

  /**
   * Siblings of the aligned region [offset, offset + size) up to the root, lowest level first: the
   * proof dispute-spec section 5 asks for a weight input (log2(tree size / size) of them).
   */
  siblings(offset: number, size: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let s = size, o = offset; s < this.size; s *= 2, o -= o % s) out.push(this.node(o ^ s, s));
    return out;
  }

  /** The root of the aligned node [offset, offset + size). */
  node(offset: number, size: number): Uint8Array {
    if (offset >= this.blobLength) return ZERO_HASHES[level(size)];
    const region = this.byOffset.get(offset);
    if (region && region.size === size) return region.root;
    if ((region && region.size > size) || (!region && size <= LEAF_SIZE))
      throw new DnnSpecError(`node [${offset}, +${size}) lies inside one tensor: its root needs the tensor's bytes`, 'weights');
    const key = `${offset}:${size}`;
    let root = this.cache.get(key);
    if (!root) {
      const half = size / 2;
      root = hashPair(this.node(offset, half), this.node(offset + half, half));
      this.cache.set(key, root);
    }
    return root;
  }
}
