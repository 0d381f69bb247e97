/// <reference lib="dom" />
/**
 * The dashboard's numbers and tables, written with textContent only (addresses and ids come from the
 * chain, never as markup). Every cell carries a data-label so the phone layout can show each row as a
 * card with its column names, and a data-testid so tests read values, not positions.
 */
import type { ProviderView, StatsResponse, TaskView } from '../../shared/api/schemas';
import { formatAge, formatDuration, formatRate, formatTokens, shortAddress, TOKEN_SYMBOL } from './format';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { text?: string; className?: string; testId?: string; label?: string; title?: string } = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.text !== undefined) node.textContent = props.text;
  if (props.className) node.className = props.className;
  if (props.testId) node.dataset.testid = props.testId;
  if (props.label) node.dataset.label = props.label;
  if (props.title) node.title = props.title;
  return node;
}

function byTestId(root: ParentNode, testId: string): HTMLElement {
  const node = root.querySelector<HTMLElement>(`[data-testid="${testId}"]`);
  if (!node) throw new Error(`the page has no element with data-testid="${testId}"; rebuild it with npm run build:dashboard`);
  return node;
}

function setText(root: ParentNode, testId: string, text: string): void {
  byTestId(root, testId).textContent = text;
}

/** A headline amount: the number large, the unit small, so "1,234.5 OPML" fits a phone's half-width card. */
function setAmount(root: ParentNode, testId: string, baseUnits: string): void {
  const node = byTestId(root, testId);
  node.title = `${baseUnits} base units`;
  node.replaceChildren(el('span', { text: formatTokens(baseUnits) }), ' ', el('span', { text: TOKEN_SYMBOL, className: 'unit' }));
}

const tokens = (baseUnits: string): string => `${formatTokens(baseUnits)} ${TOKEN_SYMBOL}`;
const sumOf = (values: string[]): string => values.reduce((a, v) => a + BigInt(v), 0n).toString();

export function renderKpis(root: ParentNode, stats: StatsResponse): void {
  const count = (status: string) => stats.tasksByStatus[status] ?? 0;
  const total = Object.values(stats.tasksByStatus).reduce((a, n) => a + n, 0);
  const inFlight = count('Open') + count('Claimed') + count('Committed');
  setText(root, 'kpi-tasks', String(total));
  setText(root, 'kpi-tasks-in-flight', `${inFlight} in flight`);
  setText(root, 'kpi-finalized', String(count('Finalized')));
  setText(root, 'kpi-refuted', String(count('Refuted')));
  setText(root, 'kpi-expired', `${count('Expired')} expired`);
  setText(root, 'kpi-disputes', String(stats.disputes.total));
  setText(root, 'kpi-challenger-won', String(stats.disputes.challengerWon));
  setText(root, 'kpi-provider-won', String(stats.disputes.providerWon));
  setText(root, 'kpi-disputes-pending', String(stats.disputes.pending));
  setAmount(root, 'kpi-staked', stats.stake.staked);
  setText(root, 'kpi-locked', `${tokens(stats.stake.locked)} locked`);
  setAmount(root, 'kpi-slashed', stats.stake.slashed);
  const paidOut = sumOf(stats.daily.map((d) => d.paidOut));
  setAmount(root, 'kpi-paid-out', paidOut);
  setText(root, 'kpi-volume', `${tokens(sumOf(stats.daily.map((d) => d.bountyVolume)))} in bounties`);
  const latencies = [...stats.latency.finalizedSeconds].sort((a, b) => a - b);
  const median = latencies.length ? (latencies[(latencies.length - 1) >> 1]! + latencies[latencies.length >> 1]!) / 2 : null;
  setText(root, 'kpi-latency-median', median === null ? '–' : formatDuration(median));
}

function emptyRow(columns: number, text: string): HTMLTableRowElement {
  const row = el('tr', { className: 'empty' });
  const cell = el('td', { text });
  cell.colSpan = columns;
  row.append(cell);
  return row;
}

export function renderLeaderboard(body: HTMLTableSectionElement, providers: ProviderView[]): void {
  const rows = providers.map((p, i) => {
    const row = el('tr', { testId: 'provider-row' });
    row.dataset.address = p.address.toLowerCase();
    row.append(
      el('td', { text: String(i + 1), label: 'Rank', className: 'num' }),
      el('td', { text: shortAddress(p.address), label: 'Provider', title: p.address, className: 'mono', testId: 'provider-address' }),
      el('td', { text: formatTokens(p.staked), label: `Stake (${TOKEN_SYMBOL})`, className: 'num', testId: 'provider-staked', title: p.staked }),
      el('td', { text: formatTokens(p.earned), label: `Earned (${TOKEN_SYMBOL})`, className: 'num', testId: 'provider-earned', title: p.earned }),
      el('td', { text: `${p.tasksFinalized}/${p.tasksClaimed}`, label: 'Finalized/claimed', className: 'num', testId: 'provider-tasks' }),
      el('td', { text: formatRate(p.tasksFinalized, p.tasksClaimed), label: 'Success', className: 'num', testId: 'provider-success' }),
      el('td', { text: formatTokens(p.slashed), label: `Slashed (${TOKEN_SYMBOL})`, className: `num${p.slashed !== '0' ? ' bad' : ''}`, testId: 'provider-slashed', title: p.slashed }),
    );
    return row;
  });
  body.replaceChildren(...(rows.length ? rows : [emptyRow(7, 'No providers have staked yet.')]));
}

const DISPUTE_TEXT: Record<string, string> = { Pending: 'Disputed: in play', ChallengerWon: 'Challenger won', ProviderWon: 'Provider won' };

/** The task's dispute state as one phrase: its latest challenge decides it. */
export function disputeStateOf(task: TaskView): string {
  const last = task.challenges.at(-1);
  if (!last) return 'None';
  const text = DISPUTE_TEXT[last.status] ?? last.status;
  return task.challenges.length > 1 ? `${text} (${task.challenges.length} challenges)` : text;
}

export function renderRecentTasks(body: HTMLTableSectionElement, tasks: TaskView[], nowSeconds: number): void {
  const rows = tasks.map((t) => {
    const row = el('tr', { testId: 'task-row' });
    row.dataset.taskId = t.taskId;
    const status = el('span', { text: t.status, className: `badge status-${t.status.toLowerCase()}`, testId: 'task-status' });
    const statusCell = el('td', { label: 'Status' });
    statusCell.append(status);
    const dispute = disputeStateOf(t);
    row.append(
      el('td', { text: `#${t.taskId}`, label: 'Task', className: 'num', testId: 'task-id' }),
      el('td', { text: t.modelId ?? '–', label: 'Model', className: 'num' }),
      statusCell,
      el('td', { text: dispute, label: 'Dispute', className: dispute === 'None' ? 'muted' : 'disputed', testId: 'task-dispute' }),
      el('td', { text: t.provider ? shortAddress(t.provider) : '–', label: 'Provider', className: 'mono', title: t.provider ?? '' }),
      el('td', { text: t.bounty ? formatTokens(t.bounty) : '–', label: `Bounty (${TOKEN_SYMBOL})`, className: 'num' }),
      el('td', { text: t.updatedAt !== null ? formatAge(t.updatedAt, nowSeconds) : '–', label: 'Updated', className: 'muted' }),
    );
    return row;
  });
  body.replaceChildren(...(rows.length ? rows : [emptyRow(7, 'No tasks yet.')]));
}
