/**
 * How the CLI speaks: human lines on a terminal, or exactly one JSON object on stdout with --json
 * (errors too, as {"error": {...}}), so scripts never parse prose. Exit codes: 0 done, 1 the
 * operation failed, 2 the command line was wrong.
 */
import { formatUnits, parseUnits } from 'ethers';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** The command line itself is wrong (missing or malformed option, file not found). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Output {
  json: boolean;
  /** The command's result: `data` as JSON, or the human lines (none when a live display already showed it). */
  result(data: unknown, human: string | string[]): void;
  /** Progress for a person; silent in JSON mode (stderr would interleave with the result). */
  note(line: string): void;
}

export function createOutput(json: boolean, stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Output {
  return {
    json,
    result(data, human) {
      if (json) stdout.write(toJson(data) + '\n');
      else if (human.length > 0) stdout.write((Array.isArray(human) ? human.join('\n') : human) + '\n');
    },
    note(line) {
      if (!json) stderr.write(line + '\n');
    },
  };
}

/** JSON with bigints as decimal strings (amounts and ids, as the API writes them). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? '0x' + Buffer.from(v).toString('hex') : v));
}

/** An error as the CLI shows it; the message is the SDK's, which says what to do next. */
export function errorReport(e: unknown): { name: string; message: string; code?: string; status?: number; field?: string; revert?: unknown } {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const x = e as Error & { code?: unknown; status?: unknown; field?: unknown; revert?: unknown; errorName?: unknown; args?: unknown[] };
  const report: ReturnType<typeof errorReport> = { name: e.name, message: e.message };
  if (typeof x.code === 'string') report.code = x.code;
  if (typeof x.status === 'number') report.status = x.status;
  if (typeof x.field === 'string') report.field = x.field;
  if (x.revert) report.revert = x.revert;
  if (typeof x.errorName === 'string') {
    report.revert = { name: x.errorName, args: (x.args ?? []).map(String) };
    report.message = `the contract refused: ${e.message}`;
  }
  return report;
}

export const TOKEN_DECIMALS = 18;

/** "100" or "2.5" tokens → base units. */
export function parseTokens(text: string, what: string): bigint {
  if (!/^\d+(\.\d+)?$/.test(text)) throw new UsageError(`${what} "${text}" is not a number of tokens: write e.g. 100 or 2.5`);
  try {
    return parseUnits(text, TOKEN_DECIMALS);
  } catch {
    throw new UsageError(`${what} "${text}" has more than ${TOKEN_DECIMALS} decimals`);
  }
}

export function formatTokens(units: bigint): string {
  const s = formatUnits(units, TOKEN_DECIMALS);
  return `${s.endsWith('.0') ? s.slice(0, -2) : s} OPML`;
}

export function parseId(text: string, what: string): bigint {
  if (!/^\d+$/.test(text) || BigInt(text) === 0n) throw new UsageError(`${what} "${text}" is not a positive integer id`);
  return BigInt(text);
}

export function parseSeconds(text: string, what: string): bigint {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} "${text}" is not a whole number of seconds`);
  return BigInt(text);
}

export function formatDuration(seconds: bigint): string {
  const s = Number(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${m}m ${r}s` : m > 0 ? `${m}m ${r}s` : `${r}s`;
}

export const short = (address: string): string => `${address.slice(0, 6)}…${address.slice(-4)}`;
