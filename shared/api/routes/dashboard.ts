/**
 * GET /dashboard and GET /dashboard/{file}: the dashboard's static files from one folder
 * (OPML_DASHBOARD_DIR, default build/dashboard). Only plain names of files directly in that folder
 * are served, so no path can reach outside it.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { NotFoundError } from '../errors';
import { route, type ApiResponse, type Route } from '../router';
import { dashboardParamsSchema } from '../schemas';

export const DEFAULT_DASHBOARD_DIR = 'build/dashboard';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export function dashboardDir(): string {
  return resolve(process.env.OPML_DASHBOARD_DIR || DEFAULT_DASHBOARD_DIR);
}

export async function dashboardFile(name: string): Promise<ApiResponse> {
  if (!dashboardParamsSchema.safeParse({ file: name }).success) throw new NotFoundError(`no dashboard file ${JSON.stringify(name)}: names are plain file names`);
  const dir = dashboardDir();
  const path = join(dir, name);
  const type = CONTENT_TYPES[extname(name).toLowerCase()];
  const isFile = await stat(path).then(
    (st) => st.isFile(),
    () => false,
  );
  if (!type || !path.startsWith(dir + sep) || !isFile) throw new NotFoundError(`no dashboard file ${name} (build the dashboard into ${dir})`);
  const bytes = new Uint8Array(await readFile(path));
  // index.html names its assets without hashes: always revalidate.
  return { status: 200, bytes, headers: { 'content-type': type, 'cache-control': 'no-cache' } };
}

export const dashboardRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/dashboard',
    handle: () => dashboardFile('index.html'),
  }),
  route({
    method: 'GET',
    path: '/dashboard/{file}',
    async handle(req) {
      return dashboardFile(req.params.file!);
    },
  }),
];
