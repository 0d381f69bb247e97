/**
 * Child processes of the local stack: started in their own process group (detached) so that stopping one
 * also stops whatever it spawned, stopped by PID (SIGTERM, then SIGKILL after a grace period), never by name.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ChildHandle {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  alive(): boolean;
  /** The last lines of its output, for error messages. */
  tail(): string;
  /** Calls `listener` with every further line of its stdout and stderr. */
  onLine(listener: (line: string) => void): void;
  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** A signal to the whole group, no waiting (SIGKILL for crash tests). */
  kill(signal?: NodeJS.Signals): void;
}

export class ChildStartError extends Error {
  override name = 'ChildStartError';
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone already */
  }
}

export function spawnChild(name: string, command: string, args: string[], options: SpawnOptions = {}): ChildHandle {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new ChildStartError(`${name}: could not start ${command}`);
  const pid = child.pid;
  const lines: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  let partial = '';
  const onData = (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      for (const l of listeners) l(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let dead = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      dead = true;
      resolve(code);
    }),
  );
  return {
    name,
    pid,
    child,
    exited,
    alive: () => !dead,
    tail: () => lines.slice(-30).join('\n'),
    onLine: (listener) => void listeners.push(listener),
    kill(signal = 'SIGKILL') {
      if (!dead) signalGroup(pid, signal);
    },
    async stop(graceMs = 5_000) {
      if (dead) {
        // The leader may be gone while something it spawned still runs in its group.
        signalGroup(pid, 'SIGKILL');
        return;
      }
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup(pid, 'SIGKILL');
    },
  };
}

/** Waits until `ready(line)` holds for a line of the child's output, or fails when it exits or time runs out. */
export function waitForLine(handle: ChildHandle, ready: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ChildStartError(`${handle.name} (pid ${handle.pid}) not ready within ${timeoutMs / 1000} s:\n${handle.tail()}`)), timeoutMs);
    handle.onLine((line) => {
      if (ready(line)) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void handle.exited.then((code) => {
      clearTimeout(timer);
      reject(new ChildStartError(`${handle.name} (pid ${handle.pid}) exited with ${code} before it was ready:\n${handle.tail()}`));
    });
  });
}

/** Whether a process with this PID exists (tests check that stop() left none behind). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
