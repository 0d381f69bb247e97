/**
 * The Merkle root of a byte stream (docs/vm-spec.md section 3 over the bytes zero-padded to a
 * power of two >= 32, as merkleRootOfBytes), and the roots of aligned regions of it asked for up
 * front (a weights blob's tensors, docs/dnn-spec.md section 4), in one pass and bounded memory,
 * whatever the length, known or not.
 *
 * The stream is cut into chunks of `chunkSize` bytes. Each is hashed by the region hasher off this
 * thread where it can (the native addon's threads, at most two chunks per thread at once: push()
 * waits for room), with the roots of the requested regions inside it. Chunk roots merge in order
 * on this thread through a binary counter, one pending subtree root per level above the chunks;
 * past the last byte, pending roots pair with zero hashes, so padding is never hashed. A chunk
 * lying inside one pushed array is hashed where it lies; one straddling pushes is gathered into a
 * reused chunk buffer first.
 *
 *   const stream = new MerkleStream({ captures: tensors.map(({ offset, paddedSize }) => ({ offset, size: paddedSize })) });
 *   for await (const piece of readable) await stream.push(piece);
 *   const { root, captured } = await stream.finish();
 *
 * Pushed bytes are read until finish() settles: push fresh arrays (as file streams give), or
 * copies of a buffer you will reuse. Misuse (a bad capture, push after finish, more or fewer bytes
 * than declared) throws synchronously; a failure while hashing rejects the pending promises.
 */
import { hasher as processHasher } from './hasher';
import { MerkleChunkSizeInvalid, MerkleStreamFinished, MerkleStreamLengthMismatch } from './merkleErrors';
import { captureLevel, checkCapture, parentNode, treeHeight, zeroHash, MAX_TREE_HEIGHT, type MerkleRegion, type RegionHasher, type RegionRoots } from './merkleRegion';

/**
 * 2 MiB: measured (bench/merkleSpeed.ts) within noise of 1 and 4 MiB for throughput, and the
 * smaller the chunk the less a short stream waits for its last one.
 */
export const DEFAULT_CHUNK_SIZE = 2 << 20;

/** Chunks in flight per hashing thread: one hashing, one queued behind it so the thread never waits for this one. */
const CHUNKS_PER_THREAD = 2;

export interface MerkleStreamOptions {
  /** Aligned regions whose roots finish() reports, in this order; they may nest or repeat. */
  captures?: readonly MerkleRegion[];
  /** The stream's length when known: captures are checked against it at once, and pushing more or finishing short throws. */
  length?: number;
  /** Default: the process's hasher (./hasher.ts). */
  hasher?: RegionHasher;
  /** A power of two from 64 bytes to 1 GiB; default DEFAULT_CHUNK_SIZE. */
  chunkSize?: number;
}

export interface MerkleStreamResult {
  root: Uint8Array;
  /** Bytes the tree covers: max(32, the next power of two of `length`). */
  paddedSize: number;
  length: number;
  /** The roots of options.captures, in their order; a region past the last byte is zero-padded like the tree. */
  captured: Uint8Array[];
}

interface ChunkJob {
  index: number;
  /** The captures inside this chunk (indices into options.captures). */
  captureIds: number[];
  /** The chunk buffer the bytes were gathered into, reused once hashed. */
  gathered: Uint8Array | undefined;
  roots?: RegionRoots;
}

function addTo<K>(map: Map<K, number[]>, key: K, id: number): void {
  const ids = map.get(key);
  if (ids === undefined) map.set(key, [id]);
  else ids.push(id);
}

export class MerkleStream {
  private readonly hasher: RegionHasher;
  private readonly chunkSize: number;
  /** Tree level of a chunk root. */
  private readonly chunkLevel: number;
  private readonly maxInFlight: number;
  private readonly captures: readonly MerkleRegion[];
  private readonly expectedLength: number | undefined;
  /** Captures no larger than a chunk, by the chunk holding them. */
  private readonly capturesByChunk = new Map<number, number[]>();
  /** Captures larger than a chunk, by `${level}:${index}` of their node. */
  private readonly capturesByNode = new Map<string, number[]>();
  private readonly captured: (Uint8Array | undefined)[];

  /** Bytes accepted by push() so far (ahead of those consumed while pushes wait for room). */
  private accepted = 0;
  private finished = false;
  /** Pushes run one after another, in call order. */
  private chain: Promise<void> = Promise.resolve();
  private chunks = 0;
  private gathering: Uint8Array | undefined;
  private gathered = 0;
  private readonly spare: Uint8Array[] = [];
  /** Chunks submitted and not yet merged, in stream order. */
  private readonly inFlight: ChunkJob[] = [];
  /** pending[l]: the root waiting for its right sibling at tree level chunkLevel + l. */
  private readonly pending: (Uint8Array | undefined)[] = [];
  private wake: (() => void) | undefined;
  private failure: unknown;

  constructor(options: MerkleStreamOptions = {}) {
    this.hasher = options.hasher ?? processHasher;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isInteger(this.chunkSize) || this.chunkSize < 64 || this.chunkSize > 2 ** 30 || 2 ** Math.round(Math.log2(this.chunkSize)) !== this.chunkSize) {
      throw new MerkleChunkSizeInvalid(this.chunkSize);
    }
    this.chunkLevel = treeHeight(this.chunkSize);
    this.maxInFlight = CHUNKS_PER_THREAD * this.hasher.threads;
    this.captures = options.captures ?? [];
    this.expectedLength = options.length;
    const treeBytes = 32 * 2 ** (options.length === undefined ? MAX_TREE_HEIGHT : treeHeight(options.length));
    this.captures.forEach((capture, id) => {
      checkCapture(capture, treeBytes);
      if (capture.size <= this.chunkSize) addTo(this.capturesByChunk, Math.floor(capture.offset / this.chunkSize), id);
      else addTo(this.capturesByNode, `${captureLevel(capture)}:${capture.offset / capture.size}`, id);
    });
    this.captured = new Array<Uint8Array | undefined>(this.captures.length);
  }

  /** Adds bytes at the end of the stream; resolves once there is room for more. */
  push(bytes: Uint8Array): Promise<void> {
    if (this.finished) throw new MerkleStreamFinished('push');
    const accepted = this.accepted + bytes.length;
    if (this.expectedLength !== undefined && accepted > this.expectedLength) throw new MerkleStreamLengthMismatch(this.expectedLength, accepted);
    this.accepted = accepted;
    this.chain = this.chain.then(() => this.consume(bytes));
    return this.chain;
  }

  /** The root and the captured roots, once every chunk is hashed. */
  finish(): Promise<MerkleStreamResult> {
    if (this.finished) throw new MerkleStreamFinished('finish');
    this.finished = true;
    if (this.expectedLength !== undefined && this.accepted !== this.expectedLength) throw new MerkleStreamLengthMismatch(this.expectedLength, this.accepted);
    const height = treeHeight(this.accepted);
    for (const capture of this.captures) checkCapture(capture, 32 * 2 ** height);
    return this.chain.then(() => this.complete(height));
  }

  private async consume(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) {
      if (this.gathered === 0 && bytes.length - at >= this.chunkSize) {
        await this.submit(bytes.subarray(at, at + this.chunkSize), undefined, this.chunkLevel);
        at += this.chunkSize;
        continue;
      }
      const gathering = (this.gathering ??= this.spare.pop() ?? new Uint8Array(this.chunkSize));
      const n = Math.min(this.chunkSize - this.gathered, bytes.length - at);
      gathering.set(bytes.subarray(at, at + n), this.gathered);
      this.gathered += n;
      at += n;
      if (this.gathered === this.chunkSize) {
        this.gathering = undefined;
        this.gathered = 0;
        await this.submit(gathering, gathering, this.chunkLevel);
      }
    }
  }

  private async submit(bytes: Uint8Array, gathered: Uint8Array | undefined, height: number): Promise<void> {
    await this.until(() => this.inFlight.length < this.maxInFlight);
    const index = this.chunks++;
    const captureIds = this.capturesByChunk.get(index) ?? [];
    const base = index * this.chunkSize;
    const captures = captureIds.map((id) => ({ offset: this.captures[id].offset - base, size: this.captures[id].size }));
    const hashed = this.hasher.regionRoots(bytes, 0, bytes.length, height, captures);
    const job: ChunkJob = { index, captureIds, gathered };
    this.inFlight.push(job);
    hashed
      .then(
        (roots) => void (job.roots = roots),
        (e: unknown) => void (this.failure ??= e),
      )
      .finally(() => this.retire());
  }

  /** Merges the hashed chunks at the head of the queue (chunks may finish out of order). */
  private retire(): void {
    while (this.inFlight[0]?.roots !== undefined) this.merge(this.inFlight.shift()!);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async until(ready: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (ready()) return;
      await new Promise<void>((wake) => (this.wake = wake));
    }
  }

  /** Like a carry through a binary counter: an odd-numbered subtree completes its pending left sibling. */
  private merge(job: ChunkJob): void {
    const roots = job.roots!;
    job.captureIds.forEach((id, j) => (this.captured[id] = roots.captured[j]));
    if (job.gathered !== undefined && this.spare.length < this.maxInFlight) this.spare.push(job.gathered);
    let node = roots.root;
    let level = this.chunkLevel;
    let index = job.index;
    while (index % 2 === 1) {
      node = parentNode(this.pending[level - this.chunkLevel]!, node, level);
      this.pending[level - this.chunkLevel] = undefined;
      level++;
      index = (index - 1) / 2;
      this.captureNode(level, index, node);
    }
    this.pending[level - this.chunkLevel] = node;
  }

  private captureNode(level: number, index: number, node: Uint8Array): void {
    for (const id of this.capturesByNode.get(`${level}:${index}`) ?? []) this.captured[id] = node;
  }

  private async complete(height: number): Promise<MerkleStreamResult> {
    // The last chunk, partial (or the only one, perhaps empty: its own tree is the whole tree).
    if (this.gathered > 0 || this.chunks === 0) {
      const gathering = this.gathering ?? new Uint8Array(0);
      await this.submit(gathering.subarray(0, this.gathered), gathering, Math.min(height, this.chunkLevel));
    }
    await this.until(() => this.inFlight.length === 0);
    // Up the right edge: each level's pending root pairs with what rises from below or a zero hash.
    let rising: Uint8Array | undefined;
    let index = this.chunks;
    for (let level = this.chunkLevel; level < height; level++) {
      if (index % 2 === 1) rising = parentNode(this.pending[level - this.chunkLevel]!, rising ?? zeroHash(level), level);
      else if (rising !== undefined) rising = parentNode(rising, zeroHash(level), level);
      index = Math.floor(index / 2);
      if (rising !== undefined) this.captureNode(level + 1, index, rising);
    }
    const root = rising ?? this.pending[Math.max(0, height - this.chunkLevel)]!;
    return {
      root: root.slice(),
      paddedSize: 32 * 2 ** height,
      length: this.accepted,
      captured: this.captures.map((c, id) => (this.captured[id] ?? zeroHash(captureLevel(c))).slice()),
    };
  }
}
