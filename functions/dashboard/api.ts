/// <reference lib="dom" />
/**
 * The dashboard's reads from the HTTP API (docs/service-spec.md section 4), parsed with the API's own
 * response schemas so a field the page relies on that goes missing fails here, by name, instead of
 * drawing a wrong chart.
 */
import type { z } from 'zod';
import {
  listProvidersResponseSchema,
  listTasksResponseSchema,
  statsResponseSchema,
  type ProviderView,
  type StatsResponse,
  type TaskView,
} from '../../shared/api/schemas';

export const RECENT_TASKS = 20;

export interface DashboardData {
  stats: StatsResponse;
  providers: ProviderView[];
  tasks: TaskView[];
}

/** The API could not be reached, answered with an error status, or sent a body the page cannot read. */
export class DashboardFetchError extends Error {
  override name = 'DashboardFetchError';
  constructor(readonly path: string, reason: string) {
    super(`GET ${path}: ${reason}`);
  }
}

/**
 * The API's base path as seen from the page: the page is served at `<root>/dashboard`, so `/dashboard`
 * gives "" and an API Gateway stage path `/prod/dashboard` gives "/prod".
 */
export function apiRootOf(pathname: string): string {
  const at = pathname.lastIndexOf('/dashboard');
  return at < 0 ? '' : pathname.slice(0, at);
}

async function getJson<S extends z.ZodTypeAny>(root: string, path: string, schema: S, signal: AbortSignal): Promise<z.infer<S>> {
  let response: Response;
  try {
    response = await fetch(`${root}${path}`, { headers: { accept: 'application/json' }, cache: 'no-store', signal });
  } catch (e) {
    throw new DashboardFetchError(path, `the API is unreachable (${(e as Error).message})`);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    const message = /"message"\s*:\s*"([^"]*)"/.exec(text)?.[1];
    throw new DashboardFetchError(path, `HTTP ${response.status}${message ? `: ${message}` : ''}`);
  }
  let json: unknown;
  try {
    json = await response.json();
  } catch (e) {
    throw new DashboardFetchError(path, `the body is not JSON (${(e as Error).message})`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DashboardFetchError(path, `unexpected response at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** One refresh: the three reads in parallel, all or nothing, so the page never mixes two moments. */
export async function fetchDashboardData(root: string, timeoutMs: number): Promise<DashboardData> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  try {
    const [stats, providers, tasks] = await Promise.all([
      getJson(root, '/stats', statsResponseSchema, controller.signal),
      getJson(root, '/providers', listProvidersResponseSchema, controller.signal),
      getJson(root, `/tasks?limit=${RECENT_TASKS}`, listTasksResponseSchema, controller.signal),
    ]);
    return { stats, providers: providers.providers, tasks: tasks.tasks };
  } finally {
    clearTimeout(timer);
  }
}
