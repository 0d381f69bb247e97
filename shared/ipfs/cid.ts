/** CIDs as Kubo computes them, without storing anything. */
import { unixfs } from '@helia/unixfs';
import { BlackHoleBlockstore } from 'blockstore-core';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { CID } from 'multiformats/cid';
import { CHUNK_SIZE, IpfsInvalidCidError, MAX_LINKS_PER_NODE } from './store';

/** Kubo's `ipfs add --cid-version 1` settings; helia's own defaults (1 MiB chunks, 1024 links) give other CIDs. */
export const KUBO_ADD_OPTIONS = {
  cidVersion: 1,
  rawLeaves: true,
  reduceSingleLeafToSelf: true,
  chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
  layout: balanced({ maxChildrenPerNode: MAX_LINKS_PER_NODE }),
} as const;

export function parseCid(cid: string): CID {
  try {
    return CID.parse(cid);
  } catch (e) {
    throw new IpfsInvalidCidError(cid, e instanceof Error ? e.message : String(e));
  }
}

const hashOnly = unixfs({ blockstore: new BlackHoleBlockstore() });

/**
 * The CID `ipfs add --cid-version 1` gives these bytes (`ipfs add --only-hash`): shared/dnn/cid.ts `rawCid`
 * up to one chunk, a dag-pb root above. Pass it as ContentAddressedStore's `cidOf` to key S3 by IPFS CIDs.
 */
export async function fileCid(bytes: Uint8Array): Promise<string> {
  return (await hashOnly.addBytes(bytes, KUBO_ADD_OPTIONS)).toString();
}
