/**
 * The IPFS project's own JS importer (ipfs-unixfs-importer) with Kubo's `ipfs add --cid-version 1`
 * settings: the reference our shared/ipfs/unixfs builder is checked against. Chunk size and links
 * per node can be made small, so that deep trees come from small inputs.
 */
import { CHUNK_SIZE, MAX_LINKS_PER_NODE } from '../../shared/ipfs/unixfs/kuboDefaults';

export interface ImporterLayout {
  chunkSize?: number;
  maxChildren?: number;
}

export async function importerCid(bytes: Uint8Array, { chunkSize = CHUNK_SIZE, maxChildren = MAX_LINKS_PER_NODE }: ImporterLayout = {}): Promise<string> {
  // Imported on use: the importer ships as ESM only, which a CommonJS script can reach only this way.
  const [{ importBytes }, { fixedSize }, { balanced }] = await Promise.all([
    import('ipfs-unixfs-importer'),
    import('ipfs-unixfs-importer/chunker'),
    import('ipfs-unixfs-importer/layout'),
  ]);
  const discard = { put: async <T>(cid: T): Promise<T> => cid };
  const result = await importBytes(bytes, discard, {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize }),
    layout: balanced({ maxChildrenPerNode: maxChildren }),
  });
  return result.cid.toString();
}
