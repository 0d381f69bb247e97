/**
 * A forging provider worker (OPML_WORKER_FORGE=1) and a challenger worker, both in this process on
 * their own queues: the challenger's verify job challenges the wrong commitment, and dispute jobs
 * (sent here for every game event, as the dispatcher would) let the two play the real game until
 * the task is refuted and the forger slashed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TASK_STATUS } from '../../shared/market/tasks';
import { parseWorkerEnv } from '../../worker-image/src/config';
import { startWorker, type RunningWorker } from '../../worker-image/src/worker';
import { countEvents, gameDispatcher, startWorkerMarket, waitFor, type WorkerMarket } from './fixture';

jest.setTimeout(120_000);

let w: WorkerMarket;
const workers: RunningWorker[] = [];
const dirs: string[] = [];
const cacheDirOf: Record<string, string> = {};
const lines: Array<Record<string, unknown> & { worker: string }> = [];

async function start(who: 'honest' | 'forger' | 'challenger', queueUrl: string, extra: Record<string, string> = {}): Promise<RunningWorker> {
  const dir = await mkdtemp(join(tmpdir(), `worker-${who}-`));
  dirs.push(dir);
  cacheDirOf[who] = dir;
  const worker = await startWorker(parseWorkerEnv(w.workerEnv(who, queueUrl, dir, extra)), (event, fields = {}) => lines.push({ worker: who, event, ...fields }));
  workers.push(worker);
  return worker;
}

let providerQueue: { url: string };
let challengerQueue: { url: string };

beforeAll(async () => {
  w = await startWorkerMarket();
  providerQueue = await w.queue('provider-forger');
  challengerQueue = await w.queue('challenger');
  await start('challenger', challengerQueue.url);
});

afterAll(async () => {
  for (const worker of workers) worker.stop();
  await Promise.all(workers.map((x) => x.done));
  await w?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

it('agrees with an honest commitment and sends no challenge', async () => {
  const honestQueue = await w.queue('provider-honest');
  await start('honest', honestQueue.url);
  const t = await w.createTask(6);
  const taskId = t.taskId.toString();
  await w.send(honestQueue.url, { kind: 'infer', taskId, modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  await waitFor('the honest commit', async () => lines.find((l) => l.worker === 'honest' && l.taskId === taskId && l.state === 'committed'), 60_000);
  const [committed] = await w.m.market.queryFilter(w.m.market.filters.TaskCommitted(t.taskId), 0);
  await w.send(challengerQueue.url, { kind: 'verify', taskId, modelId: w.modelId.toString(), provider: w.wallet('honest').address, eventId: `${committed.transactionHash}:${committed.index}` });
  const verdict = await waitFor('the verification', async () => lines.find((l) => l.worker === 'challenger' && l.taskId === taskId && ['challenged', 'agreed', 'failed'].includes(l.state as string)), 60_000);
  expect(verdict.state).toBe('agreed');
  expect(await countEvents(w, 'TaskChallenged', t.taskId)).toBe(0);
});

it('refutes a forged commitment through the full game played by two workers', async () => {
  await start('forger', providerQueue.url, { OPML_WORKER_FORGE: '1' });
  expect(lines.some((l) => l.worker === 'forger' && l.event === 'forge-enabled')).toBe(true);

  const t = await w.createTask(3);
  const taskId = t.taskId.toString();
  await w.send(providerQueue.url, { kind: 'infer', taskId, modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  await waitFor('the forged commit', async () => lines.find((l) => l.worker === 'forger' && l.state === 'committed'), 60_000);
  expect(existsSync(join(cacheDirOf.forger, 'slots'))).toBe(true);
  expect(lines.find((l) => l.worker === 'forger' && l.state === 'computed')).toMatchObject({ forged: true });

  const [committed] = await w.m.market.queryFilter(w.m.market.filters.TaskCommitted(t.taskId), 0);
  await w.send(challengerQueue.url, {
    kind: 'verify',
    taskId,
    modelId: w.modelId.toString(),
    provider: w.wallet('forger').address,
    eventId: `${committed.transactionHash}:${committed.index}`,
  });
  // The forger lost its cache: it must recompute and re-apply the same forgery to defend its commitment.
  await rm(join(cacheDirOf.forger, 'slots'), { recursive: true, force: true });
  const challenged = await waitFor('the challenge', async () => lines.find((l) => l.worker === 'challenger' && l.taskId === taskId && ['challenged', 'agreed', 'failed'].includes(l.state as string)), 60_000);
  expect(challenged.state).toBe('challenged');
  const gameId = BigInt(challenged.gameId as string);

  // The dispatcher's part: every event of the game becomes a dispute job for both players.
  const game = w.m.dispute!.contract;
  const { dispatch, seen } = gameDispatcher(w, taskId, gameId, [providerQueue.url, challengerQueue.url], committed.blockNumber);
  const status = await waitFor(
    'the game to end',
    async () => {
      await dispatch();
      const s = TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)];
      return s === 'Committed' ? undefined : s;
    },
    100_000,
  );
  expect(status).toBe('Refuted');
  expect(await countEvents(w, 'TaskRefuted', t.taskId)).toBe(1);
  expect(await countEvents(w, 'TaskCommitted', t.taskId)).toBe(1);
  const g = await game.getGame(gameId);
  expect(Number(g.outcome)).toBe(2); // ChallengerWon
  const moved = lines.filter((l) => l.state === 'moved' && l.taskId === taskId);
  expect(new Set(moved.map((l) => l.worker))).toEqual(new Set(['forger', 'challenger']));
  expect(moved.some((l) => l.phase === 'Step')).toBe(true);
  expect(await w.m.staking.stakeOf(w.wallet('forger').address)).toBeLessThan(500n * 10n ** 18n);
  // The game's end credited the challenger its bond and a reward; its worker withdrew them to its wallet.
  const paid = await waitFor('the challenger to withdraw', async () => lines.find((l) => l.worker === 'challenger' && l.state === 'done' && l.taskId === taskId && typeof l.withdrawn === 'string' && l.withdrawn !== '0'), 60_000);
  const [reward] = await w.m.market.slashPoolOf(t.taskId);
  const bond = (await w.m.market.getChallenge(t.taskId, 0)).bond;
  expect(BigInt(paid.withdrawn as string)).toBe(bond + reward);
  expect(await w.m.market.creditOf(w.wallet('challenger').address)).toBe(0n);
  expect(lines.filter((l) => l.state === 'failed')).toEqual([]);
  process.stdout.write(`dispute: ${moved.length} moves, ${seen.size} game events dispatched\n`);
});
