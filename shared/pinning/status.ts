/**
 * The pinner's record of one model, `pins/<modelId>.json` in the views bucket, which the API shows:
 * where each of the model's three files is held and whether they matched the registry. Overwritten
 * by every pin run; the latest run is the truth.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { S3ObjectNotFoundError } from '../aws/errors';
import { getObject, putObject } from '../aws/s3';

export const PIN_FILE_FIELDS = ['graphCid', 'weightsCid', 'vmImageCid'] as const;

export const pinStatusSchema = z
  .object({
    modelId: z.string().regex(/^(0|[1-9][0-9]*)$/),
    files: z.array(z.object({ field: z.enum(PIN_FILE_FIELDS), cid: z.string().min(1), s3: z.boolean(), ipfs: z.boolean() }).strict()),
    verified: z.boolean(),
    /** ISO time of the run. */
    at: z.string().datetime(),
    /** Why verification failed: the registry field whose value the files do not give. */
    error: z.object({ name: z.string(), field: z.string().optional(), message: z.string() }).strict().optional(),
  })
  .strict();
export type PinStatus = z.infer<typeof pinStatusSchema>;

export const pinStatusKey = (modelId: bigint | string): string => `pins/${modelId}.json`;

export class PinStatusStore {
  constructor(private readonly s3: S3Client, readonly bucket: string) {}

  async write(status: PinStatus): Promise<void> {
    await putObject(this.s3, this.bucket, pinStatusKey(status.modelId), JSON.stringify(pinStatusSchema.parse(status)), { contentType: 'application/json' });
  }

  /** null when the model was never pinned. */
  async read(modelId: bigint | string): Promise<PinStatus | null> {
    try {
      const { body } = await getObject(this.s3, this.bucket, pinStatusKey(modelId), 1 << 20);
      return pinStatusSchema.parse(JSON.parse(new TextDecoder().decode(body)));
    } catch (e) {
      if (e instanceof S3ObjectNotFoundError) return null;
      throw e;
    }
  }
}
