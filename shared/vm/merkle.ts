/**
 * The memory Merkle tree of docs/vm-spec.md section 3: 32-byte leaves (raw, not hashed),
 * parent = keccak256(left ‖ right), 27 levels over the 2^32-byte space, zero hashes for untouched
 * subtrees. These helpers work on bytes; shared/vm/memory.ts keeps the incremental tree.
 */
import { hashPairWords } from './keccak';
import { hasher } from './hasher';
import { treeHeight } from './merkleRegion';
import { LEAF_SHIFT, LEAF_SIZE, MERKLE_PROOF_SIZE, PROOF_HEADER_SIZE, TREE_DEPTH } from './spec';

/** Copies bytes into little-endian 32-bit words (the form the hasher reads). */
export function toWords(bytes: Uint8Array): Uint32Array {
  const out = new Uint32Array(Math.ceil(bytes.length / 4));
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function fromWords(words: Uint32Array, off = 0, count = words.length - off): Uint8Array {
  return new Uint8Array(words.buffer.slice(words.byteOffset + off * 4, words.byteOffset + (off + count) * 4));
}

/** keccak256(left ‖ right) of two 32-byte nodes. */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  const w = toWords(new Uint8Array([...left.subarray(0, 32), ...right.subarray(0, 32)]));
  hashPairWords(w, 0, w, 8, w, 0);
  return fromWords(w, 0, 8);
}

/** Zero hashes as words: ZERO_WORDS[8*i .. 8*i+8) is Z[i]. */
export const ZERO_WORDS: Uint32Array = (() => {
  const z = new Uint32Array(8 * (TREE_DEPTH + 1));
  for (let i = 0; i < TREE_DEPTH; i++) hashPairWords(z, 8 * i, z, 8 * i, z, 8 * (i + 1));
  return z;
})();

/** Z[0] = 32 zero bytes, Z[i+1] = keccak256(Z[i] ‖ Z[i]); Z[27] is the root of empty memory. */
export const ZERO_HASHES: readonly Uint8Array[] = Array.from({ length: TREE_DEPTH + 1 }, (_, i) =>
  fromWords(ZERO_WORDS, 8 * i, 8),
);

/**
 * The root reached from a proof for `address`, starting from `leaf` (by default the proof's own
 * leaf). With a new leaf this is the root after writing it: the siblings are unchanged.
 */
export function rootFromProof(proof: Uint8Array, address: number, leaf?: Uint8Array, offset = 0): Uint8Array {
  const w = toWords(proof.subarray(offset, offset + MERKLE_PROOF_SIZE));
  if (leaf !== undefined) w.set(toWords(leaf.subarray(0, LEAF_SIZE)), 0);
  const k = address >>> LEAF_SHIFT;
  // node lives in w[0..8); sibling i in w[8(i+1) .. 8(i+2)).
  for (let i = 0; i < TREE_DEPTH; i++) {
    const sib = 8 * (i + 1);
    if ((k >>> i) & 1) hashPairWords(w, sib, w, 0, w, 0);
    else hashPairWords(w, 0, w, sib, w, 0);
  }
  return fromWords(w, 0, 8);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `proof` (at `offset`) proves its leaf at `address` under `root`. */
export function verifyProof(proof: Uint8Array, address: number, root: Uint8Array, offset = 0): boolean {
  if (proof.length - offset < MERKLE_PROOF_SIZE) return false;
  return bytesEqual(rootFromProof(proof, address, undefined, offset), root.subarray(0, 32));
}

/**
 * The step-witness form (docs/vm-spec.md section 4) of a plain 896-byte proof, carrying the levels
 * [0, levels): leaf ‖ zeroMask ‖ the siblings of those levels that are not zero hashes, leaf level
 * first. The canonical form: every zero-hash sibling is omitted, and only those.
 */
export function compressProof(proof: Uint8Array, levels: number = TREE_DEPTH): Uint8Array {
  const siblings: Uint8Array[] = [];
  let mask = 0;
  for (let i = 0; i < levels; i++) {
    const sibling = proof.subarray(LEAF_SIZE * (i + 1), LEAF_SIZE * (i + 2));
    if (bytesEqual(sibling, ZERO_HASHES[i])) mask |= 1 << i;
    else siblings.push(sibling);
  }
  const out = new Uint8Array(PROOF_HEADER_SIZE + LEAF_SIZE * siblings.length);
  out.set(proof.subarray(0, LEAF_SIZE), 0);
  new DataView(out.buffer).setUint32(LEAF_SIZE, mask >>> 0);
  siblings.forEach((s, i) => out.set(s, PROOF_HEADER_SIZE + LEAF_SIZE * i));
  return out;
}

/** The size a region of `length` bytes occupies in the tree: a power of two, at least 32. */
export function paddedSize(length: number): number {
  let size = LEAF_SIZE;
  while (size < length) size *= 2;
  return size;
}

/**
 * Root of `bytes` zero-padded to paddedSize(bytes.length): exactly the root of the subtree that
 * holds these bytes in VM memory at an address aligned to that size (how tensor roots are made).
 * Hashed where the bytes lie by the process's hasher (./hasher.ts).
 */
export function merkleRootOfBytes(bytes: Uint8Array): Uint8Array {
  return hasher.regionRoot(bytes, 0, bytes.length, treeHeight(bytes.length));
}
