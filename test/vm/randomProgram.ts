/**
 * Random worlds for differential tests: a code region of random instructions (every opcode,
 * legal and illegal encodings, branches that stay inside, loads/stores through base registers that
 * point at data, at code and at the top of the address space) and registers biased to edge values.
 */
import { Memory } from '../../shared/vm/memory';
import { Machine } from '../../shared/vm/machine';
import { Status } from '../../shared/vm/spec';
import { rv } from './rv';
import { Rng } from '../helpers/rng';

// Re-exported: the differential generators take their Rng from here.
export { Rng };

export const CODE = 0x10000;
export const DATA = 0x20000;
export const CODE_WORDS = 48;


const EDGE = [0, 1, 2, 3, 4, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 31, 32, 33, 0x8000, 0xffff8000];

function regValue(r: Rng): number {
  switch (r.int(5)) {
    case 0:
      return r.pick(EDGE);
    case 1:
      return DATA + r.int(64) * 4 + r.pick([0, 0, 0, 1, 2, 3]);
    case 2:
      return CODE + r.int(CODE_WORDS) * 4;
    case 3:
      return (0xffffffff - r.int(16)) >>> 0;
    default:
      return r.next();
  }
}

const reg = (r: Rng) => (r.int(4) === 0 ? 0 : 1 + r.int(7));
const imm12 = (r: Rng) => (r.int(3) === 0 ? r.pick([0, 1, -1, 2047, -2048, 3, 4]) : r.int(64) - 32);

export function randomInstruction(r: Rng, index: number): number {
  const branchImm = () => (r.int(CODE_WORDS) - index) * 4 + (r.int(8) === 0 ? 2 : 0);
  switch (r.int(14)) {
    case 0:
      return rv.lui(reg(r), r.next());
    case 1:
      return rv.auipc(reg(r), r.next());
    case 2:
      return rv.jal(reg(r), branchImm());
    case 3:
      return rv.i(0x67, reg(r), r.int(8) === 0 ? 1 : 0, reg(r), imm12(r));
    case 4:
      return rv.branch(r.int(8), reg(r), reg(r), branchImm());
    case 5:
      return rv.load(r.int(8), reg(r), reg(r), imm12(r));
    case 6:
      return rv.store(r.int(8), reg(r), reg(r), imm12(r));
    case 7: {
      const f3 = r.int(8);
      const shift = f3 === 1 || f3 === 5;
      const hi = shift ? r.pick([0, 0, 0x20, 0x01]) << 5 : 0;
      return rv.i(0x13, reg(r), f3, reg(r), shift ? hi | r.int(32) : imm12(r));
    }
    case 8:
    case 9:
      return rv.r(0x33, reg(r), r.int(8), reg(r), reg(r), r.pick([0, 0x20, 0x01, 0x01, 0x02]));
    case 10:
      return rv.i(0x0f, reg(r), r.int(4), reg(r), r.int(4096));
    case 11:
      return r.pick([0x00000073, 0x00100073, 0x30200073, 0x00001073, 0x00000073 | (1 << 7)]);
    case 12:
      return rv.i(0x13, reg(r), 0, reg(r), imm12(r));
    default:
      return r.next();
  }
}

/** A machine over a fresh random world; `ecallChance` makes a7 a syscall number. */
export function randomMachine(seed: number): Machine {
  const r = new Rng(seed);
  const memory = new Memory();
  for (let i = 0; i < CODE_WORDS; i++) memory.writeWord(CODE + 4 * i, randomInstruction(r, i));
  for (let i = 0; i < 64; i++) memory.writeWord(DATA + 4 * i, r.next() | 0);
  memory.writeWord(0xfffffffc, r.next() | 0);
  const regs = Array.from({ length: 32 }, () => regValue(r));
  regs[17] = r.pick([93, 64, 64, 1, regs[17]]);
  regs[12] = r.int(3) === 0 ? regs[12] : r.int(40);
  const pc = r.int(16) === 0 ? CODE + r.int(CODE_WORDS) * 4 + 2 : CODE + r.int(CODE_WORDS) * 4;
  const status = r.int(20) === 0 ? (1 + r.int(6)) as Status : Status.RUNNING;
  return new Machine(memory, { pc, regs, step: r.int(1000), status, exitCode: r.int(3) === 0 ? r.next() : 0 });
}
