/**
 * PROTOCOL FIXTURE, NOT KUBO. A local HTTP server answering the three Kubo RPC calls the Kubo store
 * makes (POST /api/v0/add, /api/v0/block/get, /api/v0/pin/ls) in Kubo's wire format: multipart
 * upload in, newline-delimited JSON out, errors as HTTP 500 with a JSON Message. Its blocks and CIDs
 * come from our own FileCidBuilder, so it tests how shared/ipfs/kubo.ts speaks the protocol (query
 * parameters, a streamed upload, checking what comes back) and nothing about what a real Kubo
 * computes: the golden vectors from ipfs-unixfs-importer stand in for that.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileCidBuilder, type FileCidBuilderOptions } from '../../shared/ipfs/unixfs/fileCidBuilder';

export interface KuboRpcFixture {
  url: string;
  /** Blocks by CID; tests may replace one to play a node serving corrupted data. */
  blocks: Map<string, Uint8Array>;
  pins: Set<string>;
  /** The query string of every add call, in order. */
  addQueries: URLSearchParams[];
  /** File bytes of the add in progress received so far: shows whether the upload streams. */
  receivedBytes: number;
  close(): Promise<void>;
}

/** `layout` replaces Kubo's defaults to play a node configured otherwise (e.g. 1 MiB chunks, 1024 links). */
export async function startKuboRpcFixture(layout: Pick<FileCidBuilderOptions, 'chunkSize' | 'maxChildren'> = {}): Promise<KuboRpcFixture> {
  const fixture: Omit<KuboRpcFixture, 'url' | 'close'> = { blocks: new Map(), pins: new Set(), addQueries: [], receivedBytes: 0 };

  async function add(req: IncomingMessage, query: URLSearchParams, res: ServerResponse): Promise<void> {
    fixture.addQueries.push(query);
    fixture.receivedBytes = 0;
    const builder = new FileCidBuilder({ ...layout, onBlock: (cid, bytes) => fixture.blocks.set(cid, bytes.slice()) });
    const boundary = /boundary=(.+)$/.exec(req.headers['content-type'] ?? '')?.[1];
    if (!boundary) return fail(res, 'expected a multipart/form-data upload');
    // The one file part: headers up to a blank line, then content up to CRLF and the closing delimiter,
    // which is held back until the stream ends so that it is never fed as content.
    const trailer = Buffer.from(`\r\n--${boundary}--\r\n`);
    let pending = Buffer.alloc(0);
    let inContent = false;
    for await (const piece of req as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, piece]);
      if (!inContent) {
        const blank = pending.indexOf('\r\n\r\n');
        if (blank < 0) continue;
        pending = pending.subarray(blank + 4);
        inContent = true;
      }
      const ready = pending.length - trailer.length;
      if (ready > 0) {
        builder.update(pending.subarray(0, ready));
        fixture.receivedBytes += ready;
        pending = pending.subarray(ready);
      }
    }
    if (!pending.equals(trailer)) return fail(res, 'malformed multipart body');
    const cid = builder.digest();
    if (query.get('pin') === 'true') fixture.pins.add(cid);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ Name: '', Hash: cid, Size: String(builder.size) }) + '\n');
  }

  function blockGet(query: URLSearchParams, res: ServerResponse): void {
    const cid = query.get('arg') ?? '';
    const block = fixture.blocks.get(cid);
    if (!block) return fail(res, `block was not found locally (offline): ipld: could not find ${cid}`);
    res.end(block);
  }

  function pinLs(query: URLSearchParams, res: ServerResponse): void {
    const cids = query.getAll('arg');
    const unpinned = cids.find((cid) => !fixture.pins.has(cid));
    if (unpinned) return fail(res, `path '${unpinned}' is not pinned`);
    res.setHeader('Content-Type', 'application/json');
    res.end(cids.map((cid) => JSON.stringify({ Cid: cid, Type: 'recursive' }) + '\n').join(''));
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const route = `${req.method} ${url.pathname}`;
    const handled =
      route === 'POST /api/v0/add' ? add(req, url.searchParams, res)
      : route === 'POST /api/v0/block/get' ? blockGet(url.searchParams, res)
      : route === 'POST /api/v0/pin/ls' ? pinLs(url.searchParams, res)
      : fail(res, `this fixture does not answer ${route}`, 404);
    void Promise.resolve(handled).catch((e: Error) => fail(res, e.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(fixture, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections(); // the client keeps connections alive; close() alone would wait them out
      }),
  });
}

function fail(res: ServerResponse, message: string, status = 500): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify({ Message: message, Code: 0, Type: 'error' }));
}
