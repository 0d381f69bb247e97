/**
 * The API's error model (docs/service-spec.md section 4): one class per status, each carrying the
 * body's `code`, and `toApiError` turning whatever a route threw into one of them, so a handler never
 * leaks a stack trace and a client branches on `error.code`, never on the text.
 */
import type { z } from 'zod';
import type { ApiErrorBody } from './schemas';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorBody['error']['code'],
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}

export class InvalidRequestError extends ApiError {
  override name = 'InvalidRequestError';
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(400, 'InvalidRequest', message, field, options);
  }

  /** The first zod issue, its dotted path under `prefix` as the field. */
  static fromZod(issues: z.ZodIssue[], prefix?: string): InvalidRequestError {
    const issue = issues[0]!;
    const field = [prefix, ...issue.path.map(String)].filter((p) => p !== undefined && p !== '').join('.');
    const where = field === '' ? 'the request' : field;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more: ${issues.slice(1).map((i) => [prefix, ...i.path].filter(Boolean).join('.') || '(root)').join(', ')})` : '';
    return new InvalidRequestError(`${where}: ${issue.message}${more}`, field === '' ? undefined : field);
  }
}

export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, 'NotFound', message);
  }
}

export class PayloadTooLargeError extends ApiError {
  override name = 'PayloadTooLargeError';
  constructor(readonly size: number, readonly limit: number, what = 'the request body') {
    super(413, 'PayloadTooLarge', `${what} is ${size} bytes, more than the limit of ${limit}`);
  }
}

export class ConflictError extends ApiError {
  override name = 'ConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(409, 'Conflict', message, undefined, options);
  }
}

/** A transaction the chain refused: `revert` is the market's custom error when one was decoded. */
export class TransactionRejectedError extends ApiError {
  override name = 'TransactionRejectedError';
  constructor(
    message: string,
    readonly revert?: { name: string; args: string[] },
    options?: { cause?: unknown },
  ) {
    super(422, 'TransactionRejected', message, undefined, options);
  }

  override body(): ApiErrorBody {
    return { error: { ...super.body().error, ...(this.revert ? { revert: this.revert } : {}) } };
  }
}

export class UpstreamError extends ApiError {
  override name = 'UpstreamError';
  constructor(what: string, cause: unknown) {
    super(502, 'Upstream', `${what} failed: ${(cause as { message?: unknown })?.message ?? String(cause)}; retry later`, undefined, { cause });
  }
}

/** Errors of the stores and the chain client that mean "a dependency is down", not "the request is wrong". */
const UPSTREAM_NAMES = new Set(['S3RequestError', 'SqsRequestError', 'BlobCidMismatchError', 'S3ContentMismatchError']);
const ETHERS_UPSTREAM_CODES = new Set(['NETWORK_ERROR', 'SERVER_ERROR', 'TIMEOUT', 'UNKNOWN_ERROR']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  // Duck-typed: socket errors come from Node's own realm, where `instanceof Error` may not hold.
  if (typeof e === 'object' && e !== null) {
    const { name, code } = e as { name?: unknown; code?: unknown };
    if (typeof name === 'string' && UPSTREAM_NAMES.has(name)) return new UpstreamError('a storage call', e);
    if (typeof code === 'string' && ETHERS_UPSTREAM_CODES.has(code)) return new UpstreamError('the chain RPC', e);
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return new UpstreamError('a connection to a dependency', e);
  }
  const described = typeof e === 'object' && e !== null && 'message' in e ? `${(e as Error).name}: ${(e as Error).message}` : String(e);
  return new ApiError(500, 'Internal', `internal error: ${described}`, undefined, { cause: e });
}
