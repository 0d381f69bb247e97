/**
 * The blocks of a UnixFS file as Kubo writes them with raw leaves: each chunk is a raw block
 * (codec 0x55), each node above is a dag-pb block whose UnixFS Data says File and lists the file
 * size under each link (see ./dagPb.ts and ./unixfsData.ts for the encodings).
 */
import { Cid, DAG_PB_CODEC, RAW_CODEC } from './cid';
import { encodePbNode } from './dagPb';
import { encodeFileNodeData } from './unixfsData';

/** A link to a subtree of the file, with what its parent records about it. */
export interface FileLink {
  cid: Cid;
  /** Bytes of file under the link: the parent's blocksize for it. */
  fileSize: number;
  /** Bytes of blocks under the link, its own included: the parent's Tsize for it. */
  tsize: number;
}

export interface FileBlock {
  link: FileLink;
  bytes: Uint8Array;
}

export function rawLeaf(chunk: Uint8Array): FileBlock {
  return { link: { cid: Cid.ofBlock(RAW_CODEC, chunk), fileSize: chunk.length, tsize: chunk.length }, bytes: chunk };
}

export function fileNode(children: readonly FileLink[]): FileBlock {
  const bytes = encodePbNode({
    links: children.map(({ cid, tsize }) => ({ cid, tsize })),
    data: encodeFileNodeData(children.map((c) => c.fileSize)),
  });
  const fileSize = children.reduce((n, c) => n + c.fileSize, 0);
  const tsize = children.reduce((n, c) => n + c.tsize, bytes.length);
  return { link: { cid: Cid.ofBlock(DAG_PB_CODEC, bytes), fileSize, tsize }, bytes };
}
