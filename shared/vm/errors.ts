/**
 * Errors of the VM, one class per problem, all extending VmError. Callers branch on `name`;
 * each class carries the values that caused it. The names match the Solidity verifier's custom
 * errors, so a witness rejected off-chain is rejected on-chain for the same reason.
 */
export class VmError extends Error {
  override name = 'VmError';
}

export class VMStateLengthInvalid extends VmError {
  override name = 'VMStateLengthInvalid';
  constructor(readonly length: number) {
    super(`VM state encoding must be 173 bytes, got ${length}`);
  }
}

export class VMStatusInvalid extends VmError {
  override name = 'VMStatusInvalid';
  constructor(readonly status: number) {
    super(`VM status byte ${status} is not a known status (0..6)`);
  }
}

export class VMProofTooShort extends VmError {
  override name = 'VMProofTooShort';
  constructor(
    readonly needed: number,
    readonly given: number,
  ) {
    super(`step needs ${needed} bytes of Merkle proofs, got ${given}`);
  }
}

export class VMProofMaskInvalid extends VmError {
  override name = 'VMProofMaskInvalid';
  constructor(readonly mask: number) {
    super(`proof zeroMask 0x${mask.toString(16).padStart(8, '0')} marks a level the proof does not carry`);
  }
}

export class VMProofZeroSiblingPresent extends VmError {
  override name = 'VMProofZeroSiblingPresent';
  constructor(readonly level: number) {
    super(`proof carries the zero hash Z[${level}] as the sibling of level ${level}; it must be omitted through the zeroMask`);
  }
}

export class VMFetchProofInvalid extends VmError {
  override name = 'VMFetchProofInvalid';
  constructor(readonly pc: number) {
    super(`fetch proof for pc 0x${pc.toString(16)} does not match the state's memory root`);
  }
}

export class VMDataProofInvalid extends VmError {
  override name = 'VMDataProofInvalid';
  constructor(readonly address: number) {
    super(`data proof for address 0x${address.toString(16)} does not match the state's memory root`);
  }
}

export class VMMerkleRegionInvalid extends VmError {
  override name = 'VMMerkleRegionInvalid';
  constructor(
    readonly address: number,
    readonly size: number,
  ) {
    super(`region 0x${address.toString(16)}+${size} is not a power-of-two size >= 32 aligned to its size inside 2^32`);
  }
}

/** A region mapped with a root its bytes do not give (the caller's root and the bytes disagree). */
export class VMRegionRootMismatch extends VmError {
  override name = 'VMRegionRootMismatch';
  constructor(
    readonly address: number,
    readonly size: number,
    readonly given: Uint8Array,
    readonly actual: Uint8Array,
  ) {
    const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
    super(`region 0x${address.toString(16)}+${size} was mapped with root ${hex(given)} but its bytes give ${hex(actual)}: the tensor's bytes do not match the root it was registered with`);
  }
}
