import fc from 'fast-check';
import { VMMerkleRegionInvalid } from '../../shared/vm/errors';
import { Memory, PAGE_SIZE } from '../../shared/vm/memory';
import { merkleRootOfBytes, verifyProof, ZERO_HASHES } from '../../shared/vm/merkle';
import { NaiveTree } from './naiveTree';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Writes that cluster (same leaf, same page, neighbouring pages) and scatter over 2^32. */
const arbAddress = fc.oneof(
  fc.nat({ max: 0xffffffff }),
  fc.integer({ min: 0x10000, max: 0x10000 + 3 * PAGE_SIZE }),
  fc.constantFrom(0, 0xffffffff, 0xfffffffc, PAGE_SIZE - 1),
);
const arbWrites = fc.array(fc.tuple(arbAddress, fc.uint8Array({ minLength: 1, maxLength: 48 })), { maxLength: 6 });

describe('paged memory and its Merkle tree', () => {
  it('has the empty-memory root Z[27]', () => {
    expect(hex(new Memory().root())).toBe(hex(ZERO_HASHES[27]));
  });

  it('matches a naive full recomputation after every batch of writes', () => {
    fc.assert(
      fc.property(fc.array(arbWrites, { minLength: 1, maxLength: 3 }), (batches) => {
        const memory = new Memory();
        const naive = new NaiveTree();
        for (const batch of batches) {
          for (const [a, bytes] of batch) {
            memory.writeBytes(a, bytes);
            naive.write(a, bytes);
          }
          expect(hex(memory.root())).toBe(hex(naive.root()));
          for (const [a] of batch) {
            const proof = memory.proof(a);
            expect(hex(proof)).toBe(hex(naive.proof(a)));
            expect(verifyProof(proof, a, memory.root())).toBe(true);
          }
        }
      }),
      { numRuns: 30 },
    );
  });

  it('reads back bytes and words, wrapping around the address space', () => {
    const memory = new Memory();
    memory.writeBytes(0xfffffffe, Uint8Array.from([1, 2, 3, 4]));
    expect([...memory.readBytes(0xfffffffe, 4)]).toEqual([1, 2, 3, 4]);
    expect(memory.readWord(0)).toBe(0x0403);
    memory.writeWord(0x2000, 0xdeadbeef | 0);
    expect(memory.readWord(0x2000)).toBe(0xdeadbeef);
    expect(memory.readByte(0x2003)).toBe(0xde);
    expect(memory.readWord(0x123450)).toBe(0);
  });

  it('roots aligned subtrees like merkleRootOfBytes, inside and across pages', () => {
    const memory = new Memory();
    const bytes = Uint8Array.from({ length: 3 * PAGE_SIZE + 100 }, (_, i) => (i * 13) & 255);
    const base = 0x10000000;
    memory.writeBytes(base, bytes);
    for (const size of [32, 64, 1024, PAGE_SIZE, 4 * PAGE_SIZE, 1 << 20]) {
      const region = new Uint8Array(size);
      region.set(bytes.subarray(0, size));
      expect(hex(memory.subtreeRoot(base, size))).toBe(hex(merkleRootOfBytes(region)));
    }
    expect(hex(memory.subtreeRoot(0, 2 ** 32))).toBe(hex(memory.root()));
    expect(() => memory.subtreeRoot(base + 32, 64)).toThrow(VMMerkleRegionInvalid);
    expect(() => memory.subtreeRoot(base, 48)).toThrow(VMMerkleRegionInvalid);
    expect(() => memory.subtreeRoot(base, 16)).toThrow(VMMerkleRegionInvalid);
  });

  it('snapshots copy-on-write: both sides evolve independently', () => {
    const memory = new Memory();
    memory.writeBytes(0x1000, Uint8Array.from([1, 2, 3]));
    const rootA = hex(memory.root());
    const snap = memory.snapshot();
    memory.writeByte(0x1000, 9);
    memory.writeByte(0x900000, 7);
    const rootB = hex(memory.root());
    expect(rootB).not.toBe(rootA);
    const copy = Memory.fromSnapshot(snap);
    expect(hex(copy.root())).toBe(rootA);
    expect(copy.readByte(0x1000)).toBe(1);
    copy.writeByte(0x1001, 5);
    expect(memory.readByte(0x1001)).toBe(2);
    expect(hex(memory.root())).toBe(rootB);
    memory.restore(snap);
    expect(hex(memory.root())).toBe(rootA);
    expect(memory.readByte(0x900000)).toBe(0);
    const clone = memory.clone();
    clone.writeByte(0x1002, 0);
    expect(memory.readByte(0x1002)).toBe(3);
    expect(hex(memory.root())).toBe(rootA);
  });

  it('notifies a listener when a page marked as code is written', () => {
    const memory = new Memory();
    const seen: number[] = [];
    memory.onCodeWrite((p) => seen.push(p));
    memory.writeWord(0x10000, 0x13);
    memory.markCode(0x10);
    memory.writeWord(0x20000, 1);
    memory.writeWord(0x10004, 2);
    memory.writeWord(0x10008, 3);
    expect(seen).toEqual([0x10]);
  });
});

describe('regions mapped with a known root (large tensors in a start state)', () => {
  const regionBytes = (length: number, seed: number): Uint8Array => {
    const out = new Uint8Array(length);
    let x = seed | 1;
    for (let i = 0; i < length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
  const arbRegion = fc.record({
    log2Size: fc.integer({ min: 12, max: 17 }),
    slot: fc.integer({ min: 1, max: 6 }),
    fill: fc.double({ min: 0.01, max: 1, noNaN: true }),
    seed: fc.integer(),
  });

  it('gives the roots, proofs and subtree roots of writing the same bytes, before and after writes inside it', () => {
    fc.assert(
      fc.property(arbRegion, fc.array(fc.tuple(fc.double({ min: 0, max: 0.999, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 40 })), { maxLength: 3 }), (r, writes) => {
        const size = 2 ** r.log2Size;
        const address = 0x10000000 + r.slot * size;
        const bytes = regionBytes(Math.max(1, Math.floor(size * r.fill)), r.seed);
        const mapped = new Memory();
        const written = new Memory();
        for (const m of [mapped, written]) m.writeBytes(0x10000, Uint8Array.of(1, 2, 3));
        mapped.mapRegion(address, bytes, merkleRootOfBytes(bytes));
        written.writeBytes(address, bytes);
        expect(hex(mapped.root())).toBe(hex(written.root()));
        expect(hex(mapped.subtreeRoot(address, size))).toBe(hex(written.subtreeRoot(address, size)));
        const snapshot = mapped.snapshot();
        for (const [where, data] of writes) {
          const a = address + Math.floor(where * (size - data.length));
          mapped.writeBytes(a, data);
          written.writeBytes(a, data);
          expect(hex(mapped.root())).toBe(hex(written.root()));
          expect(hex(mapped.proof(a))).toBe(hex(written.proof(a)));
        }
        // The caller's bytes are shared, never written through: a snapshot still sees them.
        const restored = Memory.fromSnapshot(snapshot);
        const fresh = new Memory();
        fresh.writeBytes(0x10000, Uint8Array.of(1, 2, 3));
        fresh.writeBytes(address, bytes);
        expect(hex(restored.root())).toBe(hex(fresh.root()));
        expect(hex(restored.proof(address + size / 2))).toBe(hex(fresh.proof(address + size / 2)));
      }),
      { numRuns: 25 },
    );
  });

  it('neither copies nor hashes the region until a proof or a write needs its inner tree', () => {
    const bytes = regionBytes(1 << 20, 7);
    const memory = new Memory();
    memory.mapRegion(0x10100000, bytes, merkleRootOfBytes(bytes));
    expect(memory.page(0x10100000 >>> 12).buffer).toBe(bytes.buffer);
    const first = 0x10100000 >>> 12;
    const pageRootsInside = (m: Memory) => [...m.snapshot().levels[0].keys()].filter((p) => p >= first && p < first + 256).length;
    const clone = memory.clone();
    expect(hex(clone.root())).toBe(hex(memory.root()));
    expect(hex(memory.subtreeRoot(0x10100000, 1 << 20))).toBe(hex(merkleRootOfBytes(bytes)));
    expect([pageRootsInside(memory), pageRootsInside(clone)]).toEqual([0, 0]);
    clone.proof(0x10100000 + 4096 * 3);
    expect([pageRootsInside(memory), pageRootsInside(clone)]).toEqual([0, 256]);
  });

  it('refuses a root its bytes do not give when the tree is built, naming both', () => {
    const bytes = regionBytes(8192, 3);
    const memory = new Memory();
    memory.mapRegion(0x10100000, bytes, ZERO_HASHES[8]);
    expect(() => memory.proof(0x10100000)).toThrow(expect.objectContaining({ name: 'VMRegionRootMismatch', address: 0x10100000, size: 8192 }));
  });

  it('refuses a misaligned or already written region', () => {
    const bytes = regionBytes(8192, 3);
    expect(() => new Memory().mapRegion(0x10101000, bytes, merkleRootOfBytes(bytes))).toThrow(VMMerkleRegionInvalid);
    const memory = new Memory();
    memory.writeByte(0x10100010, 1);
    expect(() => memory.mapRegion(0x10100000, bytes, merkleRootOfBytes(bytes))).toThrow(VMMerkleRegionInvalid);
  });
});
