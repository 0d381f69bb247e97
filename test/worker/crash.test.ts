/**
 * The worker as a separate process (npx tsx worker-image/src/main.ts): SIGKILLed right after its
 * claim is mined, restarted, the redelivered job completes the task with exactly one claim and one
 * commit; SIGTERM stops it cleanly with exit code 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { receiveMessages } from '../../shared/aws/sqs';
import { TASK_STATUS } from '../../shared/market/tasks';
import { countEvents, spawnWorkerProcess, startWorkerMarket, waitFor, type WorkerMarket, type WorkerProcess } from './fixture';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '..', '..');
const VISIBILITY = 4;

function spawnWorker(env: Record<string, string>): WorkerProcess {
  // One process (node with tsx's loader, not the tsx CLI, which would run the worker in a child a SIGKILL misses).
  return spawnWorkerProcess(['--conditions=import', '--import', 'tsx', join(ROOT, 'worker-image', 'src', 'main.ts')], env, ROOT);
}

let w: WorkerMarket;
let cacheDir: string;
const running: WorkerProcess[] = [];

beforeAll(async () => {
  w = await startWorkerMarket();
  cacheDir = await mkdtemp(join(tmpdir(), 'worker-cache-'));
});

afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.exited));
  await w?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

it('finishes a job redelivered after a SIGKILL with one claim and one commit, then exits 0 on SIGTERM when idle', async () => {
  const queue = await w.queue('provider-crash', VISIBILITY);
  const env = w.workerEnv('honest', queue.url, cacheDir, { OPML_WORKER_VISIBILITY_SECONDS: String(VISIBILITY) });
  const t = await w.createTask(7);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });

  const first = spawnWorker({ ...env, OPML_WORKER_TEST_PAUSE_AFTER: 'claim' });
  running.push(first);
  await waitFor('the claim', async () => first.lines.find((l) => l.event === 'job' && l.state === 'claimed'), 60_000);
  // Frozen after the claim with the job still in flight: the heartbeat keeps it hidden until the process dies.
  await waitFor('the test pause', async () => first.lines.find((l) => l.testPause === 'claim'));
  first.child.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Claimed');

  const second = spawnWorker(env);
  running.push(second);
  const ready = await waitFor('the ready line', async () => second.lines.find((l) => l.event === 'ready'));
  expect(ready).toMatchObject({ role: 'provider', address: w.wallet('honest').address, queueUrl: queue.url });
  const end = await waitFor('the redelivered job', async () => second.lines.find((l) => l.event === 'job' && l.state === 'committed'), 60_000);
  expect(end).toMatchObject({ kind: 'infer', taskId: t.taskId.toString() });
  // The same message, redelivered (local-aws-sqs does not report ApproximateReceiveCount, so compare ids).
  expect(end.messageId).toBe(first.lines.find((l) => l.state === 'claimed')!.messageId);
  // The restarted worker found the task claimed by itself: no second claim.
  expect(second.lines.filter((l) => l.state === 'claimed')).toHaveLength(0);
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Committed');
  expect(await countEvents(w, 'TaskClaimed', t.taskId)).toBe(1);
  expect(await countEvents(w, 'TaskCommitted', t.taskId)).toBe(1);

  second.child.kill('SIGTERM');
  expect(await second.exited).toBe(0);
  expect(second.lines.some((l) => l.event === 'stopping' && l.signal === 'SIGTERM')).toBe(true);
  expect(second.lines.some((l) => l.event === 'stopped')).toBe(true);
});

it('on SIGTERM finishes the job in hand, acknowledges it and exits 0', async () => {
  const queue = await w.queue('provider-sigterm', VISIBILITY);
  const env = w.workerEnv('honest', queue.url, cacheDir, { OPML_WORKER_VISIBILITY_SECONDS: String(VISIBILITY) });
  const t = await w.createTask(8);
  const worker = spawnWorker({ ...env, OPML_WORKER_TEST_PAUSE_AFTER: 'commit', OPML_WORKER_TEST_PAUSE_MS: '1500' });
  running.push(worker);
  await waitFor('the ready line', async () => worker.lines.find((l) => l.event === 'ready'));
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  await waitFor('the pause after the commit', async () => worker.lines.find((l) => l.testPause === 'commit'), 60_000);
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  const events = worker.lines.map((l) => (l.event === 'job' ? `job:${l.state}` : l.event));
  expect(events.indexOf('stopping')).toBeLessThan(events.indexOf('job:committed'));
  expect(events.slice(-1)).toEqual(['stopped']);
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Committed');
  // Acknowledged before exiting: nothing comes back after the visibility timeout.
  await new Promise((r) => setTimeout(r, (VISIBILITY + 1) * 1000));
  expect(await receiveMessages(w.clients.sqs, queue.url, { waitSeconds: 1 })).toHaveLength(0);
});
