/// <reference lib="dom" />
/**
 * The dashboard's charts (chart.js, only the controllers it draws registered so the bundle stays small).
 * Each chart is created once and its data replaced on every refresh, without animation: a live page
 * redrawing every few seconds should not flicker, and a screenshot should show the final state.
 */
import { ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale, Tooltip, type ChartConfiguration } from 'chart.js';
import type { StatsResponse, ProviderView } from '../../shared/api/schemas';
import { durationHistogram, formatDuration, shortAddress, tokensAsNumber, TOKEN_SYMBOL } from './format';

Chart.register(ArcElement, BarController, BarElement, CategoryScale, DoughnutController, Legend, LinearScale, Tooltip);

export const STATUS_COLORS: Record<string, string> = {
  Open: '#94a3b8',
  Claimed: '#60a5fa',
  Committed: '#f59e0b',
  Finalized: '#22c55e',
  Refuted: '#ef4444',
  Expired: '#64748b',
};
const ACCENT = '#6366f1';
const CHALLENGED = '#a855f7';

export type ChartName = 'daily' | 'status' | 'disputes' | 'stake' | 'models' | 'latency' | 'earnings';
export type DashboardCharts = Record<ChartName, Chart>;

const integerTicks = { precision: 0 };
const base = {
  responsive: true,
  maintainAspectRatio: false,
  animation: false,
  plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
} as const;

function bar(canvas: HTMLCanvasElement, horizontal = false, legend = false): Chart {
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: { labels: [], datasets: [] },
    options: {
      ...base,
      indexAxis: horizontal ? 'y' : 'x',
      plugins: { ...base.plugins, legend: { ...base.plugins.legend, display: legend } },
      scales: horizontal ? { x: { beginAtZero: true } } : { y: { beginAtZero: true, ticks: integerTicks } },
    },
  };
  return new Chart(canvas, config);
}

function doughnut(canvas: HTMLCanvasElement): Chart {
  const config: ChartConfiguration<'doughnut'> = { type: 'doughnut', data: { labels: [], datasets: [] }, options: { ...base, cutout: '55%' } };
  return new Chart(canvas, config);
}

export function createCharts(canvasOf: (name: ChartName) => HTMLCanvasElement): DashboardCharts {
  return {
    daily: bar(canvasOf('daily'), false, true),
    status: doughnut(canvasOf('status')),
    disputes: doughnut(canvasOf('disputes')),
    stake: bar(canvasOf('stake'), true),
    models: bar(canvasOf('models')),
    latency: bar(canvasOf('latency')),
    earnings: bar(canvasOf('earnings'), true, true),
  };
}

function show(chart: Chart, labels: string[], datasets: Chart['data']['datasets']): void {
  chart.data.labels = labels;
  chart.data.datasets = datasets;
  chart.update('none');
}

export function updateCharts(charts: DashboardCharts, stats: StatsResponse, providers: ProviderView[]): void {
  const days = stats.daily.map((d) => d.day);
  show(charts.daily, days, [
    { label: 'Created', data: stats.daily.map((d) => d.tasksCreated), backgroundColor: ACCENT },
    { label: 'Finalized', data: stats.daily.map((d) => d.tasksFinalized), backgroundColor: STATUS_COLORS.Finalized },
    { label: 'Challenged', data: stats.daily.map((d) => d.challenges), backgroundColor: CHALLENGED },
    { label: 'Refuted', data: stats.daily.map((d) => d.refuted), backgroundColor: STATUS_COLORS.Refuted },
    { label: 'Expired', data: stats.daily.map((d) => d.expired), backgroundColor: STATUS_COLORS.Expired },
  ]);

  const statuses = Object.entries(stats.tasksByStatus).filter(([, n]) => n > 0);
  show(
    charts.status,
    statuses.map(([s]) => s),
    [{ label: 'Tasks', data: statuses.map(([, n]) => n), backgroundColor: statuses.map(([s]) => STATUS_COLORS[s] ?? ACCENT) }],
  );

  const d = stats.disputes;
  show(charts.disputes, ['Challenger won', 'Provider won', 'Pending'], [
    { label: 'Disputes', data: [d.challengerWon, d.providerWon, d.pending], backgroundColor: [STATUS_COLORS.Refuted!, STATUS_COLORS.Finalized!, STATUS_COLORS.Committed!] },
  ]);

  show(charts.stake, ['Staked', 'Locked', 'Slashed'], [
    {
      label: TOKEN_SYMBOL,
      data: [stats.stake.staked, stats.stake.locked, stats.stake.slashed].map(tokensAsNumber),
      backgroundColor: [ACCENT, STATUS_COLORS.Committed!, STATUS_COLORS.Refuted!],
    },
  ]);

  show(
    charts.models,
    stats.models.map((m) => `Model ${m.modelId}`),
    [{ label: 'Tasks', data: stats.models.map((m) => m.tasks), backgroundColor: ACCENT }],
  );

  const histogram = durationHistogram(stats.latency.finalizedSeconds);
  show(
    charts.latency,
    histogram.counts.map((_, i) => `${formatDuration(histogram.edges[i]!, true)}–${formatDuration(histogram.edges[i + 1]!, true)}`),
    [{ label: 'Finalized tasks', data: histogram.counts, backgroundColor: STATUS_COLORS.Finalized }],
  );

  const earners = providers.filter((p) => p.tasksClaimed > 0);
  show(
    charts.earnings,
    earners.map((p) => shortAddress(p.address)),
    [
      { label: `Earned (${TOKEN_SYMBOL})`, data: earners.map((p) => tokensAsNumber(p.earned)), backgroundColor: STATUS_COLORS.Finalized },
      { label: `Slashed (${TOKEN_SYMBOL})`, data: earners.map((p) => tokensAsNumber(p.slashed)), backgroundColor: STATUS_COLORS.Refuted },
    ],
  );
}
