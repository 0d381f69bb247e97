/**
 * Model files, VM images and task inputs by CID, from two places: the S3 data bucket (fast, in the
 * same region as the functions and workers) and IPFS (anyone can fetch and re-pin). A write goes to
 * both; a read tries S3 first and falls back to IPFS, copying what it found back into S3. Both paths
 * check the bytes against the CID (S3 by rehashing, IPFS by construction), so a corrupted or swapped
 * object is refused rather than served.
 *
 * Small blobs (inputs, specs) are read whole; a file of any size is downloaded to disk in one
 * streaming pass (`download`) that resumes where a cut-off download stopped and hands every byte to
 * the caller's own hashers (a weights blob's tensor roots) on the way.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectNotFoundError, S3RequestError } from '../aws/errors';
import { ContentAddressedStore, getObjectStream } from '../aws/s3';
import { fileCid, parseCid } from '../ipfs/cid';
import { IpfsNotFoundError, type IpfsStore } from '../ipfs/store';
import { FileCidBuilder } from '../ipfs/unixfs/fileCidBuilder';

export const BLOB_PREFIX = 'blobs/';

export class BlobNotFoundError extends Error {
  override name = 'BlobNotFoundError';
  constructor(readonly cid: string) {
    super(`no blob ${cid} in S3 or IPFS: upload it (POST /models/uploads or POST /inputs) or pin it on an IPFS node this service reaches`);
  }
}

export class BlobCidMismatchError extends Error {
  override name = 'BlobCidMismatchError';
  constructor(readonly expected: string, readonly actual: string, readonly source: 'S3' | 'IPFS' = 'IPFS') {
    super(`stores disagree on content: expected CID ${expected}, ${source} gave ${actual}`);
  }
}

/** A download stopped because the disk it writes to is full; what landed is kept for a resume. */
export class BlobDiskFullError extends Error {
  override name = 'BlobDiskFullError';
  constructor(readonly cid: string, readonly file: string, readonly bytesWritten: number, options?: { cause?: unknown }) {
    super(`the disk holding ${file} filled up after ${bytesWritten} bytes of ${cid}: free space (or lower the cache size) and retry; the download resumes where it stopped`, options);
  }
}

export interface DownloadOptions {
  /**
   * Every byte of the file in order, the resumed prefix read back from disk included, in fresh arrays
   * (keep them if you like): what the caller hashes besides the CID.
   */
  onBytes?: (chunk: Uint8Array) => void | Promise<void>;
  onProgress?: (bytesDone: number, bytesTotal: number | undefined) => void;
  /** Attempts at S3 after a stream is cut off (each resumes from the bytes already written). Default 3. */
  attempts?: number;
}

export interface Download {
  size: number;
  /** Bytes that were already on disk from an earlier, interrupted download. */
  resumedFrom: number;
  source: 'S3' | 'IPFS';
}

const READ_BACK_BYTES = 4 << 20;

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

  /**
   * Downloads the blob to `file` (written whole or not at all: bytes land in `<file>.partial` first,
   * which a later call resumes), S3 first, IPFS when S3 has none. The CID is checked while streaming;
   * a file that ends up not hashing to it is deleted and the call throws BlobCidMismatchError.
   */
  async download(cid: string, file: string, options: DownloadOptions = {}): Promise<Download> {
    parseCid(cid);
    const partial = `${file}.partial`;
    const builder = new FileCidBuilder();
    const resumedFrom = await stat(partial).then((st) => st.size, () => 0);
    if (resumedFrom > this.maxBytes) throw new S3RequestError('GetObject', this.s3Store.options.bucket, this.s3Store.key(cid), new Error(`a partial download of ${resumedFrom} bytes is past the ${this.maxBytes}-byte limit`));
    let done = 0;
    const take = async (chunk: Uint8Array): Promise<void> => {
      // onBytes first: a caller that hashes off this thread (the weights roots) then overlaps the CID's sha256 here.
      const consumed = options.onBytes?.(chunk);
      builder.update(chunk);
      done += chunk.length;
      await consumed;
    };
    if (resumedFrom > 0) for await (const chunk of createReadStream(partial, { highWaterMark: READ_BACK_BYTES })) await take(chunk as Buffer);
    const out = await open(partial, 'a');
    let source: Download['source'] = 'S3';
    try {
      const write = async (chunk: Uint8Array, total: number | undefined): Promise<void> => {
        if (done + chunk.length > this.maxBytes) throw new S3RequestError('GetObject', this.s3Store.options.bucket, this.s3Store.key(cid), new Error(`the blob is larger than the ${this.maxBytes}-byte limit`));
        try {
          await out.write(chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new BlobDiskFullError(cid, file, done, { cause: e });
          throw e;
        }
        await take(chunk);
        options.onProgress?.(done, total);
      };
      if (!(await this.streamFromS3(cid, () => done, write, options.attempts ?? 3))) {
        source = 'IPFS';
        try {
          for await (const chunk of this.ipfs.cat(cid, { offset: done })) await write(chunk, undefined);
        } catch (e) {
          if (e instanceof IpfsNotFoundError) throw new BlobNotFoundError(cid);
          throw e;
        }
      }
    } finally {
      await out.close();
    }
    const actual = builder.digest();
    if (actual !== cid) {
      await rm(partial, { force: true });
      throw new BlobCidMismatchError(cid, actual, source);
    }
    await rename(partial, file);
    return { size: done, resumedFrom, source };
  }

  /**
   * Streams the object from the current offset; a body cut off mid-way (the SDK retries requests, not
   * bodies) is resumed from what landed. False when S3 has no such object.
   */
  private async streamFromS3(cid: string, offset: () => number, write: (chunk: Uint8Array, total: number) => Promise<void>, attempts: number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      const { size, body } = await getObjectStream(this.s3Store.s3, this.s3Store.options.bucket, this.s3Store.key(cid), offset()).catch((e: unknown) => {
        if (e instanceof S3ObjectNotFoundError) return { size: -1, body: undefined };
        throw e;
      });
      if (!body) return false;
      const iterator = body[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Uint8Array>;
        try {
          next = await iterator.next();
        } catch (e) {
          if (attempt >= attempts) throw new S3RequestError('GetObject', this.s3Store.options.bucket, this.s3Store.key(cid), e);
          break;
        }
        if (next.done) return true;
        await write(next.value, size);
      }
    }
  }

  /** Adds a stream of a blob's bytes to IPFS, checking that IPFS names it `cid`. */
  async addToIpfs(cid: string, source: AsyncIterable<Uint8Array>): Promise<void> {
    const added = await this.ipfs.add(source);
    if (added !== cid) throw new BlobCidMismatchError(cid, added, 'IPFS');
  }

  /** Where the blob is: both should say true once it is pinned. */
  async where(cid: string): Promise<{ s3: boolean; ipfs: boolean }> {
    parseCid(cid);
    const [s3, ipfs] = await Promise.all([this.s3Store.has(cid), this.ipfs.has(cid)]);
    return { s3, ipfs };
  }
}
