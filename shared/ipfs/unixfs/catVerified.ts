/**
 * A UnixFS file's bytes, streamed from any block source and checked block by block (see
 * ./verifiedBlock.ts): nothing is yielded from a block before its hash and sizes are checked, so a
 * store can serve what it likes and the caller still gets the file the CID names, or an error.
 * Depth first, one block fetched at a time: memory is the pending links of each level above the
 * current leaf, whatever the file's size.
 */
import { Cid } from './cid';
import { IpfsOffsetOutOfRangeError } from './errors';
import { fetchVerified, type GetBlock, type VerifiedBlock } from './verifiedBlock';

export type { GetBlock } from './verifiedBlock';

export interface CatOptions {
  /** Start this many bytes into the file (resuming a download): whole subtrees before it are not fetched. */
  offset?: number;
}

export async function* catVerified(fileCid: string, getBlock: GetBlock, options: CatOptions = {}): AsyncGenerator<Uint8Array> {
  const offset = options.offset ?? 0;
  const root = await fetchVerified(Cid.parse(fileCid), fileCid, getBlock, 0);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > root.fileSize) throw new IpfsOffsetOutOfRangeError(fileCid, offset, root.fileSize);
  yield* bytesFrom(root, offset, 0);

  async function* bytesFrom(block: VerifiedBlock, skip: number, depth: number): AsyncGenerator<Uint8Array> {
    if (skip < block.data.length) yield block.data.subarray(skip);
    skip = Math.max(0, skip - block.data.length);
    for (const child of block.children) {
      if (skip >= child.fileSize) {
        skip -= child.fileSize;
        continue;
      }
      yield* bytesFrom(await fetchVerified(child.cid, fileCid, getBlock, depth + 1, child.fileSize), skip, depth + 1);
      skip = 0;
    }
  }
}
