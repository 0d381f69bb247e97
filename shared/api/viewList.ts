/**
 * Listing the materialized views of one kind (S3 keys `<kind>/<id>.json`): ids from ListObjectsV2,
 * documents read a few at a time, so a list route reads only as many documents as it returns.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { S3RequestError } from '../aws/errors';
import type { ViewStore } from '../indexer/consumer';

const READ_CONCURRENCY = 16;

export async function viewIds(s3: S3Client, bucket: string, kind: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${kind}/`, ContinuationToken: token }));
    } catch (e) {
      throw new S3RequestError('ListObjectsV2', bucket, `${kind}/`, e);
    }
    for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) ids.push(o.Key.slice(kind.length + 1, -'.json'.length));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return ids;
}

/**
 * The states of the documents with these ids, in the given order, keeping those `accept` takes,
 * stopping once `limit` are kept.
 */
export async function readViews<T>(views: ViewStore, kind: string, ids: readonly string[], accept: (state: unknown) => state is T, limit = Infinity): Promise<T[]> {
  const kept: T[] = [];
  for (let i = 0; i < ids.length && kept.length < limit; i += READ_CONCURRENCY) {
    const states = await Promise.all(ids.slice(i, i + READ_CONCURRENCY).map((id) => views.state(kind, id)));
    for (const state of states) if (kept.length < limit && state !== null && accept(state)) kept.push(state);
  }
  return kept;
}

/** Every document of a kind (stats and leaderboards over the whole market). */
export async function allViews<T>(s3: S3Client, views: ViewStore, kind: string, accept: (state: unknown) => state is T): Promise<T[]> {
  return readViews(views, kind, await viewIds(s3, views.bucket, kind), accept);
}
