/**
 * Gas of one on-chain VM step per instruction class (ALU, load, store, branch and jumps,
 * mul/div, ecall), measured as real transactions on a fresh local chain: each witness is sent as
 * a transaction straight to RiscvStep.step (a pure function can be the target of a transaction;
 * no wrapper contract), and the gas is read from its receipt, so calldata is included.
 *
 * Witnesses are worst-case-ish: every calldata byte that can be non-zero is (16 gas instead of 4,
 * and 4 floor tokens instead of 1), siblings are arbitrary hashes (a dense memory), the fetch and
 * data leaves sit in opposite halves of memory, and each class reports its most expensive member.
 * Each post-state hash is checked against the TypeScript reference step before it is counted.
 * A second set comes from a real program: guest/programs/matmul.c built with the project's
 * toolchain and run in the VM; the first step of each class after a warm-up is measured with the
 * witness shared/vm/witness.ts makes for it (real registers, real sparse memory).
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
import { stepWitness } from '../shared/vm/witness';
import { RiscvStep__factory } from '../build/types';
import { OPCODE, Status } from '../shared/vm/spec';
import { funct7Of, opcodeOf, step as referenceStep } from '../shared/vm/step';
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
const PC = 0x3c5a7e90; // every byte non-zero, low half of memory
const DATA = 0xc3a5e7f4; // every byte non-zero, high half: the two proofs share only the root
const rng = new Rng(0x0be57e9);

const nonZeroByte = () => 1 + rng.int(255);
const nonZeroWord = () => ((nonZeroByte() << 24) | (nonZeroByte() << 16) | (nonZeroByte() << 8) | nonZeroByte()) >>> 0;
const nonZeroLeaf = () => Uint8Array.from({ length: 32 }, nonZeroByte);

/** A dense, high-entropy witness: `setup` places the operands, `data` adds the data leaf. */
function witness(word: number, setup: (regs: Uint32Array) => void = () => {}, data?: number): Witness {
  const state = blankState({ pc: PC, step: 0x0102030405060708n, exitCode: nonZeroWord() });
  for (let i = 1; i < 32; i++) state.regs[i] = nonZeroWord();
  setup(state.regs);
  const dataLeaf = data === undefined ? undefined : { address: data, leaf: nonZeroLeaf() };
  return buildWitness({ state, word, fetchLeaf: nonZeroLeaf(), data: dataLeaf, mode: 'random', rng });
}

const IMM = 0x5a4; // non-zero bytes in the instruction word too
const alu = (f3: number, f7: number) => witness(rv.r(OPCODE.OP, 5, f3, 6, 7, f7));
const opImm = (f3: number, imm: number) => witness(rv.i(OPCODE.OP_IMM, 5, f3, 6, imm));
const load = (f3: number) => witness(rv.i(OPCODE.LOAD, 5, f3, 6, IMM), (r) => (r[6] = DATA - IMM), DATA);
const store = (f3: number) => witness(rv.store(f3, 6, 7, IMM), (r) => (r[6] = DATA - IMM), DATA);
const taken = (f3: number, a: number, b: number) =>
  witness(rv.branch(f3, 6, 7, -0x5a4), (r) => {
    r[6] = a;
    r[7] = b;
  });
const ecall = (number: number) => witness(0x00000073, (r) => (r[17] = number));

const CLASSES: Record<string, Record<string, () => Witness>> = {
  ALU: {
    ADD: () => alu(0, 0),
    SUB: () => alu(0, 0x20),
    SLT: () => alu(2, 0),
    SRA: () => alu(5, 0x20),
    AND: () => alu(7, 0),
    ADDI: () => opImm(0, IMM),
    SLTIU: () => opImm(3, IMM),
    SRAI: () => witness(rv.r(OPCODE.OP_IMM, 5, 5, 6, 17, 0x20)),
    ANDI: () => opImm(7, IMM),
    LUI: () => witness(rv.lui(5, 0x5a5a5)),
    AUIPC: () => witness(rv.auipc(5, 0x5a5a5)),
  },
  load: { LB: () => load(0), LH: () => load(1), LW: () => load(2), LBU: () => load(4), LHU: () => load(5) },
  store: { SB: () => store(0), SH: () => store(1), SW: () => store(2) },
  branch: {
    BEQ: () => taken(0, 0x11223344, 0x11223344),
    BNE: () => taken(1, 0x11223344, 0x11223345),
    BLT: () => taken(4, 0x81223344, 0x11223344),
    BGE: () => taken(5, 0x11223344, 0x81223344),
    BLTU: () => taken(6, 0x11223344, 0x81223344),
    BGEU: () => taken(7, 0x81223344, 0x11223344),
    JAL: () => witness(rv.jal(1, -0x5a5a4)),
    JALR: () => witness(rv.i(OPCODE.JALR, 1, 0, 6, IMM), (r) => (r[6] = 0x1a2b3c40 - IMM)),
  },
  'mul/div': {
    MUL: () => alu(0, 1),
    MULH: () => alu(1, 1),
    MULHSU: () => alu(2, 1),
    MULHU: () => alu(3, 1),
    DIV: () => alu(4, 1),
    DIVU: () => alu(5, 1),
    REM: () => alu(6, 1),
    REMU: () => alu(7, 1),
  },
  ecall: { exit: () => ecall(93), write: () => ecall(64), 'bad syscall': () => ecall(0x5a5a5a5a) },
};

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
    while (machine.status === Status.RUNNING && Object.keys(found).length < Object.keys(CLASSES).length) {
      const word = machine.memory.readWord(machine.pc);
      const c = classOf(word);
      if (!found[c]) {
        const w = stepWitness(machine);
        found[c] = { preState: w.state, proofs: w.proofs, step: machine.step, word };
      }
      machine.run(1);
    }
    const missing = Object.keys(CLASSES).filter((c) => !found[c]);
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

async function main(): Promise<void> {
  console.log('bench:onestep: starting anvil and deploying RiscvStep ...');
  const chain = await startLocalChain({ accounts: 1 });
  try {
    const [signer] = chain.signers;
    const verifier = await new RiscvStep__factory(signer).deploy();
    const to = await verifier.getAddress();
    const nodeInfo = await chain.provider.send('anvil_nodeInfo', []);
    const perInstruction: Record<string, Measurement & { class: string; status: string }> = {};

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

    for (const [className, members] of Object.entries(CLASSES)) {
      for (const [name, build] of Object.entries(members)) {
        const m = { class: className, ...(await measure(name, build())) };
        perInstruction[name] = m;
        console.log(
          `  ${className.padEnd(8)} ${name.padEnd(12)} gas ${m.gas} (execution ${m.executionGas}, calldata ${m.calldataBytes} B, ` +
            `intrinsic ${m.intrinsicGas}, floor ${m.floorGas}) -> ${m.status}`,
        );
      }
    }

    const classes = Object.fromEntries(
      Object.keys(CLASSES).map((c) => {
        const [worstName, worst] = Object.entries(perInstruction)
          .filter(([, m]) => m.class === c)
          .reduce((a, b) => (b[1].gas > a[1].gas ? b : a));
        const { class: _class, status: _status, ...figures } = worst;
        return [c, { worstInstruction: worstName, ...figures }];
      }),
    );
    const [worstName, worst] = Object.entries(perInstruction).reduce((a, b) => (b[1].gas > a[1].gas ? b : a));
    const worstWithoutFloor = Math.max(...Object.values(perInstruction).map((m) => m.gasWithoutFloor));

    console.log(`bench:onestep: building guest ${GUEST.program} and running it to find one real step per class ...`);
    const guest: Record<string, Measurement & { step: number; instruction: string }> = {};
    for (const [className, w] of Object.entries(guestWitnesses())) {
      const m = await measure(className, w);
      guest[className] = { step: w.step, instruction: `0x${w.word.toString(16).padStart(8, '0')}`, ...m };
      console.log(`  guest ${className.padEnd(8)} step ${w.step} gas ${m.gas} (execution ${m.executionGas}, calldata ${m.calldataBytes} B, floor ${m.floorGas})`);
    }
    const guestWorst = Math.max(...Object.values(guest).map((m) => m.gas));
    console.log(
      JSON.stringify({
        bench: 'onestep',
        measuredAs: 'transactions sent directly to RiscvStep.step (pure; no wrapper contract); gas from receipts, calldata included',
        hardfork: nodeInfo.hardFork,
        goal: GOAL,
        classes,
        perInstruction: Object.fromEntries(Object.entries(perInstruction).map(([n, m]) => [n, m.gas])),
        worst: { class: worst.class, instruction: worstName, gas: worst.gas, executionGas: worst.executionGas, floorGas: worst.floorGas },
        underGoal: worst.gas < GOAL,
        worstWithoutCalldataFloor: worstWithoutFloor,
        underGoalWithoutCalldataFloor: worstWithoutFloor < GOAL,
        maxExecutionGas: Math.max(...Object.values(perInstruction).map((m) => m.executionGas)),
        guest: {
          program: `${GUEST.program} (${Object.entries(GUEST.defines).map(([k, v]) => `${k}=${v}`).join(' ')}), first step of each class after ${GUEST.warmupSteps} steps`,
          classes: Object.fromEntries(Object.entries(guest).map(([c, m]) => [c, { step: m.step, instruction: m.instruction, gas: m.gas, executionGas: m.executionGas, floorGas: m.floorGas }])),
          worstGas: guestWorst,
          underGoal: guestWorst < GOAL,
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
