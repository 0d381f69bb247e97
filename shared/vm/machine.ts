/**
 * The FAST interpreter: the same semantics as the reference step (shared/vm/step.ts), without
 * per-step hashing. Straight-line runs of instructions ("blocks", ending at a jump, a branch, an
 * ecall, a fault or a page end) are compiled once to JavaScript functions with `new Function`,
 * so V8 optimises each guest loop as ordinary code. Registers live in an Int32Array, memory in
 * the pages of shared/vm/memory.ts; a store to a page holding compiled code invalidates that
 * page's blocks (and ends the running block), so self-modifying code behaves exactly.
 *
 * Halting, step counting and every edge case follow docs/vm-spec.md; the differential tests run
 * this machine and the reference step on the same states and compare the encodings byte for byte.
 */
import { loadElf } from './elf';
import { Memory, PAGE_SHIFT, type MemorySnapshot } from './memory';
import {
  ECALL_WORD,
  OPCODE,
  REG_A0,
  REG_A1,
  REG_A2,
  REG_A7,
  Status,
  SYSCALL_EXIT,
  SYSCALL_WRITE,
} from './spec';
import { encodeState, stateHash, type VmState } from './state';
import {
  div,
  divu,
  funct3Of,
  funct7Of,
  immB,
  immI,
  immJ,
  immS,
  immU,
  LOAD_SIZE,
  mulh,
  mulhsu,
  mulhu,
  opcodeOf,
  rdOf,
  rem,
  remu,
  rs1Of,
  rs2Of,
  STORE_SIZE,
} from './step';

/** Longest compiled block; longer straight-line code is split (bounds compile time per block). */
const MAX_BLOCK = 64;
/** A write syscall copies at most this many bytes to the output buffer (the state never sees them). */
const MAX_WRITE_CAPTURE = 1 << 20;

/**
 * A compiled block: runs from its start pc, sets `m.n` to the instructions executed and returns
 * the next pc. A block whose last instruction jumps back to its start loops inside the function
 * while `budget` (steps left to run) allows another full pass.
 */
type BlockFn = (
  x: Int32Array,
  m: Machine,
  U8: Uint8Array[][],
  I32: Int32Array[][],
  W: Uint8Array,
  budget: number,
) => number;

interface Block {
  readonly length: number;
  readonly run: BlockFn;
}

/** Everything needed to resume a machine later; memory pages are shared copy-on-write. */
export interface MachineSnapshot {
  readonly memory: MemorySnapshot;
  readonly regs: Int32Array;
  readonly pc: number;
  readonly step: number;
  readonly status: Status;
  readonly exitCode: number;
  readonly outputLength: number;
}

export interface MachineInit {
  pc: number;
  regs?: ArrayLike<number>;
  step?: number;
  status?: Status;
  exitCode?: number;
}

export class Machine {
  /** x0..x31; x0 is never written. */
  readonly regs = new Int32Array(32);
  pc: number;
  /** Steps executed so far (a JS number: exact up to 2^53). */
  step: number;
  status: Status;
  exitCode: number;
  /** Instructions the last block executed; set by every block exit. */
  n = 0;

  private invalidations = 0;
  private readonly blocks = new Map<number, Block>();
  private readonly singles = new Map<number, Block>();
  private readonly blockPages = new Map<number, number[]>();
  private outputChunks: Uint8Array[] = [];
  private outputLength = 0;

  constructor(
    readonly memory: Memory,
    init: MachineInit,
  ) {
    this.pc = init.pc >>> 0;
    if (init.regs) for (let i = 1; i < 32; i++) this.regs[i] = init.regs[i] ?? 0;
    this.step = init.step ?? 0;
    this.status = init.status ?? Status.RUNNING;
    this.exitCode = init.exitCode ?? 0;
    memory.onCodeWrite((page) => this.invalidatePage(page));
  }

  static fromElf(file: Uint8Array): Machine {
    const image = loadElf(file);
    return new Machine(image.memory, { pc: image.entry });
  }

  /** Runs until the machine halts or `maxSteps` more steps have run; returns the steps run. */
  run(maxSteps: number = Number.MAX_SAFE_INTEGER): number {
    const start = this.step;
    const limit = Math.min(Number.MAX_SAFE_INTEGER, start + Math.max(0, maxSteps));
    if (this.status !== Status.RUNNING || this.step >= limit) return 0;
    if (this.pc & 3) {
      // Jumps and branches check their targets, so only the starting pc can be misaligned.
      this.status = Status.MISALIGNED_FETCH;
      this.step += 1;
      return 1;
    }
    const x = this.regs;
    const { dirsU8, dirsI32, writable } = this.memory;
    let pc = this.pc;
    let step = this.step;
    while (step < limit && this.status === Status.RUNNING) {
      let block = this.blocks.get(pc) ?? this.compile(pc, MAX_BLOCK, this.blocks);
      if (block.length > limit - step) block = this.singles.get(pc) ?? this.compile(pc, 1, this.singles);
      pc = block.run(x, this, dirsU8, dirsI32, writable, limit - step);
      step += this.n;
    }
    this.pc = pc;
    this.step = step;
    return step - start;
  }

  /** Runs until the step counter reaches `target` (or the machine halts before). */
  runTo(target: number): void {
    if (target > this.step) this.run(target - this.step);
  }

  /** The decoded state; with memory.root() it is the spec state. */
  state(): VmState {
    const regs = new Uint32Array(32);
    for (let i = 1; i < 32; i++) regs[i] = this.regs[i] >>> 0;
    return {
      memRoot: this.memory.root(),
      pc: this.pc,
      step: BigInt(this.step),
      status: this.status,
      exitCode: this.exitCode,
      regs,
    };
  }

  encodedState(): Uint8Array {
    return encodeState(this.state());
  }

  stateHash(): Uint8Array {
    return stateHash(this.encodedState());
  }

  /** Bytes the guest passed to write(), all file descriptors, in order. */
  output(): Uint8Array {
    const out = new Uint8Array(this.outputLength);
    let o = 0;
    for (const chunk of this.outputChunks) {
      out.set(chunk, o);
      o += chunk.length;
    }
    return out;
  }

  snapshot(): MachineSnapshot {
    return {
      memory: this.memory.snapshot(),
      regs: this.regs.slice(),
      pc: this.pc,
      step: this.step,
      status: this.status,
      exitCode: this.exitCode,
      outputLength: this.outputLength,
    };
  }

  restore(snapshot: MachineSnapshot): void {
    this.memory.restore(snapshot.memory);
    this.regs.set(snapshot.regs);
    this.pc = snapshot.pc;
    this.step = snapshot.step;
    this.status = snapshot.status;
    this.exitCode = snapshot.exitCode;
    const kept = this.output().slice(0, snapshot.outputLength);
    this.outputChunks = [kept];
    this.outputLength = kept.length;
  }

  static fromSnapshot(snapshot: MachineSnapshot): Machine {
    const machine = new Machine(Memory.fromSnapshot(snapshot.memory), { pc: snapshot.pc });
    machine.restore(snapshot);
    return machine;
  }

  // Called from compiled blocks.

  /** ecall at `pc`; returns the next pc. */
  ecall(pc: number): number {
    const x = this.regs;
    const number = x[REG_A7] >>> 0;
    if (number === SYSCALL_EXIT) {
      this.status = Status.EXITED;
      this.exitCode = x[REG_A0] >>> 0;
      return pc;
    }
    if (number === SYSCALL_WRITE) {
      const length = x[REG_A2] >>> 0;
      this.captureOutput(x[REG_A1] >>> 0, Math.min(length, MAX_WRITE_CAPTURE));
      x[REG_A0] = x[REG_A2];
      return (pc + 4) >>> 0;
    }
    this.status = Status.BAD_SYSCALL;
    return pc;
  }

  /** Slow path of a store; true when it overwrote compiled code, so the running block must stop. */
  prepareStore(page: number): boolean {
    const before = this.invalidations;
    this.memory.prepareWrite(page);
    return this.invalidations !== before;
  }

  private captureOutput(address: number, length: number): void {
    this.outputChunks.push(this.memory.readBytes(address, length));
    this.outputLength += length;
  }

  private invalidatePage(page: number): void {
    const pcs = this.blockPages.get(page);
    if (!pcs) return;
    for (const pc of pcs) {
      this.blocks.delete(pc);
      this.singles.delete(pc);
    }
    this.blockPages.delete(page);
    this.invalidations++;
  }

  private compile(pc: number, maxLength: number, cache: Map<number, Block>): Block {
    const page = pc >>> PAGE_SHIFT;
    const body: string[] = [];
    let length = 0;
    let p = pc;
    for (;;) {
      length++;
      const { code, ends } = translate(this.memory.readWord(p), p, length, pc);
      body.push(code);
      if (ends) break;
      p = (p + 4) >>> 0;
      if (length === maxLength || p >>> PAGE_SHIFT !== page || p === 0) {
        body.push(`m.n = done + ${length}; return ${p};`);
        break;
      }
    }
    const run = new Function(
      'helpers',
      `const { mulh, mulhsu, mulhu, div, divu, rem, remu } = helpers;\n` +
        `return function block_${pc.toString(16)}(x, m, U8, I32, W, budget) {\n` +
        `let done = 0;\nfor (;;) {\n${body.join('\n')}\n}\n};`,
    )(HELPERS) as BlockFn;
    const block: Block = { length, run };
    cache.set(pc, block);
    this.memory.markCode(page);
    const pcs = this.blockPages.get(page);
    if (pcs) pcs.push(pc);
    else this.blockPages.set(page, [pc]);
    return block;
  }
}

const HELPERS = { mulh, mulhsu, mulhu, div, divu, rem, remu };

/** The page holding address `a` in generated code (two-level table, see memory.ts). */
const PAGE_U8 = 'U8[a >>> 22][(a >>> 12) & 1023]';
const PAGE_I32 = 'I32[a >>> 22][(a >>> 12) & 1023]';

const reg = (i: number): string => (i === 0 ? '0' : `x[${i}]`);
const setReg = (rd: number, expr: string): string => (rd === 0 ? '' : `x[${rd}] = ${expr};`);
/** Halts at instruction `k` of the block, located at `pc`: only status changes, the step counts. */
const fault = (status: Status, pc: number, k: number): string =>
  `{ m.status = ${status}; m.n = done + ${k}; return ${pc}; }`;
/** Leaves the block after instruction `k`, continuing at `next` (an expression). */
const exit = (k: number, next: string | number): string => `m.n = done + ${k}; return ${next};`;
/**
 * A jump to `target` taken by the k-th and last instruction: back to the block's own start it
 * loops in place while the step budget allows a whole further pass.
 */
const jumpTo = (target: number, k: number, blockStart: number): string =>
  target === blockStart
    ? `{ done += ${k}; if (budget - done >= ${k}) continue; m.n = done; return ${target}; }`
    : `{ ${exit(k, target)} }`;

interface Translation {
  code: string;
  /** Whether the block must end after this instruction (control transfer, ecall, fault). */
  ends: boolean;
}

/** JavaScript for instruction `w` at `pc`, the k-th of the block at `blockStart` (mirrors step.ts section 6). */
function translate(w: number, pc: number, k: number, blockStart: number): Translation {
  const rd = rdOf(w);
  const rs1 = reg(rs1Of(w));
  const rs2 = reg(rs2Of(w));
  const f3 = funct3Of(w);
  const f7 = funct7Of(w);
  const next = (pc + 4) >>> 0;
  const illegal: Translation = { code: fault(Status.ILLEGAL_INSTRUCTION, pc, k), ends: true };
  const simple = (code: string): Translation => ({ code, ends: false });
  switch (opcodeOf(w)) {
    case OPCODE.LUI:
      return simple(setReg(rd, `${immU(w)}`));
    case OPCODE.AUIPC:
      return simple(setReg(rd, `${(pc + immU(w)) | 0}`));
    case OPCODE.JAL: {
      const target = (pc + immJ(w)) >>> 0;
      if (target & 3) return { code: fault(Status.MISALIGNED_FETCH, pc, k), ends: true };
      return { code: `${setReg(rd, `${next | 0}`)} ${jumpTo(target, k, blockStart)}`, ends: true };
    }
    case OPCODE.JALR: {
      if (f3 !== 0) return illegal;
      return {
        code:
          `{ const t = (${rs1} + ${immI(w)}) & -2; if (t & 3) ${fault(Status.MISALIGNED_FETCH, pc, k)} ` +
          `${setReg(rd, `${next | 0}`)} ${exit(k, 't >>> 0')} }`,
        ends: true,
      };
    }
    case OPCODE.BRANCH: {
      const cond = BRANCH_CONDITIONS[f3];
      if (cond === undefined) return illegal;
      const target = (pc + immB(w)) >>> 0;
      const taken = target & 3 ? fault(Status.MISALIGNED_FETCH, pc, k) : jumpTo(target, k, blockStart);
      return { code: `if (${cond(rs1, rs2)}) ${taken} ${exit(k, next)}`, ends: true };
    }
    case OPCODE.LOAD: {
      const size = LOAD_SIZE[f3];
      if (size === 0) return illegal;
      const check = size > 1 ? `if (a & ${size - 1}) ${fault(Status.MISALIGNED_LOAD, pc, k)}` : '';
      const value = [
        `(${PAGE_U8}[a & 4095] << 24) >> 24`,
        `((${PAGE_U8}[a & 4095] | (${PAGE_U8}[(a & 4095) + 1] << 8)) << 16) >> 16`,
        `${PAGE_I32}[(a & 4095) >> 2]`,
        '',
        `${PAGE_U8}[a & 4095]`,
        `${PAGE_U8}[a & 4095] | (${PAGE_U8}[(a & 4095) + 1] << 8)`,
      ][f3];
      return simple(`{ const a = (${rs1} + ${immI(w)}) | 0; ${check} ${setReg(rd, value)} }`);
    }
    case OPCODE.STORE: {
      const size = STORE_SIZE[f3];
      if (size === 0) return illegal;
      const check = size > 1 ? `if (a & ${size - 1}) ${fault(Status.MISALIGNED_STORE, pc, k)}` : '';
      const write = [
        `U8[g >>> 10][g & 1023][a & 4095] = ${rs2};`,
        `{ const v = ${rs2}; const o = a & 4095; U8[g >>> 10][g & 1023][o] = v; U8[g >>> 10][g & 1023][o + 1] = v >> 8; }`,
        `I32[g >>> 10][g & 1023][(a & 4095) >> 2] = ${rs2};`,
      ][f3];
      // A store that overwrote compiled code ends the block: the following words may have changed.
      return simple(
        `{ const a = (${rs1} + ${immS(w)}) | 0; ${check} const g = a >>> 12; ` +
          `if (W[g] === 0 && m.prepareStore(g)) { ${write} ${exit(k, next)} } ${write} }`,
      );
    }
    case OPCODE.OP_IMM: {
      const imm = immI(w);
      const shamt = rs2Of(w);
      const expr = [
        `(${rs1} + ${imm}) | 0`,
        f7 === 0 ? `${rs1} << ${shamt}` : undefined,
        `${rs1} < ${imm} ? 1 : 0`,
        `(${rs1} >>> 0) < ${imm >>> 0} ? 1 : 0`,
        `${rs1} ^ ${imm}`,
        f7 === 0 ? `${rs1} >>> ${shamt}` : f7 === 0x20 ? `${rs1} >> ${shamt}` : undefined,
        `${rs1} | ${imm}`,
        `${rs1} & ${imm}`,
      ][f3];
      return expr === undefined ? illegal : simple(setReg(rd, expr));
    }
    case OPCODE.OP: {
      const table = f7 === 0 ? OP_BASE : f7 === 0x20 ? OP_ALT : f7 === 0x01 ? OP_MULDIV : undefined;
      const op = table?.[f3];
      return op === undefined ? illegal : simple(setReg(rd, op(rs1, rs2)));
    }
    case OPCODE.MISC_MEM:
      return f3 > 1 ? illegal : simple('');
    case OPCODE.SYSTEM:
      if (w !== ECALL_WORD) return illegal;
      return { code: exit(k, `m.ecall(${pc})`), ends: true };
    default:
      return illegal;
  }
}

type Binary = (a: string, b: string) => string;

const BRANCH_CONDITIONS: Array<Binary | undefined> = [
  (a, b) => `${a} === ${b}`,
  (a, b) => `${a} !== ${b}`,
  undefined,
  undefined,
  (a, b) => `${a} < ${b}`,
  (a, b) => `${a} >= ${b}`,
  (a, b) => `(${a} >>> 0) < (${b} >>> 0)`,
  (a, b) => `(${a} >>> 0) >= (${b} >>> 0)`,
];

const OP_BASE: Binary[] = [
  (a, b) => `(${a} + ${b}) | 0`,
  (a, b) => `${a} << (${b} & 31)`,
  (a, b) => `${a} < ${b} ? 1 : 0`,
  (a, b) => `(${a} >>> 0) < (${b} >>> 0) ? 1 : 0`,
  (a, b) => `${a} ^ ${b}`,
  (a, b) => `${a} >>> (${b} & 31)`,
  (a, b) => `${a} | ${b}`,
  (a, b) => `${a} & ${b}`,
];

const OP_ALT: Array<Binary | undefined> = [
  (a, b) => `(${a} - ${b}) | 0`,
  undefined,
  undefined,
  undefined,
  undefined,
  (a, b) => `${a} >> (${b} & 31)`,
  undefined,
  undefined,
];

const OP_MULDIV: Binary[] = [
  (a, b) => `Math.imul(${a}, ${b})`,
  (a, b) => `mulh(${a}, ${b})`,
  (a, b) => `mulhsu(${a}, ${b})`,
  (a, b) => `mulhu(${a}, ${b})`,
  (a, b) => `div(${a}, ${b})`,
  (a, b) => `divu(${a}, ${b})`,
  (a, b) => `rem(${a}, ${b})`,
  (a, b) => `remu(${a}, ${b})`,
];
