/**
 * Content-addressed file storage on IPFS, streamed both ways. Every implementation must give, for the
 * same bytes, the CID that `ipfs add --cid-version 1` gives on Kubo with its default settings (raw
 * leaves, fixed 256 KiB chunks, balanced DAG of at most 174 links per node): a file of at most one
 * chunk is a single raw block (`bafkrei…`, equal to shared/dnn/cid.ts `rawCid`), a larger one a dag-pb
 * UnixFS root (`bafybei…`) that rawCid does not give: use ./cid.ts `fileCid` wherever a CID must match
 * IPFS for any size. Reads are checked block by block against the CID (./unixfs/catVerified.ts),
 * whichever backend served them.
 */
import { z } from 'zod';
import type { CatOptions } from './unixfs/catVerified';
import { CHUNK_SIZE } from './unixfs/kuboDefaults';

export { CHUNK_SIZE, MAX_LINKS_PER_NODE } from './unixfs/kuboDefaults';
export { IpfsInvalidCidError } from './unixfs/errors';
/** Query parameters of Kubo's /api/v0/add that reproduce the CIDs of the embedded store. */
export const KUBO_ADD_PARAMS = { cidVersion: 1, rawLeaves: true, chunker: `size-${CHUNK_SIZE}` } as const;

export interface IpfsStore {
  /**
   * Stores a file (pinned where the backend pins) and returns its CID, CIDv1 in base32. A stream is
   * stored as it arrives, never held whole.
   */
  add(source: Uint8Array | AsyncIterable<Uint8Array>): Promise<string>;
  /** The file's bytes from `offset` on, each block checked against the CID before it is yielded. */
  cat(cid: string, options?: CatOptions): AsyncIterable<Uint8Array>;
  /** The whole file, for small ones; throws IpfsBlobTooLargeError past `maxBytes`. */
  get(cid: string, maxBytes?: number): Promise<Uint8Array>;
  /** Whether the store holds the whole file (see each implementation for what "holds" means there). */
  has(cid: string): Promise<boolean>;
  close(): Promise<void>;
}

export const ipfsConfigSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('embedded'),
      /** Keep blocks in this folder across restarts; in memory when absent. */
      blockstorePath: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('kubo'),
      /** The Kubo RPC API, e.g. http://127.0.0.1:5001 */
      url: z.string().url().refine((u) => /^https?:/.test(u), 'must be an http(s) URL'),
      /** Milliseconds per RPC call. */
      timeoutMs: z.number().int().positive().default(60_000),
    })
    .strict(),
]);
export type IpfsConfig = z.input<typeof ipfsConfigSchema>;

export class IpfsConfigError extends Error {
  override name = 'IpfsConfigError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`invalid IPFS configuration: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

export class IpfsNotFoundError extends Error {
  override name = 'IpfsNotFoundError';
  constructor(readonly cid: string) {
    super(`no content for ${cid} in the store`);
  }
}

/** A Kubo node stored a file under another CID than Kubo's default settings give: its import settings differ. */
export class IpfsAddCidMismatchError extends Error {
  override name = 'IpfsAddCidMismatchError';
  constructor(readonly node: string, readonly expected: string, readonly actual: string) {
    super(
      `the IPFS node at ${node} added the file as ${actual}, but Kubo's default settings give ${expected}: ` +
        'reset its Import.* configuration (UnixFSChunker size-262144, UnixFSRawLeaves true, UnixFSFileMaxLinks 174, CidVersion 1) or point this service at another node',
    );
  }
}

export class IpfsBlobTooLargeError extends Error {
  override name = 'IpfsBlobTooLargeError';
  constructor(readonly cid: string, readonly limit: number) {
    super(`content ${cid} is larger than the limit of ${limit} bytes`);
  }
}

/** Concatenates a stream of chunks, refusing to hold more than `maxBytes`. */
export async function collect(cid: string, chunks: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > maxBytes) throw new IpfsBlobTooLargeError(cid, maxBytes);
    parts.push(chunk);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Opens the store the configuration names. */
export async function openIpfsStore(config: IpfsConfig): Promise<IpfsStore> {
  const parsed = ipfsConfigSchema.safeParse(config);
  if (!parsed.success) throw new IpfsConfigError(parsed.error.issues);
  const c = parsed.data;
  if (c.kind === 'embedded') return (await import('./embedded')).openEmbeddedIpfs(c.blockstorePath);
  return (await import('./kubo')).openKuboIpfs(c.url, c.timeoutMs);
}
