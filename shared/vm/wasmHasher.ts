/**
 * The WebAssembly region hasher (./keccakWasm.ts): everywhere, on the calling thread. The fallback
 * where the native addon is not built (a Lambda bundle, another CPU) or OPML_NATIVE_HASH=0.
 */
import { chunkRoot } from './keccakWasm';
import { captureLevel, checkCapture, checkRegion, parentNode, treeHeight, zeroHash, type MerkleRegion, type RegionHasher, type RegionRoots } from './merkleRegion';

const bytesOf = (buffer: ArrayBuffer | ArrayBufferView, offset: number, length: number): Uint8Array =>
  ArrayBuffer.isView(buffer) ? new Uint8Array(buffer.buffer, buffer.byteOffset + offset, length) : new Uint8Array(buffer, offset, length);

/** Root of `bytes` zero-padded to 32·2^height: their own tree's root, then paired with zero subtrees. */
function paddedRoot(bytes: Uint8Array, height: number): Uint8Array {
  let root = new Uint8Array(chunkRoot(bytes).buffer);
  for (let level = treeHeight(bytes.length); level < height; level++) root = parentNode(root, zeroHash(level), level);
  return root;
}

/**
 * The region's root and its captures' in one pass: a subtree holding no capture smaller than
 * itself is hashed in one WebAssembly call; one that does is split in two, so every byte is hashed
 * once and each capture's root is a node met on the way.
 */
function rootsWithCaptures(bytes: Uint8Array, height: number, captures: readonly MerkleRegion[]): RegionRoots {
  const byOffset = [...captures].sort((a, b) => a.offset - b.offset);
  const firstAtOrAfter = (offset: number) => {
    let lo = 0;
    let hi = byOffset.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byOffset[mid].offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const holdsSmallerCapture = (offset: number, size: number) => {
    for (let i = firstAtOrAfter(offset); i < byOffset.length && byOffset[i].offset < offset + size; i++) if (byOffset[i].size < size) return true;
    return false;
  };
  const found = new Map<string, Uint8Array>();
  const node = (offset: number, level: number): Uint8Array => {
    const size = 32 * 2 ** level;
    let root: Uint8Array;
    if (offset >= bytes.length) root = zeroHash(level);
    else if (level > 0 && holdsSmallerCapture(offset, size)) root = parentNode(node(offset, level - 1), node(offset + size / 2, level - 1), level - 1);
    else root = paddedRoot(bytes.subarray(offset, Math.min(offset + size, bytes.length)), level);
    found.set(`${offset}:${level}`, root);
    return root;
  };
  const root = node(0, height);
  // Every capture is a node met above, except those past the bytes, inside a zero subtree.
  const captured = captures.map((c) => found.get(`${c.offset}:${captureLevel(c)}`) ?? node(c.offset, captureLevel(c)));
  return { root: root.slice(), captured: captured.map((r) => r.slice()) };
}

export const wasmHasher: RegionHasher = {
  name: 'wasm',
  threads: 1,
  regionRoot(buffer, offset, length, height) {
    checkRegion(buffer.byteLength, offset, length, height);
    return paddedRoot(bytesOf(buffer, offset, length), height);
  },
  regionRoots(buffer, offset, length, height, captures) {
    checkRegion(buffer.byteLength, offset, length, height);
    for (const c of captures) checkCapture(c, 32 * 2 ** height);
    return Promise.resolve(rootsWithCaptures(bytesOf(buffer, offset, length), height, captures));
  },
  newRootBatch() {
    let roots: Uint8Array[] = [];
    return {
      add: (bytes) => void roots.push(paddedRoot(bytes, treeHeight(bytes.length))),
      drain: () => {
        const out = roots;
        roots = [];
        return out;
      },
    };
  },
};
