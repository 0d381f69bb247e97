/**
 * The API's Lambda handlers behind a plain node:http server on 127.0.0.1, for tests and the fast local
 * stack: each request becomes the API Gateway HTTP API (payload v2) event the deployed API would
 * send, goes to the handler its route key selects, and the handler's result becomes the response.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { pathPattern, requestOfEvent, resultOfResponse, Router, type ApiLambdaHandler, type Route } from './router';

/**
 * One handler for every route, handlers by route key (`GET /tasks/{taskId}`) as API Gateway routes
 * them, or a Router (its routes behind one handler, as `$default`).
 */
export type LocalApiHandlers = ApiLambdaHandler | Record<string, ApiLambdaHandler> | Router;

export interface LocalApi {
  url: string;
  stop(): Promise<void>;
}

/** API Gateway refuses bodies over 10 MB before any function runs. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|xml)|text\/)/;

/** The route table of handler groups: every route of each group goes to that group's handler. */
export function routeTable(groups: ReadonlyArray<readonly [readonly Route[], ApiLambdaHandler]>): Record<string, ApiLambdaHandler> {
  return Object.fromEntries(groups.flatMap(([routes, handler]) => routes.map((r) => [`${r.method} ${r.path}`, handler] as const)));
}

interface CompiledKey {
  method: string;
  path: string;
  pattern: RegExp;
  names: string[];
  handler: ApiLambdaHandler;
}

function compile(handlers: LocalApiHandlers): (method: string, path: string) => { key: string; params: Record<string, string>; handler: ApiLambdaHandler } | undefined {
  if (handlers instanceof Router) {
    const router = handlers;
    return compile(async (event) => resultOfResponse(await router.handle(requestOfEvent(event))));
  }
  if (typeof handlers === 'function') return () => ({ key: '$default', params: {}, handler: handlers });
  const keys: CompiledKey[] = Object.entries(handlers).map(([key, handler]) => {
    const [method, path] = key.split(' ') as [string, string];
    return { method, path, handler, ...pathPattern(path) };
  });
  return (method, path) => {
    for (const k of keys) {
      const m = k.method === method ? k.pattern.exec(path) : null;
      if (m) return { key: `${k.method} ${k.path}`, params: Object.fromEntries(k.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])), handler: k.handler };
    }
    return undefined;
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY) return 'too large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function eventOf(req: IncomingMessage, body: Buffer, routeKey: string, pathParameters: Record<string, string>): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const text = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    cookies: headers.cookie?.split(';').map((c) => c.trim()),
    headers,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : undefined,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: { method: (req.method ?? 'GET').toUpperCase(), path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length > 0 ? body.toString(text ? 'utf8' : 'base64') : undefined,
    isBase64Encoded: body.length > 0 && !text,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(result);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  res.writeHead(result.statusCode ?? 200, headers).end(body);
}

const gatewayError = (res: ServerResponse, status: number, code: string, message: string): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
};

export async function startLocalApi(handlers: LocalApiHandlers, options: { port?: number } = {}): Promise<LocalApi> {
  const find = compile(handlers);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const found = find((req.method ?? 'GET').toUpperCase(), url.pathname);
      if (!found) return gatewayError(res, 404, 'NotFound', `no route ${req.method} ${url.pathname}`);
      const body = await readBody(req);
      if (body === 'too large') return gatewayError(res, 413, 'PayloadTooLarge', `the request body is over API Gateway's ${GATEWAY_MAX_BODY} bytes`);
      send(res, await found.handler(eventOf(req, body, found.key, found.params)));
    })().catch((e: unknown) => {
      if (!res.headersSent) gatewayError(res, 500, 'Internal', `the local API failed: ${(e as Error).message}`);
      else res.destroy();
    });
  });
  // Longer than clients keep idle sockets (undici: 4 s), as API Gateway's is: the server never closes a
  // socket a client is about to reuse, even when a long handler in this process delays its timers.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
