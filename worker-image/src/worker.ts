/** A worker from its environment: clients, caches and the queue loop, as main.ts and the tests start it. */
import { join } from 'node:path';
import { awsClients } from '../../shared/aws/config';
import { BlobStore } from '../../shared/blobs/blobStore';
import { openIpfsStore } from '../../shared/ipfs/store';
import { awsConfigOf, ipfsConfigOf } from '../../shared/service/config';
import { defaultBackend, type Backend } from '../../shared/dnn/executor';
import { wasmKernelsAvailable, WASM_KERNELS_PATH } from '../../shared/dnn/wasm/wasmBackend';
import { connectChain } from './chain';
import { WorkerConfigError, type WorkerEnv } from './config';
import type { WorkerContext } from './context';
import { handleJob } from './jobs/handleJob';
import { stdoutLogger, type Logger } from './log';
import { runLoop } from './loop';
import { ModelCache, PackageFileCache } from './modelCache';
import { constantsResident } from '../../shared/dnn/wasm/wasmBackend';
import { SlotStore, slotTensors } from './slots';
import { allocTensor, type Tensor } from '../../shared/dnn/tensor';
import type { PreparedModel } from '../../shared/models/registration';

function zeroInput(prepared: PreparedModel): Tensor {
  const spec = prepared.model.tensorSpecs.get(prepared.model.spec.input)!;
  return allocTensor(spec.dtype, [...spec.shape]);
}

export interface RunningWorker {
  context: WorkerContext;
  /** Resolves when the loop has stopped (after `stop`, with the job in hand finished). */
  done: Promise<void>;
  stop(): void;
}

/** The configured backend, or the executor's default; 'wasm' must load here, or the worker would fail every job. */
function chooseBackend(requested: Backend | undefined): Backend {
  if (requested === 'wasm' && !wasmKernelsAvailable()) {
    throw new WorkerConfigError([
      { code: 'custom', path: ['OPML_WORKER_BACKEND'], message: `wasm kernels not found or not loadable at ${WASM_KERNELS_PATH}: run \`npm run build:wasm\` or use 'ts'` },
    ]);
  }
  return requested ?? defaultBackend();
}

export async function startWorker(env: WorkerEnv, log: Logger = stdoutLogger): Promise<RunningWorker> {
  const backend = chooseBackend(env.OPML_WORKER_BACKEND);
  const chain = connectChain({
    rpcUrl: env.OPML_RPC_URL,
    key: env.OPML_WORKER_KEY,
    market: env.OPML_MARKET,
    registry: env.OPML_REGISTRY,
    token: env.OPML_TOKEN,
    game: env.OPML_GAME,
  });
  // The helpers take the whole service env; the views bucket they never read is the one field a worker may omit.
  const service = { ...env, OPML_VIEWS_BUCKET: env.OPML_VIEWS_BUCKET ?? '' };
  const { s3, sqs } = awsClients(awsConfigOf(service));
  const ipfs = await openIpfsStore(ipfsConfigOf(service));
  const blobs = new BlobStore(s3, ipfs, { bucket: env.OPML_DATA_BUCKET, maxBytes: Math.max(env.OPML_MAX_MODEL_BYTES, env.OPML_MAX_INPUT_BYTES) });
  const context: WorkerContext = {
    role: env.OPML_WORKER_ROLE,
    chain,
    models: new ModelCache(
      chain.registry,
      new PackageFileCache(join(env.OPML_WORKER_CACHE_DIR, 'models'), blobs, env.OPML_WORKER_CACHE_BYTES),
      env.OPML_WORKER_MODEL_CACHE_SIZE,
      (prepared) => {
        // One run on a zero input warms the executor's code and buffers before the first task. A model
        // whose weights are streamed per node has nothing to keep warm, and one run would read them all.
        if (constantsResident(prepared.model)) void slotTensors(prepared, zeroInput(prepared), backend);
      },
      (modelId, load) => log('model-loaded', { modelId: modelId.toString(), from: load.from, seconds: Number(load.seconds.toFixed(3)), weightsBytes: load.prepared.model.weights.byteLength }),
    ),
    blobs,
    slots: new SlotStore(join(env.OPML_WORKER_CACHE_DIR, 'slots'), env.OPML_MARKET),
    backend,
    claimPolicy: {
      maxCollateralPerBounty: env.OPML_WORKER_MAX_COLLATERAL_PER_BOUNTY,
      expectedComputeSeconds: env.OPML_WORKER_EXPECTED_COMPUTE_SECONDS,
      deadlineMarginSeconds: env.OPML_WORKER_DEADLINE_MARGIN_SECONDS,
    },
    forge: env.OPML_WORKER_FORGE,
    startBlock: env.OPML_START_BLOCK,
    disputeWaitMs: env.OPML_WORKER_DISPUTE_WAIT_SECONDS * 1000,
    withdrawMinCredit: env.OPML_WORKER_WITHDRAW_MIN_CREDIT,
    players: new Map(),
    testPause: env.OPML_WORKER_TEST_PAUSE_AFTER ? { after: env.OPML_WORKER_TEST_PAUSE_AFTER, ms: env.OPML_WORKER_TEST_PAUSE_MS } : undefined,
  };
  if (context.forge) log('forge-enabled', { warning: 'OPML_WORKER_FORGE=1: this provider commits WRONG outputs and will be slashed (demo/test only)' });
  const abort = new AbortController();
  const done = runLoop({
    sqs,
    queueUrl: env.OPML_WORKER_QUEUE_URL,
    visibilitySeconds: env.OPML_WORKER_VISIBILITY_SECONDS,
    waitSeconds: env.OPML_WORKER_WAIT_SECONDS,
    handle: (job, progress) => handleJob(context, job, progress),
    log,
    signal: abort.signal,
    healthFile: env.OPML_WORKER_HEALTH_FILE,
    onReady: () =>
      log('ready', {
        role: context.role,
        address: chain.address,
        queueUrl: env.OPML_WORKER_QUEUE_URL,
        backend,
        forge: context.forge,
        pid: process.pid,
      }),
  }).finally(async () => {
    await ipfs.close();
    chain.provider.destroy();
  });
  return { context, done, stop: () => abort.abort() };
}
