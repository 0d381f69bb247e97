/**
 * Errors of off-chain Merkle hashing (region roots, the streaming root, the native hasher), one
 * class per problem, each carrying the values that caused it. Unlike ./errors.ts they have no
 * on-chain counterpart: a verifier never hashes regions.
 */
import { VmError } from './errors';

export class MerkleRegionOutsideBuffer extends VmError {
  override name = 'MerkleRegionOutsideBuffer';
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly bufferBytes: number,
  ) {
    super(`cannot hash ${length} bytes at offset ${offset} of a ${bufferBytes}-byte buffer: offset and length must be whole numbers >= 0 and the region inside the buffer`);
  }
}

export class MerkleTreeTooSmall extends VmError {
  override name = 'MerkleTreeTooSmall';
  constructor(
    readonly length: number,
    readonly height: number,
    readonly neededHeight: number,
  ) {
    super(`a tree of height ${height} cannot hold ${length} bytes: the height must be a whole number from ${neededHeight} to 48 (32·2^height bytes)`);
  }
}

export class MerkleCaptureInvalid extends VmError {
  override name = 'MerkleCaptureInvalid';
  constructor(
    readonly offset: number,
    readonly size: number,
    readonly treeBytes: number,
  ) {
    super(
      `capture ${offset}+${size} is not a subtree of the ${treeBytes}-byte tree: its size must be a power of two >= 32, ` +
        'its offset a multiple of its size, and it must end inside the tree (a region of the data zero-padded to a power of two)',
    );
  }
}

export class MerkleChunkSizeInvalid extends VmError {
  override name = 'MerkleChunkSizeInvalid';
  constructor(readonly chunkSize: number) {
    super(`chunk size ${chunkSize} must be a power of two from 64 bytes to 1 GiB`);
  }
}

export class MerkleStreamFinished extends VmError {
  override name = 'MerkleStreamFinished';
  constructor(readonly call: 'push' | 'finish') {
    super(`${call}() after finish(): a MerkleStream yields one root; create another for more bytes`);
  }
}

export class MerkleStreamLengthMismatch extends VmError {
  override name = 'MerkleStreamLengthMismatch';
  constructor(
    readonly expected: number,
    readonly pushed: number,
  ) {
    super(`the stream was declared as ${expected} bytes but ${pushed} ${pushed > expected ? 'would have been' : 'were'} pushed: declare the right length or none`);
  }
}

export class NativeHasherLoadFailed extends VmError {
  override name = 'NativeHasherLoadFailed';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the native hasher ${path} is built but does not load (${reason}): rebuild it with \`npm run build:native\`, or set OPML_NATIVE_HASH=0 to hash with WebAssembly`, options);
  }
}

export class NativeHasherSelfTestFailed extends VmError {
  override name = 'NativeHasherSelfTestFailed';
  constructor(
    readonly path: string,
    readonly vector: string,
    readonly got: string,
    readonly expected: string,
  ) {
    super(`the native hasher ${path} gives ${got} for ${vector}, not ${expected}: its build is broken; rebuild it with \`npm run build:native\` and report the compiler (cc --version)`);
  }
}
