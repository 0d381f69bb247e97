/**
 * Random RV32IM programs, as assembly text for clang: every register starts at a random or edge
 * value, then a random mix of ALU, M-extension, immediate, upper-immediate, load, store, forward
 * branch and jump instructions runs, and finally the program writes all registers and its memory
 * window to stdout. Running one such program in two RISC-V implementations and comparing the
 * bytes checks every instruction's result, not just what compiled C happens to print.
 *
 * sp (x2) is the only register never written: it is the base of the memory window [sp-2048, sp)
 * (stack memory, zero in every loader). Random accesses use [sp-1920, sp); the register dump
 * goes to [sp-2048, sp-1924) once the random part is over.
 */

const EDGE_VALUES = [0, 1, 2, 31, 32, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xffff8000, 0x12345678];
const R_OPS = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'];
const I_OPS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi'];
const SHIFT_I_OPS = ['slli', 'srli', 'srai'];
const LOADS: [string, number][] = [['lb', 1], ['lbu', 1], ['lh', 2], ['lhu', 2], ['lw', 4]];
const STORES: [string, number][] = [['sb', 1], ['sh', 2], ['sw', 4]];
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
const WRITABLE = Array.from({ length: 32 }, (_, i) => i).filter((r) => r !== 2);
const WINDOW = 1920;

/** Deterministic generator (xorshift32), so a failing seed can be replayed. */
class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}

export function randomProgram(seed: number, length: number): string {
  const rng = new Rng(seed);
  const reg = () => `x${rng.below(32)}`;
  // x0 as destination now and then: its writes must be discarded.
  const dest = () => (rng.below(16) === 0 ? 'x0' : `x${rng.pick(WRITABLE.filter((r) => r !== 0))}`);
  const imm12 = () => rng.below(4096) - 2048;
  const offset = (align: number) => -(align * (1 + rng.below(WINDOW / align)));
  const lines = ['  .text', '  .globl main', 'main:'];
  for (const r of WRITABLE) {
    if (r === 0) continue;
    const value = rng.below(3) === 0 ? rng.pick(EDGE_VALUES) : rng.next();
    lines.push(`  li x${r}, ${value | 0}`);
  }
  let label = 0;
  const pending: { at: number; name: string }[] = [];
  for (let i = 0; i < length; i++) {
    for (const p of pending.filter((p) => p.at === i)) lines.push(`${p.name}:`);
    const kind = rng.below(100);
    if (kind < 40) lines.push(`  ${rng.pick(R_OPS)} ${dest()}, ${reg()}, ${reg()}`);
    else if (kind < 55) lines.push(`  ${rng.pick(I_OPS)} ${dest()}, ${reg()}, ${imm12()}`);
    else if (kind < 62) lines.push(`  ${rng.pick(SHIFT_I_OPS)} ${dest()}, ${reg()}, ${rng.below(32)}`);
    else if (kind < 66) lines.push(`  ${rng.pick(['lui', 'auipc'])} ${dest()}, ${rng.below(1 << 20)}`);
    else if (kind < 76) {
      const [op, size] = rng.pick(LOADS);
      lines.push(`  ${op} ${dest()}, ${offset(size)}(sp)`);
    } else if (kind < 86) {
      const [op, size] = rng.pick(STORES);
      lines.push(`  ${op} ${reg()}, ${offset(size)}(sp)`);
    } else if (kind < 96) {
      // Forward only, so every program terminates.
      const name = `.Lskip${label++}`;
      pending.push({ at: Math.min(length, i + 1 + rng.below(4)), name });
      if (rng.below(5) === 0) lines.push(`  jal ${dest()}, ${name}`);
      else lines.push(`  ${rng.pick(BRANCHES)} ${reg()}, ${reg()}, ${name}`);
    } else lines.push('  fence');
  }
  for (const p of pending.filter((p) => p.at >= length)) lines.push(`${p.name}:`);
  for (let r = 1; r < 32; r++) if (r !== 2) lines.push(`  sw x${r}, ${-2048 + 4 * (r - 1)}(sp)`);
  lines.push('  li a0, 1', '  addi a1, sp, -2048', '  li a2, 2048', '  li a7, 64', '  ecall');
  lines.push('  li a0, 0', '  li a7, 93', '  ecall', '');
  return lines.join('\n');
}
