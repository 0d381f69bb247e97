/**
 * The indexer's position, stored as one JSON object in S3: the last indexed block (number and hash) and
 * the recent blocks it indexed with their events, so that after a reorg it can find the last common
 * ancestor and retract exactly the events of the orphaned blocks. Written conditionally on the ETag it
 * was read with, so of two indexers that read the same cursor only one can advance it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { S3ObjectNotFoundError } from '../aws/errors';
import { getObject, putObject } from '../aws/s3';
import { chainEventSchema } from '../schemas/events';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

export const indexedBlockSchema = z.object({ number: z.number().int().nonnegative(), hash: hex32, events: z.array(chainEventSchema) }).strict();
export type IndexedBlock = z.infer<typeof indexedBlockSchema>;

export const cursorSchema = z
  .object({
    blockNumber: z.number().int().nonnegative(),
    blockHash: hex32,
    /** Ascending by number; the cursor block is always the last one. */
    recent: z.array(indexedBlockSchema).min(1),
  })
  .strict();
export type Cursor = z.infer<typeof cursorSchema>;

export interface StoredCursor {
  cursor: Cursor | null;
  /** The version read; null when no cursor exists yet. */
  etag: string | null;
}

export class IndexerCursorCorruptError extends Error {
  override name = 'IndexerCursorCorruptError';
  constructor(readonly bucket: string, readonly key: string, reason: string) {
    super(`indexer cursor s3://${bucket}/${key} is unreadable: ${reason}`);
  }
}

const MAX_CURSOR_BYTES = 16 * 1024 * 1024;

export class CursorStore {
  constructor(private readonly s3: S3Client, readonly bucket: string, readonly key: string) {}

  async load(): Promise<StoredCursor> {
    try {
      const { body, etag } = await getObject(this.s3, this.bucket, this.key, MAX_CURSOR_BYTES);
      const parsed = cursorSchema.safeParse(JSON.parse(new TextDecoder().decode(body)));
      if (!parsed.success) throw new IndexerCursorCorruptError(this.bucket, this.key, parsed.error.message);
      return { cursor: parsed.data, etag };
    } catch (e) {
      if (e instanceof S3ObjectNotFoundError) return { cursor: null, etag: null };
      if (e instanceof SyntaxError) throw new IndexerCursorCorruptError(this.bucket, this.key, e.message);
      throw e;
    }
  }

  /** Throws S3PreconditionFailedError when another writer advanced the cursor since `etag` was read. */
  async save(cursor: Cursor, etag: string | null): Promise<string> {
    return putObject(this.s3, this.bucket, this.key, JSON.stringify(cursor), { contentType: 'application/json', ifMatch: etag });
  }
}
