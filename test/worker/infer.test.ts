/**
 * A provider worker in this process against the real local stack: an infer job claims and commits
 * the right output, a redelivered job changes nothing, finalize waits for the window, a poison
 * message ends in the dead-letter queue. Also measures the worker's overhead over bare inference.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendMessages, receiveMessages } from '../../shared/aws/sqs';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { TASK_STATUS } from '../../shared/market/tasks';
import { parseWorkerEnv } from '../../worker-image/src/config';
import { FinalizeNotYetError, runFinalize } from '../../worker-image/src/jobs/finalize';
import { measureInferOverhead } from '../../worker-image/src/overhead';
import { registerModel } from '../../shared/models/registration';
import { startWorker, type RunningWorker } from '../../worker-image/src/worker';
import { ACCOUNTS, countEvents, startWorkerMarket, waitFor, type WorkerMarket } from './fixture';

jest.setTimeout(120_000);

let w: WorkerMarket;
let worker: RunningWorker;
let cacheDir: string;
let queue: { url: string; dlqUrl: string };
const lines: Array<Record<string, unknown>> = [];

const jobLines = (taskId: bigint) => lines.filter((l) => l.event === 'job' && l.taskId === taskId.toString());
const finalState = (taskId: bigint, kind: string) =>
  waitFor(`${kind} job of task ${taskId} to end`, async () => {
    const end = jobLines(taskId).find((l) => l.kind === kind && ['committed', 'skipped', 'finalized', 'failed', 'deferred'].includes(l.state as string));
    return end;
  });

beforeAll(async () => {
  w = await startWorkerMarket();
  queue = await w.queue('provider-honest');
  cacheDir = await mkdtemp(join(tmpdir(), 'worker-cache-'));
  worker = await startWorker(parseWorkerEnv(w.workerEnv('honest', queue.url, cacheDir)), (event, fields = {}) => lines.push({ event, ...fields }));
  await waitFor('ready line', async () => lines.find((l) => l.event === 'ready'));
});

afterAll(async () => {
  worker?.stop();
  await worker?.done;
  await w?.stop();
  if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
});

it('claims and commits the output the model gives for the task input', async () => {
  const t = await w.createTask(0);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  const end = await finalState(t.taskId, 'infer');
  expect(end.state).toBe('committed');

  const task = await w.m.market.getTask(t.taskId);
  expect(TASK_STATUS[Number(task.status)]).toBe('Committed');
  expect(task.provider).toBe(w.wallet('honest').address);
  const [committed] = await w.m.market.queryFilter(w.m.market.filters.TaskCommitted(t.taskId), 0);
  const expected = dnnSlotTensors(w.prepared.model, t.input)[w.prepared.graph.outputSlot];
  expect(committed.args.output).toBe('0x' + Buffer.from(expected).toString('hex'));
  expect(jobLines(t.taskId).map((l) => l.state)).toEqual(['received', 'claimed', 'computed', 'committed']);

  // The same job again (a redelivery, or the dispatcher re-sending it): read from chain, no transaction.
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId.replace(/:\d+$/, ':99') });
  await waitFor('second infer job', async () => (jobLines(t.taskId).filter((l) => l.state === 'skipped').length === 1 ? true : undefined));
  expect(await countEvents(w, 'TaskClaimed', t.taskId)).toBe(1);
  expect(await countEvents(w, 'TaskCommitted', t.taskId)).toBe(1);

  // finalize: refused while the window is open (the loop then hides the job until windowEnd), done after it.
  const finalizeJob = { kind: 'finalize' as const, taskId: t.taskId.toString(), windowEnd: task.deadline.toString(), eventId: committed.transactionHash + ':' + committed.index };
  await expect(runFinalize(worker.context, finalizeJob)).rejects.toBeInstanceOf(FinalizeNotYetError);
  await w.chain.provider.send('evm_increaseTime', [601]);
  await w.chain.provider.send('evm_mine', []);
  await w.send(queue.url, finalizeJob);
  await waitFor('finalized', async () => jobLines(t.taskId).find((l) => l.kind === 'finalize' && l.state === 'finalized'));
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Finalized');
});

it('does not claim a task whose collateral or deadline would make the claim a trap (claim policy, finding 3)', async () => {
  // Defaults: collateral at most 20× the bounty; 30 s of compute plus 60 s of margin before the deadline.
  const token = 10n ** 18n;
  const greedy = await w.createTask(1, 600n, undefined, { bounty: token, collateral: 100n * token });
  const rushed = await w.createTask(2, 600n, undefined, { deadlineSeconds: 75n });
  for (const t of [greedy, rushed]) await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  const [g, r] = [await finalState(greedy.taskId, 'infer'), await finalState(rushed.taskId, 'infer')];
  expect(g).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/not claimed: collateral .* over 20× the bounty/) });
  expect(r).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/not claimed: the deadline leaves \d+ s, under the 90 s/) });
  for (const t of [greedy, rushed]) expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Open');
});

it('refuses to work for a model whose registered commitment its files do not give', async () => {
  const spec = { ...w.prepared.spec, graphSpecHash: '0x' + '11'.repeat(32) };
  const { modelId } = await registerModel(w.m.registry, w.chain.signers[ACCOUNTS.modelOwner], spec);
  const t = await w.createTask(20, 600n, modelId);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  const end = await finalState(t.taskId, 'infer');
  expect(end).toMatchObject({ state: 'failed', errorName: 'ModelCommitmentMismatch' });
  expect(TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)]).toBe('Open');
});

it('leaves a poison message to the dead-letter queue and keeps serving', async () => {
  await sendMessages(w.clients.sqs, queue.url, [{ body: '{"kind":"infer","taskId":"x"}', groupId: 'poison', deduplicationId: 'poison-1' }]);
  const dead = await waitFor('poison message in the DLQ', async () =>
    (await receiveMessages(w.clients.sqs, queue.dlqUrl, { waitSeconds: 1 })).find((m) => m.body === '{"kind":"infer","taskId":"x"}'),
  );
  expect(dead.groupId).toBe('poison');
  const invalid = lines.filter((l) => l.state === 'invalid');
  expect(invalid.length).toBeGreaterThanOrEqual(1);
  expect(String(invalid[0].reason)).toMatch(/taskId/);

  const t = await w.createTask(1);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  expect((await finalState(t.taskId, 'infer')).state).toBe('committed');
});

it('survives an SQS outage and an S3 restart: it backs off, reconnects and serves the next job', async () => {
  const outage = w.aws.restartSqs(3_000);
  await waitFor('the worker to see the outage', async () => lines.find((l) => l.event === 'queue-unavailable'));
  await outage;
  await w.aws.restartS3();
  const t = await w.createTask(5);
  await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  expect((await finalState(t.taskId, 'infer')).state).toBe('committed');
});

it("measures the worker's overhead over bare native inference", async () => {
  const samples = [];
  for (let i = 10; i < 13; i++) {
    const t = await w.createTask(i);
    await w.send(queue.url, { kind: 'infer', taskId: t.taskId.toString(), modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
    const end = await finalState(t.taskId, 'infer');
    expect(end.state).toBe('committed');
    samples.push(measureInferOverhead(w.prepared, t.input, { jobMs: end.ms as number, inferMs: end.inferMs as number, computeMs: end.computeMs as number }));
  }
  const report = { samples };
  process.stdout.write(`worker overhead: ${JSON.stringify(report)}\n`);
  for (const s of samples) {
    expect(s.nativeMs).toBeGreaterThan(0);
    expect(s.jobMs).toBeGreaterThanOrEqual(s.computeMs);
  }
});
