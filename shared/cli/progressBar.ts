/**
 * One live progress line on stderr for long transfers: rewritten in place on a terminal, a line per
 * quarter otherwise (logs stay short), silent with --json.
 */
const WIDTH = 24;

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export class ProgressBar {
  private readonly started = Date.now();
  private lastQuarter = -1;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  update(done: number, total: number | undefined, detail = ''): void {
    if (!this.enabled) return;
    const fraction = total ? Math.min(1, done / total) : 0;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? `${formatBytes(done / seconds)}/s` : '';
    const bar = total ? `${'█'.repeat(Math.round(fraction * WIDTH))}${'░'.repeat(WIDTH - Math.round(fraction * WIDTH))} ${(fraction * 100).toFixed(0).padStart(3)}% ` : '';
    const line = `${this.label} ${bar}${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''} ${rate}${detail ? `  ${detail}` : ''}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
      this.drawn = true;
    } else {
      const quarter = Math.floor(fraction * 4);
      if (quarter !== this.lastQuarter) {
        this.lastQuarter = quarter;
        this.stream.write(line + '\n');
      }
    }
  }

  /** Ends the line (a terminal's cursor moves on; nothing to do otherwise). */
  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
