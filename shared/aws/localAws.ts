/**
 * Real local AWS servers for tests and `npm start`: s3rver (files in a temporary folder) and local-aws-sqs, both on
 * 127.0.0.1 at free ports, plus the AwsConfig pointing at them. Stop them in afterAll.
 * s3rver is given S3's conditional writes (see conditionalWrites) and S3's whole-object reads (see wholeObjectReads).
 */
import { mkdir, mkdtemp, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequestHandler } from 'local-aws-sqs';
import type { AwsConfig } from './config';
import { freePort } from '../chain/anvil';

export interface LocalAws {
  config: AwsConfig;
  /** Restarts S3 on the same port and folder (its objects survive), as a server restart would. */
  restartS3(): Promise<void>;
  /** Takes S3 off the network until restartS3 (what a client sees when S3 is unreachable). */
  stopS3(): Promise<void>;
  /**
   * Takes SQS off the network for `downMs` and brings it back on the same port with its queues and messages
   * (SQS itself is durable: what a client sees is an endpoint that refuses connections for a while).
   */
  restartSqs(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  querystring: string;
  headers: Record<string, string | undefined>;
  status: number;
  type: string;
  body: unknown;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rver {
  run(): Promise<unknown>;
  close(): Promise<void>;
  middleware: Middleware[];
  store: S3rverStore;
}
type S3rverMetadata = Record<string, string | number> & { etag: string };
interface GetOptions {
  start?: number;
  end?: number;
}
interface S3rverStore {
  getMetadata(bucket: string, key: string): Promise<S3rverMetadata>;
  getResourcePath(bucket: string, key: string, resource: string): string;
  putObject(object: { bucket: string; key: string; [field: string]: unknown }): Promise<{ size: number; md5: string }>;
  getObject(bucket: string, key: string, options?: GetOptions): Promise<unknown>;
}
// s3rver ships no type declarations; these are the parts used here (s3rver 3.7.1, pinned in package.json).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (options: { address: string; port: number; directory: string; silent: boolean }) => S3rver;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3Object = require('s3rver/lib/models/object') as new (bucket: string, key: string, content: unknown, metadata: S3rverMetadata) => { range?: { start: number; end: number } };

/**
 * S3 honours If-Match / If-None-Match on PutObject and CompleteMultipartUpload (the indexer cursor, the
 * views and model uploads rely on it); s3rver ignores them on writes. This middleware, first in s3rver's
 * chain, gives path-style PUTs and completions the same semantics, one write per key at a time so that
 * check and write cannot interleave.
 */
function conditionalWrites(server: S3rver): Middleware {
  const queues = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const ifMatch = ctx.headers['if-match'];
    const ifNoneMatch = ctx.headers['if-none-match'];
    const [, bucket, ...rest] = ctx.path.split('/');
    const write = ctx.method === 'PUT' || (ctx.method === 'POST' && /(^|&)uploadId=/.test(ctx.querystring));
    if (!write || (ifMatch === undefined && ifNoneMatch === undefined) || !bucket || rest.length === 0) return next();
    const key = rest.map(decodeURIComponent).join('/');
    const id = `${bucket}/${key}`;
    const run = (queues.get(id) ?? Promise.resolve()).then(async () => {
      const current = await server.store.getMetadata(bucket, key).then(
        (m) => m.etag,
        () => null,
      );
      if ((ifNoneMatch === '*' && current !== null) || (ifMatch !== undefined && ifMatch !== current)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        return;
      }
      await next();
    });
    queues.set(id, run.catch(() => {}));
    await run;
  };
}

/**
 * S3 serves every GET from one whole version of the object; s3rver rewrites an object's file in
 * place and sizes a response by a stat made before it opens the file, so a read during a rewrite
 * (a view read while the views consumer rewrites it) could get a prefix of the new bytes, or the
 * new bytes cut at the old length. Here each write lands under a staging key and its files are
 * renamed into place (the object's last), and each read opens the object once and takes its
 * length from that open file: a reader gets one whole version. The staging keys sit under a
 * prefix no listing of ours asks for.
 */
function wholeObjectReads(store: S3rverStore): void {
  const write = store.putObject.bind(store);
  let staged = 0;
  store.putObject = async (object) => {
    const staging = `.opml-staging/${process.pid}-${staged++}`;
    const result = await write({ ...object, key: staging });
    for (const resource of ['object.md5', 'metadata.json', 'object']) {
      const to = store.getResourcePath(object.bucket, object.key, resource);
      await mkdir(dirname(to), { recursive: true });
      await rename(store.getResourcePath(object.bucket, staging, resource), to).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    return result;
  };
  store.getObject = async (bucket, key, options) => {
    let file: FileHandle;
    try {
      file = await open(store.getResourcePath(bucket, key, 'object'), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    try {
      const [{ size, mtime }, stored] = await Promise.all([file.stat(), store.getMetadata(bucket, key)]);
      const metadata: S3rverMetadata = { ...stored, 'content-length': size, 'last-modified': mtime.toUTCString() };
      // s3rver's own range rules, against the length of the file held open.
      const lastByte = Math.max(0, size - 1);
      const range = { start: options?.start || 0, end: Math.min(options?.end || Infinity, lastByte) };
      const ranged = options !== undefined && (options.start !== undefined || Boolean(options.end));
      const satisfiable = range.start >= 0 && Math.min(range.end, lastByte) >= range.start;
      if (!satisfiable) await file.close();
      const result = new S3Object(bucket, key, satisfiable ? file.createReadStream({ start: range.start, end: range.end, autoClose: true }) : null, metadata);
      if (ranged) result.range = range;
      return result;
    } catch (e) {
      await file.close();
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  };
}

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startLocalAws(): Promise<LocalAws> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const s3Port = await freePort();
  const startS3 = async (): Promise<S3rver> => {
    const s3 = new S3rver({ address: '127.0.0.1', port: s3Port, directory, silent: true });
    s3.middleware.unshift(conditionalWrites(s3));
    wholeObjectReads(s3.store);
    await s3.run();
    return s3;
  };
  let s3: S3rver | undefined = await startS3();
  const sqsPort = await freePort();
  // One request handler (and so one in-memory service) across restarts of the listening server.
  const { requestHandler } = createRequestHandler({ port: sqsPort, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  const listenSqs = (): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer((req, res) => void requestHandler(req, res));
      server.once('error', reject);
      server.listen(sqsPort, '127.0.0.1', () => resolve(server));
    });
  const closeSqs = (server: Server): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    });
  let sqs = await listenSqs();
  return {
    config: {
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      s3Endpoint: `http://127.0.0.1:${s3Port}`,
      sqsEndpoint: `http://127.0.0.1:${sqsPort}`,
    },
    async restartS3() {
      await s3?.close();
      s3 = await startS3();
    },
    async stopS3() {
      await s3?.close();
      s3 = undefined;
    },
    async restartSqs(downMs = 0) {
      await closeSqs(sqs);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      sqs = await listenSqs();
    },
    async stop() {
      await s3?.close();
      await closeSqs(sqs);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
