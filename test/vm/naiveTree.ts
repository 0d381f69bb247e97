/**
 * A deliberately naive Merkle tree over a handful of leaves, recomputed from scratch on every
 * question: the independent model the incremental tree in shared/vm/memory.ts is checked against.
 */
import { hashPair, ZERO_HASHES } from '../../shared/vm/merkle';
import { TREE_DEPTH } from '../../shared/vm/spec';

export class NaiveTree {
  readonly leaves = new Map<number, Uint8Array>();

  writeByte(address: number, value: number): void {
    const k = address >>> 5;
    const leaf = this.leaves.get(k) ?? new Uint8Array(32);
    leaf[address & 31] = value;
    this.leaves.set(k, leaf);
  }

  write(address: number, bytes: Uint8Array): void {
    bytes.forEach((v, i) => this.writeByte((address + i) >>> 0, v));
  }

  node(level: number, index: number): Uint8Array {
    if (level === 0) return this.leaves.get(index) ?? ZERO_HASHES[0];
    const lo = index * 2 ** level;
    const hi = lo + 2 ** level;
    let any = false;
    for (const k of this.leaves.keys()) if (k >= lo && k < hi) any = true;
    if (!any) return ZERO_HASHES[level];
    return hashPair(this.node(level - 1, 2 * index), this.node(level - 1, 2 * index + 1));
  }

  root(): Uint8Array {
    return this.node(TREE_DEPTH, 0);
  }

  proof(address: number): Uint8Array {
    const k = address >>> 5;
    const out = new Uint8Array(32 * (TREE_DEPTH + 1));
    out.set(this.node(0, k), 0);
    for (let i = 0; i < TREE_DEPTH; i++) out.set(this.node(i, Math.floor(k / 2 ** i) ^ 1), 32 * (i + 1));
    return out;
  }
}
