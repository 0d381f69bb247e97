/**
 * The marketplace's figures on the local stack (shared/stack: anvil with a block a second, s3rver,
 * local SQS, embedded IPFS, the functions under serverless-offline, three worker processes, all honest
 * here so every task runs the happy path):
 *
 *   npm run bench:api [-- --tasks N] [-- --fast]
 *
 * - accepted/s: signed createTask transactions POSTed to /tasks?wait=false, 8 in flight, from the first
 *   request to the last 202 (the API checks each against the chain with eth_call before broadcasting);
 * - end-to-end latency: from a task's 202 to its Finalized status on chain, with the market's shortest
 *   challenge window (60 s of a chain that makes a block a second);
 * - indexer lag: for every status change of every task, the time from when the chain shows it to when
 *   the materialized view (GET /tasks) shows it: confirmation depth, indexer schedule, queue, consumer;
 * - the worker's overhead over bare native inference, from the infer jobs' own timings.
 *
 * Progress on stderr; one JSON object on the last line of stdout.
 */
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ZeroAddress } from 'ethers';
import { mnistTest } from '../shared/dnn/datasets/mnist';
import { readModelFiles } from '../shared/dnn/files';
import { kernelImageFromElf, KERNEL_ELF_PATH } from '../shared/dnn/guest/kernelImage';
import { quantizeInput } from '../shared/dnn/io';
import { tensorBytes } from '../shared/dnn/tensor';
import { mine, TASK_STATUS } from '../shared/market/tasks';
import { prepareModelRegistration } from '../shared/models/registration';
import { OpmlApiClient } from '../shared/sdk/apiClient';
import { connectOpml } from '../shared/sdk/context';
import { registerModelPackage } from '../shared/sdk/models';
import { startLocalStack, type LocalStack } from '../shared/stack/localStack';
import { measureInferOverhead } from '../worker-image/src/overhead';
import { readFileSync } from 'node:fs';

const TOKEN = 10n ** 18n;
const CHALLENGE_WINDOW = 60n;
const IN_FLIGHT = 8;
const STATUSES = ['Claimed', 'Committed', 'Finalized'] as const;

const argv = process.argv.slice(2);
const taskCount = Number(argv.includes('--tasks') ? argv[argv.indexOf('--tasks') + 1] : process.env.BENCH_TASKS ?? 24);
if (!Number.isInteger(taskCount) || taskCount < 1 || taskCount > 500) {
  console.error('bench:api: --tasks must be an integer from 1 to 500');
  process.exit(2);
}
const mode = argv.includes('--fast') ? 'fast' : 'offline';
const started = performance.now();
const say = (m: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

const quantile = (values: number[], q: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const median = (values: number[]) => quantile(values, 0.5)!;
const round = (v: number | null, digits = 1) => (v === null ? null : Math.round(v * 10 ** digits) / 10 ** digits);

let stack: LocalStack | undefined;
process.once('SIGINT', () => {
  void stack?.stop().finally(() => process.exit(130));
});

async function main(): Promise<void> {
  stack = await startLocalStack({ mode, workerEnv: { 'provider-2': { OPML_WORKER_FORGE: '0' } } }, (p) => say(`${p.phase}: ${p.message}`));
  const s = stack;
  const api = new OpmlApiClient(s.apiUrl);
  const owner = await connectOpml({ provider: s.provider, apiUrl: s.apiUrl, signer: s.parties.modelOwner });
  const { modelId } = await registerModelPackage(owner, resolve(__dirname, '..', 'models', 'mnist-mlp'), { fee: TOKEN });
  say(`MNIST MLP registered through the API as model ${modelId}`);

  // Inputs first (not timed as task acceptance): one digit image per task, cycling through the test set.
  const model = readModelFiles(resolve(__dirname, '..', 'models', 'mnist-mlp'));
  const test = mnistTest();
  const inputs: Array<{ inputCid: string; inputRoot: string; bytes: Uint8Array }> = [];
  for (let i = 0; i < taskCount; i++) {
    const bytes = Uint8Array.from(tensorBytes(quantizeInput(model, test.images[i % test.images.length]!)));
    const stored = await api.postInput({ modelId: modelId.toString(), inputBase64: Buffer.from(bytes).toString('base64') });
    inputs.push({ inputCid: stored.inputCid, inputRoot: stored.inputRoot, bytes });
  }
  say(`${taskCount} inputs stored (POST /inputs)`);

  // The requester approves once, then signs every createTask offline with consecutive nonces.
  const requester = s.parties.requester;
  const { market, token } = s.market;
  const marketAddress = await market.getAddress();
  await mine(token.connect(requester).approve(marketAddress, BigInt(taskCount) * 21n * TOKEN));
  const now = BigInt((await s.provider.getBlock('latest'))!.timestamp);
  const nonce = await s.provider.getTransactionCount(requester.address, 'pending');
  const { chainId } = await s.provider.getNetwork();
  const fee = await s.provider.getFeeData();
  const signed: string[] = [];
  for (let i = 0; i < taskCount; i++) {
    const tx = await market.createTask.populateTransaction({
      modelId,
      inputRoot: inputs[i]!.inputRoot,
      inputCid: inputs[i]!.inputCid,
      bounty: 20n * TOKEN,
      deadline: now + 3_600n,
      collateral: 10n * TOKEN,
      challengeWindow: CHALLENGE_WINDOW,
      maxModelFee: TOKEN,
      consumer: ZeroAddress,
      callbackGasLimit: 0n,
      steps: 1n,
    });
    signed.push(
      await requester.signTransaction({ ...tx, chainId, nonce: nonce + i, gasLimit: 400_000n, maxFeePerGas: fee.maxFeePerGas! * 2n, maxPriorityFeePerGas: fee.maxPriorityFeePerGas!, type: 2 }),
    );
  }

  const acceptedAt: number[] = new Array(taskCount);
  const txHashes: string[] = new Array(taskCount);
  let next = 0;
  const postStarted = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < taskCount; i = next++) {
        const res = await api.postTask(signed[i]!, { wait: false });
        acceptedAt[i] = performance.now();
        txHashes[i] = res.txHash;
      }
    }),
  );
  const acceptSeconds = (Math.max(...acceptedAt) - postStarted) / 1000;
  const acceptedPerSecond = taskCount / acceptSeconds;
  say(`${taskCount} tasks accepted in ${acceptSeconds.toFixed(2)} s: ${acceptedPerSecond.toFixed(1)} tasks/s through POST /tasks`);

  const taskIds: bigint[] = [];
  for (const hash of txHashes) {
    const receipt = await s.provider.waitForTransaction(hash, 1, 120_000);
    const log = receipt!.logs.map((l) => market.interface.parseLog(l)).find((e) => e?.name === 'TaskCreated');
    taskIds.push(log!.args.taskId as bigint);
  }

  // Watch the chain and the views side by side: first time each status is seen in each.
  const chainSeen = new Map<string, number>();
  const viewSeen = new Map<string, number>();
  const deadline = Date.now() + 15 * 60_000;
  let lastReport = 0;
  for (;;) {
    const [chain, views] = await Promise.all([
      Promise.all(taskIds.map(async (id) => TASK_STATUS[Number((await market.getTask(id)).status)])),
      api.listTasks({ limit: 500 }).then(
        (r) => new Map(r.tasks.map((t) => [t.taskId, t.status])),
        () => new Map<string, string>(),
      ),
    ]);
    const t = performance.now();
    taskIds.forEach((id, i) => {
      for (const status of STATUSES) {
        const key = `${id}:${status}`;
        const rank = STATUSES.indexOf(status);
        if (!chainSeen.has(key) && STATUSES.indexOf(chain[i] as (typeof STATUSES)[number]) >= rank) chainSeen.set(key, t);
        const viewStatus = views.get(String(id));
        if (!viewSeen.has(key) && viewStatus !== undefined && STATUSES.indexOf(viewStatus as (typeof STATUSES)[number]) >= rank) viewSeen.set(key, t);
      }
    });
    const finalized = taskIds.filter((id) => viewSeen.has(`${id}:Finalized`)).length;
    if (t - lastReport > 5_000) {
      lastReport = t;
      const counts = STATUSES.map((st) => `${st} ${taskIds.filter((id) => chainSeen.has(`${id}:${st}`)).length}`).join(', ');
      say(`chain: ${counts}; indexed as Finalized: ${finalized}/${taskCount}`);
    }
    if (finalized === taskCount) break;
    if (Date.now() > deadline) throw new Error(`only ${finalized} of ${taskCount} tasks finalized and indexed after 15 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const latencies = taskIds.map((id, i) => (chainSeen.get(`${id}:Finalized`)! - acceptedAt[i]!) / 1000);
  const lags = [...chainSeen].map(([key, t]) => (viewSeen.get(key)! - t) / 1000).map((v) => Math.max(0, v));

  // The worker's own timings for its infer jobs, against bare inference on one of the same inputs here.
  const computed = Object.values(s.workers).flatMap((w) => w!.logs.filter((l) => l.kind === 'infer' && l.state === 'computed'));
  const committed = Object.values(s.workers).flatMap((w) => w!.logs.filter((l) => l.kind === 'infer' && l.state === 'committed'));
  const prepared = prepareModelRegistration(model, kernelImageFromElf(new Uint8Array(readFileSync(KERNEL_ELF_PATH))), TOKEN);
  const overhead = measureInferOverhead(prepared, quantizeInput(model, test.images[0]!), {
    jobMs: median(committed.map((l) => Number(l.ms))),
    inferMs: median(computed.map((l) => Number(l.inferMs))),
    computeMs: median(computed.map((l) => Number(l.computeMs))),
  });
  const stats = await api.stats();

  await s.stop();
  stack = undefined;
  console.log(
    JSON.stringify({
      bench: 'api',
      mode,
      tasks: taskCount,
      model: 'mnist-mlp',
      blockTimeSeconds: 1,
      challengeWindowSeconds: Number(CHALLENGE_WINDOW),
      acceptedPerSecond: round(acceptedPerSecond, 2),
      acceptSeconds: round(acceptSeconds, 3),
      endToEndSeconds: { p50: round(quantile(latencies, 0.5)), p95: round(quantile(latencies, 0.95)), max: round(Math.max(...latencies)) },
      endToEndBeyondWindowSeconds: { p50: round(quantile(latencies, 0.5)! - Number(CHALLENGE_WINDOW)) },
      indexerLagSeconds: { p50: round(quantile(lags, 0.5), 2), p95: round(quantile(lags, 0.95), 2), max: round(Math.max(...lags), 2), samples: lags.length },
      worker: {
        inferJobs: computed.length,
        jobMs: round(overhead.jobMs),
        inferMs: round(overhead.inferMs, 3),
        computeMs: round(overhead.computeMs, 3),
        nativeMs: round(overhead.nativeMs, 3),
        nativeFirstMs: round(overhead.nativeFirstMs, 3),
        inferOverhead: round(overhead.inferOverhead, 3),
        inferOverheadVsColdNative: round(overhead.inferMs / overhead.nativeFirstMs - 1, 3),
        computeOverhead: round(overhead.computeOverhead, 3),
        goal: 'inferOverhead < 0.10',
      },
      finalizedIndexed: stats.tasksByStatus,
      totalSeconds: round((performance.now() - started) / 1000),
    }),
  );
}

main().catch(async (e) => {
  console.error(`bench:api failed: ${e instanceof Error ? e.message : String(e)}`);
  await stack?.stop();
  process.exit(1);
});
