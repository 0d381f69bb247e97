import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { CID } from 'multiformats/cid';
import { rawCid } from '../../shared/dnn/cid';
import { fileCid } from '../../shared/ipfs/cid';
import {
  CHUNK_SIZE,
  IpfsBlobTooLargeError,
  IpfsConfigError,
  IpfsInvalidCidError,
  IpfsNotFoundError,
  openIpfsStore,
  type IpfsStore,
} from '../../shared/ipfs/store';

// CIDs Kubo prints (sha2-256 e3b0c442… and a948904f…) for `ipfs add --cid-version 1` (raw leaves by default) of these exact bytes.
const KUBO_EMPTY_FILE = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku';
const KUBO_HELLO_WORLD_NL = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4';

const DAG_PB = 0x70;

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
const field = (tag: number, bytes: Uint8Array | number[]): number[] => [tag, ...varint(bytes.length), ...bytes];

/**
 * The dag-pb root Kubo writes over raw leaves, encoded by hand from the dag-pb and UnixFS specs:
 * PBNode { Links (2) first, then Data (1) }, PBLink { Hash (1), Name (2) = "", Tsize (3) },
 * UnixFS Data { Type (1) = File (2), filesize (3), blocksizes (4, one per leaf) }.
 */
function kuboFileRootCid(leaves: Uint8Array[]): string {
  const total = leaves.reduce((n, l) => n + l.length, 0);
  const unixfs = [0x08, 2, 0x18, ...varint(total), ...leaves.flatMap((l) => [0x20, ...varint(l.length)])];
  const links = leaves.flatMap((l) => field(0x12, [...field(0x0a, CID.parse(rawCid(l)).bytes), ...field(0x12, []), 0x18, ...varint(l.length)]));
  const node = Uint8Array.from([...links, ...field(0x0a, unixfs)]);
  const digest = createHash('sha256').update(node).digest();
  return CID.decode(Uint8Array.from([1, ...varint(DAG_PB), 0x12, 32, ...digest])).toString();
}

function pattern(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
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
      const bytes = pattern(size);
      const cid = await store.add(bytes);
      expect(cid).toBe(rawCid(bytes));
      expect(await fileCid(bytes)).toBe(cid);
      expect(await store.get(cid)).toEqual(bytes);
    }
  });

  it('above one chunk builds the Kubo dag-pb root over raw 256 KiB leaves', async () => {
    const bytes = pattern(2 * CHUNK_SIZE + 123);
    const cid = await store.add(bytes);
    expect(cid).not.toBe(rawCid(bytes));
    expect(cid.startsWith('bafybei')).toBe(true);
    expect(await store.get(cid)).toEqual(bytes);
    const leaves = [bytes.subarray(0, CHUNK_SIZE), bytes.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE), bytes.subarray(2 * CHUNK_SIZE)];
    expect(cid).toBe(kuboFileRootCid(leaves));
    expect(await fileCid(bytes)).toBe(cid);
  });

  it('refuses unknown and malformed CIDs and oversized reads', async () => {
    await expect(store.get(rawCid(new TextEncoder().encode('never added')))).rejects.toBeInstanceOf(IpfsNotFoundError);
    await expect(store.get('not-a-cid')).rejects.toBeInstanceOf(IpfsInvalidCidError);
    const cid = await store.add(pattern(5000));
    await expect(store.get(cid, 4999)).rejects.toBeInstanceOf(IpfsBlobTooLargeError);
    expect(await store.has(cid)).toBe(true);
  });

  it('keeps blocks across restarts in a folder blockstore', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipfs-blocks-'));
    try {
      const bytes = pattern(CHUNK_SIZE + 10);
      const first = await openIpfsStore({ kind: 'embedded', blockstorePath: dir });
      const cid = await first.add(bytes);
      await first.close();
      const second = await openIpfsStore({ kind: 'embedded', blockstorePath: dir });
      expect(await second.get(cid)).toEqual(bytes);
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
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
