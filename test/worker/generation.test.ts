/**
 * Generation tasks served by workers: a LLaMA generation package registered like any model, a
 * task of `steps` steps whose input is the initial state. An honest provider commits the
 * continuation `generate()` gives; a forging provider (OPML_WORKER_FORGE=1) commits another middle
 * token (and the model's own continuation of it) and two workers play the game over the unrolled
 * graph until it is refuted at that token; a plain model
 * asked for several steps is not claimed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFiles } from '../../shared/dnn/files';
import type { DnnModel } from '../../shared/dnn/model';
import { tensorBytes, tensorFromBytes } from '../../shared/dnn/tensor';
import { generate, generatedTokens, generationSteps, initialState } from '../../shared/llm/generate';
import { LlamaCheckpoint } from '../../shared/llm/hf/checkpoint';
import { llamaConfigJson } from '../../shared/llm/hf/config';
import { writeLlamaCheckpoint } from '../../shared/llm/hf/writeCheckpoint';
import { importLlamaGeneration } from '../../shared/llm/lower';
import { randomLlamaWeights } from '../../shared/llm/shapes';
import { TASK_STATUS } from '../../shared/market/tasks';
import { parseWorkerEnv } from '../../worker-image/src/config';
import { startWorker, type RunningWorker } from '../../worker-image/src/worker';
import { countEvents, gameDispatcher, startWorkerMarket, waitFor, type WorkerMarket } from './fixture';

jest.setTimeout(300_000);

const shape = { hiddenSize: 32, intermediateSize: 48, layers: 1, heads: 2, kvHeads: 1, vocabSize: 40, maxPositions: 16, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false };
const PROMPT = [5, 9, 2];
const DECODING = { maxTokens: 3, temperature: 0.7, topK: 10, seed: 99 };

let w: WorkerMarket;
let modelDir: string;
let model: DnnModel;
let genModelId: bigint;
const workers: RunningWorker[] = [];
const dirs: string[] = [];
const lines: Array<Record<string, unknown> & { worker: string }> = [];

async function start(who: 'honest' | 'forger' | 'challenger', queueUrl: string, extra: Record<string, string> = {}): Promise<RunningWorker> {
  const dir = await mkdtemp(join(tmpdir(), `worker-gen-${who}-`));
  dirs.push(dir);
  const worker = await startWorker(parseWorkerEnv(w.workerEnv(who, queueUrl, dir, extra)), (event, fields = {}) => lines.push({ worker: who, event, ...fields }));
  workers.push(worker);
  return worker;
}

beforeAll(async () => {
  modelDir = mkdtempSync(join(tmpdir(), 'opml-gen-worker-'));
  writeLlamaCheckpoint(join(modelDir, 'ckpt'), llamaConfigJson({ ...shape, torchDtype: 'float32' }), randomLlamaWeights(31, 0.2), { dtype: 'F32' });
  const ckpt = LlamaCheckpoint.open(join(modelDir, 'ckpt'));
  importLlamaGeneration(ckpt, join(modelDir, 'gen'), { name: 'tiny-gen', context: 8, calibration: [[1, 7, 13, 19, 25, 31, 37, 3]] });
  ckpt.close();
  model = readModelFiles(join(modelDir, 'gen'));
  w = await startWorkerMarket();
  genModelId = (await w.registerPackage(model)).modelId;
});

afterAll(async () => {
  for (const worker of workers) worker.stop();
  await Promise.all(workers.map((x) => x.done));
  await w?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
  rmSync(modelDir, { recursive: true, force: true });
});

const steps = () => BigInt(generationSteps(PROMPT.length, DECODING.maxTokens));

it('an honest provider commits the continuation generate() gives, as the final state', async () => {
  const queue = await w.queue('gen-honest');
  await start('honest', queue.url);
  const t = await w.createTaskWithInput(tensorBytes(initialState(model, PROMPT, DECODING)), { model: genModelId, steps: steps() });
  const taskId = t.taskId.toString();
  await w.send(queue.url, { kind: 'infer', taskId, modelId: genModelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  await waitFor('the commit', async () => lines.find((l) => l.worker === 'honest' && l.taskId === taskId && l.state === 'committed'), 120_000);
  const [committed] = await w.m.market.queryFilter(w.m.market.filters.TaskCommitted(t.taskId), 0);
  const out = tensorFromBytes('int32', [...model.tensorSpecs.get(model.spec.output)!.shape], Uint8Array.from(Buffer.from((committed.args.output as string).slice(2), 'hex')));
  expect(generatedTokens(out)).toEqual(generate(model, PROMPT, DECODING).tokens);
});

it('a plain model asked for several steps is not claimed', async () => {
  const queue = await w.queue('gen-plain');
  await start('honest', queue.url);
  const digit = new Uint8Array(784);
  const t = await w.createTaskWithInput(digit, { steps: 3n });
  const taskId = t.taskId.toString();
  await w.send(queue.url, { kind: 'infer', taskId, modelId: w.modelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  const skipped = await waitFor('the refusal', async () => lines.find((l) => l.taskId === taskId && l.state === 'skipped'), 60_000);
  expect(skipped.reason).toMatch(/asks 3 steps of model mnist-mlp, which is not a generation package/);
  expect(await countEvents(w, 'TaskClaimed', t.taskId)).toBe(0);
});

it('refutes a forged middle token through the game over the unrolled graph, played by two workers', async () => {
  const providerQueue = await w.queue('gen-forger');
  const challengerQueue = await w.queue('gen-challenger');
  await start('forger', providerQueue.url, { OPML_WORKER_FORGE: '1' });
  await start('challenger', challengerQueue.url);
  const t = await w.createTaskWithInput(tensorBytes(initialState(model, PROMPT, DECODING)), { model: genModelId, steps: steps() });
  const taskId = t.taskId.toString();
  await w.send(providerQueue.url, { kind: 'infer', taskId, modelId: genModelId.toString(), inputCid: t.inputCid, eventId: t.eventId });
  await waitFor('the forged commit', async () => lines.find((l) => l.worker === 'forger' && l.taskId === taskId && l.state === 'committed'), 120_000);
  const [committed] = await w.m.market.queryFilter(w.m.market.filters.TaskCommitted(t.taskId), 0);
  await w.send(challengerQueue.url, { kind: 'verify', taskId, modelId: genModelId.toString(), provider: w.wallet('forger').address, eventId: `${committed.transactionHash}:${committed.index}` });
  const challenged = await waitFor('the challenge', async () => lines.find((l) => l.worker === 'challenger' && l.taskId === taskId && ['challenged', 'agreed', 'failed'].includes(l.state as string)), 120_000);
  expect(challenged.state).toBe('challenged');
  const gameId = BigInt(challenged.gameId as string);
  const game = w.m.dispute!.contract;
  const { dispatch } = gameDispatcher(w, taskId, gameId, [providerQueue.url, challengerQueue.url], committed.blockNumber);
  const status = await waitFor(
    'the game to end',
    async () => {
      await dispatch();
      const s = TASK_STATUS[Number((await w.m.market.getTask(t.taskId)).status)];
      return s === 'Committed' ? undefined : s;
    },
    200_000,
  );
  expect(status).toBe('Refuted');
  const g = await game.getGame(gameId);
  expect(Number(g.outcome)).toBe(2);
  expect(g.steps).toBe(steps());
  // The forged token is the middle generated one (step L - 1 + 1 of 5 steps), the rest computed from it:
  // the game ends at that step's Sample node, the last node of step 3.
  const n = BigInt(model.spec.nodes.length);
  expect(g.node).toBe(4n * n);
  expect(g.node).toBeLessThan(g.nodeCount);
  expect(lines.filter((l) => l.state === 'failed')).toEqual([]);
});
