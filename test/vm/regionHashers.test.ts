/**
 * The region hashers against each other and against two independent models: the native addon
 * (built by `npm run build:native`, which `npm test` runs first), the same addon built with the
 * portable kernel only (what CPUs without AVX2 run, built here into a temporary folder), the
 * WebAssembly hasher, a tree built level by level with the plain JavaScript keccak256
 * (shared/vm/keccak.ts), and the naive tree of ./naiveTree.ts.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasher, NATIVE_HASH_SWITCH } from '../../shared/vm/hasher';
import { keccak256 } from '../../shared/vm/keccak';
import { MerkleCaptureInvalid, MerkleRegionOutsideBuffer, MerkleTreeTooSmall, NativeHasherLoadFailed, NativeHasherSelfTestFailed } from '../../shared/vm/merkleErrors';
import { treeHeight, zeroHash, type MerkleRegion, type RegionHasher } from '../../shared/vm/merkleRegion';
import { loadNativeHasher, NATIVE_HASHER_PATH } from '../../shared/vm/nativeHasher';
import { wasmHasher } from '../../shared/vm/wasmHasher';
import { buildNative } from '../../scripts/build-native';
import { NaiveTree } from './naiveTree';
import { regionBytes } from './regionBytes';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const loaded = loadNativeHasher();
if (loaded === undefined) throw new Error(`${NATIVE_HASHER_PATH} is not built: run \`npm run build:native\` first (npm test does)`);
const native: RegionHasher = loaded;

const portableDir = mkdtempSync(join(tmpdir(), 'opml-native-portable-'));
afterAll(() => rmSync(portableDir, { recursive: true, force: true }));
const portable = loadNativeHasher(buildNative(join(portableDir, 'opml-native.node'), ['OPML_PORTABLE_KECCAK']).path)!;

const hashers: [string, RegionHasher][] = [
  [native.name, native],
  [portable.name, portable],
  ['wasm', wasmHasher],
];

/** The tree over `bytes` zero-padded to 32·2^height, level by level with the JavaScript keccak256. */
function referenceRoot(bytes: Uint8Array, height: number): Uint8Array {
  let level = new Uint8Array(32 * 2 ** height);
  level.set(bytes);
  while (level.length > 32) {
    const next = new Uint8Array(level.length / 2);
    for (let j = 0; j < next.length / 32; j++) next.set(keccak256(level.subarray(64 * j, 64 * j + 64)), 32 * j);
    level = next;
  }
  return level;
}

function padded(bytes: Uint8Array, height: number): Uint8Array {
  const out = new Uint8Array(32 * 2 ** height);
  out.set(bytes);
  return out;
}

/** Captures inside a tree of `height`: any level, any aligned position. */
const arbCaptures = (height: number) =>
  fc.array(
    fc.integer({ min: 0, max: height }).chain((level) =>
      fc.nat({ max: 2 ** (height - level) - 1 }).map((k): MerkleRegion => ({ offset: k * 32 * 2 ** level, size: 32 * 2 ** level })),
    ),
    { maxLength: 8 },
  );

describe('the process hasher', () => {
  it('is the native addon in this checkout (npm test builds it), unless OPML_NATIVE_HASH=0', () => {
    expect(hasher.name).toBe(process.env[NATIVE_HASH_SWITCH] === '0' ? 'wasm' : native.name);
    expect(native.name).toMatch(/^native-(avx2|portable)$/);
    expect(portable.name).toBe('native-portable');
  });

  it('is WebAssembly when OPML_NATIVE_HASH=0', () => {
    const before = process.env[NATIVE_HASH_SWITCH];
    process.env[NATIVE_HASH_SWITCH] = '0';
    try {
      jest.isolateModules(() => {
        const isolated = require('../../shared/vm/hasher') as typeof import('../../shared/vm/hasher');
        expect(isolated.hasher.name).toBe('wasm');
      });
    } finally {
      if (before === undefined) delete process.env[NATIVE_HASH_SWITCH];
      else process.env[NATIVE_HASH_SWITCH] = before;
    }
  });
});

describe.each(hashers)('the %s region hasher', (_, h) => {
  it('matches the JavaScript keccak tree for every length up to 300 and around the block edges', () => {
    const lengths = [...Array(301).keys(), 4095, 4096, 4097, 65535, 65536, 65537, 131072 + 33];
    for (const n of lengths) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 255);
      const height = treeHeight(n);
      expect(hex(h.regionRoot(bytes, 0, n, height))).toBe(hex(referenceRoot(bytes, height)));
    }
  });

  it('matches the JavaScript keccak tree on random bytes with zero runs, unaligned, in taller trees', () => {
    fc.assert(
      fc.property(regionBytes(20000), fc.nat({ max: 31 }), fc.nat({ max: 2 }), (bytes, shift, extra) => {
        const buffer = new Uint8Array(bytes.length + shift + 5).fill(0xa5);
        buffer.set(bytes, shift);
        const height = treeHeight(bytes.length) + extra;
        expect(hex(h.regionRoot(buffer, shift, bytes.length, height))).toBe(hex(referenceRoot(bytes, height)));
      }),
      { numRuns: 40 },
    );
  });

  it('matches the naive tree at an aligned address', () => {
    fc.assert(
      fc.property(regionBytes(600), (bytes) => {
        const height = treeHeight(bytes.length);
        const base = 0x40000000;
        const tree = new NaiveTree();
        tree.write(base, bytes);
        expect(hex(h.regionRoot(bytes, 0, bytes.length, height))).toBe(hex(tree.node(height, base / (32 * 2 ** height))));
      }),
      { numRuns: 20 },
    );
  });

  it('gives zero hashes for zero bytes without a shortcut going wrong', () => {
    for (const height of [0, 1, 5, 11, 12, 17]) {
      expect(hex(h.regionRoot(new Uint8Array(32 * 2 ** height), 0, 32 * 2 ** height, height))).toBe(hex(zeroHash(height)));
      expect(hex(h.regionRoot(new Uint8Array(0), 0, 0, height))).toBe(hex(zeroHash(height)));
    }
  });

  it('reads typed arrays of any element type, DataViews, ArrayBuffers and WebAssembly memory where the bytes lie', () => {
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + 3) & 255);
    const want = hex(referenceRoot(bytes.subarray(8, 4008), 7));
    const memory = new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 1 });
    new Uint8Array(memory.buffer).set(bytes);
    for (const view of [bytes, new Uint32Array(bytes.buffer), new DataView(bytes.buffer), bytes.buffer, memory.buffer, Buffer.from(bytes)]) {
      expect(hex(h.regionRoot(view, 8, 4000, 7))).toBe(want);
    }
  });

  it('roots aligned captures in the same pass, zero-padded past the bytes, in any order and nested', async () => {
    await fc.assert(
      fc.asyncProperty(
        regionBytes(70000).chain((bytes) => {
          const height = treeHeight(bytes.length) + (bytes.length % 3 === 0 ? 1 : 0);
          return fc.tuple(fc.constant(bytes), fc.constant(height), arbCaptures(height));
        }),
        async ([bytes, height, captures]) => {
          const { root, captured } = await h.regionRoots(bytes, 0, bytes.length, height, captures);
          const whole = padded(bytes, height);
          expect(hex(root)).toBe(hex(wasmHasher.regionRoot(whole, 0, whole.length, height)));
          captures.forEach((c, i) => expect(hex(captured[i])).toBe(hex(referenceRoot(whole.subarray(c.offset, c.offset + c.size), Math.log2(c.size) - 5))));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('hashes many regions at once, each to its own root', async () => {
    const regions = Array.from({ length: 24 }, (_, k) => Uint8Array.from({ length: 1000 * k + 7 }, (_, i) => (i * k + 1) & 255));
    const roots = await Promise.all(regions.map((r) => h.regionRoots(r, 0, r.length, treeHeight(r.length), [])));
    roots.forEach(({ root }, k) => expect(hex(root)).toBe(hex(wasmHasher.regionRoot(regions[k], 0, regions[k].length, treeHeight(regions[k].length)))));
  });

  it('batches roots of copies taken at add, in order, and starts over after a drain', () => {
    const batch = h.newRootBatch();
    const sizes = [0, 1, 10, 32, 33, 1000, 6000, 16384, 100000];
    const tensors = sizes.map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 255));
    const want = tensors.map((t) => hex(referenceRoot(t, treeHeight(t.length))));
    const scratch = new Uint8Array(100000);
    for (const t of tensors) {
      scratch.set(t);
      batch.add(scratch.subarray(0, t.length));
      scratch.fill(0xff); // the caller reuses its memory at once
    }
    expect(batch.drain().map(hex)).toEqual(want);
    expect(batch.drain()).toEqual([]);
    batch.add(tensors[5]);
    expect(batch.drain().map(hex)).toEqual([want[5]]);
  });

  it('drains batches that interleave, and batches drained while their jobs are still queued, to the same roots', async () => {
    // 160 adds of up to 64 KiB, drained at once: the draining thread hashes most of them itself
    // (taking them off the queue newest first) while the batch thread works from the oldest.
    const tensors = Array.from({ length: 160 }, (_, k) => Uint8Array.from({ length: 512 * k + 17 }, (_, i) => (i * 7 + k) & 255));
    const want = tensors.map((t) => hex(wasmHasher.regionRoot(t, 0, t.length, treeHeight(t.length))));
    const [a, b] = [h.newRootBatch(), h.newRootBatch()];
    // A streaming root on the other threads at the same time must not disturb either.
    const big = Uint8Array.from({ length: 4 << 20 }, (_, i) => (i >> 9) & 255);
    const streaming = h.regionRoots(big, 0, big.length, treeHeight(big.length), []);
    tensors.forEach((t, k) => (k % 2 === 0 ? a : b).add(t));
    expect(b.drain().map(hex)).toEqual(want.filter((_, k) => k % 2 === 1));
    expect(a.drain().map(hex)).toEqual(want.filter((_, k) => k % 2 === 0));
    expect(hex((await streaming).root)).toBe(hex(wasmHasher.regionRoot(big, 0, big.length, treeHeight(big.length))));
  });

  it('refuses regions outside their buffer, trees too small, and captures that are not subtrees', async () => {
    const buffer = new Uint8Array(100);
    const outside: [number, number][] = [
      [0, 101],
      [99, 2],
      [-1, 10],
      [1.5, 10],
      [0, Number.NaN],
    ];
    for (const [offset, length] of outside) {
      expect(() => h.regionRoot(buffer, offset, length, 7)).toThrow(MerkleRegionOutsideBuffer);
      expect(() => h.regionRoots(buffer, offset, length, 7, [])).toThrow(expect.objectContaining({ name: 'MerkleRegionOutsideBuffer', offset, bufferBytes: 100 }));
    }
    for (const height of [1, 2.5, -1, 49]) {
      expect(() => h.regionRoot(buffer, 0, 100, height)).toThrow(expect.objectContaining({ name: 'MerkleTreeTooSmall', length: 100, neededHeight: 2 }));
    }
    expect(() => h.regionRoot(buffer, 0, 100, 1)).toThrow(MerkleTreeTooSmall);
    const bad: MerkleRegion[] = [
      { offset: 0, size: 48 },
      { offset: 32, size: 64 },
      { offset: 0, size: 16 },
      { offset: 0, size: 256 },
      { offset: 128, size: 128 },
      { offset: -64, size: 64 },
    ];
    for (const capture of bad) {
      expect(() => h.regionRoots(buffer, 0, 100, 2, [capture])).toThrow(expect.objectContaining({ name: 'MerkleCaptureInvalid', ...capture, treeBytes: 128 }));
    }
    expect(() => h.regionRoots(buffer, 0, 100, 2, [{ offset: 0, size: 48 }])).toThrow(MerkleCaptureInvalid);
  });
});

describe('the native hasher on larger regions', () => {
  const bytes = new Uint8Array((3 << 20) + 4321);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i >>> 12) & 255 || 1;
  bytes.fill(0x5c, 1 << 20, (1 << 20) + 70000);

  it('matches the JavaScript keccak tree on 1 MiB of dense bytes', () => {
    const mib = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 23);
    expect(hex(native.regionRoot(mib, 0, mib.length, 15))).toBe(hex(referenceRoot(mib, 15)));
  });

  it('matches WebAssembly on 1 MiB and a few MiB with zero runs and an unaligned tail', async () => {
    for (const n of [1 << 20, bytes.length]) {
      const height = treeHeight(n);
      expect(hex(native.regionRoot(bytes, 0, n, height))).toBe(hex(wasmHasher.regionRoot(bytes, 0, n, height)));
      const captures = [{ offset: 1 << 20, size: 1 << 20 }, { offset: 65536, size: 65536 }, { offset: 2 << 20, size: 2 << 20 }].filter((c) => c.offset + c.size <= 32 * 2 ** height);
      const got = await native.regionRoots(bytes, 0, n, height, captures);
      const want = await wasmHasher.regionRoots(bytes, 0, n, height, captures);
      expect(got.captured.map(hex)).toEqual(want.captured.map(hex));
      expect(hex(got.root)).toBe(hex(want.root));
    }
  });
});

describe('the native addon under its checks', () => {
  // nativeHasher.ts checks every argument first; the addon's own checks keep a wrong call from
  // reading or writing outside its buffers all the same.
  const addon = require(NATIVE_HASHER_PATH) as Record<string, (...args: unknown[]) => unknown>;
  const data = new Uint8Array(100);
  const out = new Uint8Array(32);

  it('throws instead of reading outside the buffer or writing outside out', () => {
    expect(() => addon.regionRoots(data, 90, 20, 7, undefined, out)).toThrow('outside its buffer');
    expect(() => addon.regionRoots(data, 0, 100, 1, undefined, out)).toThrow('longer than its tree');
    expect(() => addon.regionRoots(data, 0, 100, 7, new Float64Array([0, 64]), out)).toThrow('32 bytes per root');
    expect(() => addon.regionRoots(data, 0, 100, 7, new Float64Array([32, 64]), new Uint8Array(64))).toThrow('not an aligned');
    expect(() => addon.regionRoots('bytes', 0, 1, 0, undefined, out)).toThrow('typed array');
    expect(() => addon.batchAdd({}, data, 0, 1)).toThrow('not a batch');
  });
});

describe('loading the native hasher', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'opml-native-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is no error when the addon was never built', () => {
    expect(loadNativeHasher(join(dir, 'absent.node'))).toBeUndefined();
  });

  it('fails loudly when the file is there but does not load', () => {
    const path = join(dir, 'broken.node');
    writeFileSync(path, 'not a shared object');
    expect(() => loadNativeHasher(path)).toThrow(NativeHasherLoadFailed);
  });

  it('fails loudly when the addon loads but hashes a known vector wrong', () => {
    const path = join(dir, 'wrong.js');
    writeFileSync(
      path,
      'module.exports = { kernel: "portable", threads: 1, regionRoots: (d, o, l, h, c, out) => out.fill(7), ' +
        'hashAsync() {}, newBatch() {}, batchAdd() {}, batchDrain() {} };',
    );
    expect(() => loadNativeHasher(path)).toThrow(expect.objectContaining({ name: 'NativeHasherSelfTestFailed', vector: 'Z[1] (64 zero bytes)' }));
    expect(() => loadNativeHasher(path)).toThrow(NativeHasherSelfTestFailed);
  });
});
