import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CID } from 'multiformats/cid';
import { rawCid } from '../../shared/dnn/cid';
import { fileCid } from '../../shared/ipfs/cid';
import {
  CHUNK_SIZE,
  IpfsAddCidMismatchError,
  IpfsBlobTooLargeError,
  IpfsConfigError,
  IpfsInvalidCidError,
  IpfsNotFoundError,
  openIpfsStore,
  type IpfsStore,
} from '../../shared/ipfs/store';
import { Cid, DAG_PB_CODEC, RAW_CODEC } from '../../shared/ipfs/unixfs/cid';
import { IpfsBlockMismatchError } from '../../shared/ipfs/unixfs/errors';
import { deterministicBytes } from '../helpers/deterministicBytes';
import { Rng } from '../helpers/rng';
import { expectSameBytes } from '../helpers/sameBytes';
import { startKuboRpcFixture, type KuboRpcFixture } from './kuboRpcFixture';

// CIDs Kubo prints (sha2-256 e3b0c442… and a948904f…) for `ipfs add --cid-version 1` (raw leaves by default) of these exact bytes.
const KUBO_EMPTY_FILE = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
const KUBO_HELLO_WORLD_NL = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4';

const golden: { vectors: { size: number; cid: string }[] } = JSON.parse(readFileSync(join(__dirname, '../golden/unixfs-cids.json'), 'utf8'));

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
const field = (tag: number, bytes: Uint8Array | number[]): number[] => [tag, ...varint(bytes.length), ...bytes];

/**
 * The dag-pb root Kubo writes over raw leaves, encoded by hand from the dag-pb and UnixFS specs (and
 * multiformats' CID, not ours): PBNode { Links (2) first, then Data (1) }, PBLink { Hash (1),
 * Name (2) = "", Tsize (3) }, UnixFS Data { Type (1) = File (2), filesize (3), blocksizes (4, one per leaf) }.
 */
function kuboFileRootCid(leaves: Uint8Array[]): string {
  const total = leaves.reduce((n, l) => n + l.length, 0);
  const unixfs = [0x08, 2, 0x18, ...varint(total), ...leaves.flatMap((l) => [0x20, ...varint(l.length)])];
  const links = leaves.flatMap((l) => field(0x12, [...field(0x0a, CID.parse(rawCid(l)).bytes), ...field(0x12, []), 0x18, ...varint(l.length)]));
  const node = Uint8Array.from([...links, ...field(0x0a, unixfs)]);
  const digest = createHash('sha256').update(node).digest();
  return CID.decode(Uint8Array.from([1, ...varint(DAG_PB_CODEC), 0x12, 32, ...digest])).toString();
}

/** `bytes` as a stream of random pieces, from empty to two chunks. */
async function* inPieces(bytes: Uint8Array, seed: number): AsyncGenerator<Uint8Array> {
  const rng = new Rng(seed);
  for (let at = 0; at < bytes.length; ) {
    const end = Math.min(bytes.length, at + rng.int(2 * CHUNK_SIZE));
    yield bytes.subarray(at, end);
    at = end;
  }
}

async function concat(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of chunks) parts.push(c);
  return Buffer.concat(parts);
}

async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ipfs-blocks-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('embedded IPFS store', () => {
  let store: IpfsStore;
  beforeAll(async () => {
    store = await openIpfsStore({ kind: 'embedded' });
  });
  afterAll(() => store.close());

  it('gives the CIDs Kubo gives', async () => {
    expect(await store.add(new Uint8Array())).toBe(KUBO_EMPTY_FILE);
    expect(await store.add(new TextEncoder().encode('hello world\n'))).toBe(KUBO_HELLO_WORLD_NL);
  });

  it('equals rawCid for every file up to one chunk, and round-trips it', async () => {
    for (const size of [1, 1000, CHUNK_SIZE - 1, CHUNK_SIZE]) {
      const bytes = deterministicBytes(size);
      const cid = await store.add(bytes);
      expect(cid).toBe(rawCid(bytes));
      expect(fileCid(bytes)).toBe(cid);
      expectSameBytes(await store.get(cid), bytes);
    }
  });

  it('above one chunk builds the Kubo dag-pb root over raw 256 KiB leaves', async () => {
    const bytes = deterministicBytes(2 * CHUNK_SIZE + 123);
    const cid = await store.add(bytes);
    expect(cid.startsWith('bafybei')).toBe(true);
    expectSameBytes(await store.get(cid), bytes);
    const leaves = [bytes.subarray(0, CHUNK_SIZE), bytes.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE), bytes.subarray(2 * CHUNK_SIZE)];
    expect(cid).toBe(kuboFileRootCid(leaves));
    expect(fileCid(bytes)).toBe(cid);
  });

  it('refuses unknown and malformed CIDs and oversized reads', async () => {
    await expect(store.get(rawCid(new TextEncoder().encode('never added')))).rejects.toBeInstanceOf(IpfsNotFoundError);
    await expect(store.get('not-a-cid')).rejects.toBeInstanceOf(IpfsInvalidCidError);
    await expect(store.has('not-a-cid')).rejects.toBeInstanceOf(IpfsInvalidCidError);
    const cid = await store.add(deterministicBytes(5000));
    await expect(store.get(cid, 4999)).rejects.toBeInstanceOf(IpfsBlobTooLargeError);
    expect(await store.has(cid)).toBe(true);
    expect(await store.has(rawCid(new TextEncoder().encode('never added')))).toBe(false);
  });

  it('reads from any offset', async () => {
    const bytes = deterministicBytes(3 * CHUNK_SIZE + 17, 4);
    const cid = await store.add(inPieces(bytes, 4));
    const rng = new Rng(8);
    for (const offset of [0, CHUNK_SIZE, bytes.length, ...Array.from({ length: 8 }, () => rng.int(bytes.length))]) {
      expectSameBytes(await concat(store.cat(cid, { offset })), bytes.subarray(offset));
    }
  });
});

describe.each(['memory', 'folder'] as const)('embedded IPFS store in %s', (kind) => {
  it.each(golden.vectors)('streams $size bytes in, gives the golden CID, and streams them back', async ({ size, cid }) => {
    await withTempDir(async (dir) => {
      const store = await openIpfsStore(kind === 'folder' ? { kind: 'embedded', blockstorePath: dir } : { kind: 'embedded' });
      const bytes = deterministicBytes(size);
      expect(await store.add(inPieces(bytes, size))).toBe(cid);
      expect(await store.has(cid)).toBe(true);
      expectSameBytes(await concat(store.cat(cid)), bytes);
      await store.close();
    });
  });
});

describe('embedded IPFS store in a folder', () => {
  /** A file of 3 chunks in a fresh folder store: its CID and its block files, root among them. */
  /** `leaves` are the raw block files, in name order (not file order). */
  async function withStoredFile(run: (s: { store: IpfsStore; dir: string; cid: string; bytes: Uint8Array; leaves: string[] }) => Promise<void>) {
    await withTempDir(async (dir) => {
      const store = await openIpfsStore({ kind: 'embedded', blockstorePath: dir });
      const bytes = deterministicBytes(3 * CHUNK_SIZE, 2);
      const cid = await store.add(bytes);
      const leaves = (await readdir(dir)).filter((f) => Cid.parse(f).codec === RAW_CODEC);
      await run({ store, dir, cid, bytes, leaves });
      await store.close();
    });
  }

  it('keeps blocks across restarts', async () => {
    await withStoredFile(async ({ dir, cid, bytes }) => {
      const second = await openIpfsStore({ kind: 'embedded', blockstorePath: dir });
      expectSameBytes(await second.get(cid), bytes);
      expect(await second.has(cid)).toBe(true);
      await second.close();
    });
  });

  it('writes blocks as the stream arrives, not at its end', async () => {
    await withTempDir(async (dir) => {
      const store = await openIpfsStore({ kind: 'embedded', blockstorePath: dir });
      const blocksBeforeEnd: number[] = [];
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 4; i++) {
          yield deterministicBytes(CHUNK_SIZE, i + 1);
          blocksBeforeEnd.push((await readdir(dir)).length);
        }
      }
      await store.add(source());
      expect(blocksBeforeEnd).toEqual([1, 2, 3, 4]);
      await store.close();
    });
  });

  it('says it holds a file only while every block is there', async () => {
    await withStoredFile(async ({ store, dir, cid, leaves }) => {
      await unlink(join(dir, leaves[1]!));
      expect(await store.has(cid)).toBe(false);
      await expect(store.get(cid)).rejects.toMatchObject({ name: 'IpfsNotFoundError', cid: leaves[1] });
      await unlink(join(dir, cid));
      expect(await store.has(cid)).toBe(false);
    });
  });

  it('refuses a block changed on disk, naming it and the file', async () => {
    await withStoredFile(async ({ store, dir, cid, leaves }) => {
      await writeFile(join(dir, leaves[2]!), deterministicBytes(CHUNK_SIZE, 99));
      const error = await concat(store.cat(cid)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IpfsBlockMismatchError);
      expect(error).toMatchObject({ blockCid: leaves[2], fileCid: cid });
    });
  });
});

describe('Kubo IPFS store against a Kubo RPC protocol fixture (not a real Kubo: see kuboRpcFixture.ts)', () => {
  let kubo: KuboRpcFixture;
  let store: IpfsStore;
  beforeEach(async () => {
    kubo = await startKuboRpcFixture();
    store = await openIpfsStore({ kind: 'kubo', url: kubo.url });
  });
  afterEach(async () => {
    await store.close();
    await kubo.close();
  });

  it('adds with the settings that give Kubo’s default CIDs, pinned', async () => {
    const bytes = deterministicBytes(2 * CHUNK_SIZE + 5);
    const cid = await store.add(bytes);
    expect(cid).toBe(fileCid(bytes));
    const query = kubo.addQueries[0]!;
    expect([query.get('cid-version'), query.get('raw-leaves'), query.get('chunker'), query.get('pin')]).toEqual(['1', 'true', 'size-262144', 'true']);
    expect(await store.has(cid)).toBe(true);
    expect(await store.has(rawCid(Uint8Array.of(1)))).toBe(false);
  });

  it('streams the upload: the node has bytes before the source ends', async () => {
    let receivedBeforeEnd = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      yield deterministicBytes(CHUNK_SIZE, 1);
      for (let waited = 0; kubo.receivedBytes === 0 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      receivedBeforeEnd = kubo.receivedBytes;
      yield deterministicBytes(CHUNK_SIZE, 2);
    }
    const cid = await store.add(source());
    expect(receivedBeforeEnd).toBeGreaterThan(0);
    expect(cid).toBe(fileCid(Buffer.concat([deterministicBytes(CHUNK_SIZE, 1), deterministicBytes(CHUNK_SIZE, 2)])));
  });

  it('reads through block/get, checking every block', async () => {
    const bytes = deterministicBytes(3 * CHUNK_SIZE + 1, 3);
    const cid = await store.add(inPieces(bytes, 3));
    expectSameBytes(await store.get(cid), bytes);
    expectSameBytes(await concat(store.cat(cid, { offset: CHUNK_SIZE + 7 })), bytes.subarray(CHUNK_SIZE + 7));
    const [leaf] = [...kubo.blocks.keys()].filter((c) => c !== cid && Cid.parse(c).codec === RAW_CODEC);
    kubo.blocks.set(leaf!, deterministicBytes(CHUNK_SIZE, 77));
    await expect(store.get(cid)).rejects.toMatchObject({ name: 'IpfsBlockMismatchError', blockCid: leaf, fileCid: cid });
  });

  it('refuses a node whose import settings give other CIDs', async () => {
    const wide = await startKuboRpcFixture({ chunkSize: 1024 * 1024, maxChildren: 1024 });
    try {
      const misconfigured = await openIpfsStore({ kind: 'kubo', url: wide.url });
      const bytes = deterministicBytes(2 * CHUNK_SIZE);
      const error = await misconfigured.add(bytes).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IpfsAddCidMismatchError);
      expect(error).toMatchObject({ node: wide.url, expected: fileCid(bytes) });
      expect((error as Error).message).toMatch(/Import\.\* configuration/);
    } finally {
      await wide.close();
    }
  });
});

describe('IPFS configuration', () => {
  it('names the bad field', async () => {
    await expect(openIpfsStore({ kind: 'kubo', url: 'ftp://x' } as never)).rejects.toThrow(/url: must be an http\(s\) URL/);
    await expect(openIpfsStore({ kind: 'kubo', url: 'http://127.0.0.1:5001', extra: 1 } as never)).rejects.toBeInstanceOf(IpfsConfigError);
    await expect(openIpfsStore({ kind: 'nope' } as never)).rejects.toBeInstanceOf(IpfsConfigError);
  });

  it('builds a Kubo client from a URL without contacting it', async () => {
    const kubo = await openIpfsStore({ kind: 'kubo', url: 'http://127.0.0.1:5001' });
    expect(typeof kubo.add).toBe('function');
    await expect(kubo.get('not-a-cid')).rejects.toBeInstanceOf(IpfsInvalidCidError);
  });
});
