import fc from 'fast-check';
import {
  VMDataProofInvalid,
  VMFetchProofInvalid,
  VMProofMaskInvalid,
  VMProofTooShort,
  VMProofZeroSiblingPresent,
  VmError,
} from '../../shared/vm/errors';
import { compressProof, ZERO_HASHES } from '../../shared/vm/merkle';
import { PROOF_HEADER_SIZE, Status } from '../../shared/vm/spec';
import { decodeState, encodeState, type VmState } from '../../shared/vm/state';
import { dataProofLevels, div, divu, mulh, mulhsu, mulhu, rem, remu, signExtend, step } from '../../shared/vm/step';
import { NaiveTree } from './naiveTree';
import { rv } from './rv';

const PC = 0x10000;

/** A one-instruction world: code at PC, optional data, registers; returns the witness pieces. */
function world(insn: number, regs: Record<number, number> = {}, data: Array<[number, number[]]> = []) {
  const tree = new NaiveTree();
  tree.write(PC, new Uint8Array(new Uint32Array([insn]).buffer));
  for (const [a, bytes] of data) tree.write(a, Uint8Array.from(bytes));
  const r = new Uint32Array(32);
  for (const [k, v] of Object.entries(regs)) r[Number(k)] = v >>> 0;
  const state: VmState = { memRoot: tree.root(), pc: PC, step: 41n, status: Status.RUNNING, exitCode: 0, regs: r };
  return { tree, state, pre: encodeState(state) };
}

/** The compressed step-witness proofs (docs/vm-spec.md section 4) of the naive tree. */
function witnessProofs(tree: NaiveTree, dataAddress?: number): Uint8Array {
  const fetch = compressProof(tree.proof(PC));
  if (dataAddress === undefined) return fetch;
  return new Uint8Array([...fetch, ...compressProof(tree.proof(dataAddress), dataProofLevels(PC, dataAddress))]);
}

function run(insn: number, regs: Record<number, number> = {}, dataAddress?: number, data: Array<[number, number[]]> = []) {
  const { tree, pre } = world(insn, regs, data);
  const proofs = witnessProofs(tree, dataAddress);
  return { post: decodeState(step(pre, proofs)), tree, pre, proofs };
}

describe('32-bit helpers', () => {
  const big = (x: number) => BigInt(x);
  const s = (x: number) => BigInt(x | 0);
  const hi = (p: bigint) => Number(BigInt.asUintN(32, p >> 32n));
  const u = fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff));

  it('multiply-high matches 64-bit BigInt products', () => {
    fc.assert(
      fc.property(u, u, (a, b) => {
        expect(mulhu(a, b)).toBe(hi(big(a) * big(b)));
        expect(mulh(a, b)).toBe(hi(s(a) * s(b)));
        expect(mulhsu(a, b)).toBe(hi(s(a) * big(b)));
      }),
      { numRuns: 2000 },
    );
  });

  it('division follows the RISC-V edge cases', () => {
    expect(div(7, 0)).toBe(0xffffffff);
    expect(divu(7, 0)).toBe(0xffffffff);
    expect(rem(7, 0)).toBe(7);
    expect(remu(0x80000001, 0)).toBe(0x80000001);
    expect(div(0x80000000, 0xffffffff)).toBe(0x80000000);
    expect(rem(0x80000000, 0xffffffff)).toBe(0);
    expect(div(-7 >>> 0, 2)).toBe(-3 >>> 0);
    expect(rem(-7 >>> 0, 2)).toBe(-1 >>> 0);
    expect(divu(0xfffffffe, 3)).toBe(Math.floor(0xfffffffe / 3));
    expect(signExtend(0x80, 8)).toBe(-128);
    expect(signExtend(0x7fff, 16)).toBe(0x7fff);
  });
});

describe('reference step', () => {
  it('executes ALU instructions and advances pc and step', () => {
    const { post } = run(rv.addi(5, 6, -1), { 6: 10 });
    expect(post.regs[5]).toBe(9);
    expect(post.pc).toBe(PC + 4);
    expect(post.step).toBe(42n);
    expect(run(rv.sub(1, 2, 3), { 2: 1, 3: 2 }).post.regs[1]).toBe(0xffffffff);
    expect(run(rv.srai(1, 2, 4), { 2: 0x80000000 }).post.regs[1]).toBe(0xf8000000);
    expect(run(rv.lui(1, 0xfffff)).post.regs[1]).toBe(0xfffff000);
    expect(run(rv.auipc(1, 1)).post.regs[1]).toBe(PC + 0x1000);
    expect(run(rv.muldiv(4, 1, 2, 3), { 2: 0x80000000, 3: 0xffffffff }).post.regs[1]).toBe(0x80000000);
  });

  it('discards writes to x0', () => {
    const { post } = run(rv.addi(0, 0, 5));
    expect(post.regs[0]).toBe(0);
    expect(encodeState(post).length).toBe(173);
  });

  it('jumps, links, and halts on misaligned targets without linking', () => {
    const jal = run(rv.jal(1, 8)).post;
    expect([jal.pc, jal.regs[1]]).toEqual([PC + 8, PC + 4]);
    const jalr = run(rv.jalr(1, 1, 3), { 1: 0x2000 }).post;
    expect([jalr.pc, jalr.regs[1], jalr.status]).toEqual([PC, 0x2000, Status.MISALIGNED_FETCH]);
    expect(run(rv.jal(1, 2)).post).toMatchObject({ pc: PC, status: Status.MISALIGNED_FETCH });
  });

  it('jalr reads rs1 before writing rd when they are the same register', () => {
    const post = run(rv.jalr(1, 1, 4), { 1: 0x2000 }).post;
    expect(post.pc).toBe(0x2004);
    expect(post.regs[1]).toBe(PC + 4);
  });

  it('checks alignment only for taken branches', () => {
    expect(run(rv.beq(1, 2, 6), { 1: 1, 2: 2 }).post).toMatchObject({ pc: PC + 4, status: Status.RUNNING });
    expect(run(rv.beq(1, 2, 6), { 1: 1, 2: 1 }).post).toMatchObject({ pc: PC, status: Status.MISALIGNED_FETCH });
    expect(run(rv.blt(1, 2, -8), { 1: -1, 2: 0 }).post.pc).toBe(PC - 8);
    expect(run(rv.branch(2, 1, 2, 8)).post.status).toBe(Status.ILLEGAL_INSTRUCTION);
  });

  it('loads and stores through the data proof', () => {
    const addr = 0x20004;
    const load = run(rv.load(0, 3, 1, 1), { 1: addr }, addr + 1, [[addr, [0x11, 0x80, 0x33, 0x44]]]).post;
    expect(load.regs[3]).toBe(0xffffff80);
    const lhu = run(rv.load(5, 3, 1, 0), { 1: addr }, addr, [[addr, [0x11, 0x80]]]).post;
    expect(lhu.regs[3]).toBe(0x8011);
    const { post, tree } = run(rv.sw(2, 1, 4), { 1: addr, 2: 0xcafebabe }, addr + 4);
    tree.write(addr + 4, Uint8Array.from([0xbe, 0xba, 0xfe, 0xca]));
    expect(Buffer.from(post.memRoot)).toEqual(Buffer.from(tree.root()));
  });

  it('halts on misaligned data accesses before reading memory', () => {
    const lw = run(rv.lw(3, 1, 2), { 1: 0x20000 });
    expect(lw.proofs.length).toBe(PROOF_HEADER_SIZE); // memory holds only the code leaf: every sibling omitted
    expect(lw.post).toMatchObject({ status: Status.MISALIGNED_LOAD, pc: PC, step: 42n });
    expect(run(rv.store(1, 1, 2, 1), { 1: 0x20000 }).post.status).toBe(Status.MISALIGNED_STORE);
  });

  it('handles the exit and write syscalls and rejects others', () => {
    const exit = run(rv.ecall(), { 17: 93, 10: 7 }).post;
    expect(exit).toMatchObject({ status: Status.EXITED, exitCode: 7, pc: PC });
    const write = run(rv.ecall(), { 17: 64, 10: 1, 11: 0x3000, 12: 5 }).post;
    expect(write).toMatchObject({ status: Status.RUNNING, pc: PC + 4 });
    expect(write.regs[10]).toBe(5);
    expect(run(rv.ecall(), { 17: 1 }).post.status).toBe(Status.BAD_SYSCALL);
    expect(run(rv.ebreak()).post.status).toBe(Status.ILLEGAL_INSTRUCTION);
  });

  it('returns a halted state unchanged and needs no proofs for it', () => {
    const { state } = world(rv.addi(1, 1, 1));
    const halted = encodeState({ ...state, status: Status.EXITED });
    expect(step(halted, new Uint8Array(0))).toEqual(halted);
  });

  it('halts on a misaligned pc without any proof', () => {
    const { state } = world(0);
    const post = decodeState(step(encodeState({ ...state, pc: PC + 2 }), new Uint8Array(0)));
    expect(post).toMatchObject({ status: Status.MISALIGNED_FETCH, step: 42n });
  });

  it('rejects short and tampered proofs with typed errors', () => {
    const { tree, pre } = world(rv.lw(3, 1, 0), { 1: 0x20000 }, [[0x20000, [1, 2, 3, 4]]]);
    // Leaf indexes 0x800 and 0x1000 first differ at bit 12: the fetch proof carries only the
    // data path's node at level 12 (68 bytes), the data proof only its header (12 zero levels).
    const good = witnessProofs(tree, 0x20000);
    expect(good.length).toBe(104);
    const expectError = (proofs: Uint8Array, cls: new (...args: never[]) => VmError) => {
      try {
        step(pre, proofs);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(cls);
        return e as VmError;
      }
    };
    const short = expectError(good.subarray(0, 50), VMProofTooShort) as VMProofTooShort;
    expect([short.needed, short.given]).toEqual([68, 50]);
    expect((expectError(good.subarray(0, 68), VMProofTooShort) as VMProofTooShort).needed).toBe(104);
    const wrongFetchLeaf = good.slice();
    wrongFetchLeaf[0] ^= 1;
    expect((expectError(wrongFetchLeaf, VMFetchProofInvalid) as VMFetchProofInvalid).pc).toBe(PC);
    const wrongFetchSibling = good.slice();
    wrongFetchSibling[36] ^= 1;
    expectError(wrongFetchSibling, VMFetchProofInvalid);
    const wrongValue = good.slice();
    wrongValue[68] ^= 0x40;
    expect((expectError(wrongValue, VMDataProofInvalid) as VMDataProofInvalid).address).toBe(0x20000);
    const highMask = good.slice();
    highMask[68 + 32] |= 0x08; // bit 27 of the data mask
    expect((expectError(highMask, VMProofMaskInvalid) as VMProofMaskInvalid).mask).toBe(0x08000fff);
    const joinBit = good.slice();
    joinBit[68 + 34] |= 0x10; // bit 12: the join level, which the data proof does not carry
    expect((expectError(joinBit, VMProofMaskInvalid) as VMProofMaskInvalid).mask).toBe(0x1fff);
    const spelled = new Uint8Array([...good.subarray(0, 68 + 36), ...ZERO_HASHES[4]]);
    spelled[68 + 35] &= ~0x10; // clear bit 4 and carry Z[4] instead
    expect((expectError(spelled, VMProofZeroSiblingPresent) as VMProofZeroSiblingPresent).level).toBe(4);
    // A different register value makes the proof refer to another leaf.
    const lie = encodeState({ ...decodeState(pre), regs: Uint32Array.from({ length: 32 }, (_, i) => (i === 1 ? 0x20040 : 0)) });
    expect(() => step(lie, good)).toThrow(VMDataProofInvalid);
    // Trailing bytes are ignored.
    expect(step(pre, new Uint8Array([...good, 1, 2, 3]))).toEqual(step(pre, good));
  });
});
