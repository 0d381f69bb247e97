/**
 * Step witnesses: for a machine at any step, the encoded pre-state plus exactly the Merkle proofs
 * that the reference step (and the on-chain verifier) will read: none for a halted state or a
 * misaligned pc, the fetch proof, and the data proof for an aligned load or store.
 */
import type { Machine } from './machine';
import type { Memory } from './memory';
import { compressProof } from './merkle';
import { OPCODE, Status } from './spec';
import { dataProofLevels, funct3Of, immI, immS, LOAD_SIZE, opcodeOf, rs1Of, STORE_SIZE } from './step';

export interface StepWitness {
  /** 173-byte encoded pre-state. */
  state: Uint8Array;
  /** fetchProof ‖ dataProof in the compressed form of docs/vm-spec.md section 4 (empty when none is read). */
  proofs: Uint8Array;
}

/**
 * The address whose leaf instruction `w` reads or writes, or undefined when the step touches no
 * data (not a load/store, an illegal width, or misaligned: those halt before memory is read).
 */
export function dataAccessAddress(w: number, rs1Value: number): number | undefined {
  const opcode = opcodeOf(w);
  let size: number;
  let address: number;
  if (opcode === OPCODE.LOAD) {
    size = LOAD_SIZE[funct3Of(w)];
    address = (rs1Value + immI(w)) >>> 0;
  } else if (opcode === OPCODE.STORE) {
    size = STORE_SIZE[funct3Of(w)];
    address = (rs1Value + immS(w)) >>> 0;
  } else {
    return undefined;
  }
  if (size === 0 || address % size !== 0) return undefined;
  return address;
}

/** The proofs the next step of a state needs, read from `memory` (which must be that state's). */
export function stepProofs(memory: Memory, pc: number, status: Status, regs: ArrayLike<number>): Uint8Array {
  if (status !== Status.RUNNING || pc % 4 !== 0) return new Uint8Array(0);
  const fetch = compressProof(memory.proof(pc));
  const w = memory.readWord(pc);
  const address = dataAccessAddress(w, regs[rs1Of(w)] >>> 0);
  if (address === undefined) return fetch;
  const data = compressProof(memory.proof(address), dataProofLevels(pc, address));
  const proofs = new Uint8Array(fetch.length + data.length);
  proofs.set(fetch, 0);
  proofs.set(data, fetch.length);
  return proofs;
}

export function stepWitness(machine: Machine): StepWitness {
  return {
    state: machine.encodedState(),
    proofs: stepProofs(machine.memory, machine.pc, machine.status, machine.regs),
  };
}
