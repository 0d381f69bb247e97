/** Typed errors of model registration and of the provider's pre-work check; callers branch on `name`. */
export class ModelError extends Error {
  override name = 'ModelError';
}

/**
 * The registry's entry for a model does not match the package this party holds, so the party could
 * not defend (or win) a dispute over it: the game's `open` or phase link would refuse its moves.
 */
export class ModelCommitmentMismatch extends ModelError {
  override name = 'ModelCommitmentMismatch';
  constructor(
    readonly modelId: bigint,
    readonly field: 'graphSpecHash' | 'weightsRoot' | 'vmImageRoot',
    readonly registered: string,
    readonly expected: string,
  ) {
    super(`model ${modelId}: registered ${field} ${registered} is not the package's ${expected}`);
  }
}

/** A registration transaction did not emit ModelRegistered. */
export class ModelRegistrationMissing extends ModelError {
  override name = 'ModelRegistrationMissing';
  constructor(readonly txHash: string) {
    super(`no ModelRegistered event in transaction ${txHash}`);
  }
}

export type PackageFileField = 'graphCid' | 'weightsCid' | 'vmImageCid';

/** A package file whose bytes are not what its CID names, or that does not load as part of a package. */
export class PackageFileInvalidError extends ModelError {
  override name = 'PackageFileInvalidError';
  constructor(
    readonly field: PackageFileField,
    readonly cid: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the file given as ${field} (${cid}) ${reason}`, options);
  }
}
