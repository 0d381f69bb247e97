/**
 * The REFERENCE one-step function of docs/vm-spec.md: (pre-state, proofs) -> post-state, working
 * only from the witness, exactly as contracts/vm/RiscvStep.sol does on-chain. The Solidity file
 * mirrors this one section by section and function by function; keep them in the same order.
 * It is deliberately simple and unoptimised: the fast interpreter is shared/vm/machine.ts, and the
 * tests tie the two together.
 */
import { VMDataProofInvalid, VMFetchProofInvalid, VMProofTooShort } from './errors';
import { bytesEqual, rootFromProof } from './merkle';
import {
  ECALL_WORD,
  LEAF_SIZE,
  MERKLE_PROOF_SIZE,
  OPCODE,
  REG_A0,
  REG_A2,
  REG_A7,
  Status,
  SYSCALL_EXIT,
  SYSCALL_WRITE,
} from './spec';
import { decodeState, encodeState, type VmState } from './state';

// 1. State layout
// The encoding table lives in spec.ts (STATE_OFFSET) and state.ts; the step works on the decoded
// form and re-encodes once at the end.

/** Where each proof starts inside `proofs`: the fetch proof first, then the data proof. */
export const FETCH_PROOF_OFFSET = 0;
export const DATA_PROOF_OFFSET = MERKLE_PROOF_SIZE;

export function step(preState: Uint8Array, proofs: Uint8Array): Uint8Array {
  const state = decodeState(preState);
  if (state.status !== Status.RUNNING) return encodeState(state);
  executeInstruction(state, proofs);
  state.step += 1n;
  return encodeState(state);
}

function writeReg(state: VmState, rd: number, value: number): void {
  if (rd !== 0) state.regs[rd] = value >>> 0;
}

// 2. 32-bit helpers
// Registers hold unsigned 32-bit values; these helpers are the only places that reinterpret them,
// so overflow and sign extension are decided once.

export function u32(x: number): number {
  return x >>> 0;
}

export function s32(x: number): number {
  return x | 0;
}

/** Sign-extends the low `bits` bits of x; returns a signed 32-bit number. */
export function signExtend(x: number, bits: number): number {
  const shift = 32 - bits;
  return ((x << shift) >> shift) | 0;
}

/** High 32 bits of the unsigned 64-bit product, via 16-bit limbs (every partial product is exact). */
export function mulhu(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const cross = Math.floor(loLo / 0x10000) + (hiLo % 0x10000) + loHi;
  return (aHi * bHi + Math.floor(hiLo / 0x10000) + Math.floor(cross / 0x10000)) >>> 0;
}

/** High 32 bits of signed × signed: the unsigned product corrected for each negative operand. */
export function mulh(a: number, b: number): number {
  let high = mulhu(a >>> 0, b >>> 0);
  if ((a | 0) < 0) high -= b >>> 0;
  if ((b | 0) < 0) high -= a >>> 0;
  return high >>> 0;
}

/** High 32 bits of signed a × unsigned b. */
export function mulhsu(a: number, b: number): number {
  let high = mulhu(a >>> 0, b >>> 0);
  if ((a | 0) < 0) high -= b >>> 0;
  return high >>> 0;
}

export function mul(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

export function div(a: number, b: number): number {
  if ((b | 0) === 0) return 0xffffffff;
  if ((a | 0) === -0x80000000 && (b | 0) === -1) return 0x80000000;
  return ((a | 0) / (b | 0)) >>> 0;
}

export function divu(a: number, b: number): number {
  if (b >>> 0 === 0) return 0xffffffff;
  return Math.floor((a >>> 0) / (b >>> 0)) >>> 0;
}

export function rem(a: number, b: number): number {
  if ((b | 0) === 0) return a >>> 0;
  if ((a | 0) === -0x80000000 && (b | 0) === -1) return 0;
  return ((a | 0) % (b | 0)) >>> 0;
}

export function remu(a: number, b: number): number {
  if (b >>> 0 === 0) return a >>> 0;
  return ((a >>> 0) % (b >>> 0)) >>> 0;
}

// 3. Decode

export const opcodeOf = (w: number): number => w & 0x7f;
export const rdOf = (w: number): number => (w >>> 7) & 31;
export const funct3Of = (w: number): number => (w >>> 12) & 7;
export const rs1Of = (w: number): number => (w >>> 15) & 31;
export const rs2Of = (w: number): number => (w >>> 20) & 31;
export const funct7Of = (w: number): number => w >>> 25;

export function immI(w: number): number {
  return (w | 0) >> 20;
}

export function immS(w: number): number {
  return (((w | 0) >> 25) << 5) | ((w >>> 7) & 31);
}

export function immB(w: number): number {
  return (
    (((w | 0) >> 31) << 12) | (((w >>> 7) & 1) << 11) | (((w >>> 25) & 0x3f) << 5) | (((w >>> 8) & 0xf) << 1)
  );
}

export function immU(w: number): number {
  return (w & 0xfffff000) | 0;
}

export function immJ(w: number): number {
  return (
    (((w | 0) >> 31) << 20) | (((w >>> 12) & 0xff) << 12) | (((w >>> 20) & 1) << 11) | (((w >>> 21) & 0x3ff) << 1)
  );
}

// 4. Memory

/**
 * The 32-byte leaf holding `address`, after checking its proof (at `proofOffset` in `proofs`)
 * against `root`. The fetch proof sits at offset 0, the data proof after it; the error says which.
 */
export function readLeaf(proofs: Uint8Array, proofOffset: number, address: number, root: Uint8Array): Uint8Array {
  const needed = proofOffset + MERKLE_PROOF_SIZE;
  if (proofs.length < needed) throw new VMProofTooShort(needed, proofs.length);
  if (!bytesEqual(rootFromProof(proofs, address, undefined, proofOffset), root)) {
    throw proofOffset === FETCH_PROOF_OFFSET ? new VMFetchProofInvalid(address) : new VMDataProofInvalid(address);
  }
  return proofs.slice(proofOffset, proofOffset + LEAF_SIZE);
}

/** The memory root after replacing the (already verified) leaf at `address` with `leaf`. */
export function writeLeaf(proofs: Uint8Array, proofOffset: number, address: number, leaf: Uint8Array): Uint8Array {
  return rootFromProof(proofs, address, leaf, proofOffset);
}

function leafGet(leaf: Uint8Array, address: number, size: number): number {
  const o = address & (LEAF_SIZE - 1);
  let value = 0;
  for (let i = size - 1; i >= 0; i--) value = (value << 8) | leaf[o + i];
  return value >>> 0;
}

function leafSet(leaf: Uint8Array, address: number, size: number, value: number): void {
  const o = address & (LEAF_SIZE - 1);
  for (let i = 0; i < size; i++) leaf[o + i] = (value >>> (8 * i)) & 0xff;
}

export function fetchInstruction(state: VmState, proofs: Uint8Array): number {
  const leaf = readLeaf(proofs, FETCH_PROOF_OFFSET, state.pc, state.memRoot);
  return leafGet(leaf, state.pc, 4);
}

// 5. Syscalls

function handleEcall(state: VmState): void {
  const number = state.regs[REG_A7];
  if (number === SYSCALL_EXIT) {
    state.status = Status.EXITED;
    state.exitCode = state.regs[REG_A0];
    return;
  }
  if (number === SYSCALL_WRITE) {
    // The bytes are not part of the state: a write only reports its length as written.
    writeReg(state, REG_A0, state.regs[REG_A2]);
    state.pc = u32(state.pc + 4);
    return;
  }
  halt(state, Status.BAD_SYSCALL);
}

// 6. Execute

function executeInstruction(state: VmState, proofs: Uint8Array): void {
  if (state.pc % 4 !== 0) return halt(state, Status.MISALIGNED_FETCH);
  const w = fetchInstruction(state, proofs);
  switch (opcodeOf(w)) {
    case OPCODE.LUI:
      writeReg(state, rdOf(w), immU(w));
      return advance(state);
    case OPCODE.AUIPC:
      writeReg(state, rdOf(w), state.pc + immU(w));
      return advance(state);
    case OPCODE.JAL:
    case OPCODE.JALR:
      return executeJump(state, w);
    case OPCODE.BRANCH:
      return executeBranch(state, w);
    case OPCODE.LOAD:
      return executeLoad(state, proofs, w);
    case OPCODE.STORE:
      return executeStore(state, proofs, w);
    case OPCODE.OP_IMM:
      return executeOpImm(state, w);
    case OPCODE.OP:
      return funct7Of(w) === 0x01 ? executeMulDiv(state, w) : executeOp(state, w);
    case OPCODE.MISC_MEM:
      // FENCE and FENCE.I order nothing in a single-hart machine without caches.
      if (funct3Of(w) > 1) return halt(state, Status.ILLEGAL_INSTRUCTION);
      return advance(state);
    case OPCODE.SYSTEM:
      if (w !== ECALL_WORD) return halt(state, Status.ILLEGAL_INSTRUCTION);
      return handleEcall(state);
    default:
      return halt(state, Status.ILLEGAL_INSTRUCTION);
  }
}

function advance(state: VmState): void {
  state.pc = u32(state.pc + 4);
}

function executeOpImm(state: VmState, w: number): void {
  const a = state.regs[rs1Of(w)];
  const imm = immI(w);
  const shamt = rs2Of(w);
  let value: number;
  switch (funct3Of(w)) {
    case 0:
      value = a + imm;
      break;
    case 1:
      if (funct7Of(w) !== 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
      value = a << shamt;
      break;
    case 2:
      value = s32(a) < imm ? 1 : 0;
      break;
    case 3:
      value = a < u32(imm) ? 1 : 0;
      break;
    case 4:
      value = a ^ imm;
      break;
    case 5:
      if (funct7Of(w) === 0) value = a >>> shamt;
      else if (funct7Of(w) === 0x20) value = s32(a) >> shamt;
      else return halt(state, Status.ILLEGAL_INSTRUCTION);
      break;
    case 6:
      value = a | imm;
      break;
    default:
      value = a & imm;
      break;
  }
  writeReg(state, rdOf(w), value);
  advance(state);
}

function executeOp(state: VmState, w: number): void {
  const a = state.regs[rs1Of(w)];
  const b = state.regs[rs2Of(w)];
  const f3 = funct3Of(w);
  const f7 = funct7Of(w);
  let value: number;
  if (f7 === 0x20) {
    if (f3 === 0) value = a - b;
    else if (f3 === 5) value = s32(a) >> (b & 31);
    else return halt(state, Status.ILLEGAL_INSTRUCTION);
  } else if (f7 === 0) {
    switch (f3) {
      case 0:
        value = a + b;
        break;
      case 1:
        value = a << (b & 31);
        break;
      case 2:
        value = s32(a) < s32(b) ? 1 : 0;
        break;
      case 3:
        value = a < b ? 1 : 0;
        break;
      case 4:
        value = a ^ b;
        break;
      case 5:
        value = a >>> (b & 31);
        break;
      case 6:
        value = a | b;
        break;
      default:
        value = a & b;
        break;
    }
  } else {
    return halt(state, Status.ILLEGAL_INSTRUCTION);
  }
  writeReg(state, rdOf(w), value);
  advance(state);
}

/** M extension by funct3. */
const MUL_DIV = [mul, mulh, mulhsu, mulhu, div, divu, rem, remu];

function executeMulDiv(state: VmState, w: number): void {
  const a = state.regs[rs1Of(w)];
  const b = state.regs[rs2Of(w)];
  writeReg(state, rdOf(w), MUL_DIV[funct3Of(w)](a, b));
  advance(state);
}

function branchTaken(f3: number, a: number, b: number): boolean {
  switch (f3) {
    case 0:
      return a === b;
    case 1:
      return a !== b;
    case 4:
      return s32(a) < s32(b);
    case 5:
      return s32(a) >= s32(b);
    case 6:
      return a < b;
    default:
      return a >= b;
  }
}

function executeBranch(state: VmState, w: number): void {
  const f3 = funct3Of(w);
  if (f3 === 2 || f3 === 3) return halt(state, Status.ILLEGAL_INSTRUCTION);
  if (!branchTaken(f3, state.regs[rs1Of(w)], state.regs[rs2Of(w)])) return advance(state);
  const target = u32(state.pc + immB(w));
  if (target % 4 !== 0) return halt(state, Status.MISALIGNED_FETCH);
  state.pc = target;
}

/** Access width in bytes per load funct3 (0 = illegal). */
export const LOAD_SIZE = [1, 2, 4, 0, 1, 2, 0, 0];
/** Access width in bytes per store funct3 (0 = illegal). */
export const STORE_SIZE = [1, 2, 4, 0, 0, 0, 0, 0];

function executeLoad(state: VmState, proofs: Uint8Array, w: number): void {
  const f3 = funct3Of(w);
  const size = LOAD_SIZE[f3];
  if (size === 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
  const address = u32(state.regs[rs1Of(w)] + immI(w));
  if (address % size !== 0) return halt(state, Status.MISALIGNED_LOAD);
  const leaf = readLeaf(proofs, DATA_PROOF_OFFSET, address, state.memRoot);
  const raw = leafGet(leaf, address, size);
  // funct3 bit 2 marks the zero-extending forms (LBU, LHU).
  writeReg(state, rdOf(w), f3 & 4 ? raw : signExtend(raw, size * 8));
  advance(state);
}

function executeStore(state: VmState, proofs: Uint8Array, w: number): void {
  const size = STORE_SIZE[funct3Of(w)];
  if (size === 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
  const address = u32(state.regs[rs1Of(w)] + immS(w));
  if (address % size !== 0) return halt(state, Status.MISALIGNED_STORE);
  const leaf = readLeaf(proofs, DATA_PROOF_OFFSET, address, state.memRoot);
  leafSet(leaf, address, size, state.regs[rs2Of(w)]);
  state.memRoot = writeLeaf(proofs, DATA_PROOF_OFFSET, address, leaf);
  advance(state);
}

function executeJump(state: VmState, w: number): void {
  let target: number;
  if (opcodeOf(w) === OPCODE.JAL) {
    target = u32(state.pc + immJ(w));
  } else {
    if (funct3Of(w) !== 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
    target = u32((state.regs[rs1Of(w)] + immI(w)) & ~1);
  }
  if (target % 4 !== 0) return halt(state, Status.MISALIGNED_FETCH);
  writeReg(state, rdOf(w), state.pc + 4);
  state.pc = target;
}

/** A fault: only the status changes (the caller counts the step), like a precise trap. */
function halt(state: VmState, status: Status): void {
  state.status = status;
}
