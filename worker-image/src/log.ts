/** One JSON object per line on stdout: what a log collector (CloudWatch, docker logs) indexes. */
import type { JobKind } from '../../shared/schemas/jobs';

export type JobState =
  | 'received'
  | 'invalid'
  | 'claimed'
  | 'computed'
  | 'committed'
  | 'challenged'
  | 'agreed'
  | 'moved'
  | 'finalized'
  | 'skipped'
  | 'deferred'
  | 'done'
  | 'failed';

export interface JobLogLine {
  kind: JobKind | 'unknown';
  taskId?: string;
  state: JobState;
  /** Milliseconds since the job was received. */
  ms: number;
  messageId?: string;
  receiveCount?: number;
  [detail: string]: unknown;
}

export type Logger = (event: string, fields?: Record<string, unknown>) => void;

export const stdoutLogger: Logger = (event, fields = {}) => {
  process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
};

export function logJob(log: Logger, line: JobLogLine): void {
  log('job', line as unknown as Record<string, unknown>);
}
