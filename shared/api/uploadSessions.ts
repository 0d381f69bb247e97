/**
 * Open multipart uploads, `uploads/<uploadId>.json` in the views bucket: what the API promised when it
 * started one (the file's CID and size, its part plan), so that part URLs and completion are checked
 * against it. Removed when the upload completes; an abandoned one expires with the bucket's lifecycle
 * rule for unfinished multipart uploads (serverless.yml, UPLOAD_EXPIRY_DAYS).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectNotFoundError } from '../aws/errors';
import { deleteObject, getObject, putObject } from '../aws/s3';
import { uploadSessionSchema, type UploadSession } from './schemas';

/** Days after which S3 drops an unfinished upload's parts (the data bucket's lifecycle rule). */
export const UPLOAD_EXPIRY_DAYS = 7;

const sessionKey = (uploadId: string): string => `uploads/${encodeURIComponent(uploadId)}.json`;

export class UploadSessionStore {
  constructor(private readonly s3: S3Client, readonly bucket: string) {}

  async write(session: UploadSession): Promise<void> {
    await putObject(this.s3, this.bucket, sessionKey(session.uploadId), JSON.stringify(uploadSessionSchema.parse(session)), { contentType: 'application/json' });
  }

  /** null when no such upload is open (never started, completed, or expired). */
  async read(uploadId: string): Promise<UploadSession | null> {
    try {
      const { body } = await getObject(this.s3, this.bucket, sessionKey(uploadId), 1 << 16);
      const session = uploadSessionSchema.parse(JSON.parse(new TextDecoder().decode(body)));
      return Date.parse(session.expiresAt) > Date.now() ? session : null;
    } catch (e) {
      if (e instanceof S3ObjectNotFoundError) return null;
      throw e;
    }
  }

  remove(uploadId: string): Promise<void> {
    return deleteObject(this.s3, this.bucket, sessionKey(uploadId));
  }
}
