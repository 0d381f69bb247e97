/**
 * The functions under serverless-offline: `osls offline start --stage local` as a child process with the
 * stack's service env (serverless.yml's local stage reads every value from it), on 127.0.0.1 at free ports.
 * The HTTP API answers on httpPort; the event functions are invoked through the Lambda endpoint.
 */
import { join, resolve } from 'node:path';
import { freePort } from '../chain/anvil';
import { spawnChild, waitForLine, type ChildHandle } from './processes';

export const SERVICE_NAME = 'opml-market';
export const LOCAL_STAGE = 'local';
/** Deployed function names are <service>-<stage>-<function>. */
export const LOCAL_FUNCTION_PREFIX = `${SERVICE_NAME}-${LOCAL_STAGE}-`;

const ROOT = resolve(__dirname, '..', '..');

export interface OfflineFunctions {
  apiUrl: string;
  lambdaUrl: string;
  process: ChildHandle;
  stop(): Promise<void>;
}

export async function startOffline(env: Record<string, string>, options: { timeoutMs?: number; onLine?: (line: string) => void } = {}): Promise<OfflineFunctions> {
  const httpPort = await freePort();
  const lambdaPort = await freePort();
  const args = [
    join(ROOT, 'node_modules', 'osls', 'bin', 'serverless.js'),
    'offline',
    'start',
    '--stage', LOCAL_STAGE,
    '--host', '127.0.0.1',
    '--httpPort', String(httpPort),
    '--lambdaPort', String(lambdaPort),
    // The websocket and ALB servers are unused; their ports must still be free and distinct per stack.
    '--websocketPort', String(await freePort()),
    '--albPort', String(await freePort()),
    '--noTimeout',
  ];
  const proc = spawnChild('serverless-offline', process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off', FORCE_COLOR: '0' },
  });
  if (options.onLine) proc.onLine(options.onLine);
  try {
    await waitForLine(proc, (l) => l.includes('Server ready'), options.timeoutMs ?? 120_000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    apiUrl: `http://127.0.0.1:${httpPort}`,
    lambdaUrl: `http://127.0.0.1:${lambdaPort}`,
    process: proc,
    stop: () => proc.stop(),
  };
}
