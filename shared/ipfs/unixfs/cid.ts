/**
 * CIDs of the blocks of a UnixFS file. Binary form (CIDv1): varint version 1, varint codec, then the
 * multihash: varint hash function, varint digest length, digest. Text form: multibase 'b' (base32,
 * lowercase, unpadded) of the binary form, the only text form this project reads or writes, so a CID
 * has one spelling and can key S3 objects and blockstore files.
 */
import { createHash } from 'node:crypto';
import { base32Decode, base32Encode } from './base32';
import { IpfsInvalidCidError, UnixfsDecodeError } from './errors';
import { pushVarint, readVarint } from './varint';

export const RAW_CODEC = 0x55;
export const DAG_PB_CODEC = 0x70;
export const SHA2_256 = 0x12;
export const SHA2_256_LENGTH = 32;
const CID_V1 = 0x01;
const BASE32_PREFIX = 'b';

export class Cid {
  private text: string | undefined;

  private constructor(
    readonly codec: number,
    readonly hashCode: number,
    readonly digest: Uint8Array,
    /** The CIDv1 binary form, as dag-pb links hold it. */
    readonly bytes: Uint8Array,
  ) {}

  /** The CID of `block` read as `codec`, hashed with sha2-256 as every Kubo default block is. */
  static ofBlock(codec: number, block: Uint8Array): Cid {
    return Cid.of(codec, SHA2_256, createHash('sha256').update(block).digest());
  }

  private static of(codec: number, hashCode: number, digest: Uint8Array): Cid {
    const head: number[] = [CID_V1];
    pushVarint(head, codec);
    pushVarint(head, hashCode);
    pushVarint(head, digest.length);
    const bytes = new Uint8Array(head.length + digest.length);
    bytes.set(head);
    bytes.set(digest, head.length);
    return new Cid(codec, hashCode, bytes.subarray(head.length), bytes);
  }

  /**
   * A binary CID, as a dag-pb link holds it; UnixfsDecodeError when malformed. A CIDv0 (a bare sha2-256
   * multihash, found in DAGs added without --cid-version 1) is the CIDv1 of the same dag-pb block.
   */
  static decode(bytes: Uint8Array): Cid {
    if (bytes.length === 2 + SHA2_256_LENGTH && bytes[0] === SHA2_256 && bytes[1] === SHA2_256_LENGTH) {
      return Cid.of(DAG_PB_CODEC, SHA2_256, bytes.slice(2));
    }
    const [version, afterVersion] = readVarint(bytes, 0);
    if (version !== CID_V1) throw new UnixfsDecodeError(`CID version ${version}, not 1`, 0);
    const [codec, afterCodec] = readVarint(bytes, afterVersion);
    const [hashCode, afterHash] = readVarint(bytes, afterCodec);
    const [length, afterLength] = readVarint(bytes, afterHash);
    if (afterLength + length !== bytes.length) {
      throw new UnixfsDecodeError(`multihash digest of ${length} bytes in ${bytes.length - afterLength}`, afterLength);
    }
    return new Cid(codec, hashCode, bytes.slice(afterLength), bytes.slice());
  }

  /** A CIDv1 in base32; IpfsInvalidCidError for anything else, including other spellings of a valid CID. */
  static parse(text: string): Cid {
    if (!text.startsWith(BASE32_PREFIX)) {
      throw new IpfsInvalidCidError(text, text.startsWith('Qm') ? 'a CIDv0' : 'not multibase base32');
    }
    const bytes = base32Decode(text.slice(BASE32_PREFIX.length));
    if (!bytes) throw new IpfsInvalidCidError(text, 'a character outside base32');
    let cid: Cid;
    try {
      cid = Cid.decode(bytes);
    } catch (e) {
      if (e instanceof UnixfsDecodeError) throw new IpfsInvalidCidError(text, e.message);
      throw e;
    }
    // A CIDv0 multihash in base32, non-minimal varints or stray pad bits would give a second string for one CID.
    if (cid.toString() !== text) throw new IpfsInvalidCidError(text, `not the canonical spelling ${cid.toString()}`);
    return cid;
  }

  toString(): string {
    return (this.text ??= BASE32_PREFIX + base32Encode(this.bytes));
  }
}

/**
 * The CID of a single raw block: what `ipfs add --cid-version 1` gives a file of at most one chunk
 * (see ./fileCidBuilder.ts `fileCid` for every size).
 */
export function rawCid(bytes: Uint8Array): string {
  return Cid.ofBlock(RAW_CODEC, bytes).toString();
}
