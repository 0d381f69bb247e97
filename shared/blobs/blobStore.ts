/**
 * Model files, VM images and task inputs by CID, from two places: the S3 data bucket (fast, in the
 * same region as the functions and workers) and IPFS (anyone can fetch and re-pin). A write goes to
 * both; a read tries S3 first and falls back to IPFS, copying what it found back into S3. Both paths
 * check the bytes against the CID (S3 by rehashing, IPFS by construction), so a corrupted or swapped
 * object is refused rather than served.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectNotFoundError } from '../aws/errors';
import { ContentAddressedStore } from '../aws/s3';
import { fileCid, parseCid } from '../ipfs/cid';
import { IpfsNotFoundError, type IpfsStore } from '../ipfs/store';

export const BLOB_PREFIX = 'blobs/';

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly cid: string) {
    super(`no blob ${cid} in S3 or IPFS: upload it (POST /models/uploads or POST /inputs) or pin it on an IPFS node this service reaches`);
  }
}

export class BlobCidMismatchError extends Error {
  override name = 'BlobCidMismatchError';
  constructor(readonly expected: string, readonly actual: string) {
    super(`stores disagree on content: expected CID ${expected}, IPFS gave ${actual}`);
  }
}

export interface BlobStoreOptions {
  bucket: string;
  /** Largest blob read or written. */
  maxBytes: number;
}

export class BlobStore {
  readonly s3Store: ContentAddressedStore;

  constructor(s3: S3Client, readonly ipfs: IpfsStore, options: BlobStoreOptions) {
    this.s3Store = new ContentAddressedStore(s3, { bucket: options.bucket, prefix: BLOB_PREFIX, maxBytes: options.maxBytes, cidOf: fileCid });
    this.maxBytes = options.maxBytes;
  }

  private readonly maxBytes: number;

  /** Stores the bytes in S3 and IPFS; returns their CID (as `ipfs add --cid-version 1` gives it). */
  async put(bytes: Uint8Array): Promise<string> {
    const cid = await this.s3Store.put(bytes);
    const ipfsCid = await this.ipfs.add(bytes);
    if (ipfsCid !== cid) throw new BlobCidMismatchError(cid, ipfsCid);
    return cid;
  }

  /** The bytes of `cid`: S3 first, then IPFS (backfilling S3); BlobNotFoundError when neither has them. */
  async get(cid: string): Promise<Uint8Array> {
    parseCid(cid);
    try {
      return await this.s3Store.get(cid);
    } catch (e) {
      if (!(e instanceof S3ObjectNotFoundError)) throw e;
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.ipfs.get(cid, this.maxBytes);
    } catch (e) {
      if (e instanceof IpfsNotFoundError) throw new BlobNotFoundError(cid);
      throw e;
    }
    const actual = await this.s3Store.put(bytes);
    if (actual !== cid) throw new BlobCidMismatchError(cid, actual);
    return bytes;
  }

  /** Where the blob is: both should say true once it is pinned. */
  async where(cid: string): Promise<{ s3: boolean; ipfs: boolean }> {
    parseCid(cid);
    const [s3, ipfs] = await Promise.all([this.s3Store.has(cid), this.ipfs.has(cid)]);
    return { s3, ipfs };
  }
}
