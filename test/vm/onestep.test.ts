/**
 * The on-chain one-step verifier on a real local chain, one hand-built witness per instruction
 * class and halting case with the expected post-state worked out by hand, and proof soundness:
 * every way of tampering with a witness is rejected with its exact custom error (or, for values
 * outside the Merkle tree, leads to a different pre-state hash and a different post-state).
 * Each witness also goes through the TypeScript reference step, which must agree.
 */
import { keccak256 } from 'ethers';
import { RiscvStep__factory, type RiscvStep } from '../../build/types';
import { ZERO_HASHES } from '../../shared/vm/merkle';
import { LEAF_SIZE, OPCODE, PROOF_HEADER_SIZE, STATE_OFFSET, STATE_SIZE, Status, VM_VERSION } from '../../shared/vm/spec';
import { decodeState, encodeState, type VmState } from '../../shared/vm/state';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import {
  blankState,
  buildProofs,
  buildWitness,
  compareOutcomes,
  concat,
  contractOutcome,
  leafWrite,
  proofEnd,
  referenceOutcome,
  regOffset,
  Rng,
  type LeafAt,
  type Outcome,
  type Witness,
} from './differential-harness';
import { rv } from './rv';

const INT_MIN = 0x80000000;
const ALL_ONES = 0xffffffff;
const PC = 0x00010040;

let chain: LocalChain;
let verifier: RiscvStep;
let address: string;

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 1 });
  verifier = await new RiscvStep__factory(chain.signers[0]).deploy();
  address = await verifier.getAddress();
});

afterAll(async () => {
  await chain?.stop();
});

/** A witness: state at `pc` (default PC) with the given registers, `word` at pc, optional data leaf. */
function witness(opts: {
  word: number;
  pc?: number;
  regs?: Record<number, number>;
  data?: LeafAt;
  fetchLeaf?: Uint8Array;
  state?: Partial<VmState>;
  mode?: 'sparse' | 'random';
}): Witness {
  const state = blankState({ pc: opts.pc ?? PC, ...opts.state });
  for (const [r, v] of Object.entries(opts.regs ?? {})) state.regs[Number(r)] = v >>> 0;
  return buildWitness({ state, word: opts.word, data: opts.data, fetchLeaf: opts.fetchLeaf, mode: opts.mode, rng: new Rng(42) });
}

/** Both sides' outcome; they must agree before the test looks at it. */
async function outcome(w: Witness): Promise<Outcome> {
  const onChain = await contractOutcome(chain.provider, address, w);
  expect(compareOutcomes(referenceOutcome(w), onChain)).toBeNull();
  return onChain;
}

async function post(w: Witness): Promise<VmState> {
  const o = await outcome(w);
  if ('error' in o) throw new Error(`expected a post-state, got ${o.error}(${o.args.join(', ')})`);
  return decodeState(o.postState);
}

async function rejection(w: Witness): Promise<[string, ...bigint[]]> {
  const o = await outcome(w);
  if (!('error' in o)) throw new Error('expected a revert, got a post-state');
  return [o.error, ...o.args];
}

/** Expected post-state: the pre-state with `changes`, the step counted. */
function expected(w: Witness, changes: Omit<Partial<VmState>, 'regs'> & { regs?: Record<number, number> }): VmState {
  const pre = decodeState(w.preState);
  const regs = pre.regs.slice();
  for (const [r, v] of Object.entries(changes.regs ?? {})) regs[Number(r)] = v >>> 0;
  return { ...pre, pc: (pre.pc + 4) >>> 0, step: pre.step + 1n, ...changes, regs };
}

const op = (f3: number, f7: number, rd = 5, rs1 = 6, rs2 = 7) => rv.r(OPCODE.OP, rd, f3, rs1, rs2, f7);
const dataLeaf = (addr: number, bytes: number[] = []): LeafAt => {
  const leaf = new Uint8Array(LEAF_SIZE);
  bytes.forEach((b, i) => (leaf[i] = b));
  return { address: addr, leaf };
};

describe('RiscvStep: constants', () => {
  it('reports VM_VERSION and STATE_SIZE of docs/vm-spec.md', async () => {
    expect(await verifier.VM_VERSION()).toBe(BigInt(VM_VERSION));
    expect(await verifier.STATE_SIZE()).toBe(BigInt(STATE_SIZE));
    expect(VM_VERSION).toBe(1);
    expect(STATE_SIZE).toBe(173);
  });

  it('step returns keccak256 of the stepState encoding, every field at its documented offset', async () => {
    const w = witness({ word: op(0, 0), regs: { 6: 0x01020304, 7: 0x10203040, 31: 0xa1b2c3d4 }, state: { step: 0x1122334455667788n, exitCode: 0xdeadbeef } });
    const postState = await verifier.stepState(w.preState, w.proofs);
    expect(await verifier.step(w.preState, w.proofs)).toBe(keccak256(postState));
    const bytes = Buffer.from(postState.slice(2), 'hex');
    expect(bytes.length).toBe(173);
    expect(bytes.readUInt32BE(STATE_OFFSET.pc)).toBe(PC + 4);
    expect(bytes.readBigUInt64BE(STATE_OFFSET.step)).toBe(0x1122334455667789n);
    expect(bytes[STATE_OFFSET.status]).toBe(Status.RUNNING);
    expect(bytes.readUInt32BE(STATE_OFFSET.exitCode)).toBe(0xdeadbeef);
    expect(bytes.readUInt32BE(regOffset(5))).toBe(0x11223344);
    expect(bytes.readUInt32BE(regOffset(31))).toBe(0xa1b2c3d4);
    expect(bytes.readUInt32BE(172 - 3)).toBe(0xa1b2c3d4); // x31 is the last field
  });

  it('wraps the uint64 step counter', async () => {
    const w = witness({ word: op(0, 0), state: { step: 0xffffffffffffffffn } });
    expect((await post(w)).step).toBe(0n);
  });
});

describe('RiscvStep: ALU, upper immediates, fences', () => {
  it.each([
    ['ADD wraps', op(0, 0), { 6: ALL_ONES, 7: 2 }, 1],
    ['SUB wraps', op(0, 0x20), { 6: 1, 7: 2 }, ALL_ONES],
    ['SLL uses the low 5 bits of rs2', op(1, 0), { 6: 3, 7: 33 }, 6],
    ['SLT is signed', op(2, 0), { 6: INT_MIN, 7: 1 }, 1],
    ['SLTU is unsigned', op(3, 0), { 6: INT_MIN, 7: 1 }, 0],
    ['XOR', op(4, 0), { 6: 0xff00ff00, 7: 0x0ff00ff0 }, 0xf0f0f0f0],
    ['SRL shifts in zeros', op(5, 0), { 6: INT_MIN, 7: 31 }, 1],
    ['SRA replicates the sign', op(5, 0x20), { 6: INT_MIN, 7: 31 }, ALL_ONES],
    ['OR', op(6, 0), { 6: 0xf0, 7: 0x0f }, 0xff],
    ['AND', op(7, 0), { 6: 0xf0f0, 7: 0xff00 }, 0xf000],
    ['ADDI sign-extends its immediate', rv.i(OPCODE.OP_IMM, 5, 0, 6, -1), { 6: 0 }, ALL_ONES],
    ['SLTI compares signed', rv.i(OPCODE.OP_IMM, 5, 2, 6, -1), { 6: INT_MIN }, 1],
    ['SLTIU compares the sign-extended immediate unsigned', rv.i(OPCODE.OP_IMM, 5, 3, 6, -1), { 6: 0xfffffffe }, 1],
    ['XORI -1 is NOT', rv.i(OPCODE.OP_IMM, 5, 4, 6, -1), { 6: 0x12345678 }, 0xedcba987],
    ['ORI', rv.i(OPCODE.OP_IMM, 5, 6, 6, 0x7ff), { 6: 0x1000 }, 0x17ff],
    ['ANDI', rv.i(OPCODE.OP_IMM, 5, 7, 6, -2048), { 6: ALL_ONES }, 0xfffff800],
    ['SLLI by 31', rv.r(OPCODE.OP_IMM, 5, 1, 6, 31, 0), { 6: 3 }, INT_MIN],
    ['SRLI by 0', rv.r(OPCODE.OP_IMM, 5, 5, 6, 0, 0), { 6: INT_MIN }, INT_MIN],
    ['SRAI by 4', rv.r(OPCODE.OP_IMM, 5, 5, 6, 4, 0x20), { 6: 0x80000010 }, 0xf8000001],
    ['MUL keeps the low half', op(0, 1), { 6: 0x10000, 7: 0x10001 }, 0x10000],
    ['MULH of -1 x -1', op(1, 1), { 6: ALL_ONES, 7: ALL_ONES }, 0],
    ['MULH of INT_MIN x INT_MIN', op(1, 1), { 6: INT_MIN, 7: INT_MIN }, 0x40000000],
    ['MULHSU of -1 x 0xffffffff', op(2, 1), { 6: ALL_ONES, 7: ALL_ONES }, ALL_ONES],
    ['MULHU of 0xffffffff squared', op(3, 1), { 6: ALL_ONES, 7: ALL_ONES }, 0xfffffffe],
    ['DIV rounds towards zero', op(4, 1), { 6: -7 >>> 0, 7: 2 }, -3 >>> 0],
    ['DIV INT_MIN / -1 overflows to INT_MIN', op(4, 1), { 6: INT_MIN, 7: ALL_ONES }, INT_MIN],
    ['DIV by zero is all ones', op(4, 1), { 6: 5, 7: 0 }, ALL_ONES],
    ['DIVU by zero is all ones', op(5, 1), { 6: 5, 7: 0 }, ALL_ONES],
    ['DIVU is unsigned', op(5, 1), { 6: ALL_ONES, 7: 2 }, 0x7fffffff],
    ['REM has the sign of the dividend', op(6, 1), { 6: -7 >>> 0, 7: 2 }, ALL_ONES],
    ['REM INT_MIN % -1 is 0', op(6, 1), { 6: INT_MIN, 7: ALL_ONES }, 0],
    ['REM by zero is the dividend', op(6, 1), { 6: -9 >>> 0, 7: 0 }, -9 >>> 0],
    ['REMU by zero is the dividend', op(7, 1), { 6: 9, 7: 0 }, 9],
    ['LUI', rv.lui(5, 0xabcde), {}, 0xabcde000],
    ['AUIPC adds pc', rv.auipc(5, 0x00001), {}, PC + 0x1000],
  ] as const)('%s', async (_name, word, regs, result) => {
    const w = witness({ word, regs });
    expect(await post(w)).toEqual(expected(w, { regs: { 5: result } }));
  });

  it('AUIPC wraps around the top of memory', async () => {
    const w = witness({ word: rv.auipc(5, 0x00002), pc: 0xfffff000 });
    expect(await post(w)).toEqual(expected(w, { pc: 0xfffff004, regs: { 5: 0x1000 } }));
  });

  it('discards writes to x0', async () => {
    const w = witness({ word: rv.i(OPCODE.OP_IMM, 0, 0, 6, 5), regs: { 6: 100 } });
    expect(await post(w)).toEqual(expected(w, {}));
  });

  it('reads x0 as zero', async () => {
    const w = witness({ word: op(0, 0x20, 5, 0, 7), regs: { 7: 1 } });
    expect(await post(w)).toEqual(expected(w, { regs: { 5: ALL_ONES } }));
  });

  it.each([
    ['FENCE', 0x0ff0000f],
    ['FENCE.I', 0x0000100f],
  ])('%s is a no-op', async (_name, word) => {
    const w = witness({ word });
    expect(await post(w)).toEqual(expected(w, {}));
  });

  it('advances pc past 0xfffffffc to 0', async () => {
    const w = witness({ word: op(0, 0), pc: 0xfffffffc });
    expect((await post(w)).pc).toBe(0);
  });
});

describe('RiscvStep: loads', () => {
  const bytes = [0x80, 0x81, 0x82, 0x83];

  it.each([
    ['LB sign-extends', 0, 0x40, 0xffffff80],
    ['LBU zero-extends', 4, 0x40, 0x80],
    ['LH sign-extends', 1, 0x40, 0xffff8180],
    ['LHU zero-extends', 5, 0x40, 0x8180],
    ['LW is little-endian', 2, 0x40, 0x83828180],
  ] as const)('%s', async (_name, f3, base, result) => {
    const w = witness({ word: rv.i(OPCODE.LOAD, 5, f3, 6, 0x20), regs: { 6: base }, data: dataLeaf(0x60, bytes) });
    expect(await post(w)).toEqual(expected(w, { regs: { 5: result } }));
  });

  it('loads the last word of a leaf (offset 28) and the last halfword (offset 30)', async () => {
    const leaf = dataLeaf(0x1000, []);
    leafWrite(leaf.leaf, 0x101c, 4, 0xcafef00d);
    const lw = witness({ word: rv.i(OPCODE.LOAD, 5, 2, 6, 0x1c), regs: { 6: 0x1000 }, data: leaf, mode: 'random' });
    expect(await post(lw)).toEqual(expected(lw, { regs: { 5: 0xcafef00d } }));
    const lh = witness({ word: rv.i(OPCODE.LOAD, 5, 1, 6, 0x1e), regs: { 6: 0x1000 }, data: leaf, mode: 'random' });
    expect(await post(lh)).toEqual(expected(lh, { regs: { 5: 0xffffcafe } }));
  });

  it('loads from the top of memory with a negative offset from x0', async () => {
    const leaf = dataLeaf(0xffffffe0);
    leafWrite(leaf.leaf, 0xfffffffc, 4, 0x01020304);
    const w = witness({ word: rv.i(OPCODE.LOAD, 5, 2, 0, -4), data: leaf });
    expect(await post(w)).toEqual(expected(w, { regs: { 5: 0x01020304 } }));
  });

  it('loads from address 0 and from the instruction leaf itself', async () => {
    const atZero = witness({ word: rv.i(OPCODE.LOAD, 5, 4, 0, 0), data: dataLeaf(0, [0x7f]) });
    expect(await post(atZero)).toEqual(expected(atZero, { regs: { 5: 0x7f } }));
    const word = rv.i(OPCODE.LOAD, 5, 2, 6, 0);
    const own = witness({ word, regs: { 6: PC }, data: { address: PC, leaf: new Uint8Array(LEAF_SIZE) }, mode: 'random' });
    // One leaf: the data proof is its header alone (leaf and an empty mask), every level shared.
    expect(own.proofs.length).toBe(proofEnd(own.proofs, 0) + PROOF_HEADER_SIZE);
    expect(await post(own)).toEqual(expected(own, { regs: { 5: word } }));
  });

  it('loads from the leaf next to the instruction leaf: the data proof is a bare header (join at level 0)', async () => {
    const leaf = dataLeaf(PC + 32);
    leafWrite(leaf.leaf, PC + 36, 4, 0x0badf00d);
    const w = witness({ word: rv.i(OPCODE.LOAD, 5, 2, 6, 4), regs: { 6: PC + 32 }, data: leaf, mode: 'random' });
    // The data path's level-0 sibling is the fetch leaf, every level above is the fetch path's.
    expect(w.proofs.length).toBe(proofEnd(w.proofs, 0) + PROOF_HEADER_SIZE);
    expect(await post(w)).toEqual(expected(w, { regs: { 5: 0x0badf00d } }));
  });

  it('reads rs1 before writing rd when they are the same register', async () => {
    const w = witness({ word: rv.i(OPCODE.LOAD, 6, 4, 6, 1), regs: { 6: 0x5f }, data: dataLeaf(0x60, [0xaa]) });
    expect(await post(w)).toEqual(expected(w, { regs: { 6: 0xaa } }));
  });
});

describe('RiscvStep: stores', () => {
  /** The root of the two-leaf memory after the store: the data leaf (or the shared leaf) updated. */
  function rootAfter(w: Witness, data: LeafAt, update: (leaf: Uint8Array) => void): Uint8Array {
    const pre = decodeState(w.preState);
    const fetchLeaf = w.proofs.slice(0, LEAF_SIZE);
    const sameLeaf = pre.pc >>> 5 === data.address >>> 5;
    const leaf = (sameLeaf ? fetchLeaf : data.leaf).slice();
    update(leaf);
    const fetch = { address: pre.pc, leaf: sameLeaf ? leaf : fetchLeaf };
    return buildProofs(fetch, sameLeaf ? undefined : { address: data.address, leaf }, 'sparse').memRoot;
  }

  it.each([
    ['SB writes one byte', 0, 0x1f, 1],
    ['SH writes two bytes at the end of a leaf', 1, 0x1e, 2],
    ['SW writes four bytes at offset 28', 2, 0x1c, 4],
  ] as const)('%s', async (_name, f3, offset, size) => {
    const data = dataLeaf(0x2000, Array.from({ length: 32 }, (_, i) => i + 1));
    const w = witness({ word: rv.store(f3, 6, 7, offset), regs: { 6: 0x2000, 7: 0xa1b2c3d4 }, data });
    const memRoot = rootAfter(w, data, (leaf) => leafWrite(leaf, 0x2000 + offset, size, 0xa1b2c3d4));
    expect(await post(w)).toEqual(expected(w, { memRoot }));
  });

  it('stores into the leaf of the instruction being executed', async () => {
    const data = { address: PC + 4, leaf: new Uint8Array(LEAF_SIZE) };
    const w = witness({ word: rv.store(2, 6, 7, 4), regs: { 6: PC, 7: 0x00000013 }, data });
    const memRoot = rootAfter(w, data, (leaf) => leafWrite(leaf, PC + 4, 4, 0x13));
    expect(await post(w)).toEqual(expected(w, { memRoot }));
  });

  it('stores at the very top of memory and at address 0', async () => {
    const top = dataLeaf(0xffffffe0);
    const w = witness({ word: rv.store(1, 0, 7, -2), regs: { 7: 0xbeef }, data: top });
    expect(await post(w)).toEqual(expected(w, { memRoot: rootAfter(w, top, (l) => leafWrite(l, 0xfffffffe, 2, 0xbeef)) }));
    const zero = dataLeaf(0);
    const z = witness({ word: rv.store(0, 0, 7, 0), regs: { 7: 0x1ff }, data: zero });
    expect(await post(z)).toEqual(expected(z, { memRoot: rootAfter(z, zero, (l) => leafWrite(l, 0, 1, 0xff)) }));
  });

  it('stores into the leaf next to the instruction leaf (the paths join at level 0)', async () => {
    const data = dataLeaf(PC + 32, [7, 7, 7, 7]);
    const w = witness({ word: rv.store(2, 6, 7, 0), regs: { 6: PC + 32, 7: 0x0a0b0c0d }, data });
    const memRoot = rootAfter(w, data, (leaf) => leafWrite(leaf, PC + 32, 4, 0x0a0b0c0d));
    expect(await post(w)).toEqual(expected(w, { memRoot }));
  });

  it('a store of the bytes already there keeps the root', async () => {
    const data = dataLeaf(0x3000, [0x44, 0x33, 0x22, 0x11]);
    const w = witness({ word: rv.store(2, 6, 7, 0), regs: { 6: 0x3000, 7: 0x11223344 }, data, mode: 'random' });
    expect(await post(w)).toEqual(expected(w, {}));
  });
});

describe('RiscvStep: branches and jumps', () => {
  it.each([
    ['BEQ taken', 0, 5, 5, true],
    ['BNE not taken', 1, 5, 5, false],
    ['BLT signed: -1 < 1', 4, ALL_ONES, 1, true],
    ['BGE signed: -1 >= 1 is false', 5, ALL_ONES, 1, false],
    ['BLTU unsigned: 0xffffffff < 1 is false', 6, ALL_ONES, 1, false],
    ['BGEU unsigned', 7, ALL_ONES, 1, true],
  ] as const)('%s', async (_name, f3, a, b, taken) => {
    const w = witness({ word: rv.branch(f3, 6, 7, -16), regs: { 6: a, 7: b } });
    expect(await post(w)).toEqual(expected(w, { pc: taken ? PC - 16 : PC + 4 }));
  });

  it('a taken branch to a target that is not a multiple of 4 halts MISALIGNED_FETCH; a not-taken one does not', async () => {
    const taken = witness({ word: rv.branch(0, 0, 0, 6) });
    expect(await post(taken)).toEqual(expected(taken, { pc: PC, status: Status.MISALIGNED_FETCH }));
    const notTaken = witness({ word: rv.branch(1, 0, 0, 6) });
    expect(await post(notTaken)).toEqual(expected(notTaken, {}));
  });

  it('JAL links pc + 4 and jumps backwards across 0', async () => {
    const w = witness({ word: rv.jal(1, -0x100), pc: 0x40 });
    expect(await post(w)).toEqual(expected(w, { pc: 0xffffff40, regs: { 1: 0x44 } }));
  });

  it('JALR clears bit 0 of the target and reads rs1 before writing rd', async () => {
    const w = witness({ word: rv.i(OPCODE.JALR, 1, 0, 1, 1), regs: { 1: 0x2000 } });
    expect(await post(w)).toEqual(expected(w, { pc: 0x2000, regs: { 1: PC + 4 } }));
  });

  it('a jump to a misaligned target halts without writing rd', async () => {
    const jalr = witness({ word: rv.i(OPCODE.JALR, 1, 0, 6, 2), regs: { 6: 0x2000 } });
    expect(await post(jalr)).toEqual(expected(jalr, { pc: PC, status: Status.MISALIGNED_FETCH }));
    const jal = witness({ word: rv.jal(1, 6) });
    expect(await post(jal)).toEqual(expected(jal, { pc: PC, status: Status.MISALIGNED_FETCH }));
  });
});

describe('RiscvStep: syscalls', () => {
  it('exit (a7 = 93) halts EXITED with exitCode = a0 and pc unchanged', async () => {
    const w = witness({ word: 0x73, regs: { 17: 93, 10: 0xfffffffe } });
    expect(await post(w)).toEqual(expected(w, { pc: PC, status: Status.EXITED, exitCode: 0xfffffffe }));
  });

  it('write (a7 = 64) sets a0 = a2 and continues', async () => {
    const w = witness({ word: 0x73, regs: { 17: 64, 10: 1, 11: 0x5000, 12: 13 } });
    expect(await post(w)).toEqual(expected(w, { regs: { 10: 13 } }));
  });

  it.each([0, 63, 94, 0x1005d])('any other number (%i) halts BAD_SYSCALL', async (n) => {
    const w = witness({ word: 0x73, regs: { 17: n } });
    expect(await post(w)).toEqual(expected(w, { pc: PC, status: Status.BAD_SYSCALL }));
  });
});

describe('RiscvStep: halting cases', () => {
  it.each([
    ['all zeros', 0x00000000],
    ['all ones', 0xffffffff],
    ['EBREAK', 0x00100073],
    ['CSRRW', 0x30529073],
    ['ECALL with rd set', 0x000000f3],
    ['branch funct3 2', rv.branch(2, 0, 0, 8)],
    ['load funct3 3 (LD)', rv.i(OPCODE.LOAD, 5, 3, 0, 0)],
    ['store funct3 3 (SD)', rv.store(3, 0, 0, 0)],
    ['JALR funct3 1', rv.i(OPCODE.JALR, 5, 1, 0, 0)],
    ['SLLI with shamt bit 5', rv.r(OPCODE.OP_IMM, 5, 1, 6, 0, 1)],
    ['SRAI with funct7 0x21', rv.r(OPCODE.OP_IMM, 5, 5, 6, 0, 0x21)],
    ['OP funct7 0x20 with XOR', op(4, 0x20)],
    ['OP funct7 0x02', op(0, 2)],
    ['MISC-MEM funct3 2', 0x0000200f],
    ['compressed (C.NOP)', 0x00000001],
  ])('illegal %s halts ILLEGAL_INSTRUCTION without writing rd', async (_name, word) => {
    const w = witness({ word, regs: { 5: 0x55 } });
    expect(await post(w)).toEqual(expected(w, { pc: PC, status: Status.ILLEGAL_INSTRUCTION }));
  });

  it('a misaligned pc halts MISALIGNED_FETCH and needs no proof', async () => {
    const state = encodeState(blankState({ pc: PC + 2, step: 9n }));
    const o = await outcome({ preState: state, proofs: new Uint8Array(0) });
    expect('postState' in o && decodeState(o.postState)).toEqual({ ...decodeState(state), step: 10n, status: Status.MISALIGNED_FETCH });
  });

  it.each([
    ['LH at an odd address', rv.i(OPCODE.LOAD, 5, 1, 6, 1), Status.MISALIGNED_LOAD],
    ['LHU at an odd address', rv.i(OPCODE.LOAD, 5, 5, 6, 3), Status.MISALIGNED_LOAD],
    ['LW at offset 30 (would cross the leaf)', rv.i(OPCODE.LOAD, 5, 2, 6, 30), Status.MISALIGNED_LOAD],
    ['SH at an odd address', rv.store(1, 6, 7, 1), Status.MISALIGNED_STORE],
    ['SW at offset 2', rv.store(2, 6, 7, 2), Status.MISALIGNED_STORE],
  ] as const)('%s halts before reading memory (fetch proof only)', async (_name, word, status) => {
    const w = witness({ word, regs: { 5: 0x55, 6: 0x4000 } });
    expect(w.proofs.length).toBe(PROOF_HEADER_SIZE); // sparse memory: every sibling omitted
    expect(await post(w)).toEqual(expected(w, { pc: PC, status }));
  });

  it.each([1, 2, 3, 4, 5, 6])('a halted state (status %i) is its own successor, step included', async (status) => {
    const preState = encodeState(blankState({ pc: 3, status, step: 77n, exitCode: 5 }));
    const o = await outcome({ preState, proofs: new Uint8Array(0) });
    expect('postState' in o && Buffer.from(o.postState).equals(Buffer.from(preState))).toBe(true);
  });
});

describe('RiscvStep: malformed encodings and proof soundness', () => {
  const load = () => witness({ word: rv.i(OPCODE.LOAD, 5, 2, 6, 0), regs: { 6: 0x8000 }, data: dataLeaf(0x8000, [1, 2, 3, 4]), mode: 'random' });
  const store = () => witness({ word: rv.store(2, 6, 7, 0), regs: { 6: 0x8000, 7: 0x01020304 }, data: dataLeaf(0x8000, [9, 9, 9, 9]), mode: 'random' });
  const flip = (bytes: Uint8Array, at: number) => {
    const out = bytes.slice();
    out[at] ^= 0x01;
    return out;
  };

  it('rejects a state of the wrong length', async () => {
    const w = load();
    expect(await rejection({ ...w, preState: w.preState.slice(0, 172) })).toEqual(['VMStateLengthInvalid', 172n]);
    expect(await rejection({ ...w, preState: concat(w.preState, new Uint8Array(1)) })).toEqual(['VMStateLengthInvalid', 174n]);
    expect(await rejection({ ...w, preState: new Uint8Array(0) })).toEqual(['VMStateLengthInvalid', 0n]);
  });

  it('rejects an unknown status, even for a state that would otherwise be halted', async () => {
    for (const status of [7, 0xff]) {
      const preState = load().preState.slice();
      preState[STATE_OFFSET.status] = status;
      expect(await rejection({ preState, proofs: new Uint8Array(0) })).toEqual(['VMStatusInvalid', BigInt(status)]);
    }
  });

  // load(): random siblings, so no sibling is omitted: the fetch proof carries all 27 levels
  // (36 + 27 * 32 = 900 bytes); pc's leaf index 0x802 and the data's 0x400 first differ at bit 11,
  // so the data proof carries levels 0..10 (36 + 11 * 32 = 388 bytes) and takes the rest from the
  // fetch path.
  const FETCH_END = 900;
  const DATA_END = FETCH_END + 388;

  it('lays out a dense load witness as documented: fetch proof, then the data proof up to the join level', () => {
    const w = load();
    expect(w.proofs.length).toBe(DATA_END);
    expect(proofEnd(w.proofs, 0)).toBe(FETCH_END);
    expect(Buffer.from(w.proofs).readUInt32BE(FETCH_END + LEAF_SIZE)).toBe(0);
  });

  it('rejects missing proofs with the length needed, as far as the masks read tell', async () => {
    const w = load();
    expect(await rejection({ ...w, proofs: new Uint8Array(0) })).toEqual(['VMProofTooShort', 36n, 0n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 35) })).toEqual(['VMProofTooShort', 36n, 35n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 36) })).toEqual(['VMProofTooShort', 900n, 36n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 899) })).toEqual(['VMProofTooShort', 900n, 899n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 900) })).toEqual(['VMProofTooShort', 936n, 900n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 935) })).toEqual(['VMProofTooShort', 936n, 935n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 936) })).toEqual(['VMProofTooShort', 1288n, 936n]);
    expect(await rejection({ ...w, proofs: w.proofs.slice(0, 1287) })).toEqual(['VMProofTooShort', 1288n, 1287n]);
  });

  it('needs only the headers when every sibling is a zero hash', async () => {
    const w = witness({ word: rv.i(OPCODE.LOAD, 5, 2, 6, 0), regs: { 6: 0x8000 }, data: dataLeaf(0x8000, [1, 2, 3, 4]) });
    // Sparse memory: the fetch proof omits every sibling but the data path's node at level 11;
    // the data proof omits its 11 levels.
    expect(w.proofs.length).toBe(36 + 32 + 36);
    expect(Buffer.from(w.proofs).readUInt32BE(LEAF_SIZE)).toBe(0x07ffffff & ~(1 << 11));
    expect(Buffer.from(w.proofs).readUInt32BE(68 + LEAF_SIZE)).toBe(0x7ff);
    expect((await post(w)).regs[5]).toBe(0x04030201);
  });

  it('ignores bytes after the proofs it needs', async () => {
    const w = load();
    const withTail = { ...w, proofs: concat(w.proofs, new Uint8Array(100).fill(0xee)) };
    expect(await post(withTail)).toEqual(await post(w));
  });

  it.each([
    ['a sibling at the leaf level', 36],
    ['a sibling in the middle', 36 + 32 * 13],
    ['the topmost sibling', 36 + 32 * 26 + 31],
    ['the instruction bytes of the leaf', PC % 32],
    ['a byte of the leaf next to the instruction', (PC % 32) + 4],
  ])('rejects a fetch proof with a wrong bit in %s', async (_name, at) => {
    const w = load();
    expect(await rejection({ ...w, proofs: flip(w.proofs, at) })).toEqual(['VMFetchProofInvalid', BigInt(PC)]);
  });

  it.each([
    ['a sibling at the leaf level', FETCH_END + 36],
    ['the topmost sibling it carries', FETCH_END + 36 + 32 * 10],
    ['the loaded bytes of the leaf', FETCH_END],
    ['a byte of the leaf the load does not read', FETCH_END + 31],
  ])('rejects a data proof with a wrong bit in %s', async (_name, at) => {
    const w = load();
    expect(await rejection({ ...w, proofs: flip(w.proofs, at) })).toEqual(['VMDataProofInvalid', 0x8000n]);
  });

  it('rejects a store whose data leaf was faked in exactly the bytes the store overwrites', async () => {
    const w = store();
    expect(await rejection({ ...w, proofs: flip(w.proofs, FETCH_END + 2) })).toEqual(['VMDataProofInvalid', 0x8000n]);
  });

  /** The witness with the zeroMask of the proof at `offset` replaced by `mask`. */
  const withMask = (w: Witness, offset: number, mask: number): Witness => {
    const proofs = w.proofs.slice();
    new DataView(proofs.buffer).setUint32(offset + LEAF_SIZE, mask >>> 0);
    return { ...w, proofs };
  };

  it.each([27, 28, 31])('rejects a fetch mask with bit %i (above the 27 levels) set', async (bit) => {
    const mask = (1 << bit) >>> 0;
    expect(await rejection(withMask(load(), 0, mask))).toEqual(['VMProofMaskInvalid', BigInt(mask)]);
  });

  it.each([11, 12, 26, 31])('rejects a data mask with bit %i (at or above the join level 11) set', async (bit) => {
    const mask = (1 << bit) >>> 0;
    expect(await rejection(withMask(load(), FETCH_END, mask))).toEqual(['VMProofMaskInvalid', BigInt(mask)]);
  });

  it('rejects a wrong mask bit: a real sibling declared a zero hash shifts the proof and breaks it', async () => {
    expect(await rejection(withMask(load(), 0, 1 << 3))).toEqual(['VMFetchProofInvalid', BigInt(PC)]);
    expect(await rejection(withMask(load(), FETCH_END, 1 << 3))).toEqual(['VMDataProofInvalid', 0x8000n]);
  });

  it('rejects a zero-hash sibling that is spelled out instead of omitted (the form is canonical)', async () => {
    const w = witness({ word: rv.i(OPCODE.LOAD, 5, 2, 6, 0), regs: { 6: 0x8000 }, data: dataLeaf(0x8000, [1, 2, 3, 4]) });
    const fetchMask = Buffer.from(w.proofs).readUInt32BE(LEAF_SIZE);
    // Level 0 of the fetch proof: clear its bit and insert Z[0] as the first sibling.
    const spelled = concat(w.proofs.slice(0, 36), ZERO_HASHES[0], w.proofs.slice(36));
    new DataView(spelled.buffer).setUint32(LEAF_SIZE, fetchMask & ~1);
    expect(await rejection({ ...w, proofs: spelled })).toEqual(['VMProofZeroSiblingPresent', 0n]);
    // Level 5 of the data proof (after the 68-byte fetch proof).
    const data = concat(w.proofs.slice(0, 68 + 36), ZERO_HASHES[5], w.proofs.slice(68 + 36));
    new DataView(data.buffer).setUint32(68 + LEAF_SIZE, 0x7ff & ~(1 << 5));
    expect(await rejection({ ...w, proofs: data })).toEqual(['VMProofZeroSiblingPresent', 5n]);
  });

  it('rejects a wrong memory root in the state', async () => {
    const w = load();
    expect(await rejection({ ...w, preState: flip(w.preState, STATE_OFFSET.memRoot + 31) })).toEqual(['VMFetchProofInvalid', BigInt(PC)]);
  });

  it('rejects proofs for the wrong address: pc or the effective address moved to another leaf', async () => {
    const w = load();
    const movedPc = w.preState.slice();
    Buffer.from(movedPc.buffer).writeUInt32BE(PC + 32, STATE_OFFSET.pc);
    expect(await rejection({ ...w, preState: movedPc })).toEqual(['VMFetchProofInvalid', BigInt(PC + 32)]);
    const movedData = w.preState.slice();
    Buffer.from(movedData.buffer).writeUInt32BE(0x8020, regOffset(6));
    expect(await rejection({ ...w, preState: movedData })).toEqual(['VMDataProofInvalid', 0x8020n]);
  });

  it('rejects a fetch proof given as the data proof of another leaf and vice versa', async () => {
    const w = load();
    const swapped = concat(w.proofs.slice(FETCH_END), w.proofs.slice(0, FETCH_END));
    expect(await rejection({ ...w, proofs: swapped })).toEqual(['VMFetchProofInvalid', BigInt(PC)]);
  });

  it('a valid-looking proof of an empty memory does not verify against a non-empty root', async () => {
    const w = load();
    const empty = new Uint8Array(36);
    new DataView(empty.buffer).setUint32(LEAF_SIZE, 0x7ff);
    expect(await rejection({ ...w, proofs: concat(w.proofs.slice(0, FETCH_END), empty) })).toEqual(['VMDataProofInvalid', 0x8000n]);
  });

  it('a wrong register value changes the pre-state hash and the post-state, never passes unnoticed', async () => {
    const w = load();
    const [original, tampered] = [w.preState, flip(w.preState, regOffset(7) + 3)];
    expect(keccak256(tampered)).not.toBe(keccak256(original));
    const a = await verifier.step(original, w.proofs);
    const b = await verifier.step(tampered, w.proofs);
    expect(a).not.toBe(b);
  });
});
