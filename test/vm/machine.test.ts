import fc from 'fast-check';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine } from '../../shared/vm/machine';
import { Memory } from '../../shared/vm/memory';
import { compressProof, verifyProof } from '../../shared/vm/merkle';
import { Status } from '../../shared/vm/spec';
import { decodeState } from '../../shared/vm/state';
import { step } from '../../shared/vm/step';
import { stepWitness } from '../../shared/vm/witness';
import { proofEnd } from './differential-harness';
import { CODE, randomMachine } from './randomProgram';
import { rv } from './rv';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One step of the fast machine against the reference step on its witness, byte for byte. */
function checkOneStep(machine: Machine): void {
  const witness = stepWitness(machine);
  const pre = decodeState(witness.state);
  if (witness.proofs.length > 0) {
    // The fetch proof is the canonical compression of the memory's plain proof for pc.
    const plain = machine.memory.proof(pre.pc);
    expect(verifyProof(plain, pre.pc, pre.memRoot)).toBe(true);
    expect(hex(witness.proofs.subarray(0, proofEnd(witness.proofs, 0)))).toBe(hex(compressProof(plain)));
  }
  const expected = step(witness.state, witness.proofs);
  machine.run(1);
  expect(hex(machine.encodedState())).toBe(hex(expected));
  // Exactly what is needed: one byte less must be refused.
  if (witness.proofs.length > 0) expect(() => step(witness.state, witness.proofs.subarray(1))).toThrow();
}

describe('fast machine against the reference step', () => {
  it('agrees on single steps from random states and instructions', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        checkOneStep(randomMachine(seed));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees step by step along random programs, and compiled blocks agree with single steps', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0x7fffffff }), (seed) => {
        const stepped = randomMachine(seed);
        const blocks = randomMachine(seed);
        for (let i = 0; i < 40; i++) checkOneStep(stepped);
        blocks.run(40);
        expect(hex(blocks.encodedState())).toBe(hex(stepped.encodedState()));
        expect(hex(blocks.output())).toBe(hex(stepped.output()));
      }),
      { numRuns: 500 },
    );
  });

  it('stops exactly at the step limit inside a block', () => {
    const memory = new Memory();
    [rv.addi(1, 1, 1), rv.addi(2, 2, 1), rv.addi(3, 3, 1), rv.jal(0, -12)].forEach((w, i) =>
      memory.writeWord(CODE + 4 * i, w),
    );
    const machine = new Machine(memory, { pc: CODE });
    expect(machine.run(10)).toBe(10);
    expect([machine.step, machine.pc, machine.regs[1], machine.regs[2], machine.regs[3]]).toEqual([10, CODE + 8, 3, 3, 2]);
    machine.runTo(1000);
    expect(machine.step).toBe(1000);
  });

  it('loops inside a compiled block exactly: budgets, faults and exits mid-loop', () => {
    const DATA = 0x20000;
    const loops: Array<{ program: number[]; regs: Record<number, number> }> = [
      // Misaligned load on the second pass.
      { program: [rv.lw(5, 1, 0), rv.addi(1, 1, 2), rv.addi(2, 2, 1), rv.bne(2, 3, -12)], regs: { 1: DATA, 3: 10 } },
      // Stores through the loop, then falls out and exits.
      {
        program: [rv.sw(2, 1, 0), rv.addi(1, 1, 4), rv.addi(2, 2, 1), rv.bne(2, 3, -12), rv.addi(17, 0, 93), rv.ecall()],
        regs: { 1: DATA, 3: 25 },
      },
      // A loop that writes its own code on pass 3 (x1 walks into the code region).
      { program: [rv.sw(0, 1, 0), rv.addi(1, 1, 4), rv.jal(0, -8)], regs: { 1: CODE - 8 } },
    ];
    for (const { program, regs } of loops) {
      for (const budget of [1, 3, 4, 5, 7, 11, 40, 101]) {
        const make = () => {
          const memory = new Memory();
          program.forEach((w, i) => memory.writeWord(CODE + 4 * i, w));
          const r = new Array(32).fill(0);
          for (const [k, v] of Object.entries(regs)) r[Number(k)] = v;
          return new Machine(memory, { pc: CODE, regs: r });
        };
        const stepped = make();
        for (let i = 0; i < budget; i++) checkOneStep(stepped);
        const blocks = make();
        blocks.run(budget);
        expect(hex(blocks.encodedState())).toBe(hex(stepped.encodedState()));
      }
    }
  });

  it('sees code overwritten by the running program (self-modifying code)', () => {
    const memory = new Memory();
    // x1 = address of insn 3; x2 = the word of "addi x5, x0, 42"; store it over insn 3 then run it.
    const patched = rv.addi(5, 0, 42);
    const program = [rv.sw(2, 1, 0), rv.addi(0, 0, 0), rv.addi(0, 0, 0), rv.addi(5, 0, 1), rv.addi(17, 0, 93), rv.ecall()];
    program.forEach((w, i) => memory.writeWord(CODE + 4 * i, w));
    const regs = new Array(32).fill(0);
    regs[1] = CODE + 12;
    regs[2] = patched;
    const machine = new Machine(memory, { pc: CODE + 4, regs });
    machine.run(2); // compile the block holding the instruction to be patched
    machine.pc = CODE;
    machine.run();
    expect(machine.status).toBe(Status.EXITED);
    expect(machine.regs[5]).toBe(42);
  });

  it('captures write() output and halts with the exit code', () => {
    const memory = new Memory();
    memory.writeBytes(0x30000, new TextEncoder().encode('hi\n'));
    const program = [
      rv.lui(11, 0x30),
      rv.addi(12, 0, 3),
      rv.addi(17, 0, 64),
      rv.ecall(),
      rv.addi(10, 0, 7),
      rv.addi(17, 0, 93),
      rv.ecall(),
    ];
    program.forEach((w, i) => memory.writeWord(CODE + 4 * i, w));
    const machine = new Machine(memory, { pc: CODE });
    machine.run();
    expect(new TextDecoder().decode(machine.output())).toBe('hi\n');
    expect([machine.status, machine.exitCode, machine.step, machine.pc]).toEqual([Status.EXITED, 7, 7, CODE + 24]);
    expect(machine.run()).toBe(0);
  });

  it('restores snapshots, output included', () => {
    const machine = randomMachine(12345);
    machine.run(5);
    const snap = machine.snapshot();
    const before = hex(machine.encodedState());
    machine.run(30);
    machine.restore(snap);
    expect(hex(machine.encodedState())).toBe(before);
    const copy = Machine.fromSnapshot(snap);
    machine.run(30);
    copy.run(30);
    expect(hex(copy.encodedState())).toBe(hex(machine.encodedState()));
  });

  const sortElf = join(__dirname, '../../build/guest/sort.elf');
  (existsSync(sortElf) ? it : it.skip)('single-steps a real guest through its witnesses', () => {
    const machine = Machine.fromElf(readFileSync(sortElf));
    for (let i = 0; i < 300; i++) checkOneStep(machine);
    machine.run(200_000);
    for (let i = 0; i < 100; i++) checkOneStep(machine);
  });
});
