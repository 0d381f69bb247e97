/**
 * The native region hasher: shared/native/*.c built by `npm run build:native` into
 * build/native/opml-native.node, a Node addon hashing where the bytes lie (any ArrayBuffer or
 * view, a WebAssembly memory's included) with AVX2 four pairs at a time where the CPU has it, on
 * its own worker threads for regionRoots and batches.
 *
 * Loading: not built is no error (the caller falls back to WebAssembly: a Lambda bundle or a
 * machine without a C compiler has no addon); built but not loading, or loading and hashing two
 * known vectors wrong, throws, since a wrong root would be committed on-chain.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { NativeHasherLoadFailed, NativeHasherSelfTestFailed } from './merkleErrors';
import { checkCapture, checkRegion, treeHeight, type MerkleRegion, type RegionHasher, type RegionRoots, type RootBatch } from './merkleRegion';

export const NATIVE_HASHER_PATH = resolve(__dirname, '..', '..', 'build', 'native', 'opml-native.node');

type Bytes = ArrayBuffer | ArrayBufferView;

/** The addon's exports (shared/native/addon.c), which trust the checks made here. */
interface Addon {
  readonly kernel: 'avx2' | 'portable';
  /** The CPUs this process may use: the worker threads it starts on first use. */
  readonly threads: number;
  regionRoots(data: Bytes, offset: number, length: number, height: number, captures: Float64Array | undefined, out: Uint8Array): void;
  hashAsync(data: Bytes, offset: number, length: number, height: number, captures: Float64Array | undefined, out: Uint8Array, done: () => void): void;
  newBatch(): object;
  batchAdd(batch: object, data: Bytes, offset: number, length: number): void;
  batchDrain(batch: object, out: Uint8Array): void;
}

/** (offset, size) pairs as the addon reads them, after checking each capture against the tree. */
function capturePairs(captures: readonly MerkleRegion[], height: number): Float64Array | undefined {
  if (captures.length === 0) return undefined;
  const pairs = new Float64Array(2 * captures.length);
  captures.forEach((c, i) => {
    checkCapture(c, 32 * 2 ** height);
    pairs[2 * i] = c.offset;
    pairs[2 * i + 1] = c.size;
  });
  return pairs;
}

function splitRoots(out: Uint8Array, count: number): RegionRoots {
  return { root: out.slice(0, 32), captured: Array.from({ length: count }, (_, i) => out.slice(32 * (i + 1), 32 * (i + 2))) };
}

function nativeHasher(addon: Addon): RegionHasher {
  return {
    name: `native-${addon.kernel}`,
    threads: addon.threads,
    regionRoot(buffer, offset, length, height) {
      checkRegion(buffer.byteLength, offset, length, height);
      const out = new Uint8Array(32);
      addon.regionRoots(buffer, offset, length, height, undefined, out);
      return out;
    },
    regionRoots(buffer, offset, length, height, captures) {
      checkRegion(buffer.byteLength, offset, length, height);
      const pairs = capturePairs(captures, height);
      const out = new Uint8Array(32 * (1 + captures.length));
      return new Promise((done) => addon.hashAsync(buffer, offset, length, height, pairs, out, () => done(splitRoots(out, captures.length))));
    },
    newRootBatch(): RootBatch {
      const batch = addon.newBatch();
      let count = 0;
      return {
        add(bytes) {
          addon.batchAdd(batch, bytes, 0, bytes.length);
          count++;
        },
        drain() {
          const out = new Uint8Array(32 * count);
          addon.batchDrain(batch, out);
          const roots = Array.from({ length: count }, (_, i) => out.slice(32 * i, 32 * (i + 1)));
          count = 0;
          return roots;
        },
      };
    },
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Known roots from an independent implementation (ethers' keccak256, level by level): Z[1], which
 * the addon's zero-hash table starts from, and 4196 patterned bytes in a tree of height 8, which
 * take the 4-way kernel, the zero-padded last leaf and the unhashed padding subtrees.
 */
const SELF_TEST: readonly { vector: string; bytes: Uint8Array; root: string }[] = [
  { vector: 'Z[1] (64 zero bytes)', bytes: new Uint8Array(64), root: 'ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5' },
  {
    vector: 'bytes (131 i + 7) mod 256, i < 4196',
    bytes: Uint8Array.from({ length: 4196 }, (_, i) => (i * 131 + 7) & 255),
    root: '574dfec4a39cfc7fb6c26d2f6ec0c28baa58bf3425fbb8c6d97df9df5bb10bc7',
  },
];

/** The native hasher at `path`, checked against known roots; undefined when it was never built. */
export function loadNativeHasher(path: string = NATIVE_HASHER_PATH): RegionHasher | undefined {
  if (!existsSync(path)) return undefined;
  let addon: Addon;
  try {
    addon = require(path) as Addon;
  } catch (e) {
    throw new NativeHasherLoadFailed(path, (e as Error).message, { cause: e });
  }
  for (const name of ['regionRoots', 'hashAsync', 'newBatch', 'batchAdd', 'batchDrain'] as const) {
    if (typeof addon[name] !== 'function') throw new NativeHasherLoadFailed(path, `it has no ${name}(): built from other sources`);
  }
  const hasher = nativeHasher(addon);
  for (const { vector, bytes, root } of SELF_TEST) {
    const got = hex(hasher.regionRoot(bytes, 0, bytes.length, treeHeight(bytes.length)));
    if (got !== root) throw new NativeHasherSelfTestFailed(path, vector, got, root);
  }
  return hasher;
}
