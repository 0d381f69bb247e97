/**
 * One block of a UnixFS file, fetched by CID and checked before anything in it is used: its
 * sha2-256 must give the CID, and it must be a raw leaf or a dag-pb File node whose sizes agree
 * with themselves and with what its parent said. Both readers of file DAGs (./catVerified.ts and
 * ./holdsWholeFile.ts) go through here.
 */
import { Cid, DAG_PB_CODEC, RAW_CODEC, SHA2_256, SHA2_256_LENGTH } from './cid';
import { decodePbNode, type PbNode } from './dagPb';
import { IpfsBlockMismatchError, IpfsInvalidDagError, UnixfsDecodeError } from './errors';
import { decodeUnixfsData, UNIXFS_FILE, UNIXFS_RAW, type UnixfsData } from './unixfsData';

export interface FileChild {
  cid: Cid;
  /** Bytes of file under the child, as its parent's blocksizes say. */
  fileSize: number;
}

/** The block stored under a CID (CIDv1 base32); it need not be trusted. */
export type GetBlock = (cid: string) => Promise<Uint8Array>;

/** A block's part of the file: its own bytes first, then its children's in order. */
export interface VerifiedBlock {
  data: Uint8Array;
  children: FileChild[];
  /** data.length plus the children's sizes. */
  fileSize: number;
}

/** Far deeper than any Kubo DAG (depth 6 holds 2^53 bytes), to refuse a chain of nodes built to exhaust memory. */
const MAX_DEPTH = 32;

const UNIXFS_TYPE_NAMES: Record<number, string> = { 1: 'a directory', 3: 'metadata', 4: 'a symlink', 5: 'a HAMT-sharded directory' };

/** Refuses, before fetching it, a block no UnixFS file of sha2-256 blocks can hold. */
export function checkFetchable(cid: Cid, fileCid: string): void {
  if (cid.hashCode !== SHA2_256 || cid.digest.length !== SHA2_256_LENGTH) {
    throw new IpfsInvalidDagError(cid.toString(), fileCid, `multihash 0x${cid.hashCode.toString(16)} of ${cid.digest.length} bytes, not sha2-256`);
  }
  if (cid.codec !== RAW_CODEC && cid.codec !== DAG_PB_CODEC) {
    throw new IpfsInvalidDagError(cid.toString(), fileCid, `codec 0x${cid.codec.toString(16)}, not raw (0x55) or dag-pb (0x70)`);
  }
}

/**
 * Fetches block `cid` of the file at `depth` (0: the root), checks it and reads its part of the file.
 * `expectedSize` is the blocksize its parent gave it; undefined for the root.
 */
export async function fetchVerified(cid: Cid, fileCid: string, getBlock: GetBlock, depth: number, expectedSize?: number): Promise<VerifiedBlock> {
  if (depth > MAX_DEPTH) throw new IpfsInvalidDagError(cid.toString(), fileCid, `deeper than ${MAX_DEPTH} levels`);
  checkFetchable(cid, fileCid);
  return verifiedBlock(cid, await getBlock(cid.toString()), fileCid, expectedSize);
}

function verifiedBlock(cid: Cid, bytes: Uint8Array, fileCid: string, expectedSize?: number): VerifiedBlock {
  const actual = Cid.ofBlock(cid.codec, bytes);
  if (actual.toString() !== cid.toString()) throw new IpfsBlockMismatchError(cid.toString(), fileCid, actual.toString());
  const block = cid.codec === RAW_CODEC ? { data: bytes, children: [], fileSize: bytes.length } : fileNodeOf(cid, bytes, fileCid);
  if (expectedSize !== undefined && block.fileSize !== expectedSize) {
    throw new IpfsInvalidDagError(cid.toString(), fileCid, `holds ${block.fileSize} bytes of file where its parent says ${expectedSize}`);
  }
  return block;
}

function fileNodeOf(cid: Cid, bytes: Uint8Array, fileCid: string): VerifiedBlock {
  const invalid = (reason: string, cause?: unknown) => new IpfsInvalidDagError(cid.toString(), fileCid, reason, { cause });
  let node: PbNode;
  let unixfs: UnixfsData;
  try {
    node = decodePbNode(bytes);
    unixfs = decodeUnixfsData(node.data ?? new Uint8Array(0));
  } catch (e) {
    if (e instanceof UnixfsDecodeError) throw invalid(`malformed: ${e.message}`, e);
    throw e;
  }
  if (unixfs.type !== UNIXFS_FILE && unixfs.type !== UNIXFS_RAW) throw invalid(`UnixFS type ${unixfs.type} (${UNIXFS_TYPE_NAMES[unixfs.type] ?? 'unknown'}), not a file`);
  if (unixfs.blocksizes.length !== node.links.length) throw invalid(`${node.links.length} links but ${unixfs.blocksizes.length} blocksizes`);
  const data = unixfs.data ?? new Uint8Array(0);
  const fileSize = unixfs.blocksizes.reduce((n, s) => n + s, data.length);
  if (!Number.isSafeInteger(fileSize)) throw invalid('blocksizes add up past 2^53 − 1 bytes');
  if (unixfs.filesize !== undefined && unixfs.filesize !== fileSize) throw invalid(`filesize ${unixfs.filesize}, but its data and blocksizes add up to ${fileSize}`);
  return { data, children: node.links.map((link, i) => ({ cid: link.cid, fileSize: unixfs.blocksizes[i]! })), fileSize };
}
