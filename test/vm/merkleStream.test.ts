import fc from 'fast-check';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { MerkleCaptureInvalid, MerkleChunkSizeInvalid, MerkleStreamFinished, MerkleStreamLengthMismatch } from '../../shared/vm/merkleErrors';
import { treeHeight, type MerkleRegion, type RegionHasher } from '../../shared/vm/merkleRegion';
import { DEFAULT_CHUNK_SIZE, MerkleStream } from '../../shared/vm/merkleStream';
import { loadNativeHasher } from '../../shared/vm/nativeHasher';
import { wasmHasher } from '../../shared/vm/wasmHasher';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const native = loadNativeHasher();
if (native === undefined) throw new Error('the native hasher is not built: run `npm run build:native` first (npm test does)');

/** `length` bytes from a seed (xorshift), with zeroed runs of `zeroRun` bytes where `pattern` says. */
function streamBytes(length: number, seed: number, zeroRun: number, pattern: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x;
  }
  if (zeroRun > 0) for (let run = 0; run * zeroRun < length; run++) if ((pattern >>> run % 31) & 1) bytes.fill(0, run * zeroRun, (run + 1) * zeroRun);
  return bytes;
}

/** The root of the aligned region, zero-padded where it passes the end of `bytes`. */
function regionRoot(bytes: Uint8Array, { offset, size }: MerkleRegion): Uint8Array {
  const region = new Uint8Array(size);
  region.set(bytes.subarray(offset, offset + size));
  return merkleRootOfBytes(region);
}

async function streamRoot(bytes: Uint8Array, cuts: number[], options: ConstructorParameters<typeof MerkleStream>[0]) {
  const stream = new MerkleStream(options);
  let at = 0;
  for (const cut of [...cuts.map((c) => Math.min(c, bytes.length)).sort((a, b) => a - b), bytes.length]) {
    await stream.push(bytes.subarray(at, Math.max(at, cut)));
    at = Math.max(at, cut);
  }
  return stream.finish();
}

const arbStream = (maxLength: number) =>
  fc
    .record({
      length: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: maxLength })),
      seed: fc.integer(),
      zeroRun: fc.constantFrom(0, 32, 64, 4096, 65536),
      pattern: fc.nat(),
      chunkSize: fc.constantFrom(64, 128, 4096, 65536, 1 << 20),
    })
    .chain((s) => {
      const height = treeHeight(s.length);
      const capture = fc.integer({ min: 0, max: height }).chain((level) =>
        fc.nat({ max: 2 ** (height - level) - 1 }).map((k): MerkleRegion => ({ offset: k * 32 * 2 ** level, size: 32 * 2 ** level })),
      );
      return fc.record({
        ...Object.fromEntries(Object.entries(s).map(([k, v]) => [k, fc.constant(v)])),
        cuts: fc.array(fc.nat({ max: s.length }), { maxLength: 12 }),
        captures: fc.array(capture, { maxLength: 10 }),
        declared: fc.boolean(),
      }) as fc.Arbitrary<typeof s & { cuts: number[]; captures: MerkleRegion[]; declared: boolean }>;
    });

describe.each([
  ['native', native],
  ['wasm fallback', wasmHasher],
] as [string, RegionHasher][])('MerkleStream on the %s hasher', (_, hasher) => {
  it('gives merkleRootOfBytes of the whole stream and of every captured region, whatever the push boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(arbStream(3 << 20), async ({ length, seed, zeroRun, pattern, chunkSize, cuts, captures, declared }) => {
        const bytes = streamBytes(length, seed, zeroRun, pattern);
        const result = await streamRoot(bytes, cuts, { hasher, chunkSize, captures, length: declared ? length : undefined });
        expect(hex(result.root)).toBe(hex(merkleRootOfBytes(bytes)));
        expect(result.length).toBe(length);
        expect(result.paddedSize).toBe(32 * 2 ** treeHeight(length));
        expect(result.captured.map(hex)).toEqual(captures.map((c) => hex(regionRoot(bytes, c))));
      }),
      { numRuns: hasher === native ? 60 : 25 },
    );
  });

  it('streams a larger blob in default chunks, capturing regions larger and smaller than a chunk', async () => {
    const length = 4 * DEFAULT_CHUNK_SIZE + 12345;
    const bytes = streamBytes(length, 7, 65536, 0x2d);
    const captures = [
      { offset: 0, size: 4 * DEFAULT_CHUNK_SIZE },
      { offset: 2 * DEFAULT_CHUNK_SIZE, size: 2 * DEFAULT_CHUNK_SIZE },
      { offset: 4 * DEFAULT_CHUNK_SIZE, size: 4 * DEFAULT_CHUNK_SIZE },
      { offset: 3 * DEFAULT_CHUNK_SIZE + 4096, size: 4096 },
      { offset: 0, size: 8 * DEFAULT_CHUNK_SIZE },
    ];
    const result = await streamRoot(bytes, [1, 4 << 20, (4 << 20) + 3, 7 << 20], { hasher, captures });
    expect(hex(result.root)).toBe(hex(merkleRootOfBytes(bytes)));
    expect(result.captured.map(hex)).toEqual(captures.map((c) => hex(regionRoot(bytes, c))));
  });
});

/** A hasher that finishes its regions out of order, after random delays, and counts how many it holds at once. */
function shuffledHasher(inner: RegionHasher) {
  const state = { inFlight: 0, most: 0 };
  const h: RegionHasher = {
    ...inner,
    threads: 2,
    async regionRoots(buffer, offset, length, height, captures) {
      state.most = Math.max(state.most, ++state.inFlight);
      const roots = await inner.regionRoots(buffer, offset, length, height, captures);
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      state.inFlight--;
      return roots;
    },
  };
  return { hasher: h, state };
}

describe('MerkleStream', () => {
  it('merges chunks in stream order when they finish out of order, with at most two per thread in flight', async () => {
    const { hasher, state } = shuffledHasher(wasmHasher);
    const bytes = streamBytes(40 * 1024 + 77, 3, 0, 0);
    const captures = [{ offset: 8192, size: 8192 }, { offset: 1024, size: 1024 }];
    const result = await streamRoot(bytes, [100, 5000, 30000], { hasher, chunkSize: 1024, captures });
    expect(hex(result.root)).toBe(hex(merkleRootOfBytes(bytes)));
    expect(result.captured.map(hex)).toEqual(captures.map((c) => hex(regionRoot(bytes, c))));
    expect(state.most).toBe(4);
  });

  it('rejects its pending promises when hashing fails', async () => {
    const failing: RegionHasher = { ...wasmHasher, regionRoots: () => Promise.reject(new Error('disk on fire')) };
    const stream = new MerkleStream({ hasher: failing, chunkSize: 64 });
    await expect(stream.push(new Uint8Array(1000))).rejects.toThrow('disk on fire');
    await expect(stream.finish()).rejects.toThrow('disk on fire');
  });

  it('refuses pushes and a second finish after finish()', async () => {
    const stream = new MerkleStream();
    await stream.push(new Uint8Array(10));
    const { root } = await stream.finish();
    expect(hex(root)).toBe(hex(merkleRootOfBytes(new Uint8Array(10))));
    expect(() => stream.push(new Uint8Array(1))).toThrow(MerkleStreamFinished);
    expect(() => stream.finish()).toThrow(expect.objectContaining({ name: 'MerkleStreamFinished', call: 'finish' }));
  });

  it('holds a declared length to its word', async () => {
    const longer = new MerkleStream({ length: 100 });
    await longer.push(new Uint8Array(60));
    expect(() => longer.push(new Uint8Array(41))).toThrow(expect.objectContaining({ name: 'MerkleStreamLengthMismatch', expected: 100, pushed: 101 }));
    const shorter = new MerkleStream({ length: 100 });
    await shorter.push(new Uint8Array(99));
    expect(() => shorter.finish()).toThrow(MerkleStreamLengthMismatch);
  });

  it('refuses captures that are not subtrees of the tree, as soon as it can tell', async () => {
    for (const capture of [{ offset: 0, size: 48 }, { offset: 32, size: 64 }, { offset: 0, size: 16 }, { offset: -32, size: 32 }]) {
      expect(() => new MerkleStream({ captures: [capture] })).toThrow(MerkleCaptureInvalid);
    }
    // Declared length: checked at once against its 128-byte tree.
    expect(() => new MerkleStream({ length: 100, captures: [{ offset: 128, size: 32 }] })).toThrow(
      expect.objectContaining({ name: 'MerkleCaptureInvalid', offset: 128, size: 32, treeBytes: 128 }),
    );
    // Unknown length: checked at finish, when the tree is known.
    const stream = new MerkleStream({ captures: [{ offset: 0, size: 256 }] });
    await stream.push(new Uint8Array(100));
    expect(() => stream.finish()).toThrow(MerkleCaptureInvalid);
  });

  it('refuses a chunk size that is not a power of two from 64 bytes to 1 GiB', () => {
    for (const chunkSize of [0, 32, 1000, 2 ** 31, 1.5]) expect(() => new MerkleStream({ chunkSize })).toThrow(MerkleChunkSizeInvalid);
  });
});
