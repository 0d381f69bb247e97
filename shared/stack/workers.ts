/**
 * The worker processes of the local stack (worker-image/src/main.ts under node --import tsx, with the
 * `import` condition the ESM-only IPFS packages need, one process
 * group each): each with its own key, queue, cache folder and health file. A handle can be killed (SIGKILL
 * mid-job for crash tests) and restarted with the same configuration.
 */
import { join, resolve } from 'node:path';
import { spawnChild, waitForLine, type ChildHandle } from './processes';
import type { WorkerName } from './queues';

const ROOT = resolve(__dirname, '..', '..');
const WORKER_MAIN = join(ROOT, 'worker-image', 'src', 'main.ts');

export interface WorkerSpec {
  name: WorkerName;
  role: 'provider' | 'challenger';
  /** 0x private key. */
  key: string;
  address: string;
  queueUrl: string;
  /** Commit wrong outputs (the cheating provider). */
  forge?: boolean;
  /** Extra OPML_WORKER_* variables (tests: pause points, visibility). */
  env?: Record<string, string>;
}

export interface WorkerHandle {
  readonly spec: WorkerSpec;
  /** The current process's PID (changes on restart). */
  readonly pid: number;
  readonly process: ChildHandle;
  /** Every JSON line the worker logged, across restarts. */
  readonly logs: Array<Record<string, unknown>>;
  kill(signal?: NodeJS.Signals): void;
  /** Stops the current process (if running) and starts a new one with the same configuration. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startWorker(
  spec: WorkerSpec,
  serviceEnv: Record<string, string>,
  stateDir: string,
  options: { onLog?: (worker: WorkerName, line: Record<string, unknown>) => void; readyTimeoutMs?: number } = {},
): Promise<WorkerHandle> {
  const logs: Array<Record<string, unknown>> = [];
  const env = {
    ...process.env,
    ...serviceEnv,
    OPML_WORKER_KEY: spec.key,
    OPML_WORKER_ROLE: spec.role,
    OPML_WORKER_QUEUE_URL: spec.queueUrl,
    OPML_WORKER_CACHE_DIR: join(stateDir, spec.name, 'cache'),
    OPML_WORKER_HEALTH_FILE: join(stateDir, spec.name, 'alive'),
    OPML_WORKER_WAIT_SECONDS: '1',
    OPML_WORKER_FORGE: spec.forge ? '1' : '0',
    ...spec.env,
  };
  const launch = async (): Promise<ChildHandle> => {
    const proc = spawnChild(`worker ${spec.name}`, process.execPath, ['--conditions=import', '--import', 'tsx', WORKER_MAIN], { cwd: ROOT, env });
    proc.onLine((line) => {
      if (!line.startsWith('{')) return;
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        options.onLog?.(spec.name, parsed);
      } catch {
        /* not a log line */
      }
    });
    try {
      await waitForLine(proc, (l) => l.includes('"event":"ready"'), options.readyTimeoutMs ?? 60_000);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return proc;
  };
  let current = await launch();
  return {
    spec,
    logs,
    get pid() {
      return current.pid;
    },
    get process() {
      return current;
    },
    kill: (signal = 'SIGKILL') => current.kill(signal),
    async restart() {
      await current.stop();
      current = await launch();
    },
    stop: () => current.stop(),
  };
}
