/**
 * The dashboard in headless Chromium over real data: the protocol demo on anvil (4 MNIST tasks, a
 * cheating provider refuted through the real dispute game and slashed, 3 tasks finalized), indexed by
 * the real indexer into SQS and folded into views in S3, served by the API's handlers on a local HTTP
 * server. The page must show exactly what the run produced, draw every chart, fit a 375 px phone
 * without horizontal scrolling, log no console errors, and keep its data under an error banner when
 * the API goes away.
 *
 * Screenshots: build/dashboard-screenshots/{desktop,phone}.png (paths printed by the test).
 * Chromium: /usr/bin/chromium (Debian's, from scripts/setup.sh) or OPML_CHROMIUM.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { ALL_ROUTES } from '../../shared/api/app';
import { startLocalApi, type LocalApi } from '../../shared/api/localHttp';
import { lambdaHandler } from '../../shared/api/router';
import { closeApiServices } from '../../shared/api/services';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { consumeOnce, type RecordFailure } from '../../shared/aws/batch';
import { ensureBucket } from '../../shared/aws/s3';
import { createQueueWithDlq } from '../../shared/aws/sqs';
import { ViewStore, viewUpdater } from '../../shared/indexer/consumer';
import { CursorStore } from '../../shared/indexer/cursor';
import { Indexer } from '../../shared/indexer/indexer';
import { mine } from '../../shared/market/tasks';
import { MarketToken__factory, Staking__factory } from '../../build/types';
import { DEMO_ROLES, demoParties, runProtocolDemo, type DemoResult } from '../../shared/market/protocolDemo';
import { formatTokens } from '../../functions/dashboard/format';
import type { DashboardState } from '../../functions/dashboard/app';
import { buildDashboard } from '../../scripts/build-dashboard';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '..', '..');
const SCREENSHOTS = join(ROOT, 'build', 'dashboard-screenshots');
const VIEWS_BUCKET = 'dashboard-views';
const DATA_BUCKET = 'dashboard-data';
/** Debian's chromium (scripts/setup.sh installs it); OPML_CHROMIUM points elsewhere. */
const CHROMIUM = process.env.OPML_CHROMIUM ?? '/usr/bin/chromium';
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 375, height: 740 } } as const;

let chain: LocalChain;
let aws: LocalAws;
let clients: AwsClients;
let api: LocalApi | undefined;
let browser: Browser;
let run: DemoResult;
let ipfsDir: string;
let dashboardDir: string;
let eventsQueueUrl: string;
const savedEnv = { ...process.env };
const viewFailures: RecordFailure[] = [];

/** Console errors and uncaught exceptions of every page the suite opens. */
const pageProblems: string[] = [];

const party = (role: string) => run.parties.find((p) => p.role === role)!;
const ofStatus = (status: string) => run.tasks.filter((t) => t.status === status).length;
const tokens = (v: bigint) => `${formatTokens(v)} OPML`;

/** The indexer's pass over the chain up to its head, and the views consumer until the queue stays empty. */
async function indexChain(): Promise<void> {
  const contracts = { market: run.addresses.market!, registry: run.addresses.registry!, staking: run.addresses.staking!, game: run.dispute.game };
  const indexer = new Indexer(chain.provider, contracts, new CursorStore(clients.s3, VIEWS_BUCKET, 'indexer/cursor.json'), clients.sqs, [eventsQueueUrl], { confirmations: 0 });
  await indexer.catchUp();
  const update = viewUpdater(new ViewStore(clients.s3, VIEWS_BUCKET));
  for (let idle = 0; idle < 2; ) {
    const { received } = await consumeOnce(clients.sqs, eventsQueueUrl, update, { waitSeconds: 0, onFailure: (f) => viewFailures.push(f) });
    idle = received === 0 ? idle + 1 : 0;
  }
}

function serviceEnv(): Record<string, string> {
  return {
    OPML_RPC_URL: chain.anvil.rpcUrl,
    OPML_MARKET: run.addresses.market!,
    OPML_REGISTRY: run.addresses.registry!,
    OPML_STAKING: run.addresses.staking!,
    OPML_TOKEN: run.addresses.token!,
    OPML_GAME: run.dispute.game,
    OPML_CONFIRMATIONS: '0',
    OPML_DATA_BUCKET: DATA_BUCKET,
    OPML_VIEWS_BUCKET: VIEWS_BUCKET,
    AWS_REGION: aws.config.region!,
    OPML_S3_ENDPOINT: aws.config.s3Endpoint!,
    OPML_SQS_ENDPOINT: aws.config.sqsEndpoint!,
    OPML_AWS_ACCESS_KEY_ID: aws.config.credentials!.accessKeyId,
    OPML_AWS_SECRET_ACCESS_KEY: aws.config.credentials!.secretAccessKey,
    OPML_IPFS: 'embedded',
    OPML_IPFS_PATH: ipfsDir,
    OPML_DASHBOARD_DIR: dashboardDir,
  };
}

beforeAll(async () => {
  dashboardDir = (await buildDashboard()).outDir;
  chain = await startLocalChain({ accounts: DEMO_ROLES.length });
  run = await runProtocolDemo(chain.provider, demoParties(chain.wallets));
  aws = await startLocalAws();
  clients = awsClients(aws.config);
  for (const bucket of [VIEWS_BUCKET, DATA_BUCKET]) await ensureBucket(clients.s3, bucket);
  eventsQueueUrl = (await createQueueWithDlq(clients.sqs, { name: 'dashboard-events-views', fifo: true, visibilityTimeoutSeconds: 30, maxReceiveCount: 5 })).url;
  await indexChain();
  ipfsDir = mkdtempSync(join(tmpdir(), 'dashboard-ipfs-'));
  Object.assign(process.env, serviceEnv());
  api = await startLocalApi(lambdaHandler(ALL_ROUTES));
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/setup.sh (apt-get install chromium) or set OPML_CHROMIUM`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await closeApiServices();
  await aws?.stop();
  await chain?.stop();
  if (ipfsDir) rmSync(ipfsDir, { recursive: true, force: true });
  process.env = savedEnv;
});

async function openDashboard(viewport: { width: number; height: number }, query = ''): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() === 'error') pageProblems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
  await page.goto(`${api!.url}/dashboard${query}`);
  try {
    await page.waitForFunction(() => window.opmlDashboard?.lastUpdated != null, null, { timeout: 60_000 });
  } catch (e) {
    const error = await page.evaluate(() => window.opmlDashboard?.lastError).catch(() => null);
    throw new Error(`the dashboard did not load its data${error ? `: ${error}` : ''} (${(e as Error).message})`);
  }
  return page;
}

const text = (page: Page, testId: string) => page.locator(`[data-testid="${testId}"]`).first().innerText();

interface ChartSummary {
  name: string;
  width: number;
  height: number;
  labels: string[];
  datasets: Array<{ label: string; data: number[] }>;
}

function chartsOf(page: Page): Promise<ChartSummary[]> {
  return page.evaluate(() =>
    Object.entries((window as unknown as { opmlDashboard: DashboardState }).opmlDashboard.charts).map(([name, chart]) => {
      const box = chart.canvas.getBoundingClientRect();
      return {
        name,
        width: box.width,
        height: box.height,
        labels: (chart.data.labels ?? []).map(String),
        datasets: chart.data.datasets.map((d) => ({ label: d.label ?? '', data: (d.data as unknown[]).map(Number) })),
      };
    }),
  );
}

const total = (c: ChartSummary | undefined, dataset = 0) => (c?.datasets[dataset]?.data ?? []).reduce((a, n) => a + n, 0);

describe('the dashboard after a real run with a slashed cheater', () => {
  it('indexed the run without failures', () => {
    expect(viewFailures).toEqual([]);
    expect(run.tasks).toHaveLength(4);
    expect(run.disputes.map((d) => d.outcome)).toEqual(['ChallengerWon']);
  });

  it.each(Object.entries(VIEWPORTS))('shows the run’s numbers, charts and tables on %s', async (name, viewport) => {
    const page = await openDashboard(viewport);
    try {
      expect(await text(page, 'kpi-tasks')).toBe(String(run.tasks.length));
      expect(await text(page, 'kpi-finalized')).toBe(String(ofStatus('Finalized')));
      expect(await text(page, 'kpi-refuted')).toBe(String(ofStatus('Refuted')));
      expect(await text(page, 'kpi-disputes')).toBe(String(run.disputes.length));
      expect(await text(page, 'kpi-challenger-won')).toBe(String(run.disputes.filter((d) => d.outcome === 'ChallengerWon').length));
      expect(await text(page, 'kpi-provider-won')).toBe('0');
      expect(await text(page, 'kpi-disputes-pending')).toBe('0');
      // The cheater's stake went down by exactly what the market slashed.
      const slashed = -party('cheater').stakeDelta;
      expect(slashed).toBeGreaterThan(0n);
      expect(await text(page, 'kpi-slashed')).toBe(tokens(slashed));
      // Bounties paid are what the honest provider's wallet gained.
      expect(await text(page, 'kpi-paid-out')).toBe(tokens(party('honest').walletDelta));
      expect(await page.locator('[data-testid="error-banner"]').isHidden()).toBe(true);
      expect(await text(page, 'last-updated')).toMatch(/^\d\d:\d\d:\d\d$/);

      // Leaderboard: the honest provider first with its earnings, the cheater with its slash.
      const row = (role: string) => page.locator(`[data-testid="provider-row"][data-address="${party(role).address.toLowerCase()}"]`);
      const honestTasks = run.tasks.filter((t) => t.provider === 'honest').length;
      const cell = (role: string, field: string) => row(role).locator(`[data-testid="provider-${field}"]`).innerText();
      expect(await cell('honest', 'earned')).toBe(formatTokens(party('honest').walletDelta));
      expect(await cell('honest', 'tasks')).toBe(`${honestTasks}/${honestTasks}`);
      expect(await cell('honest', 'success')).toBe('100%');
      expect(await cell('honest', 'slashed')).toBe('0');
      expect(await cell('cheater', 'earned')).toBe('0');
      expect(await cell('cheater', 'tasks')).toBe('0/1');
      expect(await cell('cheater', 'success')).toBe('0%');
      expect(await cell('cheater', 'slashed')).toBe(formatTokens(slashed));
      // Stake and locked collateral come from the providers view as the API serves it.
      const served = (await (await fetch(`${api!.url}/providers`)).json()) as { providers: Array<{ address: string; staked: string }> };
      for (const role of ['honest', 'cheater']) {
        const view = served.providers.find((p) => p.address.toLowerCase() === party(role).address.toLowerCase())!;
        expect(await cell(role, 'staked')).toBe(formatTokens(view.staked));
      }
      const stats = (await (await fetch(`${api!.url}/stats`)).json()) as { stake: { staked: string; locked: string } };
      expect(await text(page, 'kpi-staked')).toBe(tokens(BigInt(stats.stake.staked)));
      expect(await text(page, 'kpi-locked')).toBe(`${tokens(BigInt(stats.stake.locked))} locked`);
      const addresses = await page.locator('[data-testid="provider-row"]').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.address));
      expect(addresses[0]).toBe(party('honest').address.toLowerCase());

      // Recent tasks: every task with its status and dispute state.
      const tasks = await page.locator('[data-testid="task-row"]').evaluateAll((rows) =>
        rows.map((r) => ({
          id: (r as HTMLElement).dataset.taskId,
          status: r.querySelector('[data-testid="task-status"]')!.textContent,
          dispute: r.querySelector('[data-testid="task-dispute"]')!.textContent,
        })),
      );
      expect(tasks.sort((a, b) => Number(a.id) - Number(b.id))).toEqual(
        run.tasks.map((t) => ({ id: String(t.taskId), status: t.status, dispute: t.challenged ? 'Challenger won' : 'None' })),
      );

      // Every chart drawn at a real size, with the run's data.
      const charts = await chartsOf(page);
      expect(charts.map((c) => c.name).sort()).toEqual(['daily', 'disputes', 'earnings', 'latency', 'models', 'stake', 'status']);
      for (const c of charts) {
        expect([c.name, c.width > 50, c.height > 50]).toEqual([c.name, true, true]);
        expect([c.name, c.datasets.length > 0, c.labels.length > 0]).toEqual([c.name, true, true]);
      }
      const chart = (n: string) => charts.find((c) => c.name === n);
      expect(total(chart('daily'))).toBe(run.tasks.length);
      expect(total(chart('status'))).toBe(run.tasks.length);
      expect(chart('disputes')!.datasets[0]!.data).toEqual([1, 0, 0]);
      expect(chart('stake')!.datasets[0]!.data[2]).toBe(Number(slashed / 10n ** 18n));
      expect(total(chart('models'))).toBe(run.tasks.length);
      expect(chart('models')!.labels).toEqual(run.models.map((m) => `Model ${m.modelId}`));
      expect(total(chart('latency'))).toBe(ofStatus('Finalized'));
      expect(total(chart('earnings'))).toBe(Number(party('honest').walletDelta / 10n ** 18n));

      // Pixels, not just data: chart.js painted something on every canvas.
      const painted = await page.evaluate(() =>
        Array.from(document.querySelectorAll('canvas')).map((canvas) => {
          const ctx = canvas.getContext('2d')!;
          const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
          let opaque = 0;
          for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) opaque++;
          return opaque;
        }),
      );
      expect(painted.every((n) => n > 100)).toBe(true);

      const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      expect(width.scroll).toBeLessThanOrEqual(width.client);
      if (name === 'phone') expect(width.client).toBe(375);

      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      console.log(`dashboard screenshot (${name}, ${viewport.width}x${viewport.height}): ${path}`);
    } finally {
      await page.close();
    }
  });

  it('logged no console errors or page errors', () => {
    expect(pageProblems).toEqual([]);
  });

  it('refreshes live: shows a new stake without a reload, then keeps the last data under an error banner when the API goes away', async () => {
    const page = await openDashboard(VIEWPORTS.phone, '?refresh=1');
    try {
      const refreshes = async () => page.evaluate(() => window.opmlDashboard.refreshes);
      const before = await refreshes();
      await page.waitForFunction((n) => window.opmlDashboard.refreshes > n, before, { timeout: 15_000 });
      expect(await page.locator('[data-testid="error-banner"]').isHidden()).toBe(true);

      // A new stake on chain reaches the open page through indexer, queue, views and API, without a reload.
      const challenger = chain.wallets[DEMO_ROLES.indexOf('challenger')]!;
      const added = 50n * 10n ** 18n;
      const stakedBefore = BigInt(((await (await fetch(`${api!.url}/stats`)).json()) as { stake: { staked: string } }).stake.staked);
      await mine(MarketToken__factory.connect(run.addresses.token!, challenger).approve(run.addresses.staking!, added));
      await mine(Staking__factory.connect(run.addresses.staking!, challenger).stake(added));
      await indexChain();
      expect(viewFailures).toEqual([]);
      await page.waitForFunction((expected) => document.querySelector('[data-testid="kpi-staked"]')?.textContent === expected, tokens(stakedBefore + added), { timeout: 15_000 });
      const updated = await page.evaluate(() => window.opmlDashboard.lastUpdated!.getTime());

      await api!.stop();
      api = undefined;
      const banner = page.locator('[data-testid="error-banner"]');
      await banner.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await banner.innerText()).toMatch(/Cannot reach the market API: GET \/\w+.*retrying every 1 s/);
      // The last snapshot stays: same numbers, same time stamp.
      expect(await text(page, 'kpi-tasks')).toBe(String(run.tasks.length));
      expect(await text(page, 'kpi-slashed')).toBe(tokens(-party('cheater').stakeDelta));
      expect(await page.evaluate(() => window.opmlDashboard.lastUpdated!.getTime())).toBe(updated);
      expect(await text(page, 'kpi-staked')).toBe(tokens(stakedBefore + added));
      expect(await page.locator('[data-testid="provider-row"]').count()).toBeGreaterThanOrEqual(2);
      // Nothing but the refused requests themselves went wrong on the page.
      expect(pageProblems.filter((p) => !/Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
