import { keccak256 } from './keccak';
import { VMStateLengthInvalid, VMStatusInvalid } from './errors';
import { MAX_STATUS, STATE_OFFSET, STATE_SIZE, Status } from './spec';

/** A decoded VM state; `regs[0]` is always 0 and is not part of the encoding. */
export interface VmState {
  memRoot: Uint8Array;
  pc: number;
  step: bigint;
  status: Status;
  exitCode: number;
  /** x0..x31 as unsigned 32-bit values. */
  regs: Uint32Array;
}

export function decodeState(encoded: Uint8Array): VmState {
  if (encoded.length !== STATE_SIZE) throw new VMStateLengthInvalid(encoded.length);
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const status = encoded[STATE_OFFSET.status];
  if (status > MAX_STATUS) throw new VMStatusInvalid(status);
  const regs = new Uint32Array(32);
  for (let i = 1; i < 32; i++) regs[i] = view.getUint32(STATE_OFFSET.regs + 4 * (i - 1));
  return {
    memRoot: encoded.slice(STATE_OFFSET.memRoot, STATE_OFFSET.memRoot + 32),
    pc: view.getUint32(STATE_OFFSET.pc),
    step: view.getBigUint64(STATE_OFFSET.step),
    status: status as Status,
    exitCode: view.getUint32(STATE_OFFSET.exitCode),
    regs,
  };
}

export function encodeState(state: VmState): Uint8Array {
  const out = new Uint8Array(STATE_SIZE);
  const view = new DataView(out.buffer);
  out.set(state.memRoot.subarray(0, 32), STATE_OFFSET.memRoot);
  view.setUint32(STATE_OFFSET.pc, state.pc >>> 0);
  view.setBigUint64(STATE_OFFSET.step, BigInt.asUintN(64, state.step));
  out[STATE_OFFSET.status] = state.status;
  view.setUint32(STATE_OFFSET.exitCode, state.exitCode >>> 0);
  for (let i = 1; i < 32; i++) view.setUint32(STATE_OFFSET.regs + 4 * (i - 1), state.regs[i] >>> 0);
  return out;
}

/** keccak256 of the 173-byte encoding: the value both sides commit to during a dispute. */
export function stateHash(encoded: Uint8Array): Uint8Array {
  if (encoded.length !== STATE_SIZE) throw new VMStateLengthInvalid(encoded.length);
  return keccak256(encoded);
}
