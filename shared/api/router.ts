/**
 * A route table keyed by method and path pattern (`/tasks/{taskId}`), path parameters checked with
 * zod, and the conversion between API Gateway HTTP API (payload v2) events and plain requests and
 * responses. Bodies are size-checked before they are decoded or parsed, so an oversized request is a
 * 413 however malformed it is.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { ApiError, InvalidRequestError, NotFoundError, PayloadTooLargeError, toApiError } from './errors';

export interface ApiRequest<P = Record<string, string>> {
  method: string;
  path: string;
  params: P;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The raw body, undefined when the request had none. */
  body?: Uint8Array;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable value, or raw bytes / text sent as they are. */
  json?: unknown;
  bytes?: Uint8Array;
  text?: string;
}

export interface Route<P extends z.ZodTypeAny = z.ZodTypeAny> {
  method: 'GET' | 'POST';
  /** `/segment/{param}/…`: a `{param}` matches exactly one non-empty segment. */
  path: string;
  params?: P;
  /** Largest accepted body in bytes (as sent, before base64 decoding); no body allowed when absent. */
  maxBodyBytes?: () => number;
  handle(req: ApiRequest<z.output<P>>): Promise<ApiResponse>;
}

/** Keeps the path-parameter types of one route when it is put in a table of mixed routes. */
export function route<P extends z.ZodTypeAny>(r: Route<P>): Route {
  return r as unknown as Route;
}

const json = (status: number, value: unknown): ApiResponse => ({ status, json: value });
export const ok = (value: unknown): ApiResponse => json(200, value);
export const created = (value: unknown): ApiResponse => json(201, value);
export const accepted = (value: unknown): ApiResponse => json(202, value);

/** The request's JSON body parsed with `schema`; a 400 naming the field otherwise. */
export function parseJsonBody<S extends z.ZodTypeAny>(req: ApiRequest<unknown>, schema: S): z.output<S> {
  if (!req.body || req.body.length === 0) throw new InvalidRequestError('a JSON body is required');
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(req.body));
  } catch (e) {
    throw new InvalidRequestError(`the body is not JSON: ${(e as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw InvalidRequestError.fromZod(parsed.error.issues);
  return parsed.data;
}

export function parseQuery<S extends z.ZodTypeAny>(req: ApiRequest<unknown>, schema: S): z.output<S> {
  const parsed = schema.safeParse(req.query);
  if (!parsed.success) throw InvalidRequestError.fromZod(parsed.error.issues, 'query');
  return parsed.data;
}

/** A path pattern as a regular expression (a trailing slash allowed) and its parameter names in order. */
export function pathPattern(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(m[1]!);
      return '([^/]+)';
    })
    .join('/');
  return { pattern: new RegExp(`^${source}/?$`), names };
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(readonly routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({ route, ...pathPattern(route.path) }));
  }

  /** The route for a method and path, with its raw (URL-decoded) path parameters. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | { allowed: string[] } {
    const allowed: string[] = [];
    for (const c of this.compiled) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      c.names.forEach((name, i) => {
        try {
          params[name] = decodeURIComponent(m[i + 1]!);
        } catch {
          params[name] = m[i + 1]!;
        }
      });
      return { route: c.route, params };
    }
    return { allowed };
  }

  async handle(req: ApiRequest): Promise<ApiResponse> {
    try {
      const found = this.match(req.method, req.path);
      if (!('route' in found)) {
        if (found.allowed.length > 0) throw new ApiError(405, 'InvalidRequest', `${req.method} is not allowed on ${req.path}; use ${found.allowed.join(' or ')}`);
        throw new NotFoundError(`no route ${req.method} ${req.path}`);
      }
      const { route, params } = found;
      const limit = route.maxBodyBytes?.() ?? 0;
      if (req.body && req.body.length > limit) {
        if (limit === 0) throw new InvalidRequestError(`${route.method} ${route.path} takes no body`);
        throw new PayloadTooLargeError(req.body.length, limit);
      }
      let parsedParams: unknown = params;
      if (route.params) {
        const parsed = route.params.safeParse(params);
        if (!parsed.success) throw InvalidRequestError.fromZod(parsed.error.issues, 'path');
        parsedParams = parsed.data;
      }
      return await route.handle({ ...req, params: parsedParams as Record<string, string> });
    } catch (e) {
      const error = toApiError(e);
      if (error.status >= 500) console.error(JSON.stringify({ level: 'error', route: `${req.method} ${req.path}`, error: error.message }));
      return { status: error.status, json: error.body() };
    }
  }
}

const BINARY_TYPES = /^(application\/octet-stream|image\/|font\/|application\/wasm)/;

/** An API Gateway HTTP API v2 event as a plain request; the body stays raw bytes (413 is decided on them). */
export function requestOfEvent(event: APIGatewayProxyEventV2): ApiRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  let body: Uint8Array | undefined;
  if (event.body !== undefined && event.body !== null) body = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  return { method: event.requestContext.http.method.toUpperCase(), path: event.rawPath, params: {}, query, headers, body };
}

export function resultOfResponse(res: ApiResponse): APIGatewayProxyResultV2 {
  const headers: Record<string, string> = { ...res.headers };
  if (res.bytes !== undefined) {
    headers['content-type'] ??= 'application/octet-stream';
    const binary = BINARY_TYPES.test(headers['content-type']);
    return {
      statusCode: res.status,
      headers,
      body: Buffer.from(res.bytes).toString(binary ? 'base64' : 'utf8'),
      isBase64Encoded: binary,
    };
  }
  if (res.text !== undefined) return { statusCode: res.status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, body: res.text };
  return {
    statusCode: res.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: res.json === undefined ? '' : JSON.stringify(res.json),
  };
}

export type ApiLambdaHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;

/** The Lambda handler of a group of routes. */
export function lambdaHandler(routes: readonly Route[]): ApiLambdaHandler {
  const router = new Router(routes);
  return async (event) => resultOfResponse(await router.handle(requestOfEvent(event)));
}
