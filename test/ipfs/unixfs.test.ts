import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cid, DAG_PB_CODEC, RAW_CODEC, rawCid } from '../../shared/ipfs/unixfs/cid';
import { decodePbNode, encodePbNode } from '../../shared/ipfs/unixfs/dagPb';
import { FileCidBuilderFinishedError, IpfsInvalidCidError, UnixfsDecodeError } from '../../shared/ipfs/unixfs/errors';
import { FileCidBuilder, fileCid, fileCidOfStream, type FileCidBuilderOptions } from '../../shared/ipfs/unixfs/fileCidBuilder';
import { CHUNK_SIZE, MAX_LINKS_PER_NODE } from '../../shared/ipfs/unixfs/kuboDefaults';
import { decodeUnixfsData, encodeFileNodeData, UNIXFS_FILE } from '../../shared/ipfs/unixfs/unixfsData';
import { deterministicBytes } from '../helpers/deterministicBytes';
import { Rng } from '../helpers/rng';
import { importerCid } from '../helpers/unixfsImporter';

const golden: { vectors: { size: number; cid: string }[] } = JSON.parse(readFileSync(join(__dirname, '../golden/unixfs-cids.json'), 'utf8'));

/** Feeds `bytes` cut at `cuts` (offsets, any order, duplicates give empty pieces). */
function cidInPieces(bytes: Uint8Array, cuts: number[], options?: FileCidBuilderOptions): string {
  const builder = new FileCidBuilder(options);
  let start = 0;
  for (const end of [...cuts.map((c) => Math.min(c, bytes.length)).sort((a, b) => a - b), bytes.length]) {
    builder.update(bytes.subarray(start, end));
    start = end;
  }
  expect(builder.size).toBe(bytes.length);
  return builder.digest();
}

/** Random cuts for a large input: pieces from empty to a few chunks, so chunks straddle and fill pieces alike. */
function randomCuts(size: number, seed: number): number[] {
  const rng = new Rng(seed);
  const cuts: number[] = [];
  for (let at = 0; at < size; at += rng.int(3 * CHUNK_SIZE)) cuts.push(at);
  return cuts;
}

async function* piecesOf(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    yield bytes.subarray(start, end);
    start = end;
  }
}

describe('FileCidBuilder', () => {
  it.each(golden.vectors)('gives the importer’s CID for $size deterministic bytes fed in random pieces', ({ size, cid }) => {
    const bytes = deterministicBytes(size);
    expect(cidInPieces(bytes, randomCuts(size, size + 1))).toBe(cid);
    expect(fileCid(bytes)).toBe(cid);
  });

  it('gives Kubo’s CIDs for the empty file and "hello world\\n" (printed by `ipfs add --cid-version 1`)', () => {
    expect(fileCid(new Uint8Array())).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    expect(fileCid(new TextEncoder().encode('hello world\n'))).toBe('bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4');
  });

  it('equals the importer live for random sizes up to a few MiB and random piece boundaries', async () => {
    const size = fc.integer({ min: 0, max: 3 * 1024 * 1024 });
    await fc.assert(
      fc.asyncProperty(size, fc.array(fc.nat(), { maxLength: 12 }), fc.integer({ min: 1 }), async (n, cuts, seed) => {
        const bytes = deterministicBytes(n, seed);
        expect(cidInPieces(bytes, cuts.map((c) => c % (n + 1)))).toBe(await importerCid(bytes));
      }),
      { numRuns: 25 },
    );
  });

  it('builds the importer’s balanced layout at any depth, with small chunks and few links per node', async () => {
    const layout = fc.record({ chunkSize: fc.integer({ min: 1, max: 16 }), maxChildren: fc.integer({ min: 2, max: 5 }) });
    await fc.assert(
      fc.asyncProperty(layout, fc.integer({ min: 0, max: 700 }), fc.array(fc.nat(), { maxLength: 8 }), async (params, n, cuts) => {
        const bytes = deterministicBytes(n, n + 7);
        expect(cidInPieces(bytes, cuts.map((c) => c % (n + 1)), params)).toBe(await importerCid(bytes, params));
      }),
      { numRuns: 300 },
    );
  });

  it('matches the importer around every level boundary of a 3-links tree (depths 1 to 4)', async () => {
    const params = { chunkSize: 2, maxChildren: 3 };
    for (const chunks of [1, 2, 3, 4, 8, 9, 10, 26, 27, 28, 81, 82]) {
      for (const tail of [-1, 0]) {
        const bytes = deterministicBytes(chunks * params.chunkSize + tail, chunks);
        expect(cidInPieces(bytes, [], params)).toBe(await importerCid(bytes, params));
      }
    }
  });

  it('hands every block to onBlock, leaves first, the root last, each under its own CID', () => {
    const bytes = deterministicBytes(MAX_LINKS_PER_NODE * CHUNK_SIZE + 2 * CHUNK_SIZE + 5);
    const blocks: { cid: string; codec: number }[] = [];
    const cid = cidInPieces(bytes, randomCuts(bytes.length, 3), {
      onBlock: (blockCid, block) => {
        const parsed = Cid.parse(blockCid);
        expect(Cid.ofBlock(parsed.codec, block).toString()).toBe(blockCid);
        blocks.push({ cid: blockCid, codec: parsed.codec });
      },
    });
    // 177 raw leaves, then a node of 174 and one of 3, then the root over them.
    expect(blocks.filter((b) => b.codec === RAW_CODEC)).toHaveLength(177);
    expect(blocks.filter((b) => b.codec === DAG_PB_CODEC)).toHaveLength(3);
    expect(blocks[blocks.length - 1]!.cid).toBe(cid);
  });

  it('keeps its CID after digest() and refuses more bytes', () => {
    const builder = new FileCidBuilder().update(new Uint8Array([1, 2, 3]));
    const cid = builder.digest();
    expect(builder.digest()).toBe(cid);
    expect(cid).toBe(rawCid(new Uint8Array([1, 2, 3])));
    expect(() => builder.update(new Uint8Array(1))).toThrow(FileCidBuilderFinishedError);
  });

  it('computes the CID of an async stream', async () => {
    const bytes = deterministicBytes(CHUNK_SIZE * 2 + 9);
    expect(await fileCidOfStream(piecesOf(bytes, [0, 7, CHUNK_SIZE, CHUNK_SIZE + 3]))).toEqual({ cid: fileCid(bytes), size: bytes.length });
  });
});

describe('UnixFS encodings', () => {
  it('round-trips a dag-pb file node and its UnixFS Data', () => {
    const leaf = Cid.ofBlock(RAW_CODEC, new Uint8Array([7]));
    const data = encodeFileNodeData([5, CHUNK_SIZE]);
    const node = decodePbNode(encodePbNode({ links: [{ cid: leaf, tsize: 5 }, { cid: leaf, tsize: CHUNK_SIZE }], data }));
    expect(node.links.map((l) => [l.cid.toString(), l.tsize])).toEqual([
      [leaf.toString(), 5],
      [leaf.toString(), CHUNK_SIZE],
    ]);
    expect(decodeUnixfsData(node.data!)).toEqual({ type: UNIXFS_FILE, filesize: CHUNK_SIZE + 5, blocksizes: [5, CHUNK_SIZE] });
  });

  it('rejects malformed dag-pb with UnixfsDecodeError', () => {
    const node = encodePbNode({ links: [{ cid: Cid.ofBlock(RAW_CODEC, new Uint8Array()), tsize: 0 }], data: encodeFileNodeData([0]) });
    const malformed = [
      node.subarray(0, node.length - 1), // truncated Data
      node.subarray(0, 10), // truncated link
      Uint8Array.from([0x0a, 0x00, 0x12, 0x00]), // Links after Data
      Uint8Array.from([0x1a, 0x00]), // field 3
      Uint8Array.from([0x09, 0, 0, 0, 0, 0, 0, 0, 0]), // wire type 1
      Uint8Array.from([0x12, 0x02, 0x1a, 0x00]), // link field 3 with bytes
      Uint8Array.from([0x12, 0x00]), // link without Hash
      Uint8Array.from([0x12, 0x03, 0x0a, 0x01, 0x05]), // link Hash that is not a CID
      Uint8Array.from([0x0a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // varint past 2^53
    ];
    for (const bytes of malformed) expect(() => decodeUnixfsData(decodePbNode(bytes).data ?? new Uint8Array())).toThrow(UnixfsDecodeError);
  });

  it('parses CIDv1 base32 only, in its canonical spelling', () => {
    const cid = fileCid(deterministicBytes(CHUNK_SIZE + 1));
    expect(Cid.parse(cid).toString()).toBe(cid);
    const digest = createHash('sha256').update('x').digest();
    expect(Cid.parse(rawCid(Buffer.from('x'))).digest).toEqual(new Uint8Array(digest));
    for (const bad of ['', 'not-a-cid', 'QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR', cid.toUpperCase(), cid.slice(0, -2), cid + 'a', 'bafyb!']) {
      expect(() => Cid.parse(bad)).toThrow(IpfsInvalidCidError);
    }
  });
});
