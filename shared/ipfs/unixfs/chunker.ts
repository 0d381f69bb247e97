/**
 * Fixed-size chunking (Kubo's `size-N` chunker): a byte stream cut, whatever the boundaries it
 * arrives in, into chunks of exactly `chunkSize` bytes and one shorter last chunk, or one empty
 * chunk for an empty stream. Whole chunks inside a pushed array are passed on as views of it;
 * only a chunk that straddles two pushes is copied, into the one buffer this chunker holds.
 */
export class FixedSizeChunker {
  private partial: Uint8Array | undefined;
  private filled = 0;
  private emitted = false;

  /** `onChunk` gets a view that is valid only during the call: copy it to keep it. */
  constructor(private readonly chunkSize: number, private readonly onChunk: (chunk: Uint8Array) => void) {
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size ${chunkSize} is not a positive integer`);
  }

  push(bytes: Uint8Array): void {
    let offset = 0;
    if (this.filled > 0) {
      offset = Math.min(this.chunkSize - this.filled, bytes.length);
      this.partial!.set(bytes.subarray(0, offset), this.filled);
      this.filled += offset;
      if (this.filled < this.chunkSize) return;
      this.filled = 0;
      this.emit(this.partial!);
    }
    for (; bytes.length - offset >= this.chunkSize; offset += this.chunkSize) this.emit(bytes.subarray(offset, offset + this.chunkSize));
    if (offset < bytes.length) {
      this.partial ??= new Uint8Array(this.chunkSize);
      this.partial.set(bytes.subarray(offset));
      this.filled = bytes.length - offset;
    }
  }

  /** Passes on the last, shorter chunk; for an empty stream, the empty chunk Kubo stores. */
  end(): void {
    if (this.filled > 0 || !this.emitted) this.emit((this.partial ?? new Uint8Array(0)).subarray(0, this.filled));
    this.filled = 0;
  }

  private emit(chunk: Uint8Array): void {
    this.emitted = true;
    this.onChunk(chunk);
  }
}
