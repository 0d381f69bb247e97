/**
 * Random RV32IM programs, as assembly text for clang: every register starts at a random or edge
 * value, then a random mix of ALU, M-extension, immediate, upper-immediate, load, store, forward
 * branch and jump instructions runs, and finally the program writes all registers and its memory
 * window to stdout. Running one such program in two RISC-V implementations and comparing the
 * bytes checks every instruction's result, not just what compiled C happens to print.
 *
 * sp (x2) is the only register never written: it is the base of the dumped window
 * [sp-2048, sp) (stack memory, zero in every loader). Random accesses use [sp-256, sp); after each
 * of SNAPSHOTS segments all registers are stored to [sp-2048 + 124k, ...), so a wrong result is
 * seen before later instructions can overwrite it. Fresh random constants keep coming in, because
 * compares, masks and loads of zero memory would otherwise drive most registers to 0 or -1.
 */

import { Rng } from '../helpers/rng';

const EDGE_VALUES = [0, 1, 2, 31, 32, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xffff8000, 0x12345678];
const R_OPS = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu'];
const I_OPS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi'];
const SHIFT_I_OPS = ['slli', 'srli', 'srai'];
const LOADS: [string, number][] = [['lb', 1], ['lbu', 1], ['lh', 2], ['lhu', 2], ['lw', 4]];
const STORES: [string, number][] = [['sb', 1], ['sh', 2], ['sw', 4]];
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
const WRITABLE = Array.from({ length: 32 }, (_, i) => i).filter((r) => r !== 2);
/** Small, so that loads mostly read what earlier stores wrote rather than zeros. */
const WINDOW = 256;

/** Register snapshots taken during the run, each 31 words (x1..x31, x2 included as a marker). */
export const SNAPSHOTS = 12;
const SNAPSHOT_BYTES = 124;
export const DUMP_BYTES = 2048;

export function randomProgram(seed: number, segmentLength: number): string {
  const rng = new Rng(seed);
  const reg = () => `x${rng.int(32)}`;
  // x0 as destination now and then: its writes must be discarded.
  const dest = () => (rng.int(16) === 0 ? 'x0' : `x${rng.pick(WRITABLE.filter((r) => r !== 0))}`);
  const imm12 = () => rng.int(4096) - 2048;
  const offset = (align: number) => -(align * (1 + rng.int(WINDOW / align)));
  const constant = () => (rng.int(3) === 0 ? rng.pick(EDGE_VALUES) : rng.next()) | 0;
  const lines = ['  .text', '  .globl main', 'main:'];
  for (const r of WRITABLE) if (r !== 0) lines.push(`  li x${r}, ${constant()}`);
  let label = 0;
  for (let segment = 0; segment < SNAPSHOTS; segment++) {
    // Branch targets stay inside the segment, so no snapshot is ever skipped.
    const pending: { at: number; name: string }[] = [];
    for (let i = 0; i <= segmentLength; i++) {
      for (const p of pending.filter((p) => p.at === i)) lines.push(`${p.name}:`);
      if (i === segmentLength) break;
      const kind = rng.int(100);
      if (kind < 40) lines.push(`  ${rng.pick(R_OPS)} ${dest()}, ${reg()}, ${reg()}`);
      else if (kind < 55) lines.push(`  ${rng.pick(I_OPS)} ${dest()}, ${reg()}, ${imm12()}`);
      else if (kind < 62) lines.push(`  ${rng.pick(SHIFT_I_OPS)} ${dest()}, ${reg()}, ${rng.int(32)}`);
      else if (kind < 66) lines.push(`  ${rng.pick(['lui', 'auipc'])} ${dest()}, ${rng.int(1 << 20)}`);
      else if (kind < 72) lines.push(`  li ${dest()}, ${constant()}`);
      else if (kind < 79) {
        const [op, size] = rng.pick(LOADS);
        lines.push(`  ${op} ${dest()}, ${offset(size)}(sp)`);
      } else if (kind < 88) {
        const [op, size] = rng.pick(STORES);
        lines.push(`  ${op} ${reg()}, ${offset(size)}(sp)`);
      } else if (kind < 98) {
        // Forward only, so every program terminates.
        const name = `.Lskip${label++}`;
        pending.push({ at: Math.min(segmentLength, i + 1 + rng.int(4)), name });
        if (rng.int(5) === 0) lines.push(`  jal ${dest()}, ${name}`);
        else lines.push(`  ${rng.pick(BRANCHES)} ${reg()}, ${reg()}, ${name}`);
      } else lines.push('  fence');
    }
    const base = -DUMP_BYTES + segment * SNAPSHOT_BYTES;
    for (let r = 1; r < 32; r++) lines.push(`  sw x${r}, ${base + 4 * (r - 1)}(sp)`);
  }
  lines.push(`  li a0, 1`, `  addi a1, sp, -${DUMP_BYTES}`, `  li a2, ${DUMP_BYTES}`, '  li a7, 64', '  ecall');
  lines.push('  li a0, 0', '  li a7, 93', '  ecall', '');
  return lines.join('\n');
}
