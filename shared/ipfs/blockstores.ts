/**
 * Where the embedded IPFS store keeps blocks: in memory, or in a folder with one file per block named
 * by its CID, so that a restarted process still serves what it added. Blocks are trusted nowhere:
 * every read goes through ./unixfs/catVerified.ts, which checks them against their CIDs.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IpfsNotFoundError } from './store';

export interface Blockstore {
  /** Keeps `bytes` under `cid`; the store may hold on to the array itself, so the caller must not change it. */
  put(cid: string, bytes: Uint8Array): Promise<void>;
  /** The block; IpfsNotFoundError when absent. */
  get(cid: string): Promise<Uint8Array>;
  has(cid: string): Promise<boolean>;
}

export function memoryBlockstore(): Blockstore {
  const blocks = new Map<string, Uint8Array>();
  return {
    async put(cid, bytes) {
      blocks.set(cid, bytes);
    },
    async get(cid) {
      const block = blocks.get(cid);
      if (!block) throw new IpfsNotFoundError(cid);
      // A copy: readers are handed views of it (cat yields them), which must not reach the stored block.
      return block.slice();
    },
    async has(cid) {
      return blocks.has(cid);
    },
  };
}

/** `dir` must exist. File names are CIDv1 base32 strings, as the helia blockstore this replaces wrote them. */
export function folderBlockstore(dir: string): Blockstore {
  const file = (cid: string): string => join(dir, cid);
  let writes = 0;
  return {
    async put(cid, bytes) {
      // Write then rename, so a crash never leaves a truncated block under a valid name; a temporary
      // name per write, so two adds sharing a block never rename each other's half-written file.
      const temporary = `${file(cid)}.${process.pid}.${++writes}.tmp`;
      await writeFile(temporary, bytes);
      await rename(temporary, file(cid));
    },
    async get(cid) {
      try {
        return new Uint8Array(await readFile(file(cid)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new IpfsNotFoundError(cid);
        throw e;
      }
    },
    async has(cid) {
      return stat(file(cid)).then(
        () => true,
        () => false,
      );
    },
  };
}
