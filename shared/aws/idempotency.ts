/**
 * At-most-once side effects under at-least-once delivery: a marker object per message (or job) id
 * records that its effect happened, written only if absent so two concurrent deliveries cannot both
 * claim it on S3 (which honours If-None-Match).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3PreconditionFailedError } from './errors';
import { objectExists, putObject } from './s3';

export class IdempotencyStore {
  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly prefix = 'idempotency/') {}

  private key(id: string): string {
    return `${this.prefix}${encodeURIComponent(id)}`;
  }

  done(id: string): Promise<boolean> {
    return objectExists(this.s3, this.bucket, this.key(id));
  }

  /**
   * Runs `effect` unless `id` was already completed, then records it. Returns false when skipped.
   * A crash between the effect and the marker runs the effect again on redelivery: effects must tolerate
   * that (for a transaction: check the chain before sending), which is why the marker comes after.
   */
  async once(id: string, effect: () => Promise<void>): Promise<boolean> {
    if (await this.done(id)) return false;
    await effect();
    try {
      await putObject(this.s3, this.bucket, this.key(id), new Date().toISOString(), { ifMatch: null });
    } catch (e) {
      if (!(e instanceof S3PreconditionFailedError)) throw e;
    }
    return true;
  }
}
