import fc from 'fast-check';
import { catVerified, type GetBlock } from '../../shared/ipfs/unixfs/catVerified';
import { Cid, DAG_PB_CODEC, RAW_CODEC } from '../../shared/ipfs/unixfs/cid';
import { encodePbNode } from '../../shared/ipfs/unixfs/dagPb';
import { IpfsBlockMismatchError, IpfsInvalidCidError, IpfsInvalidDagError, IpfsOffsetOutOfRangeError, UnixfsDecodeError } from '../../shared/ipfs/unixfs/errors';
import { FileCidBuilder, type FileCidBuilderOptions } from '../../shared/ipfs/unixfs/fileCidBuilder';
import { holdsWholeFile } from '../../shared/ipfs/unixfs/holdsWholeFile';
import { CHUNK_SIZE } from '../../shared/ipfs/unixfs/kuboDefaults';
import { ProtoWriter } from '../../shared/ipfs/unixfs/protobuf';
import { encodeFileNodeData, UNIXFS_FILE, UNIXFS_RAW } from '../../shared/ipfs/unixfs/unixfsData';
import { deterministicBytes } from '../helpers/deterministicBytes';
import { expectSameBytes } from '../helpers/sameBytes';

/** A small blockstore of one file's blocks, in the order the builder made them, and the CIDs asked for. */
function storeOf(bytes: Uint8Array, layout?: Pick<FileCidBuilderOptions, 'chunkSize' | 'maxChildren'>) {
  const blocks = new Map<string, Uint8Array>();
  const cid = new FileCidBuilder({ ...layout, onBlock: (c, b) => blocks.set(c, b.slice()) }).update(bytes).digest();
  const fetched: string[] = [];
  const getBlock: GetBlock = async (c) => {
    fetched.push(c);
    const block = blocks.get(c);
    if (!block) throw new Error(`test store has no ${c}`);
    return block;
  };
  return { cid, blocks, fetched, getBlock };
}

async function concat(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

const SMALL = { chunkSize: 4, maxChildren: 3 };
const blocksOf = (blocks: Map<string, Uint8Array>, codec: number) => [...blocks.keys()].filter((c) => Cid.parse(c).codec === codec);

/** A dag-pb block built by hand, and its CID. */
function pbBlock(links: { cid: Cid; tsize?: number }[], data: Uint8Array): { cid: Cid; bytes: Uint8Array } {
  const bytes = encodePbNode({ links, data });
  return { cid: Cid.ofBlock(DAG_PB_CODEC, bytes), bytes };
}

function unixfsData(fields: { type: number; data?: Uint8Array; filesize?: number; blocksizes?: number[] }): Uint8Array {
  const w = new ProtoWriter().varint(1, fields.type);
  if (fields.data) w.bytes(2, fields.data);
  if (fields.filesize !== undefined) w.varint(3, fields.filesize);
  for (const s of fields.blocksizes ?? []) w.varint(4, s);
  return w.finish();
}

function mapStore(entries: { cid: Cid; bytes: Uint8Array }[]): GetBlock {
  const blocks = new Map(entries.map((e) => [e.cid.toString(), e.bytes]));
  return async (c) => blocks.get(c) ?? Promise.reject(new Error(`no ${c}`));
}

describe('catVerified', () => {
  it('streams back files of every shape, from a single raw block to a deep tree', async () => {
    for (const [size, layout] of [
      [0, undefined],
      [5, undefined],
      [CHUNK_SIZE, undefined],
      [3 * CHUNK_SIZE + 7, undefined],
      [0, SMALL],
      [4, SMALL],
      [5, SMALL],
      [4 * 27 + 1, SMALL],
      [400, SMALL],
    ] as const) {
      const bytes = deterministicBytes(size, size + 3);
      const { cid, getBlock } = storeOf(bytes, layout);
      expectSameBytes(await concat(catVerified(cid, getBlock)), bytes);
    }
  });

  it('from any offset equals bytes.subarray(offset), fetching only the blocks on the way there', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 500 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), async (size, at) => {
        const bytes = deterministicBytes(size, size + 11);
        const { cid, getBlock, fetched } = storeOf(bytes, SMALL);
        const offset = Math.floor(at * size);
        expectSameBytes(await concat(catVerified(cid, getBlock, { offset })), bytes.subarray(offset));
        const leavesFetched = fetched.filter((c) => Cid.parse(c).codec === RAW_CODEC).length;
        // The leaf holding the offset and every one after it; the empty file is its one empty leaf.
        expect(leavesFetched).toBe(size === 0 ? 1 : Math.ceil(size / SMALL.chunkSize) - Math.floor(offset / SMALL.chunkSize));
      }),
      { numRuns: 200 },
    );
    const bytes = deterministicBytes(5 * CHUNK_SIZE + 3);
    const { cid, getBlock } = storeOf(bytes);
    for (const offset of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 5, bytes.length - 1, bytes.length]) {
      expectSameBytes(await concat(catVerified(cid, getBlock, { offset })), bytes.subarray(offset));
    }
  });

  it('refuses offsets outside the file', async () => {
    const { cid, getBlock } = storeOf(deterministicBytes(10));
    for (const offset of [11, -1, 1.5]) await expect(concat(catVerified(cid, getBlock, { offset }))).rejects.toBeInstanceOf(IpfsOffsetOutOfRangeError);
  });

  it('names the tampered block and the file when a leaf or a dag-pb node comes back changed', async () => {
    const bytes = deterministicBytes(60, 5);
    for (const codec of [RAW_CODEC, DAG_PB_CODEC]) {
      const { cid, blocks, getBlock } = storeOf(bytes, SMALL);
      const victim = blocksOf(blocks, codec).find((c) => c !== cid)!;
      const changed = blocks.get(victim)!.slice();
      changed[changed.length - 1]! ^= 1;
      blocks.set(victim, changed);
      const error = await concat(catVerified(cid, getBlock)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IpfsBlockMismatchError);
      expect(error).toMatchObject({ name: 'IpfsBlockMismatchError', blockCid: victim, fileCid: cid, actualCid: Cid.ofBlock(codec, changed).toString() });
      expect((error as Error).message).toContain(victim);
      expect((error as Error).message).toContain(cid);
    }
  });

  it('names a truncated block as a mismatch, and a malformed one that hashes right as an invalid DAG', async () => {
    const { cid, blocks, getBlock } = storeOf(deterministicBytes(3 * CHUNK_SIZE));
    blocks.set(cid, blocks.get(cid)!.subarray(0, 20));
    await expect(concat(catVerified(cid, getBlock))).rejects.toMatchObject({ name: 'IpfsBlockMismatchError', blockCid: cid });

    const cut = pbBlock([{ cid: Cid.ofBlock(RAW_CODEC, new Uint8Array(4)), tsize: 4 }], encodeFileNodeData([4])).bytes.subarray(0, 30);
    const truncated = { cid: Cid.ofBlock(DAG_PB_CODEC, cut), bytes: cut };
    const root = pbBlock([{ cid: truncated.cid, tsize: 30 }], encodeFileNodeData([4]));
    const error = await concat(catVerified(root.cid.toString(), mapStore([root, truncated]))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IpfsInvalidDagError);
    expect(error).toMatchObject({ blockCid: truncated.cid.toString(), fileCid: root.cid.toString() });
    expect((error as Error).message).toMatch(/malformed: .* at byte \d+/);
    expect((error as Error).cause).toBeInstanceOf(UnixfsDecodeError);
  });

  it('checks that the DAG is a UnixFS file whose sizes add up', async () => {
    const leaf = { cid: Cid.ofBlock(RAW_CODEC, Uint8Array.of(1, 2, 3, 4)), bytes: Uint8Array.of(1, 2, 3, 4) };
    const cases: [string, { cid: Cid; bytes: Uint8Array }, RegExp][] = [
      ['directory', pbBlock([], unixfsData({ type: 1 })), /UnixFS type 1 \(a directory\), not a file/],
      ['filesize', pbBlock([{ cid: leaf.cid, tsize: 4 }], unixfsData({ type: UNIXFS_FILE, filesize: 5, blocksizes: [4] })), /filesize 5, but .* add up to 4/],
      ['blocksizes count', pbBlock([{ cid: leaf.cid, tsize: 4 }], unixfsData({ type: UNIXFS_FILE, filesize: 4, blocksizes: [] })), /1 links but 0 blocksizes/],
      ['child size', pbBlock([{ cid: leaf.cid, tsize: 4 }], unixfsData({ type: UNIXFS_FILE, filesize: 5, blocksizes: [5] })), /holds 4 bytes of file where its parent says 5/],
      ['no Data', pbBlock([], new Uint8Array()), /without Type/],
    ];
    for (const [, root, message] of cases) {
      await expect(concat(catVerified(root.cid.toString(), mapStore([root, leaf])))).rejects.toThrow(message);
    }
    const cbor = Cid.ofBlock(0x71, new Uint8Array([0xa0]));
    await expect(concat(catVerified(cbor.toString(), mapStore([])))).rejects.toThrow(/codec 0x71, not raw/);
    await expect(concat(catVerified('bafy-not-a-cid', mapStore([])))).rejects.toBeInstanceOf(IpfsInvalidCidError);
  });

  it('reads dag-pb leaves (DAGs added without raw leaves) and data held by a node itself', async () => {
    const leaf = (bytes: Uint8Array, type: number) => pbBlock([], unixfsData({ type, data: bytes, filesize: bytes.length }));
    const a = leaf(Uint8Array.of(1, 2), UNIXFS_RAW);
    const b = leaf(Uint8Array.of(3), UNIXFS_FILE);
    const root = pbBlock(
      [
        { cid: a.cid, tsize: a.bytes.length },
        { cid: b.cid, tsize: b.bytes.length },
      ],
      unixfsData({ type: UNIXFS_FILE, data: Uint8Array.of(0), filesize: 4, blocksizes: [2, 1] }),
    );
    const getBlock = mapStore([a, b, root]);
    expect([...(await concat(catVerified(root.cid.toString(), getBlock)))]).toEqual([0, 1, 2, 3]);
    expect([...(await concat(catVerified(root.cid.toString(), getBlock, { offset: 2 })))]).toEqual([2, 3]);
  });
});

describe('holdsWholeFile', () => {
  it('is true only while every block is present, reading the nodes and never a leaf', async () => {
    const { cid, blocks, getBlock, fetched } = storeOf(deterministicBytes(100, 9), SMALL);
    const hasBlock = async (c: string) => blocks.has(c);
    expect(await holdsWholeFile(cid, getBlock, hasBlock)).toBe(true);
    expect(fetched.every((c) => Cid.parse(c).codec === DAG_PB_CODEC)).toBe(true);
    for (const codec of [RAW_CODEC, DAG_PB_CODEC]) {
      const victim = blocksOf(blocks, codec).find((c) => c !== cid)!;
      const kept = blocks.get(victim)!;
      blocks.delete(victim);
      expect(await holdsWholeFile(cid, getBlock, hasBlock)).toBe(false);
      blocks.set(victim, kept);
    }
    blocks.delete(cid);
    expect(await holdsWholeFile(cid, getBlock, hasBlock)).toBe(false);
  });
});
