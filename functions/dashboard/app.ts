/// <reference lib="dom" />
/**
 * The market dashboard: polls GET /stats, /providers and /tasks, and redraws the numbers, charts and
 * tables from one consistent snapshot. When a refresh fails the last snapshot stays on screen under an
 * error banner and polling goes on, so a flaky API never blanks the page.
 *
 * `?refresh=<seconds>` changes the polling interval (default 5, at least 1).
 */
import { apiRootOf, fetchDashboardData, type DashboardData } from './api';
import { createCharts, updateCharts, type ChartName, type DashboardCharts } from './charts';
import { formatTime } from './format';
import { renderKpis, renderLeaderboard, renderRecentTasks } from './render';

const DEFAULT_REFRESH_SECONDS = 5;
/** A slow answer is still an answer: /stats reads every view, and a busy API may take seconds. */
const REQUEST_TIMEOUT_MS = 20_000;

/** What the page exposes on window.opmlDashboard, for debugging in the console and for the browser tests. */
export interface DashboardState {
  charts: DashboardCharts;
  data: DashboardData | null;
  lastUpdated: Date | null;
  lastError: string | null;
  refreshes: number;
  refreshSeconds: number;
}

declare global {
  interface Window {
    opmlDashboard: DashboardState;
  }
}

function required<T extends Element>(selector: string): T {
  const node = document.querySelector<T>(selector);
  if (!node) throw new Error(`the dashboard page lacks ${selector}; rebuild it with npm run build:dashboard`);
  return node;
}

function refreshSecondsOf(search: string): number {
  const asked = Number(new URLSearchParams(search).get('refresh'));
  return Number.isFinite(asked) && asked >= 1 ? asked : DEFAULT_REFRESH_SECONDS;
}

function start(): void {
  const root = apiRootOf(location.pathname);
  const banner = required<HTMLElement>('[data-testid="error-banner"]');
  const lastUpdated = required<HTMLTimeElement>('[data-testid="last-updated"]');
  const leaderboard = required<HTMLTableSectionElement>('[data-testid="leaderboard"] tbody');
  const recent = required<HTMLTableSectionElement>('[data-testid="recent-tasks"] tbody');
  const state: DashboardState = {
    charts: createCharts((name: ChartName) => required<HTMLCanvasElement>(`canvas[data-chart="${name}"]`)),
    data: null,
    lastUpdated: null,
    lastError: null,
    refreshes: 0,
    refreshSeconds: refreshSecondsOf(location.search),
  };
  window.opmlDashboard = state;

  const render = (data: DashboardData) => {
    renderKpis(document, data.stats);
    updateCharts(state.charts, data.stats, data.providers);
    renderLeaderboard(leaderboard, data.providers);
    renderRecentTasks(recent, data.tasks, Date.now() / 1000);
  };

  const showError = (message: string) => {
    const since = state.lastUpdated ? `showing data from ${formatTime(state.lastUpdated)}` : 'no data yet';
    banner.textContent = `Cannot reach the market API: ${message}. ${since}; retrying every ${state.refreshSeconds} s.`;
    banner.hidden = false;
    document.body.classList.add('stale');
  };

  const refresh = async () => {
    try {
      const data = await fetchDashboardData(root, Math.max(REQUEST_TIMEOUT_MS, 3_000 * state.refreshSeconds));
      render(data);
      state.data = data;
      state.lastUpdated = new Date();
      state.lastError = null;
      lastUpdated.dateTime = state.lastUpdated.toISOString();
      lastUpdated.textContent = formatTime(state.lastUpdated);
      banner.hidden = true;
      document.body.classList.remove('stale');
    } catch (e) {
      state.lastError = (e as Error).message;
      showError(state.lastError);
    } finally {
      state.refreshes++;
      document.body.dataset.refreshes = String(state.refreshes);
    }
  };

  // One refresh at a time: the next is scheduled when the previous one ends, however long it took.
  const loop = async () => {
    await refresh();
    setTimeout(() => void loop(), state.refreshSeconds * 1_000);
  };
  void loop();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
