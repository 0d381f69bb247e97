/**
 * Pure formatting and binning for the dashboard: token amounts arrive as decimal strings of 18-decimal
 * base units (the API never sends floats for money), durations as seconds. Kept free of the DOM so the
 * page and its tests share one definition.
 */

export const TOKEN_DECIMALS = 18;
export const TOKEN_SYMBOL = 'OPML';
const UNIT = 10n ** BigInt(TOKEN_DECIMALS);

const groupThousands = (digits: string): string => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/**
 * "1,234.5678" from non-negative base units, rounded half up to `fractionDigits`, trailing zeros dropped.
 * An amount too small to show is "<0.0001" rather than a misleading "0".
 */
export function formatTokens(baseUnits: string | bigint, fractionDigits = 4): string {
  const value = BigInt(baseUnits);
  const scale = 10n ** BigInt(TOKEN_DECIMALS - fractionDigits);
  const rounded = (value + scale / 2n) / scale;
  if (rounded === 0n && value > 0n) return `<0.${'0'.repeat(fractionDigits - 1)}1`;
  const unitsPerWhole = 10n ** BigInt(fractionDigits);
  const whole = groupThousands((rounded / unitsPerWhole).toString());
  const fraction = (rounded % unitsPerWhole).toString().padStart(fractionDigits, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : whole;
}

/** The amount as a float of whole tokens, for chart axes only (never for displayed totals). */
export function tokensAsNumber(baseUnits: string | bigint): number {
  const value = BigInt(baseUnits);
  return Number(value / UNIT) + Number(value % UNIT) / Number(UNIT);
}

export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/**
 * "45 s", "10 min 1 s", "2 h 5 min", "3 d 4 h": two units at most, enough to compare latencies at a
 * glance; compact ("10m1s") for axis labels.
 */
const DURATION_UNITS: ReadonlyArray<[long: string, short: string, seconds: number]> = [
  ['d', 'd', 86_400],
  ['h', 'h', 3_600],
  ['min', 'm', 60],
  ['s', 's', 1],
];

export function formatDuration(totalSeconds: number, compact = false): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  const first = DURATION_UNITS.findIndex(([, , size]) => rest >= size);
  if (first < 0) return compact ? '0s' : '0 s';
  const parts: string[] = [];
  for (const [long, short, size] of DURATION_UNITS.slice(first, first + 2)) {
    const n = Math.floor(rest / size);
    rest %= size;
    if (n > 0) parts.push(compact ? `${n}${short}` : `${n} ${long}`);
  }
  return parts.join(compact ? '' : ' ');
}

/** Success rate as the leaderboard shows it: finalized over claimed, "–" before the first claim. */
export function formatRate(numerator: number, denominator: number): string {
  return denominator === 0 ? '–' : `${Math.round((100 * numerator) / denominator)}%`;
}

/** Bin widths that read well as durations: 1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 d, ... */
const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200, 86_400];

export interface Histogram {
  /** Bin i covers [edges[i], edges[i + 1]). */
  edges: number[];
  counts: number[];
}

/** About `targetBins` bins of a readable width, starting at the smallest value rounded down to the width. */
export function durationHistogram(values: readonly number[], targetBins = 8): Histogram {
  if (values.length === 0) return { edges: [], counts: [] };
  const min = Math.min(...values);
  const max = Math.max(...values);
  const wanted = Math.max(max - min, 1) / targetBins;
  const step = DURATION_STEPS.find((s) => s >= wanted) ?? Math.ceil(wanted / 86_400) * 86_400;
  const start = Math.floor(min / step) * step;
  const bins = Math.floor((max - start) / step) + 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - start) / step))]!++;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => start + i * step), counts };
}

export function formatTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** "5 s ago", "3 min ago" relative to `nowSeconds`, from a chain timestamp in seconds. */
export function formatAge(timestampSeconds: number, nowSeconds: number): string {
  return `${formatDuration(Math.max(0, nowSeconds - timestampSeconds))} ago`;
}
