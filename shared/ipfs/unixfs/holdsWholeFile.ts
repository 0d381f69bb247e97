/**
 * Whether a blockstore holds every block of a UnixFS file: the dag-pb nodes are read and checked
 * (they are small, one per 174 leaves), the raw leaves only looked up, never read. A missing block
 * gives false; a present block that is corrupt or malformed throws, as catVerified would.
 */
import { Cid, RAW_CODEC } from './cid';
import { checkFetchable, fetchVerified, type GetBlock } from './verifiedBlock';

export type HasBlock = (cid: string) => Promise<boolean>;

export async function holdsWholeFile(fileCid: string, getBlock: GetBlock, hasBlock: HasBlock): Promise<boolean> {
  return holdsSubtree(Cid.parse(fileCid), 0);

  async function holdsSubtree(cid: Cid, depth: number, expectedSize?: number): Promise<boolean> {
    checkFetchable(cid, fileCid);
    if (!(await hasBlock(cid.toString()))) return false;
    if (cid.codec === RAW_CODEC) return true;
    const block = await fetchVerified(cid, fileCid, getBlock, depth, expectedSize);
    for (const child of block.children) if (!(await holdsSubtree(child.cid, depth + 1, child.fileSize))) return false;
    return true;
  }
}
