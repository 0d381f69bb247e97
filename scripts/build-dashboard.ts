/**
 * `npm run build:dashboard`: the dashboard page (functions/dashboard) bundled by esbuild into
 * build/dashboard/{index.html, app.js, app.css}, which the API serves at GET /dashboard and
 * /dashboard/{file} (OPML_DASHBOARD_DIR). `--out <dir>` writes elsewhere.
 *
 * Reproducible: same sources, same bytes (no timestamps, paths relative to the repo root); the page
 * names its assets with a content hash so a browser never mixes an old script with a new page.
 * Any esbuild error or warning fails the build with every message listed; types are checked by
 * `npm run typecheck` (esbuild strips them without checking).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, formatMessagesSync, type BuildFailure, type Message } from 'esbuild';

const ROOT = resolve(__dirname, '..');
export const DASHBOARD_SOURCES = join(ROOT, 'functions', 'dashboard');
export const DASHBOARD_OUT = join(ROOT, 'build', 'dashboard');

export class DashboardBuildError extends Error {
  override name = 'DashboardBuildError';
  constructor(readonly messages: string[]) {
    super(`the dashboard did not build (fix these in functions/dashboard, then run npm run build:dashboard again):\n${messages.join('\n')}`);
  }
}

export interface DashboardBuildOptions {
  /** Folder with index.html, app.ts and styles.css. */
  sourceDir?: string;
  outDir?: string;
}

export interface DashboardFile {
  name: string;
  bytes: number;
  sha256: string;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

function formatted(kind: 'error' | 'warning', messages: Message[]): string[] {
  return formatMessagesSync(messages, { kind, color: false, terminalWidth: 100 }).map((m) => m.trimEnd());
}

async function bundle(entry: string, sourceDir: string): Promise<string> {
  try {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      // chart.js's license notice stays, at the end of the file.
      legalComments: 'eof',
      charset: 'utf8',
      write: false,
      logLevel: 'silent',
    });
    if (result.warnings.length > 0) throw new DashboardBuildError(formatted('warning', result.warnings));
    const file = result.outputFiles[0];
    if (!file) throw new DashboardBuildError([`esbuild produced no output for ${entry}`]);
    return file.text;
  } catch (e) {
    if (e instanceof DashboardBuildError) throw e;
    const failure = e as Partial<BuildFailure>;
    if (Array.isArray(failure.errors)) throw new DashboardBuildError([...formatted('error', failure.errors), ...formatted('warning', failure.warnings ?? [])]);
    throw new DashboardBuildError([`${entry} (in ${sourceDir}): ${(e as Error).message}`]);
  }
}

export async function buildDashboard(options: DashboardBuildOptions = {}): Promise<{ outDir: string; files: DashboardFile[] }> {
  const sourceDir = resolve(options.sourceDir ?? DASHBOARD_SOURCES);
  const outDir = resolve(options.outDir ?? DASHBOARD_OUT);
  const [js, css] = await Promise.all([bundle(join(sourceDir, 'app.ts'), sourceDir), bundle(join(sourceDir, 'styles.css'), sourceDir)]);
  const template = readFileSync(join(sourceDir, 'index.html'), 'utf8');
  const placeholders = { __APP_JS_HASH__: sha256(js).slice(0, 12), __APP_CSS_HASH__: sha256(css).slice(0, 12) };
  let html = template;
  for (const [placeholder, hash] of Object.entries(placeholders)) {
    if (!html.includes(placeholder)) throw new DashboardBuildError([`${join(sourceDir, 'index.html')} must reference ${placeholder} (the asset's cache-busting hash)`]);
    html = html.replaceAll(placeholder, hash);
  }
  mkdirSync(outDir, { recursive: true });
  const outputs: Array<[string, string]> = [
    ['index.html', html],
    ['app.js', js],
    ['app.css', css],
  ];
  for (const [name, text] of outputs) writeFileSync(join(outDir, name), text);
  return { outDir, files: outputs.map(([name, text]) => ({ name, bytes: Buffer.byteLength(text), sha256: sha256(text) })) };
}

function outArgument(argv: string[]): string | undefined {
  const at = argv.indexOf('--out');
  if (at < 0) return undefined;
  const value = argv[at + 1];
  if (!value) throw new Error('--out needs a folder: npm run build:dashboard -- --out <dir>');
  return value;
}

if (require.main === module) {
  buildDashboard({ outDir: outArgument(process.argv.slice(2)) }).then(
    ({ outDir, files }) => {
      for (const f of files) console.log(`${join(outDir, f.name)}  ${f.bytes} bytes  sha256 ${f.sha256.slice(0, 16)}`);
    },
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
