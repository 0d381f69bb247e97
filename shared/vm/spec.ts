/**
 * Constants of the opml VM, byte for byte as fixed by docs/vm-spec.md. The Solidity verifier
 * (contracts/vm/RiscvStep.sol) declares the same values; the tests check both against the spec.
 */

/** Version of the VM semantics; the off-chain side refuses verifiers reporting another one. */
export const VM_VERSION = 1;

/**
 * State encoding (all integers big-endian):
 *
 * | offset | size | field      |
 * |-------:|-----:|------------|
 * |      0 |   32 | memRoot    |
 * |     32 |    4 | pc         |
 * |     36 |    8 | step       |
 * |     44 |    1 | status     |
 * |     45 |    4 | exitCode   |
 * |     49 |  124 | x1..x31    |
 */
export const STATE_OFFSET = {
  memRoot: 0,
  pc: 32,
  step: 36,
  status: 44,
  exitCode: 45,
  regs: 49,
} as const;
export const STATE_SIZE = 173;

/** Leaves of the memory tree are 32-byte chunks; 2^27 of them cover the 2^32-byte space. */
export const LEAF_SIZE = 32;
export const LEAF_SHIFT = 5;
export const TREE_DEPTH = 27;
/** leaf (32 bytes) followed by 27 siblings, leaf level first. */
export const MERKLE_PROOF_SIZE = LEAF_SIZE * (TREE_DEPTH + 1);
/** Size of a step-witness proof's zeroMask (big-endian uint32, bit i: sibling i is Z[i], omitted). */
export const PROOF_MASK_SIZE = 4;
/** A step-witness proof starts with leaf ‖ zeroMask; the siblings it carries follow. */
export const PROOF_HEADER_SIZE = LEAF_SIZE + PROOF_MASK_SIZE;

export enum Status {
  RUNNING = 0,
  EXITED = 1,
  ILLEGAL_INSTRUCTION = 2,
  MISALIGNED_FETCH = 3,
  MISALIGNED_LOAD = 4,
  MISALIGNED_STORE = 5,
  BAD_SYSCALL = 6,
}
export const MAX_STATUS = Status.BAD_SYSCALL;

/** Syscall numbers, read from a7 (x17). */
export const SYSCALL_EXIT = 93;
export const SYSCALL_WRITE = 64;

/** Register numbers used by the syscall ABI. */
export const REG_A0 = 10;
export const REG_A1 = 11;
export const REG_A2 = 12;
export const REG_A7 = 17;

/** Major opcodes (w & 0x7f) of the legal encodings. */
export const OPCODE = {
  LUI: 0x37,
  AUIPC: 0x17,
  JAL: 0x6f,
  JALR: 0x67,
  BRANCH: 0x63,
  LOAD: 0x03,
  STORE: 0x23,
  OP_IMM: 0x13,
  OP: 0x33,
  MISC_MEM: 0x0f,
  SYSTEM: 0x73,
} as const;

/** The only legal SYSTEM word. */
export const ECALL_WORD = 0x00000073;
