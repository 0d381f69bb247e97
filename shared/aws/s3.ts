/**
 * S3 objects: a content-addressed blob store (key = CID of the bytes, verified on every read) and JSON
 * documents with optimistic concurrency through ETags.
 */
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { rawCid } from '../dnn/cid';
import { S3ContentMismatchError, S3ObjectNotFoundError, S3ObjectTooLargeError, S3PreconditionFailedError, S3RequestError } from './errors';

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(e) === 404;
}

export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    const name = (e as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw new S3RequestError('CreateBucket', bucket, undefined, e);
  }
}

export interface StoredObject {
  body: Uint8Array;
  etag: string;
}

/** Attempts per read: the SDK retries failed requests, not a body stream cut off after the headers came. */
const READ_ATTEMPTS = 3;

/** Reads an object, refusing (before downloading) one larger than `maxBytes`. */
export async function getObject(s3: S3Client, bucket: string, key: string, maxBytes: number): Promise<StoredObject> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await getObjectOnce(s3, bucket, key, maxBytes);
    } catch (e) {
      if (!(e instanceof S3RequestError) || attempt >= READ_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

async function getObjectOnce(s3: S3Client, bucket: string, key: string, maxBytes: number): Promise<StoredObject> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if ((out.ContentLength ?? 0) > maxBytes) {
      out.Body?.transformToWebStream().cancel();
      throw new S3ObjectTooLargeError(bucket, key, out.ContentLength ?? 0, maxBytes);
    }
    const body = await out.Body!.transformToByteArray();
    if (body.length > maxBytes) throw new S3ObjectTooLargeError(bucket, key, body.length, maxBytes);
    return { body, etag: out.ETag ?? '' };
  } catch (e) {
    if (e instanceof S3ObjectTooLargeError) throw e;
    if (isNotFound(e)) throw new S3ObjectNotFoundError(bucket, key);
    throw new S3RequestError('GetObject', bucket, key, e);
  }
}

/**
 * Writes an object. With `ifMatch` (an ETag, or null for "must not exist yet") the write is conditional,
 * so two writers that read the same version cannot both win: the loser gets S3PreconditionFailedError.
 */
export async function putObject(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  options: { contentType?: string; ifMatch?: string | null } = {},
): Promise<string> {
  try {
    const out = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: options.contentType,
        IfMatch: options.ifMatch ?? undefined,
        IfNoneMatch: options.ifMatch === null ? '*' : undefined,
      }),
    );
    return out.ETag ?? '';
  } catch (e) {
    if (status(e) === 412 || status(e) === 409) throw new S3PreconditionFailedError(bucket, key, options.ifMatch ?? null);
    throw new S3RequestError('PutObject', bucket, key, e);
  }
}

/**
 * An object's bytes from `start` on, as a stream of chunks (nothing buffered beyond what the socket
 * holds), and the object's whole size. A stream cut off mid-way throws; the caller resumes from the
 * bytes it already has.
 */
export async function getObjectStream(s3: S3Client, bucket: string, key: string, start = 0): Promise<{ size: number; body: AsyncIterable<Uint8Array> }> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: start > 0 ? `bytes=${start}-` : undefined }));
    const size = start > 0 ? Number(/\/(\d+)$/.exec(out.ContentRange ?? '')?.[1] ?? NaN) : (out.ContentLength ?? NaN);
    if (!Number.isSafeInteger(size)) throw new Error(`no object size in the response (Content-Range ${out.ContentRange}, Content-Length ${out.ContentLength})`);
    return { size, body: out.Body as AsyncIterable<Uint8Array> };
  } catch (e) {
    if (isNotFound(e)) throw new S3ObjectNotFoundError(bucket, key);
    // A start at the very end (resuming a complete file) is "416 Range Not Satisfiable": nothing is left.
    if (status(e) === 416) return { size: start, body: (async function* () {})() };
    throw new S3RequestError('GetObject', bucket, key, e);
  }
}

/** An object's size in bytes, or undefined when there is none. */
export async function objectSize(s3: S3Client, bucket: string, key: string): Promise<number | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new S3RequestError('HeadObject', bucket, key, e);
  }
}

export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (e) {
    if (!isNotFound(e)) throw new S3RequestError('DeleteObject', bucket, key, e);
  }
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw new S3RequestError('HeadObject', bucket, key, e);
  }
}

export interface ContentStoreOptions {
  bucket: string;
  /** Key prefix, e.g. "blobs/". */
  prefix?: string;
  maxBytes: number;
  /** The CID of some bytes; defaults to the single-block raw CID IPFS gives files up to 256 KiB. */
  cidOf?: (bytes: Uint8Array) => string | Promise<string>;
}

/** Blobs stored under their own CID: a read that does not hash back to its key is refused. */
export class ContentAddressedStore {
  private readonly prefix: string;
  private readonly cidOf: (bytes: Uint8Array) => string | Promise<string>;

  constructor(readonly s3: S3Client, readonly options: ContentStoreOptions) {
    this.prefix = options.prefix ?? '';
    this.cidOf = options.cidOf ?? rawCid;
  }

  key(cid: string): string {
    return `${this.prefix}${cid}`;
  }

  async put(bytes: Uint8Array): Promise<string> {
    const cid = await this.cidOf(bytes);
    if (bytes.length > this.options.maxBytes) throw new S3ObjectTooLargeError(this.options.bucket, this.key(cid), bytes.length, this.options.maxBytes);
    // Same key, same bytes: a second put of known content is skipped rather than rewritten.
    if (!(await objectExists(this.s3, this.options.bucket, this.key(cid)))) {
      await putObject(this.s3, this.options.bucket, this.key(cid), bytes, { contentType: 'application/octet-stream' });
    }
    return cid;
  }

  async get(cid: string): Promise<Uint8Array> {
    const { body } = await getObject(this.s3, this.options.bucket, this.key(cid), this.options.maxBytes);
    const actual = await this.cidOf(body);
    if (actual !== cid) throw new S3ContentMismatchError(this.options.bucket, this.key(cid), cid, actual);
    return body;
  }

  has(cid: string): Promise<boolean> {
    return objectExists(this.s3, this.options.bucket, this.key(cid));
  }
}
