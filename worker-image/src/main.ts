/**
 * The worker process: `npx tsx worker-image/src/main.ts` (or `node worker.js` from the image's bundle).
 * Prints `{"event":"ready",...}` once it polls its queue; SIGTERM or SIGINT stops receiving, lets the
 * job in hand finish and exits 0.
 */
import { parseWorkerEnv } from './config';
import { stdoutLogger } from './log';
import { startWorker } from './worker';

async function main(): Promise<void> {
  const worker = await startWorker(parseWorkerEnv(process.env));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stdoutLogger('stopping', { signal });
      worker.stop();
    });
  }
  await worker.done;
  process.exit(0);
}

main().catch((e: Error) => {
  stdoutLogger('fatal', { error: e.message, errorName: e.name });
  process.exit(1);
});
