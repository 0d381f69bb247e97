/**
 * Gas of one on-chain VM step per instruction class (ALU, load, store, branch and jumps,
 * mul/div, ecall), measured as real transactions on a fresh local chain: each witness is sent as
 * a transaction straight to RiscvStep.step (a pure function can be the target of a transaction;
 * no wrapper contract), and the gas is read from its receipt, so calldata is included.
 * Each post-state hash is checked against the TypeScript reference step before it is counted.
 *
 * Three sets of witnesses, every one from shared/vm/witness.ts or the same compressed format
 * (docs/vm-spec.md section 4: zero-hash siblings omitted, the data proof sharing the fetch path
 * above the join level):
 * - guest: a real program, guest/programs/matmul.c built with the project's toolchain and run in
 *   the VM; the first step of each class after a warm-up, with its real witness.
 * - synthetic: one witness per instruction over a memory laid out like a typical guest's
 *   (code at 0x10000, data and a 1 MiB stack up to ~0x120000, tensors at 0x10100000+), every
 *   populated byte non-zero, pc in the code, loads and stores in the tensors (the farthest
 *   realistic data from the code, so the most siblings) or on the stack.
 * - adversarial: the maximum the format allows: every sibling of both proofs an arbitrary hash
 *   (no zero hash to omit), the fetch and data leaves in opposite halves of memory (the paths join
 *   only at the top), every calldata byte that can be non-zero non-zero.
 * The headline `worst` (the goal check) is the worst of guest and synthetic; the adversarial
 * maximum is reported beside it, with and without the calldata floor.
 *
 * Beside the receipt's gas the JSON gives its parts: execution gas (trace_transaction), the
 * intrinsic gas of the calldata, and the EIP-7623 calldata floor, which from Prague on is charged
 * instead whenever it is higher; `gasWithoutFloor` is what the same transaction cost before it.
 *
 *   npm run bench:onestep        (prints progress, then ONE JSON object on its last line)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBytes, Interface, keccak256 } from 'ethers';
import { buildGuest } from '../scripts/build-guest';
import { Machine } from '../shared/vm/machine';
import { Memory } from '../shared/vm/memory';
import { dataAccessAddress, stepWitness } from '../shared/vm/witness';
import { RiscvStep__factory } from '../build/types';
import { OPCODE, Status } from '../shared/vm/spec';
import { funct7Of, opcodeOf, rs1Of, step as referenceStep } from '../shared/vm/step';
import { startLocalChain } from '../test/helpers/chain';
import {
  blankState,
  buildWitness,
  Rng,
  type Witness,
} from '../test/vm/differential-harness';
import { rv } from '../test/vm/rv';
import { decodeState } from '../shared/vm/state';

const GOAL = 100_000;
const rng = new Rng(0x0be57e9);

const nonZeroByte = () => 1 + rng.int(255);
const nonZeroWord = () => ((nonZeroByte() << 24) | (nonZeroByte() << 16) | (nonZeroByte() << 8) | nonZeroByte()) >>> 0;
const nonZeroLeaf = () => Uint8Array.from({ length: 32 }, nonZeroByte);
const nonZeroBytes = (n: number) => Uint8Array.from({ length: n }, nonZeroByte);

/** A witness for `word` at the builder's pc, `setup` placing the operands; `data` the address read or written. */
type Builder = (word: number, setup: (regs: Uint32Array) => void, data?: number) => Witness;

function denseRegisters(setup: (regs: Uint32Array) => void): Uint32Array {
  const regs = new Uint32Array(32);
  for (let i = 1; i < 32; i++) regs[i] = nonZeroWord();
  setup(regs);
  return regs;
}

/** Adversarial: arbitrary siblings everywhere, fetch and data leaves in opposite halves of memory. */
const ADVERSARIAL = {
  pc: 0x3c5a7e90, // every byte non-zero, low half of memory
  load: 0xc3a5e7f4, // every byte non-zero, high half: the two proofs share only the root
  store: 0xc3a5e7f4,
  jumpTarget: 0x1a2b3c40,
};
const adversarial: Builder = (word, setup, data) => {
  const state = blankState({ pc: ADVERSARIAL.pc, step: 0x0102030405060708n, exitCode: nonZeroWord(), regs: denseRegisters(setup) });
  const dataLeaf = data === undefined ? undefined : { address: data, leaf: nonZeroLeaf() };
  return buildWitness({ state, word, fetchLeaf: nonZeroLeaf(), data: dataLeaf, mode: 'random', rng });
};

/**
 * A typical guest's memory (guest/link.ld, docs/dnn-spec.md): 32 KiB of code and data from
 * 0x10000, the top 8 KiB of the 1 MiB stack below 0x120000, and 256 KiB of tensors from
 * 0x10100000, all bytes non-zero. pc sits in the code; loads read a tensor, stores write the stack
 * top (the common store target) and the tensors (an output tensor: the farther path).
 */
const TYPICAL = {
  regions: [
    [0x10000, 0x8000],
    [0x11e000, 0x2000],
    [0x10100000, 0x40000],
  ] as const,
  pc: 0x12a4c,
  load: 0x1012b7e4,
  store: 0x1013c5a8,
  stackStore: 0x11fe94,
  jumpTarget: 0x11240,
};
const typicalMemory: Memory = (() => {
  const memory = new Memory();
  for (const [start, size] of TYPICAL.regions) memory.writeBytes(start, nonZeroBytes(size));
  return memory;
})();
const synthetic: Builder = (word, setup, data) => {
  const memory = typicalMemory.clone();
  memory.writeWord(TYPICAL.pc, word);
  const machine = new Machine(memory, {
    pc: TYPICAL.pc,
    regs: denseRegisters(setup),
    step: 0x0102030405,
    status: Status.RUNNING,
    exitCode: nonZeroWord(),
  });
  const w = stepWitness(machine);
  const expectedData = dataAccessAddress(word, machine.regs[rs1Of(word)] >>> 0);
  if (expectedData !== data) throw new Error(`synthetic witness for 0x${word.toString(16)} reads ${expectedData}, meant ${data}`);
  return { preState: w.state, proofs: w.proofs };
};

const IMM = 0x5a4; // non-zero bytes in the instruction word too

/** One witness builder per instruction, by class; `at` says where loads, stores and JALR go. */
function classes(build: Builder, at: { load: number; store: number; jumpTarget: number; stackStore?: number }) {
  const alu = (f3: number, f7: number) => () => build(rv.r(OPCODE.OP, 5, f3, 6, 7, f7), () => {});
  const opImm = (f3: number, imm: number) => () => build(rv.i(OPCODE.OP_IMM, 5, f3, 6, imm), () => {});
  const load = (f3: number) => () => build(rv.i(OPCODE.LOAD, 5, f3, 6, IMM), (r) => (r[6] = at.load - IMM), at.load);
  const store = (f3: number, address = at.store) => () =>
    build(rv.store(f3, 6, 7, IMM), (r) => (r[6] = address - IMM), address);
  const taken = (f3: number, a: number, b: number) => () =>
    build(rv.branch(f3, 6, 7, -0x5a4), (r) => {
      r[6] = a;
      r[7] = b;
    });
  const ecall = (number: number) => () => build(0x00000073, (r) => (r[17] = number));
  const stores: Record<string, () => Witness> = { SB: store(0), SH: store(1), SW: store(2) };
  if (at.stackStore !== undefined) stores['SW stack'] = store(2, at.stackStore);
  return {
    ALU: {
      ADD: alu(0, 0),
      SUB: alu(0, 0x20),
      SLT: alu(2, 0),
      SRA: alu(5, 0x20),
      AND: alu(7, 0),
      ADDI: opImm(0, IMM),
      SLTIU: opImm(3, IMM),
      SRAI: () => build(rv.r(OPCODE.OP_IMM, 5, 5, 6, 17, 0x20), () => {}),
      ANDI: opImm(7, IMM),
      LUI: () => build(rv.lui(5, 0x5a5a5), () => {}),
      AUIPC: () => build(rv.auipc(5, 0x5a5a5), () => {}),
    },
    load: { LB: load(0), LH: load(1), LW: load(2), LBU: load(4), LHU: load(5) },
    store: stores,
    branch: {
      BEQ: taken(0, 0x11223344, 0x11223344),
      BNE: taken(1, 0x11223344, 0x11223345),
      BLT: taken(4, 0x81223344, 0x11223344),
      BGE: taken(5, 0x11223344, 0x81223344),
      BLTU: taken(6, 0x11223344, 0x81223344),
      BGEU: taken(7, 0x81223344, 0x11223344),
      JAL: () => build(rv.jal(1, -0x5a4), () => {}),
      JALR: () => build(rv.i(OPCODE.JALR, 1, 0, 6, IMM), (r) => (r[6] = at.jumpTarget - IMM)),
    },
    'mul/div': { MUL: alu(0, 1), MULH: alu(1, 1), MULHSU: alu(2, 1), MULHU: alu(3, 1), DIV: alu(4, 1), DIVU: alu(5, 1), REM: alu(6, 1), REMU: alu(7, 1) },
    ecall: { exit: ecall(93), write: ecall(64), 'bad syscall': ecall(0x5a5a5a5a) },
  } as Record<string, Record<string, () => Witness>>;
}

const CLASS_NAMES = ['ALU', 'load', 'store', 'branch', 'mul/div', 'ecall'];

/** The benchmark class of an instruction word. */
function classOf(w: number): string {
  switch (opcodeOf(w)) {
    case OPCODE.LOAD:
      return 'load';
    case OPCODE.STORE:
      return 'store';
    case OPCODE.BRANCH:
    case OPCODE.JAL:
    case OPCODE.JALR:
      return 'branch';
    case OPCODE.SYSTEM:
      return 'ecall';
    case OPCODE.OP:
      return funct7Of(w) === 1 ? 'mul/div' : 'ALU';
    default:
      return 'ALU';
  }
}

const GUEST = { program: 'matmul', defines: { MATMUL_N: 16 }, warmupSteps: 5_000 };

/** One real witness per class: the first step of that class after the warm-up. */
function guestWitnesses(): Record<string, Witness & { step: number; word: number }> {
  const outDir = mkdtempSync(join(tmpdir(), 'opml-bench-onestep-'));
  try {
    const [artifact] = buildGuest({ programs: [GUEST.program], outDir, defines: GUEST.defines });
    const machine = Machine.fromElf(readFileSync(artifact.path));
    machine.run(GUEST.warmupSteps);
    const found: Record<string, Witness & { step: number; word: number }> = {};
    while (machine.status === Status.RUNNING && Object.keys(found).length < CLASS_NAMES.length) {
      const word = machine.memory.readWord(machine.pc);
      const c = classOf(word);
      if (!found[c]) {
        const w = stepWitness(machine);
        found[c] = { preState: w.state, proofs: w.proofs, step: machine.step, word };
      }
      machine.run(1);
    }
    const missing = CLASS_NAMES.filter((c) => !found[c]);
    if (missing.length > 0) throw new Error(`guest ${GUEST.program} halted before executing: ${missing.join(', ')}`);
    return found;
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

interface Measurement {
  gas: number;
  executionGas: number;
  calldataBytes: number;
  calldataZeroBytes: number;
  intrinsicGas: number;
  floorGas: number;
  gasWithoutFloor: number;
}

const VERIFIER = new Interface(RiscvStep__factory.abi);

/** Intrinsic gas and EIP-7623 floor of a call transaction with this calldata. */
function calldataCost(data: Uint8Array): { zero: number; intrinsic: number; floor: number } {
  const zero = data.filter((b) => b === 0).length;
  const nonZero = data.length - zero;
  return { zero, intrinsic: 21_000 + 4 * zero + 16 * nonZero, floor: 21_000 + 10 * (zero + 4 * nonZero) };
}

/** Worst step per class and overall, the worst without the calldata floor, the worst execution. */
function summarize(perInstruction: Record<string, Measurement & { class: string }>) {
  const entries = Object.entries(perInstruction);
  const worstOf = (list: typeof entries) => list.reduce((a, b) => (b[1].gas > a[1].gas ? b : a));
  const classes = Object.fromEntries(
    [...new Set(entries.map(([, m]) => m.class))].map((c) => {
      const [name, m] = worstOf(entries.filter(([, x]) => x.class === c));
      return [c, { worstInstruction: name, gas: m.gas, executionGas: m.executionGas, calldataBytes: m.calldataBytes, floorGas: m.floorGas, gasWithoutFloor: m.gasWithoutFloor }];
    }),
  );
  const [name, m] = worstOf(entries);
  return {
    classes,
    perInstruction: Object.fromEntries(entries.map(([n, x]) => [n, x.gas])),
    worst: { class: m.class, instruction: name, gas: m.gas, executionGas: m.executionGas, calldataBytes: m.calldataBytes, floorGas: m.floorGas },
    worstWithoutCalldataFloor: Math.max(...entries.map(([, x]) => x.gasWithoutFloor)),
    maxExecutionGas: Math.max(...entries.map(([, x]) => x.executionGas)),
  };
}

async function main(): Promise<void> {
  console.log('bench:onestep: starting anvil and deploying RiscvStep ...');
  const chain = await startLocalChain({ accounts: 1 });
  try {
    const [signer] = chain.signers;
    const verifier = await new RiscvStep__factory(signer).deploy();
    const to = await verifier.getAddress();
    const nodeInfo = await chain.provider.send('anvil_nodeInfo', []);

    /** Sends one step as a transaction after checking it against the reference step. */
    const measure = async (name: string, w: Witness): Promise<Measurement & { status: string }> => {
      const expected = referenceStep(w.preState, w.proofs);
      const onChain = await verifier.step(w.preState, w.proofs);
      if (onChain !== keccak256(expected)) throw new Error(`${name}: on-chain post-state hash differs from the reference step`);
      const data = VERIFIER.encodeFunctionData('step', [w.preState, w.proofs]);
      const receipt = await (await signer.sendTransaction({ to, data })).wait();
      if (!receipt || receipt.status !== 1) throw new Error(`${name}: transaction failed`);
      const [trace] = await chain.provider.send('trace_transaction', [receipt.hash]);
      const cost = calldataCost(getBytes(data));
      const executionGas = Number(BigInt(trace.result.gasUsed));
      return {
        status: Status[decodeState(expected).status],
        gas: Number(receipt.gasUsed),
        executionGas,
        calldataBytes: getBytes(data).length,
        calldataZeroBytes: cost.zero,
        intrinsicGas: cost.intrinsic,
        floorGas: cost.floor,
        gasWithoutFloor: cost.intrinsic + executionGas,
      };
    };

    type Measured = Measurement & { class: string; status: string };
    /** Every instruction of a set, with the worst per class and overall, with and without the floor. */
    const measureSet = async (label: string, set: Record<string, Record<string, () => Witness>>) => {
      const perInstruction: Record<string, Measured> = {};
      for (const [className, members] of Object.entries(set)) {
        for (const [name, build] of Object.entries(members)) {
          const m = { class: className, ...(await measure(name, build())) };
          perInstruction[name] = m;
          console.log(
            `  ${label} ${className.padEnd(8)} ${name.padEnd(12)} gas ${m.gas} (execution ${m.executionGas}, calldata ${m.calldataBytes} B, ` +
              `intrinsic ${m.intrinsicGas}, floor ${m.floorGas}) -> ${m.status}`,
          );
        }
      }
      return summarize(perInstruction);
    };

    console.log(`bench:onestep: building guest ${GUEST.program} and running it to find one real step per class ...`);
    const guestPer: Record<string, Measured & { step: number; instruction: string }> = {};
    for (const [className, w] of Object.entries(guestWitnesses())) {
      const m = await measure(className, w);
      guestPer[className] = { class: className, step: w.step, instruction: `0x${w.word.toString(16).padStart(8, '0')}`, ...m };
      console.log(`  guest ${className.padEnd(8)} step ${w.step} gas ${m.gas} (execution ${m.executionGas}, calldata ${m.calldataBytes} B, floor ${m.floorGas})`);
    }
    const guest = summarize(guestPer);
    const synth = await measureSet('synthetic', classes(synthetic, TYPICAL));
    const adv = await measureSet('adversarial', classes(adversarial, ADVERSARIAL));

    const headline = guest.worst.gas >= synth.worst.gas ? { set: 'guest', ...guest.worst } : { set: 'synthetic', ...synth.worst };
    console.log(
      JSON.stringify({
        bench: 'onestep',
        measuredAs: 'transactions sent directly to RiscvStep.step (pure; no wrapper contract); gas from receipts, calldata included',
        witnessFormat: 'compressed proofs (docs/vm-spec.md section 4): zero-hash siblings omitted, data proof shares the fetch path above the join level',
        hardfork: nodeInfo.hardFork,
        goal: GOAL,
        worst: headline,
        worstIs: 'the most expensive step of the realistic sets (guest and synthetic); the adversarial maximum is reported beside it',
        underGoal: headline.gas < GOAL,
        guest: {
          program: `${GUEST.program} (${Object.entries(GUEST.defines).map(([k, v]) => `${k}=${v}`).join(' ')}), first step of each class after ${GUEST.warmupSteps} steps`,
          classes: Object.fromEntries(
            Object.entries(guestPer).map(([c, m]) => [c, { step: m.step, instruction: m.instruction, gas: m.gas, executionGas: m.executionGas, calldataBytes: m.calldataBytes, floorGas: m.floorGas }]),
          ),
          worst: guest.worst,
        },
        synthetic: { memory: 'typical guest layout: code 0x10000+32KiB, stack top 8KiB below 0x120000, tensors 0x10100000+256KiB, all non-zero', ...synth },
        adversarial: {
          memory: 'no zero-hash sibling anywhere, fetch and data leaves in opposite halves (paths join only at the top)',
          ...adv,
          underGoal: adv.worst.gas < GOAL,
          underGoalWithoutCalldataFloor: adv.worstWithoutCalldataFloor < GOAL,
        },
      }),
    );
  } finally {
    await chain.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
