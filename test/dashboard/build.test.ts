/** scripts/build-dashboard.ts: the same sources give the same bytes, and a broken source fails by name. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDashboard, DashboardBuildError, DASHBOARD_SOURCES } from '../../scripts/build-dashboard';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'dashboard-build-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('builds index.html, app.js and app.css reproducibly, the page naming its assets by content hash', async () => {
  const first = await buildDashboard({ outDir: join(scratch, 'a') });
  const second = await buildDashboard({ outDir: join(scratch, 'b') });
  expect(first.files.map((f) => f.name)).toEqual(['index.html', 'app.js', 'app.css']);
  expect(second.files).toEqual(first.files);
  for (const f of first.files) expect(readFileSync(join(scratch, 'b', f.name))).toEqual(readFileSync(join(scratch, 'a', f.name)));
  const html = readFileSync(join(scratch, 'a', 'index.html'), 'utf8');
  const js = first.files.find((f) => f.name === 'app.js')!;
  const css = first.files.find((f) => f.name === 'app.css')!;
  expect(html).toContain(`src="dashboard/app.js?v=${js.sha256.slice(0, 12)}"`);
  expect(html).toContain(`href="dashboard/app.css?v=${css.sha256.slice(0, 12)}"`);
  expect(html).toContain('name="viewport"');
  expect(html).not.toMatch(/__APP_\w+_HASH__/);
  // Bundled for the browser: chart.js is inside, nothing is left to require at runtime.
  const bundle = readFileSync(join(scratch, 'a', 'app.js'), 'utf8');
  expect(bundle).toContain('Chart.js v4');
  expect(bundle).not.toMatch(/\brequire\(/);
});

it.each([
  ['a syntax error', 'const = ;\n', /Expected identifier/],
  ['an unresolvable import', "import './missing-module';\n", /Could not resolve "\.\/missing-module"/],
])('fails with esbuild\'s message on %s', async (_, source, message) => {
  const broken = mkdtempSync(join(scratch, 'broken-'));
  for (const name of ['index.html', 'styles.css']) cpSync(join(DASHBOARD_SOURCES, name), join(broken, name));
  writeFileSync(join(broken, 'app.ts'), source);
  const error = await buildDashboard({ sourceDir: broken, outDir: join(broken, 'out') }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DashboardBuildError);
  expect((error as DashboardBuildError).messages.join('\n')).toMatch(message);
  expect((error as Error).message).toMatch(/app\.ts:1:/);
  expect((error as Error).message).toMatch(/npm run build:dashboard/);
});
