/**
 * What every region hasher shares: the shape of a region and of a capture (an aligned subtree
 * whose root is reported alongside the region's), their checks, zero hashes beyond the memory
 * tree's 27 levels, and the parent of two nodes. Trees here are those of docs/vm-spec.md section 3
 * over a region's bytes zero-padded to 32·2^height.
 */
import { hashPairWords } from './keccakWasm';
import { MerkleCaptureInvalid, MerkleRegionOutsideBuffer, MerkleTreeTooSmall } from './merkleErrors';

/** An aligned subtree: `size` a power of two >= 32, `offset` a multiple of it. */
export interface MerkleRegion {
  readonly offset: number;
  readonly size: number;
}

/** A region's root and its captures' roots (in the order they were asked for), 32 bytes each. */
export interface RegionRoots {
  root: Uint8Array;
  captured: Uint8Array[];
}

/**
 * One way of hashing regions (./nativeHasher.ts, ./wasmHasher.ts; ./hasher.ts picks one). Every
 * method checks its arguments and throws this folder's typed errors (./merkleErrors.ts).
 */
export interface RegionHasher {
  /** 'native-avx2', 'native-portable' or 'wasm'. */
  readonly name: string;
  /** How many regionRoots calls hash at once (1: each on the calling thread, before it returns). */
  readonly threads: number;
  /** Root of the `length` bytes at `offset` of `buffer` zero-padded to 32·2^height, as a fresh 32-byte array. */
  regionRoot(buffer: ArrayBuffer | ArrayBufferView, offset: number, length: number, height: number): Uint8Array;
  /**
   * The same and the roots of `captures` (offsets relative to the region), hashed off the calling
   * thread where the hasher can. The bytes must not change until the promise settles.
   */
  regionRoots(buffer: ArrayBuffer | ArrayBufferView, offset: number, length: number, height: number, captures: readonly MerkleRegion[]): Promise<RegionRoots>;
  /** A batch for roots that are wanted together later (a model run's activations). */
  newRootBatch(): RootBatch;
}

/** Roots of byte arrays, each zero-padded to its own tree (merkleRootOfBytes), collected at once. */
export interface RootBatch {
  /** Queues the root of `bytes`, copied now: the caller may change or reuse them at once. */
  add(bytes: Uint8Array): void;
  /** The roots queued since the last drain, in order, waiting for those still being hashed. */
  drain(): Uint8Array[];
}

/** 32·2^48 bytes = 2^53: past that, JavaScript numbers no longer count bytes exactly. */
export const MAX_TREE_HEIGHT = 48;

/** Levels above the leaves of the smallest tree holding `length` bytes (0 up to 32 bytes). */
export function treeHeight(length: number): number {
  let height = 0;
  while (32 * 2 ** height < length) height++;
  return height;
}

const isCount = (n: number) => Number.isSafeInteger(n) && n >= 0;

/** Throws unless [offset, offset + length) lies inside `bufferBytes` and fits a tree of `height`. */
export function checkRegion(bufferBytes: number, offset: number, length: number, height: number): void {
  if (!isCount(offset) || !isCount(length) || offset + length > bufferBytes) throw new MerkleRegionOutsideBuffer(offset, length, bufferBytes);
  if (!Number.isInteger(height) || height > MAX_TREE_HEIGHT || 32 * 2 ** height < length) {
    throw new MerkleTreeTooSmall(length, height, treeHeight(length));
  }
}

/** Throws unless `capture` is a subtree of a tree of `treeBytes` bytes. */
export function checkCapture(capture: MerkleRegion, treeBytes: number): void {
  const { offset, size } = capture;
  const powerOfTwo = isCount(size) && size >= 32 && 2 ** Math.round(Math.log2(size)) === size;
  if (!powerOfTwo || !isCount(offset) || offset % size !== 0 || offset + size > treeBytes) throw new MerkleCaptureInvalid(offset, size, treeBytes);
}

/** The level of a capture's root: its size is 32·2^level. */
export const captureLevel = (capture: MerkleRegion): number => Math.round(Math.log2(capture.size)) - 5;

const zeroHashes: Uint8Array[] = [new Uint8Array(32)];

/** Z[level]: the root of 32·2^level zero bytes (shared: never write to it). */
export function zeroHash(level: number): Uint8Array {
  while (zeroHashes.length <= level) {
    const below = zeroHashes[zeroHashes.length - 1];
    zeroHashes.push(parentNode(below, below, zeroHashes.length - 1));
  }
  return zeroHashes[level];
}

const PAIR = new Uint32Array(16);
const PAIR_BYTES = new Uint8Array(PAIR.buffer);

const isZeroNode = (node: Uint8Array, level: number): boolean => {
  const zero = zeroHashes[level];
  if (zero === undefined) return false;
  for (let i = 0; i < 32; i++) if (node[i] !== zero[i]) return false;
  return true;
};

/** keccak256(left ‖ right) of two nodes at `level`, a fresh array; two zero subtrees give Z[level + 1] unhashed. */
export function parentNode(left: Uint8Array, right: Uint8Array, level: number): Uint8Array {
  if (zeroHashes.length > level + 1 && isZeroNode(left, level) && isZeroNode(right, level)) return zeroHashes[level + 1].slice();
  PAIR_BYTES.set(left.subarray(0, 32), 0);
  PAIR_BYTES.set(right.subarray(0, 32), 32);
  hashPairWords(PAIR, 0, PAIR, 8, PAIR, 0);
  return PAIR_BYTES.slice(0, 32);
}
