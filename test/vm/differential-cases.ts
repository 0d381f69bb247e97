/**
 * Random (state, instruction) cases for the differential tests: every RV32IM opcode, the halting
 * cases, illegal encodings near the legal ones, and the edges where two implementations of one
 * spec tend to part: division by zero, INT_MIN / -1, writes to x0, sign extension, shifts by 0
 * and 31, accesses at leaf edges, near address 0 and near 0xffffffff, misaligned targets, the
 * uint64 step counter at its maximum, halted states, and tampered witnesses that must be
 * rejected with the same error on both sides.
 */
import type { JsonRpcProvider } from 'ethers';
import { ZERO_HASHES } from '../../shared/vm/merkle';
import { LEAF_SIZE, OPCODE, PROOF_HEADER_SIZE, STATE_OFFSET, Status, SYSCALL_EXIT, SYSCALL_WRITE, TREE_DEPTH } from '../../shared/vm/spec';
import { Machine } from '../../shared/vm/machine';
import { Memory } from '../../shared/vm/memory';
import { decodeState, type VmState } from '../../shared/vm/state';
import { stepWitness } from '../../shared/vm/witness';
import {
  blankState,
  buildWitness,
  compareOnChain,
  concat,
  proofEnd,
  Rng,
  type LeafAt,
  type LabeledWitness,
  type Mismatch,
  type Witness,
} from './differential-harness';
import { rv } from './rv';


const INT_MIN = 0x80000000;
const ALL_ONES = 0xffffffff;

/** A 32-bit value biased towards the values where arithmetic goes wrong. */
function word(rng: Rng): number {
  switch (rng.int(10)) {
    case 0:
      return rng.pick([0, 1, 2, ALL_ONES, INT_MIN, 0x7fffffff, INT_MIN + 1, ALL_ONES - 1]);
    case 1:
      return rng.int(64);
    case 2:
      return (-1 - rng.int(64)) >>> 0;
    case 3:
      return 2 ** rng.int(32);
    case 4:
      return (2 ** rng.int(33) - 1) >>> 0;
    case 5:
      return rng.u32() & rng.pick([0xff, 0xffff, 0xff00, 0x80, 0x8000, 0xff80, 0xffff8000]);
    default:
      return rng.u32();
  }
}

/** A signed 12-bit immediate, biased to its extremes. */
function imm12(rng: Rng): number {
  return rng.chance(0.3) ? rng.pick([0, 1, -1, 2047, -2048, 4, -4]) : rng.int(4096) - 2048;
}

/** A register number; x0 often enough that writes to it and reads from it are covered. */
function reg(rng: Rng): number {
  return rng.chance(0.1) ? 0 : 1 + rng.int(31);
}

function setReg(state: VmState, r: number, value: number): void {
  if (r !== 0) state.regs[r] = value >>> 0;
}

/** An address for a load or store: leaf edges, both ends of memory, pc's own leaf, anywhere. */
function dataTarget(rng: Rng, pc: number): number {
  switch (rng.int(7)) {
    case 0:
      return rng.int(96);
    case 1:
      return (ALL_ONES - rng.int(96)) >>> 0;
    case 2:
    case 3:
      return ((rng.u32() & ~(LEAF_SIZE - 1)) + rng.pick([0, 1, 2, 3, 4, 28, 29, 30, 31])) >>> 0;
    case 4:
      return ((pc & ~(LEAF_SIZE - 1)) + rng.int(LEAF_SIZE)) >>> 0;
    default:
      return rng.u32();
  }
}

type Draft = { word: number; dataAddress?: number };
type Generator = (rng: Rng, state: VmState) => Draft;

/** R-type with operands a, b placed in rs1, rs2 (the same register gets a). */
function rType(f3: number, f7: number, pairs?: readonly (readonly [number, number])[]): Generator {
  return (rng, state) => {
    const [rd, rs1, rs2] = [rng.chance(0.15) ? 0 : reg(rng), reg(rng), reg(rng)];
    const [a, b] = pairs && rng.chance(0.3) ? rng.pick(pairs) : [word(rng), word(rng)];
    setReg(state, rs2, b);
    setReg(state, rs1, a);
    return { word: rv.r(OPCODE.OP, rng.chance(0.15) ? rs1 : rd, f3, rs1, rs2, f7) };
  };
}

const DIV_PAIRS = [
  [INT_MIN, ALL_ONES],
  [INT_MIN, 1],
  [INT_MIN, INT_MIN],
  [0x7fffffff, ALL_ONES],
  [12345, 0],
  [INT_MIN, 0],
  [0, 0],
  [ALL_ONES, 0],
  [ALL_ONES, ALL_ONES],
  [7, ALL_ONES - 1],
  [ALL_ONES - 6, 2],
] as const;

function iType(f3: number, shiftF7?: number): Generator {
  return (rng, state) => {
    const [rd, rs1] = [rng.chance(0.15) ? 0 : reg(rng), reg(rng)];
    setReg(state, rs1, word(rng));
    if (shiftF7 === undefined) return { word: rv.i(OPCODE.OP_IMM, rd, f3, rs1, imm12(rng)) };
    const shamt = rng.chance(0.3) ? rng.pick([0, 1, 31]) : rng.int(32);
    return { word: rv.r(OPCODE.OP_IMM, rd, f3, rs1, shamt, shiftF7) };
  };
}

function load(f3: number): Generator {
  return (rng, state) => {
    const [rd, rs1] = [rng.chance(0.15) ? 0 : reg(rng), reg(rng)];
    const imm = imm12(rng);
    const target = dataTarget(rng, state.pc);
    setReg(state, rs1, target - imm);
    const address = (state.regs[rs1] + imm) >>> 0;
    return { word: rv.i(OPCODE.LOAD, rng.chance(0.1) ? rs1 : rd, f3, rs1, imm), dataAddress: address };
  };
}

function store(f3: number): Generator {
  return (rng, state) => {
    const [rs1, rs2] = [reg(rng), reg(rng)];
    const imm = imm12(rng);
    setReg(state, rs2, word(rng));
    setReg(state, rs1, dataTarget(rng, state.pc) - imm);
    const address = (state.regs[rs1] + imm) >>> 0;
    return { word: rv.store(f3, rs1, rs2, imm), dataAddress: address };
  };
}

/** An even offset of `bits` bits, usually a multiple of 4 (a misaligned one halts when taken). */
function jumpOffset(rng: Rng, bits: number): number {
  const raw = rng.chance(0.2) ? rng.pick([0, 4, -4, 2, -2]) : ((rng.u32() << (32 - bits)) >> (32 - bits)) & ~1;
  return rng.chance(0.7) ? raw & ~3 : raw;
}

function branch(f3: number): Generator {
  return (rng, state) => {
    const [rs1, rs2] = [reg(rng), reg(rng)];
    const a = word(rng);
    setReg(state, rs2, rng.chance(0.3) ? a : rng.chance(0.3) ? (a ^ INT_MIN) >>> 0 : word(rng));
    setReg(state, rs1, a);
    return { word: rv.branch(f3, rs1, rs2, jumpOffset(rng, 13)) };
  };
}

const jal: Generator = (rng) => ({ word: rv.jal(rng.chance(0.15) ? 0 : reg(rng), jumpOffset(rng, 21)) });

const jalr: Generator = (rng, state) => {
  const [rd, rs1] = [rng.chance(0.15) ? 0 : reg(rng), reg(rng)];
  const imm = imm12(rng);
  // Usually aim at an aligned target, sometimes with bit 0 set (JALR clears it), else anywhere.
  const target = rng.chance(0.6) ? (rng.u32() & ~3) | rng.int(2) : rng.u32();
  setReg(state, rs1, target - imm);
  return { word: rv.i(OPCODE.JALR, rng.chance(0.2) ? rs1 : rd, 0, rs1, imm) };
};

const upper =
  (encode: (rd: number, imm20: number) => number): Generator =>
  (rng) => ({ word: encode(rng.chance(0.15) ? 0 : reg(rng), word(rng) >>> 12) });

const fence =
  (f3: number): Generator =>
  (rng) => ({ word: ((rng.u32() & ~0x707f) | (f3 << 12) | OPCODE.MISC_MEM) >>> 0 });

const ecall =
  (number: (rng: Rng) => number): Generator =>
  (rng, state) => {
    state.regs[17] = number(rng);
    state.regs[10] = word(rng);
    state.regs[12] = word(rng);
    return { word: 0x00000073 };
  };

/** A word the decode table does not list (or, for random words, usually does not). */
const illegal =
  (make: (rng: Rng) => number): Generator =>
  (rng) => ({ word: make(rng) >>> 0 });

const withFields = (rng: Rng, opcode: number, f3: number, f7: number): number =>
  rv.r(opcode, rng.int(32), f3, rng.int(32), rng.int(32), f7);

const GENERATORS: Record<string, Generator> = {
  LUI: upper(rv.lui),
  AUIPC: upper(rv.auipc),
  JAL: jal,
  JALR: jalr,
  BEQ: branch(0),
  BNE: branch(1),
  BLT: branch(4),
  BGE: branch(5),
  BLTU: branch(6),
  BGEU: branch(7),
  LB: load(0),
  LH: load(1),
  LW: load(2),
  LBU: load(4),
  LHU: load(5),
  SB: store(0),
  SH: store(1),
  SW: store(2),
  ADDI: iType(0),
  SLTI: iType(2),
  SLTIU: iType(3),
  XORI: iType(4),
  ORI: iType(6),
  ANDI: iType(7),
  SLLI: iType(1, 0),
  SRLI: iType(5, 0),
  SRAI: iType(5, 0x20),
  ADD: rType(0, 0),
  SUB: rType(0, 0x20),
  SLL: rType(1, 0),
  SLT: rType(2, 0),
  SLTU: rType(3, 0),
  XOR: rType(4, 0),
  SRL: rType(5, 0),
  SRA: rType(5, 0x20),
  OR: rType(6, 0),
  AND: rType(7, 0),
  MUL: rType(0, 1, DIV_PAIRS),
  MULH: rType(1, 1, DIV_PAIRS),
  MULHSU: rType(2, 1, DIV_PAIRS),
  MULHU: rType(3, 1, DIV_PAIRS),
  DIV: rType(4, 1, DIV_PAIRS),
  DIVU: rType(5, 1, DIV_PAIRS),
  REM: rType(6, 1, DIV_PAIRS),
  REMU: rType(7, 1, DIV_PAIRS),
  FENCE: fence(0),
  'FENCE.I': fence(1),
  'ECALL:exit': ecall(() => SYSCALL_EXIT),
  'ECALL:write': ecall(() => SYSCALL_WRITE),
  'ECALL:other': ecall((rng) => rng.pick([0, 1, 63, 65, 92, 94, 0x10000 + SYSCALL_EXIT, rng.u32()])),
  'ILLEGAL:random-word': illegal((rng) => rng.u32()),
  'ILLEGAL:not-32-bit': illegal((rng) => (rng.u32() & ~3) | rng.int(3)),
  'ILLEGAL:unknown-opcode': illegal((rng) =>
    withFields(rng, rng.pick([0x07, 0x0b, 0x1b, 0x27, 0x2b, 0x2f, 0x3b, 0x43, 0x53, 0x5b, 0x77, 0x7b, 0x7f]), rng.int(8), rng.int(128)),
  ),
  'ILLEGAL:branch-f3': illegal((rng) => withFields(rng, OPCODE.BRANCH, rng.pick([2, 3]), rng.int(128))),
  'ILLEGAL:load-f3': illegal((rng) => withFields(rng, OPCODE.LOAD, rng.pick([3, 6, 7]), rng.int(128))),
  'ILLEGAL:store-f3': illegal((rng) => withFields(rng, OPCODE.STORE, 3 + rng.int(5), rng.int(128))),
  'ILLEGAL:jalr-f3': illegal((rng) => withFields(rng, OPCODE.JALR, 1 + rng.int(7), rng.int(128))),
  'ILLEGAL:slli-f7': illegal((rng) => withFields(rng, OPCODE.OP_IMM, 1, 1 + rng.int(127))),
  'ILLEGAL:srli-f7': illegal((rng) => withFields(rng, OPCODE.OP_IMM, 5, rng.pick([1, 0x10, 0x21, 0x40, 0x60, 0x7f]))),
  'ILLEGAL:op-f7': illegal((rng) => withFields(rng, OPCODE.OP, rng.int(8), rng.pick([2, 4, 0x10, 0x21, 0x40, 0x7f]))),
  'ILLEGAL:op-sub-f3': illegal((rng) => withFields(rng, OPCODE.OP, rng.pick([1, 2, 3, 4, 6, 7]), 0x20)),
  'ILLEGAL:misc-mem-f3': illegal((rng) => withFields(rng, OPCODE.MISC_MEM, 2 + rng.int(6), rng.int(128))),
  'ILLEGAL:ebreak': illegal(() => 0x00100073),
  'ILLEGAL:csr': illegal((rng) => withFields(rng, OPCODE.SYSTEM, 1 + rng.int(7), rng.int(128))),
  'ILLEGAL:system-f3-0': illegal((rng) => (((rng.u32() | 0x80) & ~0x7000 & ~0x7f) | OPCODE.SYSTEM) >>> 0),
};

export const CASE_KINDS: readonly string[] = Object.keys(GENERATORS);

function randomState(rng: Rng): VmState {
  const state = blankState({
    pc: rng.pick([
      () => rng.u32() & ~3,
      () => rng.u32() & ~3,
      () => rng.u32() & ~3,
      () => rng.pick([0, 4, 28, 32]),
      () => (ALL_ONES - 3 - 4 * rng.int(8)) >>> 0,
      () => (rng.u32() & ~(LEAF_SIZE - 1)) + 28,
    ])(),
    step: rng.pick([() => 0n, () => BigInt(rng.u32()), () => rng.u64(), () => 0xffffffffffffffffn])(),
    exitCode: rng.chance(0.7) ? 0 : rng.u32(),
  });
  for (let i = 1; i < 32; i++) state.regs[i] = word(rng);
  return state;
}

/** The [start, end) of each complete compressed proof in `proofs`: the fetch proof, then the data proof. */
function proofSpans(proofs: Uint8Array): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let start = 0; spans.length < 2 && start + PROOF_HEADER_SIZE <= proofs.length; ) {
    const end = proofEnd(proofs, start);
    if (end > proofs.length) break;
    spans.push([start, end]);
    start = end;
  }
  return spans;
}

/** Damages a witness in one of the ways a cheating or buggy prover would. */
function tamper(rng: Rng, w: Witness): { witness: Witness; tamper: string } {
  const preState = w.preState.slice();
  let proofs: Uint8Array = w.proofs.slice();
  const flipBit = (bytes: Uint8Array, from: number, to: number) => {
    if (to > from) bytes[from + rng.int(to - from)] ^= 1 << rng.int(8);
  };
  const how = rng.pick([
    'sibling',
    'leaf',
    'mask-bit',
    'mask-high',
    'zero-sibling',
    'root',
    'register',
    'truncate',
    'state-length',
    'status',
  ]);
  const spans = proofSpans(proofs);
  const [start, end] = spans.length > 0 ? rng.pick(spans) : [0, 0];
  const view = new DataView(proofs.buffer);
  const mask = end > start ? view.getUint32(start + LEAF_SIZE) : 0;
  switch (how) {
    case 'sibling':
      flipBit(proofs, start + PROOF_HEADER_SIZE, end);
      return { witness: { preState, proofs }, tamper: how };
    case 'leaf':
      flipBit(proofs, start, Math.min(start + LEAF_SIZE, end));
      return { witness: { preState, proofs }, tamper: how };
    case 'mask-bit':
      if (end > start) view.setUint32(start + LEAF_SIZE, (mask ^ (1 << rng.int(TREE_DEPTH))) >>> 0);
      return { witness: { preState, proofs }, tamper: how };
    case 'mask-high':
      if (end > start) view.setUint32(start + LEAF_SIZE, (mask | (1 << (TREE_DEPTH + rng.int(32 - TREE_DEPTH)))) >>> 0);
      return { witness: { preState, proofs }, tamper: how };
    case 'zero-sibling': {
      // Spell out one omitted zero-hash sibling: the same tree, but not the canonical form.
      const omitted = Array.from({ length: TREE_DEPTH }, (_, i) => i).filter((i) => (mask >>> i) & 1);
      if (end > start && omitted.length > 0) {
        const level = rng.pick(omitted);
        let at = start + PROOF_HEADER_SIZE;
        for (let i = 0; i < level; i++) if (((mask >>> i) & 1) === 0) at += LEAF_SIZE;
        proofs = concat(proofs.slice(0, at), ZERO_HASHES[level], proofs.slice(at));
        new DataView(proofs.buffer).setUint32(start + LEAF_SIZE, (mask & ~(1 << level)) >>> 0);
      }
      return { witness: { preState, proofs }, tamper: how };
    }
    case 'root':
      flipBit(preState, STATE_OFFSET.memRoot, STATE_OFFSET.memRoot + 32);
      return { witness: { preState, proofs }, tamper: how };
    case 'register':
      flipBit(preState, STATE_OFFSET.regs, preState.length);
      return { witness: { preState, proofs }, tamper: how };
    case 'truncate':
      return { witness: { preState, proofs: proofs.slice(0, rng.int(proofs.length + 1)) }, tamper: how };
    case 'state-length':
      return {
        witness: { preState: rng.chance(0.5) ? preState.slice(0, rng.int(preState.length)) : concat(preState, rng.bytes(1 + rng.int(40))), proofs },
        tamper: how,
      };
    default:
      preState[STATE_OFFSET.status] = 7 + rng.int(249);
      return { witness: { preState, proofs }, tamper: how };
  }
}

/**
 * The same draft laid out in a shared/vm Memory (with a few unrelated leaves around it), its
 * witness from shared/vm/witness.ts, and the fast interpreter's post-state after one step.
 */
function machineCase(rng: Rng, state: VmState, word: number, fetchLeaf: Uint8Array | undefined, data: LeafAt | undefined) {
  const memory = new Memory();
  for (let i = rng.int(4); i > 0; i--) memory.writeBytes(rng.u32() & ~(LEAF_SIZE - 1), rng.bytes(LEAF_SIZE));
  if (data) memory.writeBytes(data.address & ~(LEAF_SIZE - 1), data.leaf);
  if (fetchLeaf) memory.writeBytes(state.pc & ~(LEAF_SIZE - 1), fetchLeaf);
  if (state.pc % 4 === 0) memory.writeWord(state.pc, word);
  const machine = new Machine(memory, {
    pc: state.pc,
    regs: state.regs,
    step: Number(state.step),
    status: state.status,
    exitCode: state.exitCode,
  });
  const witness = stepWitness(machine);
  machine.run(1);
  return { preState: witness.state, proofs: witness.proofs, fastPostState: machine.encodedState() };
}

/** One random case; `rng` fully determines it. */
export function randomCase(rng: Rng): LabeledWitness {
  const state = randomState(rng);
  const halted = rng.chance(0.06);
  const kind = halted ? 'halted' : rng.pick(CASE_KINDS);
  if (halted) state.status = (1 + rng.int(6)) as Status;
  if (rng.chance(0.03)) state.pc = (state.pc | (1 + rng.int(3))) >>> 0; // misaligned fetch
  const draft = halted ? { word: rng.u32() } : GENERATORS[kind](rng, state);
  if (rng.chance(0.05)) draft.dataAddress = rng.u32(); // a data proof the step must ignore
  const mode = rng.chance(0.5) ? 'sparse' : 'random';
  const data: LeafAt | undefined =
    draft.dataAddress === undefined
      ? undefined
      : { address: draft.dataAddress, leaf: rng.chance(0.3) ? new Uint8Array(LEAF_SIZE) : rng.bytes(LEAF_SIZE) };
  const fetchLeaf = rng.chance(0.5) ? rng.bytes(LEAF_SIZE) : undefined;
  // The fast interpreter counts steps in a JS number, so only steps below 2^53 go this way.
  if (rng.chance(0.4) && state.step < 2n ** 53n) {
    // Through the other engineer's memory, witness generator and fast interpreter: exactly the
    // proofs witness.ts decides are needed, and the fast interpreter's successor as a third side.
    return { ...machineCase(rng, state, draft.word, fetchLeaf, data), kind };
  }
  let witness = buildWitness({ state, word: draft.word, fetchLeaf, data, mode, rng });
  // A halted or misaligned state needs no proof at all; give none half of the time.
  if ((halted || state.pc % 4 !== 0) && rng.chance(0.5)) witness = { ...witness, proofs: new Uint8Array(0) };
  if (rng.chance(0.03)) witness = { ...witness, proofs: concat(witness.proofs, rng.bytes(1 + rng.int(64))) };
  if (rng.chance(0.08)) {
    const damaged = tamper(rng, witness);
    return { ...damaged.witness, kind, tamper: damaged.tamper };
  }
  return { ...witness, kind };
}

export interface DifferentialReport {
  seed: number;
  cases: number;
  /** Cases per kind (instruction, illegal family, `halted`). */
  kinds: Record<string, number>;
  /** Reference outcomes: post-state status names, or error names. */
  outcomes: Record<string, number>;
  tampered: number;
  /** Cases whose witness came from shared/vm/witness.ts, with the fast interpreter as a third side. */
  fastInterpreter: number;
  mismatchCount: number;
  /** The first mismatches, in full, to reproduce them. */
  mismatches: Mismatch[];
  seconds: number;
}

const KEPT_MISMATCHES = 20;

/**
 * Generates `cases` random cases from `seed` in chunks, runs each chunk through both sides, and
 * aggregates what was covered. `onProgress` is called after every chunk.
 */
export async function runRandomCases(opts: {
  provider: JsonRpcProvider;
  verifier: string;
  seed: number;
  cases: number;
  chunk?: number;
  onProgress?: (report: DifferentialReport) => void;
}): Promise<DifferentialReport> {
  const started = Date.now();
  const rng = new Rng(opts.seed);
  const report: DifferentialReport = {
    seed: opts.seed,
    cases: 0,
    kinds: {},
    outcomes: {},
    tampered: 0,
    fastInterpreter: 0,
    mismatchCount: 0,
    mismatches: [],
    seconds: 0,
  };
  const chunkSize = opts.chunk ?? 2000;
  while (report.cases < opts.cases) {
    const batch = Array.from({ length: Math.min(chunkSize, opts.cases - report.cases) }, () => randomCase(rng));
    const { reference, mismatches } = await compareOnChain(opts.provider, opts.verifier, batch);
    batch.forEach((c, i) => {
      report.kinds[c.kind] = (report.kinds[c.kind] ?? 0) + 1;
      if (c.tamper) report.tampered++;
      if (c.fastPostState) report.fastInterpreter++;
      const o = reference[i];
      const outcome = 'error' in o ? o.error : Status[decodeState(o.postState).status];
      report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    });
    for (const m of mismatches) {
      if (report.mismatches.length < KEPT_MISMATCHES) report.mismatches.push({ ...m, index: m.index + report.cases });
    }
    report.mismatchCount += mismatches.length;
    report.cases += batch.length;
    report.seconds = (Date.now() - started) / 1000;
    opts.onProgress?.(report);
  }
  return report;
}

/** DIFF_SEED if set (decimal or 0x-hex), else a fresh random seed to print. */
export function seedFromEnv(): number {
  const raw = process.env.DIFF_SEED;
  if (raw === undefined || raw === '') return Math.floor(Math.random() * 0x1_0000_0000);
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`DIFF_SEED must be a uint32, got ${raw}`);
  return seed;
}

/** DIFF_CASES if set, else the caller's default. */
export function casesFromEnv(fallback: number): number {
  const raw = process.env.DIFF_CASES;
  if (raw === undefined || raw === '') return fallback;
  const cases = Number(raw);
  if (!Number.isInteger(cases) || cases <= 0) throw new RangeError(`DIFF_CASES must be a positive integer, got ${raw}`);
  return cases;
}
