/**
 * One streaming pass over a weights blob that yields what a package load needs to check it without
 * rereading it: the root of every constant's region (docs/dnn-spec.md section 4) and the blob's own
 * root, on all cores, in bounded memory. Fed by a download or a local file read.
 */
import { constantRegions } from '../dnn/model';
import type { ModelSpec } from '../dnn/spec';
import { toHex } from '../dnn/tensor';
import { MerkleStream } from '../vm/merkleStream';

export interface WeightsRoots {
  /** merkleRootOfBytes of the whole blob */
  root: string;
  /** each constant region's root by its offset: loadModel's `regionRoots` */
  regionRoots: Map<number, string>;
  length: number;
}

export class WeightsHasher {
  private readonly regions: { offset: number; size: number }[];
  private readonly stream: MerkleStream;

  constructor(spec: ModelSpec) {
    this.regions = constantRegions(spec);
    this.stream = new MerkleStream({ captures: this.regions });
  }

  /** The next bytes of the blob (fresh arrays: they are read on other threads until finish settles). */
  push(bytes: Uint8Array): Promise<void> {
    return this.stream.push(bytes);
  }

  async finish(): Promise<WeightsRoots> {
    const { root, captured, length } = await this.stream.finish();
    return { root: toHex(root), regionRoots: new Map(this.regions.map((r, i) => [r.offset, toHex(captured[i])])), length };
  }
}
