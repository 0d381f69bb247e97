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
