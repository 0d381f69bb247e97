/**
 * The REFERENCE one-step function of docs/vm-spec.md: (pre-state, proofs) -> post-state, working
 * only from the witness, exactly as contracts/vm/RiscvStep.sol does on-chain. The Solidity file
 * mirrors this one section by section and function by function; keep them in the same order.
 * It is deliberately simple and unoptimised: the fast interpreter is shared/vm/machine.ts, and the
 * tests tie the two together.
 */
import { VMDataProofInvalid, VMFetchProofInvalid, VMProofMaskInvalid, VMProofTooShort, VMProofZeroSiblingPresent } from './errors';
import { bytesEqual, hashPair, ZERO_HASHES } from './merkle';
import {
  ECALL_WORD,
  LEAF_SHIFT,
  LEAF_SIZE,
  OPCODE,
  PROOF_HEADER_SIZE,
  REG_A0,
  REG_A2,
  REG_A7,
  Status,
  SYSCALL_EXIT,
  SYSCALL_WRITE,
  TREE_DEPTH,
} from './spec';
import { decodeState, encodeState, type VmState } from './state';

// 1. State layout
// The encoding table lives in spec.ts (STATE_OFFSET) and state.ts; the step works on the decoded
// form and re-encodes once at the end.

/** The fetch proof starts `proofs`; the data proof starts where the fetch proof ends. */
export const FETCH_PROOF_OFFSET = 0;

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
 * A Merkle path read from the witness and checked against the memory root: the leaf, all 27
 * siblings (zero hashes expanded), the path's own node at every level (nodes[0] the leaf,
 * nodes[27] the root), and where the next proof starts in `proofs`.
 */
export interface LeafPath {
  leaf: Uint8Array;
  siblings: Uint8Array[];
  nodes: Uint8Array[];
  end: number;
}

/**
 * Levels whose siblings the data proof carries itself: below the highest level where the leaf
 * indexes of pc and the data address differ (that level's sibling is the fetch path's own node,
 * and above it both paths share their siblings). None when both lie in one leaf.
 */
export function dataProofLevels(pc: number, address: number): number {
  const diverging = (pc >>> LEAF_SHIFT) ^ (address >>> LEAF_SHIFT);
  return diverging === 0 ? 0 : 31 - Math.clz32(diverging);
}

/**
 * Reads the proof at `offset`: leaf ‖ zeroMask ‖ the siblings of levels [0, levels) whose mask
 * bit is clear, into `siblings` (levels from `levels` up keep what the caller put there). Returns
 * the leaf and where the proof ends. Checks, in this order: the header is there, the mask marks
 * no level at or above `levels`, the siblings are there, no carried sibling is a zero hash.
 */
export function readProof(
  proofs: Uint8Array,
  offset: number,
  levels: number,
  siblings: Uint8Array[],
): { leaf: Uint8Array; end: number } {
  const header = offset + PROOF_HEADER_SIZE;
  if (proofs.length < header) throw new VMProofTooShort(header, proofs.length);
  const leaf = proofs.slice(offset, offset + LEAF_SIZE);
  const mask = new DataView(proofs.buffer, proofs.byteOffset).getUint32(offset + LEAF_SIZE);
  if (mask >>> levels !== 0) throw new VMProofMaskInvalid(mask);
  let carried = 0;
  for (let i = 0; i < levels; i++) if (((mask >>> i) & 1) === 0) carried++;
  const end = header + LEAF_SIZE * carried;
  if (proofs.length < end) throw new VMProofTooShort(end, proofs.length);
  let at = header;
  for (let i = 0; i < levels; i++) {
    if ((mask >>> i) & 1) {
      siblings[i] = ZERO_HASHES[i];
      continue;
    }
    const sibling = proofs.slice(at, at + LEAF_SIZE);
    if (bytesEqual(sibling, ZERO_HASHES[i])) throw new VMProofZeroSiblingPresent(i);
    siblings[i] = sibling;
    at += LEAF_SIZE;
  }
  return { leaf, end };
}

/** The nodes on the path from `leaf` at the leaf index of `address` up to the root. */
export function pathNodes(leaf: Uint8Array, address: number, siblings: Uint8Array[]): Uint8Array[] {
  const index = address >>> LEAF_SHIFT;
  const nodes = [leaf];
  for (let i = 0; i < TREE_DEPTH; i++) {
    nodes.push((index >>> i) & 1 ? hashPair(siblings[i], nodes[i]) : hashPair(nodes[i], siblings[i]));
  }
  return nodes;
}

/**
 * The path of the leaf holding `address`, read from the proof at `offset` (carrying `levels`
 * levels on top of `path.siblings`) into `path`, and checked against `root`. The fetch proof sits
 * at offset 0, the data proof after it; the error says which.
 */
export function readLeaf(
  proofs: Uint8Array,
  offset: number,
  address: number,
  root: Uint8Array,
  levels: number,
  path: LeafPath,
): void {
  const { leaf, end } = readProof(proofs, offset, levels, path.siblings);
  path.leaf = leaf;
  path.end = end;
  path.nodes = pathNodes(leaf, address, path.siblings);
  if (!bytesEqual(path.nodes[TREE_DEPTH], root)) {
    throw offset === FETCH_PROOF_OFFSET ? new VMFetchProofInvalid(address) : new VMDataProofInvalid(address);
  }
}

/** The memory root after replacing the (already verified) leaf of `path` at `address` with `leaf`. */
export function writeLeaf(path: LeafPath, address: number, leaf: Uint8Array): Uint8Array {
  return pathNodes(leaf, address, path.siblings)[TREE_DEPTH];
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

/** The path of the leaf holding pc; the proof carries all 27 levels. */
export function fetchInstruction(state: VmState, proofs: Uint8Array): LeafPath {
  const path: LeafPath = { leaf: new Uint8Array(LEAF_SIZE), siblings: new Array<Uint8Array>(TREE_DEPTH), nodes: [], end: 0 };
  readLeaf(proofs, FETCH_PROOF_OFFSET, state.pc, state.memRoot, TREE_DEPTH, path);
  return path;
}

/**
 * Turns the fetch path into the path of the data leaf holding `address`, read from the proof right
 * after the fetch proof (the fetch path is not used afterwards): it keeps the siblings above the
 * level where the two paths join, takes the fetch path's own node at that level as the sibling
 * there, and reads the levels below.
 */
export function readDataLeaf(state: VmState, proofs: Uint8Array, path: LeafPath, address: number): void {
  const levels = dataProofLevels(state.pc, address);
  if (state.pc >>> LEAF_SHIFT !== address >>> LEAF_SHIFT) path.siblings[levels] = path.nodes[levels];
  readLeaf(proofs, path.end, address, state.memRoot, levels, path);
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
  const path = fetchInstruction(state, proofs);
  const w = leafGet(path.leaf, state.pc, 4);
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
      return executeLoad(state, proofs, path, w);
    case OPCODE.STORE:
      return executeStore(state, proofs, path, w);
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

function executeLoad(state: VmState, proofs: Uint8Array, path: LeafPath, w: number): void {
  const f3 = funct3Of(w);
  const size = LOAD_SIZE[f3];
  if (size === 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
  const address = u32(state.regs[rs1Of(w)] + immI(w));
  if (address % size !== 0) return halt(state, Status.MISALIGNED_LOAD);
  readDataLeaf(state, proofs, path, address);
  const raw = leafGet(path.leaf, address, size);
  // funct3 bit 2 marks the zero-extending forms (LBU, LHU).
  writeReg(state, rdOf(w), f3 & 4 ? raw : signExtend(raw, size * 8));
  advance(state);
}

function executeStore(state: VmState, proofs: Uint8Array, path: LeafPath, w: number): void {
  const size = STORE_SIZE[funct3Of(w)];
  if (size === 0) return halt(state, Status.ILLEGAL_INSTRUCTION);
  const address = u32(state.regs[rs1Of(w)] + immS(w));
  if (address % size !== 0) return halt(state, Status.MISALIGNED_STORE);
  readDataLeaf(state, proofs, path, address);
  const leaf = path.leaf.slice();
  leafSet(leaf, address, size, state.regs[rs2Of(w)]);
  state.memRoot = writeLeaf(path, address, leaf);
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
