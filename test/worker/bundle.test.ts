/**
 * The worker as the images run it: the esbuild bundle alone (no node_modules, no sources) in the
 * image's layout, with build/wasm beside it, serving an infer job with the wasm backend.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TASK_STATUS } from '../../shared/market/tasks';
import { buildWorkerBundle } from '../../worker-image/build';
import { spawnWorkerProcess, startWorkerMarket, waitFor, type WorkerMarket, type WorkerProcess } from './fixture';

jest.setTimeout(120_000);

let w: WorkerMarket;
let app: string;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  w = await startWorkerMarket();
  app = await mkdtemp(join(tmpdir(), 'worker-app-'));
});

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await w?.stop();
  if (app) await rm(app, { recursive: true, force: true });
});

it('runs from the bundle alone and commits with the wasm backend', async () => {
  const bundle = await buildWorkerBundle(join(app, 'worker-image', 'dist', 'bundle', 'main.js'));
  await mkdir(join(app, 'build', 'wasm'), { recursive: true });
  await copyFile(resolve(__dirname, '..', '..', 'build', 'wasm', 'dnn-kernels.wasm'), join(app, 'build', 'wasm', 'dnn-kernels.wasm'));
  const queue = await w.queue('provider-bundle');
  worker = spawnWorkerProcess([bundle], w.workerEnv('honest', queue.url, join(app, 'cache'), { OPML_WORKER_BACKEND: 'wasm' }), app);
  const ready = await waitFor('the ready line', async () => worker!.lines.find((l) => l.event === 'ready'), 60_000);
  expect(ready).toMatchObject({ event: 'ready', role: 'provider', backend: 'wasm', forge: false });

  const t = await w.createTask(9);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  const end = await waitFor('the commit', async () => worker!.lines.find((l) => l.event === 'job' && ['committed', 'failed'].includes(l.state as string)), 60_000);
  expect(end.state).toBe('committed');
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Committed');

  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
});
