/**
 * S3 multipart uploads driven by someone else: the service creates the upload and signs one URL per
 * part, the owner of the file PUTs the parts straight to S3 (API Gateway and Lambda cap request
 * bodies at a few MB, so a model's bytes never pass through a function), and the service completes
 * it. Parts carry their MD5 in the signature, so S3 refuses a part whose bytes are not the ones the
 * uploader hashed; the uploader also checks each part's ETag (the MD5 of what S3 stored).
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { open, stat } from 'node:fs/promises';
import { S3PreconditionFailedError, S3RequestError, S3UploadNotFoundError } from './errors';

/** S3's limits: parts of at least 5 MiB except the last, at most 10,000 parts, 5 GiB a part. */
export const MIN_PART_BYTES = 5 << 20;
export const MAX_PART_BYTES = 5 * 2 ** 30;
export const MAX_PARTS = 10_000;
/** The part size unless a file needs larger parts to stay within MAX_PARTS. */
export const DEFAULT_PART_BYTES = 16 << 20;

export interface PartPlan {
  partSize: number;
  partCount: number;
}

/** Part size and count for a file of `size` bytes (one part, possibly empty, for a small file). */
export function partPlan(size: number, partSize = DEFAULT_PART_BYTES): PartPlan {
  const needed = Math.ceil(size / MAX_PARTS / MIN_PART_BYTES) * MIN_PART_BYTES;
  const chosen = Math.min(MAX_PART_BYTES, Math.max(partSize, needed, MIN_PART_BYTES));
  return { partSize: chosen, partCount: Math.max(1, Math.ceil(size / chosen)) };
}

/** The byte range [start, end) of part `partNumber` (1-based). */
export function partRange(plan: PartPlan, size: number, partNumber: number): { start: number; end: number } {
  const start = (partNumber - 1) * plan.partSize;
  return { start, end: Math.min(size, start + plan.partSize) };
}

const status = (e: unknown): number | undefined => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const isNoSuchUpload = (e: unknown): boolean => (e as { name?: string }).name === 'NoSuchUpload' || status(e) === 404;

export async function createMultipartUpload(s3: S3Client, bucket: string, key: string): Promise<string> {
  try {
    const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }));
    if (!out.UploadId) throw new Error('no UploadId in the response');
    return out.UploadId;
  } catch (e) {
    throw new S3RequestError('CreateMultipartUpload', bucket, key, e);
  }
}

/** A URL that lets its holder PUT exactly the part with this MD5 (base64) for `expiresIn` seconds. */
export function presignUploadPart(s3: S3Client, bucket: string, key: string, uploadId: string, partNumber: number, md5Base64: string, expiresIn: number): Promise<string> {
  return getSignedUrl(s3, new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, ContentMD5: md5Base64 }), {
    expiresIn,
    // Signed, so the uploader must send it and S3 checks the body against it.
    signableHeaders: new Set(['content-md5']),
  });
}

/**
 * Completes the upload from its parts' ETags. `mustNotExist` makes it conditional (If-None-Match: *),
 * so a completed upload never replaces an object that is already there.
 */
export async function completeMultipartUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  uploadId: string,
  parts: readonly { partNumber: number; etag: string }[],
  mustNotExist: boolean,
): Promise<void> {
  try {
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        IfNoneMatch: mustNotExist ? '*' : undefined,
      }),
    );
  } catch (e) {
    if (status(e) === 412) throw new S3PreconditionFailedError(bucket, key, null);
    if (isNoSuchUpload(e)) throw new S3UploadNotFoundError(bucket, key, uploadId);
    throw new S3RequestError('CompleteMultipartUpload', bucket, key, e);
  }
}

/**
 * Stores a local file as one object, streamed (a file of any size: one PutObject up to a part, a
 * multipart upload of file ranges above). Used where a service itself copies a blob into S3.
 */
export async function putFileObject(s3: S3Client, bucket: string, key: string, file: string): Promise<void> {
  const { size } = await stat(file);
  const plan = partPlan(size);
  const handle = await open(file, 'r');
  // Each piece read into memory (one part at most): a stream body makes the SDK send it aws-chunked
  // with a trailing checksum, which not every S3 implementation decodes.
  const piece = async (start: number, end: number): Promise<Buffer> => {
    const body = Buffer.alloc(end - start);
    await handle.read(body, 0, body.length, start);
    return body;
  };
  try {
    if (plan.partCount === 1) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await piece(0, size), ContentType: 'application/octet-stream' }));
      } catch (e) {
        throw new S3RequestError('PutObject', bucket, key, e);
      }
      return;
    }
    const uploadId = await createMultipartUpload(s3, bucket, key);
    const parts: { partNumber: number; etag: string }[] = [];
    for (let partNumber = 1; partNumber <= plan.partCount; partNumber++) {
      const { start, end } = partRange(plan, size, partNumber);
      try {
        const out = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: await piece(start, end) }));
        parts.push({ partNumber, etag: out.ETag ?? '' });
      } catch (e) {
        throw new S3RequestError('UploadPart', bucket, key, e);
      }
    }
    await completeMultipartUpload(s3, bucket, key, uploadId, parts, false);
  } finally {
    await handle.close();
  }
}
