/**
 * The in-process IPFS store: our UnixFS builder (./unixfs) over a local blockstore (./blockstores.ts),
 * no networking. A file is added as it streams in: each block is written as soon as the builder
 * makes it, so memory holds at most one chunk of the file.
 */
import { mkdir } from 'node:fs/promises';
import { folderBlockstore, memoryBlockstore, type Blockstore } from './blockstores';
import { collect, CHUNK_SIZE, type IpfsStore } from './store';
import { catVerified, type CatOptions } from './unixfs/catVerified';
import { FileCidBuilder } from './unixfs/fileCidBuilder';
import { holdsWholeFile } from './unixfs/holdsWholeFile';

export async function openEmbeddedIpfs(blockstorePath?: string): Promise<IpfsStore> {
  if (blockstorePath) await mkdir(blockstorePath, { recursive: true });
  const blocks = blockstorePath ? folderBlockstore(blockstorePath) : memoryBlockstore();
  const getBlock = (cid: string) => blocks.get(cid);
  const cat = (cid: string, options?: CatOptions) => catVerified(cid, getBlock, options);
  return {
    add: (source) => addFile(blocks, source),
    cat,
    async get(cid, maxBytes = Number.MAX_SAFE_INTEGER) {
      return collect(cid, cat(cid), maxBytes);
    },
    /** Every block is present: the dag-pb nodes are read and checked, the leaves only looked up. */
    async has(cid) {
      return holdsWholeFile(cid, getBlock, (c) => blocks.has(c));
    },
    async close() {},
  };
}

/**
 * Feeds the builder at most one chunk at a time and writes the blocks it made before the next, so the
 * blocks waiting to be written never exceed a chunk and a few nodes, whatever pieces the source gives.
 * The root is made last, so a crash mid-add leaves no root whose blocks are missing.
 */
async function addFile(blocks: Blockstore, source: Uint8Array | AsyncIterable<Uint8Array>): Promise<string> {
  const made: [cid: string, bytes: Uint8Array][] = [];
  // A copy: the builder's views are valid only during the call (its partial-chunk buffer is reused within one update).
  const builder = new FileCidBuilder({ onBlock: (cid, bytes) => made.push([cid, bytes.slice()]) });
  const writeMade = async (): Promise<void> => {
    for (const [cid, bytes] of made.splice(0)) await blocks.put(cid, bytes);
  };
  for await (const piece of source instanceof Uint8Array ? [source] : source) {
    for (let at = 0; at < piece.length; at += CHUNK_SIZE) {
      builder.update(piece.subarray(at, at + CHUNK_SIZE));
      await writeMade();
    }
  }
  const cid = builder.digest();
  await writeMade();
  return cid;
}
