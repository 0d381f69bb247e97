/** One JSON object per line on stdout: what CloudWatch Logs Insights (and a local tail) can filter on. */
export function logLine(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ at: new Date().toISOString(), event, ...fields }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}
