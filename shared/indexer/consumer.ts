/**
 * Applies event messages to the materialized views in S3. Each view document is read, changed and
 * written back conditionally on the ETag it was read with (retrying when another consumer won), so
 * consumers of different FIFO groups touching one document (a provider, a day) never lose an update.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { formatIssues, S3ObjectNotFoundError, S3PreconditionFailedError } from '../aws/errors';
import { getObject, putObject } from '../aws/s3';
import type { BatchRecord } from '../aws/batch';
import { chainEventSchema, eventMessageSchema, type ChainEvent, type EventMessage } from '../schemas/events';
import { VIEWS, type ViewDefinition } from './views';

export class EventMessageInvalidError extends Error {
  override name = 'EventMessageInvalidError';
  constructor(readonly messageId: string, reason: string) {
    super(`event message ${messageId} is invalid: ${reason}`);
  }
}

export class ViewWriteContendedError extends Error {
  override name = 'ViewWriteContendedError';
  constructor(readonly key: string, readonly attempts: number) {
    super(`view ${key} kept changing under ${attempts} write attempts`);
  }
}

const viewDocumentSchema = z.object({ events: z.array(chainEventSchema), state: z.unknown() }).strict();
type ViewDocument = z.infer<typeof viewDocumentSchema>;

const MAX_VIEW_BYTES = 32 * 1024 * 1024;
const WRITE_ATTEMPTS = 8;

const chainOrder = (a: ChainEvent, b: ChainEvent): number => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;

/** The document's events after the message, or null when it changes nothing (a replay). */
function applyTo(events: ChainEvent[], message: EventMessage): ChainEvent[] | null {
  const e = message.event;
  const existing = events.find((x) => x.id === e.id);
  if (message.kind === 'orphaned') {
    // Only the copy from the orphaned block goes: the same transaction may already be back in a new block.
    return existing && existing.blockHash === e.blockHash ? events.filter((x) => x !== existing) : null;
  }
  if (existing && existing.blockHash === e.blockHash) return null;
  return [...events.filter((x) => x.id !== e.id), e].sort(chainOrder);
}

export function viewKey(kind: string, id: string): string {
  return `${kind}/${id}.json`;
}

export class ViewStore {
  constructor(private readonly s3: S3Client, readonly bucket: string) {}

  async read(kind: string, id: string): Promise<{ doc: ViewDocument | null; etag: string | null }> {
    try {
      const { body, etag } = await getObject(this.s3, this.bucket, viewKey(kind, id), MAX_VIEW_BYTES);
      return { doc: viewDocumentSchema.parse(JSON.parse(new TextDecoder().decode(body))), etag };
    } catch (e) {
      if (e instanceof S3ObjectNotFoundError) return { doc: null, etag: null };
      throw e;
    }
  }

  /** The folded state of one document, null when no event concerned it yet. */
  async state(kind: string, id: string): Promise<unknown> {
    return (await this.read(kind, id)).doc?.state ?? null;
  }

  async apply(view: ViewDefinition, id: string, message: EventMessage): Promise<boolean> {
    const key = viewKey(view.kind, id);
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
      const { doc, etag } = await this.read(view.kind, id);
      const events = applyTo(doc?.events ?? [], message);
      if (!events) return false;
      const next: ViewDocument = { events, state: view.fold(id, events) };
      try {
        await putObject(this.s3, this.bucket, key, JSON.stringify(next), { contentType: 'application/json', ifMatch: etag });
        return true;
      } catch (e) {
        if (!(e instanceof S3PreconditionFailedError)) throw e;
      }
    }
    throw new ViewWriteContendedError(key, WRITE_ATTEMPTS);
  }
}

export function parseEventMessage(record: BatchRecord): EventMessage {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (e) {
    throw new EventMessageInvalidError(record.messageId, `not JSON (${(e as Error).message})`);
  }
  const parsed = eventMessageSchema.safeParse(json);
  if (!parsed.success) throw new EventMessageInvalidError(record.messageId, formatIssues(parsed.error.issues));
  return parsed.data;
}

/** The per-record handler of the view consumer: validates, then applies to every view the event concerns. */
export function viewUpdater(store: ViewStore, views: readonly ViewDefinition[] = VIEWS): (record: BatchRecord) => Promise<void> {
  return async (record) => {
    const message = parseEventMessage(record);
    for (const view of views) for (const id of view.idsOf(message.event)) await store.apply(view, id, message);
  };
}
