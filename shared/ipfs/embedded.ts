/**
 * The in-process IPFS store: @helia/unixfs over a local blockstore, no networking. Blocks live in
 * memory, or in a folder (one file per block, named by the block's CID) when a path is given, so a
 * restarted process still serves what it added.
 */
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unixfs } from '@helia/unixfs';
import { MemoryBlockstore, BaseBlockstore } from 'blockstore-core';
import type { CID } from 'multiformats/cid';
import { KUBO_ADD_OPTIONS, parseCid } from './cid';
import { collect, IpfsNotFoundError, type IpfsStore } from './store';

class FolderBlockstore extends BaseBlockstore {
  constructor(private readonly dir: string) {
    super();
  }

  private file(cid: CID): string {
    return join(this.dir, cid.toV1().toString());
  }

  override async put(cid: CID, block: Uint8Array): Promise<CID> {
    const file = this.file(cid);
    // Write then rename, so a crash never leaves a truncated block under a valid name.
    await writeFile(`${file}.tmp`, block);
    await rename(`${file}.tmp`, file);
    return cid;
  }

  override async *get(cid: CID): AsyncGenerator<Uint8Array> {
    try {
      yield new Uint8Array(await readFile(this.file(cid)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new IpfsNotFoundError(cid.toString());
      throw e;
    }
  }

  override async has(cid: CID): Promise<boolean> {
    return stat(this.file(cid)).then(
      () => true,
      () => false,
    );
  }
}

export async function openEmbeddedIpfs(blockstorePath?: string): Promise<IpfsStore> {
  if (blockstorePath) await mkdir(blockstorePath, { recursive: true });
  const blockstore = blockstorePath ? new FolderBlockstore(blockstorePath) : new MemoryBlockstore();
  const fs = unixfs({ blockstore });
  return {
    async add(bytes) {
      return (await fs.addBytes(bytes, KUBO_ADD_OPTIONS)).toString();
    },
    async get(cid, maxBytes = Number.MAX_SAFE_INTEGER) {
      const parsed = parseCid(cid);
      if (!(await blockstore.has(parsed))) throw new IpfsNotFoundError(cid);
      return collect(cid, fs.cat(parsed), maxBytes);
    },
    async has(cid) {
      return blockstore.has(parseCid(cid));
    },
    async close() {},
  };
}
