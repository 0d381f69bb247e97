/** Typed failures of the S3 and SQS helpers, each naming the bucket, key or queue involved. */
import type { z } from 'zod';

export function formatIssues(issues: z.ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export class AwsConfigError extends Error {
  override name = 'AwsConfigError';
  constructor(readonly issues: z.ZodIssue[]) {
    super(`invalid AWS configuration: ${formatIssues(issues)}`);
  }
}

/** An S3 call failed for a reason other than the ones below (network, permissions, server error). */
export class S3RequestError extends Error {
  override name = 'S3RequestError';
  constructor(readonly operation: string, readonly bucket: string, readonly key: string | undefined, override readonly cause: unknown) {
    super(`S3 ${operation} on s3://${bucket}/${key ?? ''} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class S3ObjectNotFoundError extends Error {
  override name = 'S3ObjectNotFoundError';
  constructor(readonly bucket: string, readonly key: string) {
    super(`no object s3://${bucket}/${key}`);
  }
}

export class S3ObjectTooLargeError extends Error {
  override name = 'S3ObjectTooLargeError';
  constructor(readonly bucket: string, readonly key: string, readonly size: number, readonly limit: number) {
    super(`object s3://${bucket}/${key} has ${size} bytes, more than the limit of ${limit}`);
  }
}

/** The bytes stored under a CID do not hash to it: corrupted or tampered storage. */
export class S3ContentMismatchError extends Error {
  override name = 'S3ContentMismatchError';
  constructor(readonly bucket: string, readonly key: string, readonly expectedCid: string, readonly actualCid: string) {
    super(`object s3://${bucket}/${key} holds content ${actualCid}, not ${expectedCid}`);
  }
}

/** A conditional write lost: someone else wrote the object since it was read. */
export class S3PreconditionFailedError extends Error {
  override name = 'S3PreconditionFailedError';
  constructor(readonly bucket: string, readonly key: string, readonly expectedEtag: string | null) {
    super(`conditional write to s3://${bucket}/${key} refused: it changed since etag ${expectedEtag ?? '(absent)'}`);
  }
}

/** A multipart upload S3 no longer knows: completed, or expired by the bucket's lifecycle rule. */
export class S3UploadNotFoundError extends Error {
  override name = 'S3UploadNotFoundError';
  constructor(readonly bucket: string, readonly key: string, readonly uploadId: string) {
    super(`multipart upload ${uploadId} of s3://${bucket}/${key} does not exist (completed, or expired unfinished): start a new upload`);
  }
}

export class SqsRequestError extends Error {
  override name = 'SqsRequestError';
  constructor(readonly operation: string, readonly queue: string, override readonly cause: unknown) {
    super(`SQS ${operation} on ${queue} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A batch send left entries unsent; each names its id and the server's reason. */
export class SqsBatchSendError extends Error {
  override name = 'SqsBatchSendError';
  constructor(readonly queue: string, readonly failed: Array<{ id: string; code: string; message: string }>) {
    super(`SQS send to ${queue} failed for ${failed.map((f) => `${f.id} (${f.code}: ${f.message})`).join(', ')}`);
  }
}
