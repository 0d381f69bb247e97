/**
 * The UnixFS Data message a dag-pb file node carries in its Data field (unixfs.proto, proto2):
 *
 *   field  name        wire     in Kubo's file nodes
 *   1      Type        varint   File (2); Raw (0) in the dag-pb leaves of DAGs added without raw leaves
 *   2      Data        bytes    the leaf's bytes in dag-pb leaves; absent above them
 *   3      filesize    varint   bytes of file under this node
 *   4      blocksizes  varint   one per link, repeated, unpacked: bytes of file under each link
 *   5–8    hashType, fanout, mode, mtime: directory and metadata fields, skipped by this reader
 */
import { UnixfsDecodeError } from './errors';
import { ProtoWriter, readProtoFields } from './protobuf';

export const UNIXFS_RAW = 0;
export const UNIXFS_FILE = 2;

export interface UnixfsData {
  type: number;
  data?: Uint8Array;
  filesize?: number;
  blocksizes: number[];
}

const TYPE = 1;
const DATA = 2;
const FILESIZE = 3;
const BLOCKSIZES = 4;
const LAST_SKIPPED_FIELD = 8;

/** The Data of a file node above leaves: no bytes of its own, the file sizes under each of its links. */
export function encodeFileNodeData(blocksizes: readonly number[]): Uint8Array {
  const out = new ProtoWriter().varint(TYPE, UNIXFS_FILE).varint(FILESIZE, blocksizes.reduce((n, s) => n + s, 0));
  for (const size of blocksizes) out.varint(BLOCKSIZES, size);
  return out.finish();
}

export function decodeUnixfsData(bytes: Uint8Array): UnixfsData {
  let type: number | undefined;
  const decoded: Omit<UnixfsData, 'type'> = { blocksizes: [] };
  for (const f of readProtoFields(bytes)) {
    if (f.field === TYPE && f.wireType === 0) type = f.value;
    else if (f.field === DATA && f.wireType === 2) decoded.data = f.value;
    else if (f.field === FILESIZE && f.wireType === 0) decoded.filesize = f.value;
    else if (f.field === BLOCKSIZES && f.wireType === 0) decoded.blocksizes.push(f.value);
    else if (f.field > BLOCKSIZES && f.field <= LAST_SKIPPED_FIELD) continue;
    else throw new UnixfsDecodeError(`UnixFS Data has no field ${f.field} of wire type ${f.wireType}`, f.offset);
  }
  if (type === undefined) throw new UnixfsDecodeError('UnixFS Data without Type', 0);
  return { type, ...decoded };
}
