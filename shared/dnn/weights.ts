/**
 * Where a package's weights blob lives (docs/dnn-spec.md section 4). Blobs are read by offset, a
 * tensor at a time, never as one buffer: Node cannot hold a 7 GB model in one Buffer, and a
 * worker that holds several models must not hold their weights twice. Small packages (tests, the
 * shipped MNIST models) may sit in memory; anything else stays in its file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DnnError } from './errors';

export interface WeightsSource {
  readonly byteLength: number;
  /** Fills `target` with the bytes at `offset` (throws DnnWeightsReadError past the end). */
  readInto(offset: number, target: Uint8Array): void;
  /** Releases what the source holds open (a file); reading after it reopens. */
  close(): void;
}

export class DnnWeightsReadError extends DnnError {
  override name = 'DnnWeightsReadError';
  constructor(
    readonly where: string,
    readonly offset: number,
    readonly length: number,
    reason: string,
  ) {
    super(`cannot read ${length} bytes at offset ${offset} of the weights blob ${where}: ${reason}`);
  }
}

function checkRange(where: string, byteLength: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > byteLength)
    throw new DnnWeightsReadError(where, offset, length, `outside the blob's ${byteLength} bytes`);
}

/** A blob already in memory (small packages; what the importer builds). */
export class BytesWeights implements WeightsSource {
  constructor(readonly bytes: Uint8Array) {}

  get byteLength(): number {
    return this.bytes.length;
  }

  readInto(offset: number, target: Uint8Array): void {
    checkRange('in memory', this.bytes.length, offset, target.length);
    target.set(this.bytes.subarray(offset, offset + target.length));
  }

  close(): void {}
}

/** Descriptors of sources nobody closed are closed when the source is collected. */
const openFiles = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // already closed: nothing to release
  }
});

/**
 * A blob in a file, read with positioned reads on one descriptor kept open: the bytes stay those
 * of the file that was opened even if a cache later replaces or deletes it.
 */
export class FileWeights implements WeightsSource {
  readonly byteLength: number;
  private fd: number | undefined;

  constructor(readonly path: string) {
    this.byteLength = fstatSync(this.open()).size;
  }

  private open(): number {
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch (e) {
        throw new DnnWeightsReadError(this.path, 0, 0, (e as Error).message);
      }
      openFiles.register(this, this.fd, this);
    }
    return this.fd;
  }

  readInto(offset: number, target: Uint8Array): void {
    checkRange(this.path, this.byteLength, offset, target.length);
    const fd = this.open();
    let done = 0;
    while (done < target.length) {
      const n = readSync(fd, target, done, target.length - done, offset + done);
      if (n === 0) throw new DnnWeightsReadError(this.path, offset, target.length, `the file ended after ${offset + done} bytes (was it truncated?)`);
      done += n;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    openFiles.unregister(this);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** A copy of `length` bytes at `offset`. */
export function readWeights(source: WeightsSource, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  source.readInto(offset, out);
  return out;
}

/** The blob in order, `chunkBytes` at a time (the last piece shorter), reusing one buffer: copy what you keep. */
export function* weightsChunks(source: WeightsSource, chunkBytes = 4 << 20): Generator<Uint8Array> {
  const buffer = new Uint8Array(Math.min(chunkBytes, Math.max(1, source.byteLength)));
  for (let offset = 0; offset < source.byteLength; offset += buffer.length) {
    const piece = buffer.subarray(0, Math.min(buffer.length, source.byteLength - offset));
    source.readInto(offset, piece);
    yield piece;
  }
}

/** The whole blob in one buffer: only for packages known to be small (an in-memory source gives its own bytes). */
export function weightsBytes(source: WeightsSource): Uint8Array {
  return source instanceof BytesWeights ? source.bytes : readWeights(source, 0, source.byteLength);
}
