/** Typed errors of the dispute players; callers branch on `name`. */
export class DisputeError extends Error {
  override name = 'DisputeError';
}

/** The graph description cannot be committed (no nodes, output slot out of range). */
export class DisputeGraphInvalid extends DisputeError {
  override name = 'DisputeGraphInvalid';
}

/** The game contract reports a version this player does not know. */
export class DisputeVersionUnknown extends DisputeError {
  override name = 'DisputeVersionUnknown';
  constructor(
    readonly what: 'DISPUTE_VERSION' | 'VM_VERSION',
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
