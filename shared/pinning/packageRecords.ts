/**
 * Verification records of model packages, `packages/<graphCid>/<weightsCid>.json` in the views
 * bucket: the API writes one when a package is submitted for verification, the pinner fills it in
 * (progress, then the registry fields, or why the files were rejected), and registration through the
 * API is refused until it says verified.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectNotFoundError } from '../aws/errors';
import { getObject, putObject } from '../aws/s3';
import { packageRecordSchema, type PackageRecord } from '../api/schemas';

export const packageRecordKey = (graphCid: string, weightsCid: string): string => `packages/${graphCid}/${weightsCid}.json`;

export class PackageRecordStore {
  constructor(private readonly s3: S3Client, readonly bucket: string) {}

  async write(record: PackageRecord): Promise<void> {
    await putObject(this.s3, this.bucket, packageRecordKey(record.graphCid, record.weightsCid), JSON.stringify(packageRecordSchema.parse(record)), {
      contentType: 'application/json',
    });
  }

  /** null when the package was never submitted. */
  async read(graphCid: string, weightsCid: string): Promise<PackageRecord | null> {
    try {
      const { body } = await getObject(this.s3, this.bucket, packageRecordKey(graphCid, weightsCid), 1 << 20);
      return packageRecordSchema.parse(JSON.parse(new TextDecoder().decode(body)));
    } catch (e) {
      if (e instanceof S3ObjectNotFoundError) return null;
      throw e;
    }
  }
}
