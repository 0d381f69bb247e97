/**
 * A typed client for the HTTP API (docs/service-spec.md section 4): one method per route, every
 * response parsed with the API's own zod schemas, every failure an ApiError carrying the API's
 * code, status and field.
 */
import type { z } from 'zod';
import {
  apiErrorBodySchema,
  healthResponseSchema,
  listModelsResponseSchema,
  listProvidersResponseSchema,
  listTasksResponseSchema,
  modelDetailResponseSchema,
  postInputResponseSchema,
  postModelResponseSchema,
  packageRecordSchema,
  postUploadCompleteResponseSchema,
  postUploadPartsResponseSchema,
  postUploadResponseSchema,
  uploadSessionSchema,
  postTaskResponseSchema,
  providerDetailResponseSchema,
  statsResponseSchema,
  taskDetailResponseSchema,
  type ListTasksQuery,
  type PostInputRequest,
  type PostPackageRequest,
  type PostUploadCompleteRequest,
  type PostUploadPartsRequest,
  type PostUploadRequest,
} from '../api/schemas';
import { ApiError } from './errors';

export type HealthResponse = z.infer<typeof healthResponseSchema>;
export type PostInputResponse = z.infer<typeof postInputResponseSchema>;
export type PostTaskResponse = z.infer<typeof postTaskResponseSchema>;
export type TaskDetail = z.infer<typeof taskDetailResponseSchema>;
export type ModelDetail = z.infer<typeof modelDetailResponseSchema>;
export type ProviderDetail = z.infer<typeof providerDetailResponseSchema>;
export type Stats = z.infer<typeof statsResponseSchema>;

export interface ApiClientOptions {
  /** Per-request limit (file bytes never go through the API, so requests are small). */
  timeoutMs?: number;
}

const READ_ATTEMPTS = 3;

/** fetch failed because the connection closed or reset, not because nothing listens or it timed out. */
function connectionDropped(e: unknown): boolean {
  const code = ((e as { cause?: { code?: string } }).cause ?? {}).code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

export class OpmlApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: ApiClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  health(): Promise<HealthResponse> {
    return this.json('GET', '/health', healthResponseSchema);
  }

  postInput(body: PostInputRequest): Promise<PostInputResponse> {
    return this.json('POST', '/inputs', postInputResponseSchema, body);
  }

  async getBlob(cid: string): Promise<Uint8Array> {
    const res = await this.request('GET', `/blobs/${encodeURIComponent(cid)}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** `wait: false` returns once the transaction is accepted, before it is mined. */
  postTask(signedTransaction: string, options: { wait?: boolean } = {}): Promise<PostTaskResponse> {
    const query = options.wait === false ? '?wait=false' : '';
    return this.json('POST', `/tasks${query}`, postTaskResponseSchema, { signedTransaction });
  }

  listTasks(query: ListTasksQuery = {}): Promise<z.infer<typeof listTasksResponseSchema>> {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    const qs = params.size > 0 ? `?${params}` : '';
    return this.json('GET', `/tasks${qs}`, listTasksResponseSchema);
  }

  getTask(taskId: bigint | string): Promise<TaskDetail> {
    return this.json('GET', `/tasks/${taskId}`, taskDetailResponseSchema);
  }

  postUpload(body: PostUploadRequest): Promise<z.infer<typeof postUploadResponseSchema>> {
    return this.json('POST', '/uploads', postUploadResponseSchema, body);
  }

  getUpload(uploadId: string): Promise<z.infer<typeof uploadSessionSchema>> {
    return this.json('GET', `/uploads/${encodeURIComponent(uploadId)}`, uploadSessionSchema);
  }

  postUploadParts(uploadId: string, body: PostUploadPartsRequest): Promise<z.infer<typeof postUploadPartsResponseSchema>> {
    return this.json('POST', `/uploads/${encodeURIComponent(uploadId)}/parts`, postUploadPartsResponseSchema, body);
  }

  completeUpload(uploadId: string, body: PostUploadCompleteRequest): Promise<z.infer<typeof postUploadCompleteResponseSchema>> {
    return this.json('POST', `/uploads/${encodeURIComponent(uploadId)}/complete`, postUploadCompleteResponseSchema, body);
  }

  /** Submits two uploaded files for verification as one package; the record, verifying or verified. */
  postPackage(body: PostPackageRequest): Promise<z.infer<typeof packageRecordSchema>> {
    return this.json('POST', '/models/packages', packageRecordSchema, body);
  }

  getPackage(graphCid: string, weightsCid: string): Promise<z.infer<typeof packageRecordSchema>> {
    return this.json('GET', `/models/packages/${graphCid}/${weightsCid}`, packageRecordSchema);
  }

  postModel(signedTransaction: string): Promise<z.infer<typeof postModelResponseSchema>> {
    return this.json('POST', '/models', postModelResponseSchema, { signedTransaction });
  }

  listModels(): Promise<z.infer<typeof listModelsResponseSchema>> {
    return this.json('GET', '/models', listModelsResponseSchema);
  }

  getModel(modelId: bigint | string): Promise<ModelDetail> {
    return this.json('GET', `/models/${modelId}`, modelDetailResponseSchema);
  }

  listProviders(): Promise<z.infer<typeof listProvidersResponseSchema>> {
    return this.json('GET', '/providers', listProvidersResponseSchema);
  }

  getProvider(address: string): Promise<ProviderDetail> {
    return this.json('GET', `/providers/${address}`, providerDetailResponseSchema);
  }

  stats(): Promise<Stats> {
    return this.json('GET', '/stats', statsResponseSchema);
  }

  private async json<S extends z.ZodTypeAny>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    const res = await this.request(method, path, body);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, 'BadResponse', `${method} ${path} answered ${res.status} with non-JSON (${text.slice(0, 80)}): is --api pointing at an opml API?`);
    }
    const result = schema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ApiError(res.status, 'BadResponse', `${method} ${path} answered an unexpected body (${issue.path.join('.') || '(root)'}: ${issue.message}): the API and this client disagree on versions`, issue.path.join('.'));
    }
    return result.data;
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response | undefined;
    // A read is retried when the connection dropped under it (a kept-alive socket the server had just
    // closed, a load balancer recycling): the request may not even have been sent. Writes are not:
    // a transaction relayed twice is refused by its nonce, but the caller should see that happen.
    const attempts = method === 'GET' ? READ_ATTEMPTS : 1;
    for (let attempt = 1; res === undefined; attempt++) {
      try {
        res = await fetch(this.baseUrl + path, {
          method,
          headers: body === undefined ? {} : { 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (e) {
        if (attempt < attempts && connectionDropped(e)) {
          await new Promise((r) => setTimeout(r, 100 * attempt));
          continue;
        }
        throw new ApiError(0, 'Unreachable', `cannot reach the API at ${this.baseUrl} (${(e as Error).message}): start it or pass --api <url>`, undefined, undefined, { cause: e });
      }
    }
    if (res.ok) return res;
    const text = await res.text();
    let errorBody: unknown;
    try {
      errorBody = JSON.parse(text);
    } catch {
      errorBody = undefined;
    }
    const err = apiErrorBodySchema.safeParse(errorBody);
    if (err.success) {
      const { code, message, field, revert } = err.data.error;
      throw new ApiError(res.status, code, message, field, revert);
    }
    throw new ApiError(res.status, 'BadResponse', `${method} ${path} failed with HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
}
