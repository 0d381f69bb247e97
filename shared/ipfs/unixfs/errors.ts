/**
 * Errors of reading and writing UnixFS files. Callers branch on `name`; every message names the
 * CIDs involved so that an operator can find the block and the store that served it.
 */

/** A string that is not a CIDv1 in base32, the only form this project reads and writes. */
export class IpfsInvalidCidError extends Error {
  override name = 'IpfsInvalidCidError';
  constructor(readonly cid: string, reason: string) {
    super(`not a CID: ${JSON.stringify(cid)} (${reason}); give a CIDv1 in base32 ("bafy…" or "bafk…"), e.g. the output of \`ipfs cid base32 <cid>\``);
  }
}

/** Bytes that do not parse as the protobuf or varint they should be; the reader wraps it in IpfsInvalidDagError. */
export class UnixfsDecodeError extends Error {
  override name = 'UnixfsDecodeError';
  constructor(readonly reason: string, readonly offset: number) {
    super(`${reason} at byte ${offset}`);
  }
}

/** A store served bytes whose sha2-256 differs from the CID they were asked for: corrupted or swapped content. */
export class IpfsBlockMismatchError extends Error {
  override name = 'IpfsBlockMismatchError';
  constructor(readonly blockCid: string, readonly fileCid: string, readonly actualCid: string) {
    super(`block ${blockCid} of file ${fileCid} came back with other content (${actualCid}): the store holds a corrupted or wrong copy; remove that block there and fetch the file again`);
  }
}

/** A block that hashes right but is not part of a UnixFS file as Kubo writes it. */
export class IpfsInvalidDagError extends Error {
  override name = 'IpfsInvalidDagError';
  constructor(readonly blockCid: string, readonly fileCid: string, reason: string, options?: { cause?: unknown }) {
    super(`block ${blockCid} of ${fileCid} is not part of a UnixFS file: ${reason}; the CID does not name a file this store can read`, options);
  }
}

export class IpfsOffsetOutOfRangeError extends Error {
  override name = 'IpfsOffsetOutOfRangeError';
  constructor(readonly fileCid: string, readonly offset: number, readonly fileSize: number) {
    super(`offset ${offset} is outside file ${fileCid} of ${fileSize} bytes: give an integer offset from 0 to ${fileSize}`);
  }
}

/** update() after digest(): the builder has written the file's root already. */
export class FileCidBuilderFinishedError extends Error {
  override name = 'FileCidBuilderFinishedError';
  constructor(readonly cid: string) {
    super(`this FileCidBuilder has already given ${cid}; start a new builder for more bytes`);
  }
}
