import fc from 'fast-check';
import { getBytes, keccak256 } from 'ethers';
import { memoryRegionRoot, SCRATCH_BYTES, VMHashRegionInvalid, type WasmMemory } from '../../shared/vm/keccakWasm';
import { Memory } from '../../shared/vm/memory';
import {
  compressProof,
  hashPair,
  merkleRootOfBytes,
  paddedSize,
  rootFromProof,
  verifyProof,
  ZERO_HASHES,
} from '../../shared/vm/merkle';
import { MERKLE_PROOF_SIZE, TREE_DEPTH } from '../../shared/vm/spec';
import { NaiveTree } from './naiveTree';
import { regionBytes } from './regionBytes';

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');

describe('merkle helpers', () => {
  it('builds the zero hashes Z[i+1] = keccak(Z[i] ‖ Z[i])', () => {
    expect(ZERO_HASHES).toHaveLength(TREE_DEPTH + 1);
    expect(hex(ZERO_HASHES[0])).toBe('0x' + '00'.repeat(32));
    for (let i = 0; i < TREE_DEPTH; i++) {
      expect(hex(ZERO_HASHES[i + 1])).toBe(keccak256(new Uint8Array([...ZERO_HASHES[i], ...ZERO_HASHES[i]])));
    }
    expect(hex(hashPair(ZERO_HASHES[3], ZERO_HASHES[3]))).toBe(hex(ZERO_HASHES[4]));
  });

  it('verifies proofs of a naive tree and rejects tampered ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.uint8Array({ minLength: 1, maxLength: 40 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat({ max: TREE_DEPTH - 1 }),
        (writes, tamperLevel) => {
          const tree = new NaiveTree();
          for (const [a, bytes] of writes) tree.write(a, bytes);
          const root = tree.root();
          const address = writes[0][0];
          const proof = tree.proof(address);
          expect(proof.length).toBe(MERKLE_PROOF_SIZE);
          expect(verifyProof(proof, address, root)).toBe(true);
          const wrongSibling = proof.slice();
          wrongSibling[32 * (tamperLevel + 1)] ^= 1;
          expect(verifyProof(wrongSibling, address, root)).toBe(false);
          const wrongLeaf = proof.slice();
          wrongLeaf[address & 31] ^= 0x80;
          expect(verifyProof(wrongLeaf, address, root)).toBe(false);
          // The same proof presented for the mirrored position at that level does not verify either, unless
          // the two subtrees there are equal (a zero leaf beside a zero leaf): then it truly is a proof of
          // that position. The mirrored position's own proof carries our subtree as its sibling there.
          const flipped = (address ^ (32 << tamperLevel)) >>> 0;
          const atLevel = (p: Uint8Array) => Buffer.from(p.subarray(32 * (tamperLevel + 1), 32 * (tamperLevel + 2)));
          const twins = atLevel(tree.proof(flipped)).equals(atLevel(proof));
          expect(verifyProof(proof, flipped, root)).toBe(twins);
          expect(verifyProof(proof.subarray(0, MERKLE_PROOF_SIZE - 1), address, root)).toBe(false);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('compresses a proof canonically: mask bit i exactly where sibling i is Z[i], the others in level order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 0xffffffe0 }), fc.uint8Array({ minLength: 1, maxLength: 8 })), { maxLength: 6 }),
        fc.nat({ max: 0xffffffff }),
        fc.integer({ min: 0, max: TREE_DEPTH }),
        (writes, address, levels) => {
          const tree = new NaiveTree();
          for (const [a, bytes] of writes) tree.write(a, bytes);
          const plain = tree.proof(address);
          const compressed = compressProof(plain, levels);
          const mask = Buffer.from(compressed).readUInt32BE(32);
          expect(hex(compressed.subarray(0, 32))).toBe(hex(plain.subarray(0, 32)));
          const carried: string[] = [];
          for (let i = 0; i < TREE_DEPTH; i++) {
            const sibling = plain.subarray(32 * (i + 1), 32 * (i + 2));
            const isZero = hex(sibling) === hex(ZERO_HASHES[i]);
            expect(((mask >>> i) & 1) === 1).toBe(i < levels && isZero);
            if (i < levels && !isZero) carried.push(hex(sibling));
          }
          expect(compressed.length).toBe(36 + 32 * carried.length);
          const got = Array.from({ length: carried.length }, (_, j) => hex(compressed.subarray(36 + 32 * j, 68 + 32 * j)));
          expect(got).toEqual(carried);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('computes the root after a leaf write from the same siblings', () => {
    const tree = new NaiveTree();
    tree.write(0x1000, new Uint8Array([1, 2, 3]));
    const proof = tree.proof(0x1004);
    const leaf = proof.slice(0, 32);
    leaf[4] = 9;
    tree.writeByte(0x1004, 9);
    expect(hex(rootFromProof(proof, 0x1004, leaf))).toBe(hex(tree.root()));
  });

  it('roots padded byte regions exactly as their aligned subtree in memory', () => {
    expect(paddedSize(0)).toBe(32);
    expect(paddedSize(33)).toBe(64);
    expect(paddedSize(1024)).toBe(1024);
    expect(hex(merkleRootOfBytes(new Uint8Array(0)))).toBe(hex(ZERO_HASHES[0]));
    expect(hex(merkleRootOfBytes(new Uint8Array(4096)))).toBe(hex(ZERO_HASHES[7]));
    for (const n of [5, 32, 100, 256, 1000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 1) & 255);
      const size = paddedSize(n);
      const tree = new NaiveTree();
      const base = 0x10000000;
      tree.write(base, bytes);
      const level = Math.log2(size) - 5;
      expect(hex(merkleRootOfBytes(bytes))).toBe(hex(tree.node(level, base / size / 1)));
    }
  });
});

/** The tree of docs/vm-spec.md section 3 over padded bytes, level by level with ethers' keccak256. */
function referenceRoot(bytes: Uint8Array): Uint8Array {
  let level = new Uint8Array(paddedSize(bytes.length));
  level.set(bytes);
  while (level.length > 32) {
    const next = new Uint8Array(level.length / 2);
    for (let j = 0; j < next.length / 32; j++) next.set(getBytes(keccak256(level.subarray(64 * j, 64 * j + 64))), 32 * j);
    level = next;
  }
  return level;
}

/** This repo's lib settings do not declare WebAssembly; Node provides it. */
const { WebAssembly: Wasm } = globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => WasmMemory } };

describe('region roots in one WebAssembly call', () => {
  const edgeSizes = [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 4064, 4095, 4096, 4097, 8191, 8192, 12289, 65535, 65536];

  it('match the tree over padded bytes hashed with ethers, at the block and padding edges', () => {
    for (const n of edgeSizes) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n) & 255);
      expect(hex(merkleRootOfBytes(bytes))).toBe(hex(referenceRoot(bytes)));
    }
  });

  it('match the tree over padded bytes hashed with ethers, for random sizes up to 64 KiB with zero runs', () => {
    fc.assert(
      fc.property(regionBytes(65536), (bytes) => hex(merkleRootOfBytes(bytes)) === hex(referenceRoot(bytes))),
      { numRuns: 40 },
    );
  });

  it('match the naive tree and Memory.subtreeRoot at an aligned address', () => {
    fc.assert(
      fc.property(regionBytes(65536), (bytes) => {
        const size = paddedSize(bytes.length);
        const base = 0x20000000;
        const tree = new NaiveTree();
        tree.write(base, bytes);
        const memory = new Memory();
        memory.writeBytes(base, bytes);
        const root = hex(merkleRootOfBytes(bytes));
        expect(root).toBe(hex(tree.node(Math.log2(size) - 5, base / size)));
        expect(root).toBe(hex(memory.subtreeRoot(base, size)));
      }),
      { numRuns: 8 },
    );
  });

  it('hash a region of another module memory in place, reading nothing past it and writing only the scratch', () => {
    const memory = new Wasm.Memory({ initial: 3 });
    const all = new Uint8Array(memory.buffer);
    fc.assert(
      fc.property(regionBytes(65536), fc.nat({ max: 1000 }), (bytes, shift) => {
        all.fill(0xa5);
        const address = 8 * shift;
        all.set(bytes, address);
        const scratch = memory.buffer.byteLength - SCRATCH_BYTES;
        const before = all.slice(0, scratch);
        const root = memoryRegionRoot(memory, address, bytes.length, scratch);
        expect(hex(root)).toBe(hex(merkleRootOfBytes(bytes)));
        expect(hex(all.subarray(0, scratch))).toBe(hex(before));
      }),
      { numRuns: 25 },
    );
  });

  it('refuse a region or scratch outside the memory, overlapping, or not whole numbers', () => {
    const memory = new Wasm.Memory({ initial: 1 });
    const size = memory.buffer.byteLength;
    const cases: [number, number, number][] = [
      [size - 10, 11, 0],
      [-1, 4, 32768],
      [0, 100, size - SCRATCH_BYTES + 1],
      [0, 1024, 512],
      [1000, 100, 900],
      [1.5, 4, 32768],
      [0, 4.5, 32768],
    ];
    for (const [address, length, scratch] of cases) {
      let error: unknown;
      try {
        memoryRegionRoot(memory, address, length, scratch);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VMHashRegionInvalid);
      expect(error).toMatchObject({ name: 'VMHashRegionInvalid', address, length, scratch, memoryBytes: size });
    }
  });
});
