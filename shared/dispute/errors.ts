/** Typed errors of the dispute players; callers branch on `name`. */
export class DisputeError extends Error {
  override name = 'DisputeError';
}

/** The graph description cannot be committed (no nodes, output slot out of range). */
export class DisputeGraphInvalid extends DisputeError {
  override name = 'DisputeGraphInvalid';
}

/** The game contract (or its verifier) reports a version this player does not know. */
export class DisputeVersionUnknown extends DisputeError {
  override name = 'DisputeVersionUnknown';
  constructor(
    readonly what: 'DISPUTE_VERSION' | 'VM_VERSION' | 'verifier VM_VERSION',
    readonly version: bigint,
    readonly expected: bigint,
  ) {
    super(`game reports ${what} ${version}, this player knows ${expected}`);
  }
}

/** The node's run did not halt with exit code 0 within the largest step bound. */
export class DisputeNodeRunFailed extends DisputeError {
  override name = 'DisputeNodeRunFailed';
  constructor(
    readonly node: number,
    readonly status: number,
    readonly exitCode: number,
    readonly steps: number,
  ) {
    super(`node ${node} did not exit(0): status ${status}, exit code ${exitCode} after ${steps} steps`);
  }
}

/** The game's verifier runs code this player was not built against (docs STYLE item 6). */
export class DisputeVerifierUnknown extends DisputeError {
  override name = 'DisputeVerifierUnknown';
  constructor(
    readonly verifier: string,
    readonly codeHash: string,
    readonly knownCodeHash: string,
  ) {
    super(`verifier ${verifier} has code hash ${codeHash}, this player knows ${knownCodeHash}`);
  }
}

/** The game contract's code is not the DisputeGame this player was built against (bound to the same market, verifier and clock). */
export class DisputeGameCodeUnknown extends DisputeError {
  override name = 'DisputeGameCodeUnknown';
  constructor(
    readonly game: string,
    readonly codeHash: string,
    readonly knownCodeHash: string,
  ) {
    super(`game ${game} has code hash ${codeHash}, this player knows ${knownCodeHash}`);
  }
}
