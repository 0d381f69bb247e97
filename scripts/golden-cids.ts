/**
 * Writes test/golden/unixfs-cids.json: the CIDs the IPFS project's JS importer gives, with Kubo's
 * `ipfs add --cid-version 1` settings, to the deterministic bytes of test/helpers/deterministicBytes.ts
 * at the sizes where the DAG changes shape. test/ipfs/unixfs.test.ts checks our builder against them.
 *
 *   npx tsx scripts/golden-cids.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHUNK_SIZE, MAX_LINKS_PER_NODE } from '../shared/ipfs/unixfs/kuboDefaults';
import { deterministicBytes, GOLDEN_SEED } from '../test/helpers/deterministicBytes';
import { importerCid } from '../test/helpers/unixfsImporter';

const SIZES = [
  0, // the empty raw block
  1,
  CHUNK_SIZE - 1,
  CHUNK_SIZE, // the largest file that is a single raw block
  CHUNK_SIZE + 1, // a dag-pb root over two leaves
  MAX_LINKS_PER_NODE * CHUNK_SIZE, // one full node
  MAX_LINKS_PER_NODE * CHUNK_SIZE + 1, // depth 2: a full node and a node of one leaf
  100 * 1024 * 1024,
];

async function main(): Promise<void> {
  const vectors = [];
  for (const size of SIZES) vectors.push({ size, cid: await importerCid(deterministicBytes(size, GOLDEN_SEED)) });
  const golden = { bytes: `test/helpers/deterministicBytes.ts, seed ${GOLDEN_SEED}`, importer: 'ipfs-unixfs-importer, Kubo add settings', vectors };
  writeFileSync(join(__dirname, '../test/golden/unixfs-cids.json'), JSON.stringify(golden, null, 2) + '\n');
}

void main();
