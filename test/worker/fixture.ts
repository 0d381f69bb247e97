/**
 * One real market for the worker tests: anvil with the market and the real dispute game, local S3
 * and SQS, an embedded IPFS whose blocks live in a folder the workers open too, the MNIST MLP
 * registered from its files (put in the BlobStore by CID), staked providers and a staked challenger,
 * and helpers to create tasks, queues, worker environments and to read what happened on chain.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ZeroAddress, type HDNodeWallet } from 'ethers';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { ensureBucket } from '../../shared/aws/s3';
import { createQueueWithDlq, sendMessages, type QueuePair } from '../../shared/aws/sqs';
import { BlobStore } from '../../shared/blobs/blobStore';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { readModelFiles } from '../../shared/dnn/files';
import type { DnnModel } from '../../shared/dnn/model';
import { kernelImageFromElf, KERNEL_ELF_PATH } from '../../shared/dnn/guest/kernelImage';
import { quantizeInput } from '../../shared/dnn/io';
import { tensorBytes, type Tensor } from '../../shared/dnn/tensor';
import { openIpfsStore, type IpfsStore } from '../../shared/ipfs/store';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { createTaskWithPermit, mine } from '../../shared/market/tasks';
import { prepareModelRegistration, registerModel, type PreparedModel } from '../../shared/models/registration';
import { jobDeduplicationIdOf, jobGroupOf, type Job } from '../../shared/schemas/jobs';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';
import { weightsBytes } from '../../shared/dnn/weights';

export const TOKEN = 10n ** 18n;
export const DATA_BUCKET = 'opml-data';
const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

/** Account indexes in anvil's funded list. */
export const ACCOUNTS = { admin: 0, modelOwner: 1, requester: 2, honest: 3, forger: 4, challenger: 5 } as const;

export interface TaskTerms {
  model?: bigint;
  challengeWindow?: bigint;
  bounty?: bigint;
  collateral?: bigint;
  deadlineSeconds?: bigint;
  steps?: bigint;
}

export interface WorkerMarket {
  chain: LocalChain;
  aws: LocalAws;
  clients: AwsClients;
  ipfs: IpfsStore;
  ipfsPath: string;
  blobs: BlobStore;
  m: DeployedMarket;
  prepared: PreparedModel;
  modelId: bigint;
  wallet(role: keyof typeof ACCOUNTS): HDNodeWallet;
  /** A provider or challenger queue (FIFO with DLQ, redrive after 5 receives). */
  queue(name: string, visibilitySeconds?: number): Promise<QueuePair>;
  /** Creates a task on the digit at `index` of the held-out set; its input is in the BlobStore. */
  createTask(index: number, challengeWindow?: bigint, model?: bigint, terms?: { bounty?: bigint; collateral?: bigint; deadlineSeconds?: bigint }): Promise<{ taskId: bigint; inputCid: string; input: Tensor; eventId: string }>;
  /** Creates a task on any input bytes (put in the BlobStore), for any model and number of steps. */
  createTaskWithInput(bytes: Uint8Array, terms?: TaskTerms): Promise<{ taskId: bigint; inputCid: string; eventId: string }>;
  /** Puts a package's files in the BlobStore and registers it. */
  registerPackage(model: DnnModel): Promise<{ prepared: PreparedModel; modelId: bigint }>;
  send(queueUrl: string, job: Job): Promise<void>;
  /** The OPML_* environment of a worker for `role` on `queueUrl`. */
  workerEnv(who: 'honest' | 'forger' | 'challenger', queueUrl: string, cacheDir: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export async function startWorkerMarket(): Promise<WorkerMarket> {
  const chain = await startLocalChain();
  const [admin, modelOwner, requester, honest, forger, challenger] = chain.signers;
  const m = await deployMarket(admin, { disputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN, disputeClockSeconds: 3_600 });
  const aws = await startLocalAws();
  const clients = awsClients(aws.config);
  await ensureBucket(clients.s3, DATA_BUCKET);
  const ipfsPath = await mkdtemp(join(tmpdir(), 'worker-ipfs-'));
  const ipfs = await openIpfsStore({ kind: 'embedded', blockstorePath: ipfsPath });
  const blobs = new BlobStore(clients.s3, ipfs, { bucket: DATA_BUCKET, maxBytes: 6 << 20 });

  const kernel = kernelImageFromElf(new Uint8Array(readFileSync(KERNEL_ELF_PATH)));
  const registerPackage = async (model: DnnModel): Promise<{ prepared: PreparedModel; modelId: bigint }> => {
    const prepared = prepareModelRegistration(model, kernel, TOKEN);
    // The files go where workers fetch them, under the CIDs the registry records.
    for (const [bytes, cid] of [
      [model.specBytes, prepared.spec.graphCid],
      [weightsBytes(model.weights), prepared.spec.weightsCid],
      [kernel.elf, prepared.spec.vmImageCid],
    ] as const) {
      const stored = await blobs.put(bytes);
      if (stored !== cid) throw new Error(`BlobStore gave ${stored} for a file registered as ${cid}`);
    }
    const { modelId } = await registerModel(m.registry, modelOwner, prepared.spec);
    return { prepared, modelId };
  };
  const { prepared, modelId } = await registerPackage(readModelFiles(resolve(__dirname, '..', '..', 'models', 'mnist-mlp')));

  for (const who of [requester, honest, forger, challenger]) await mine(m.token.connect(admin).mint(await who.getAddress(), 1_000n * TOKEN));
  const stakingAddress = await m.staking.getAddress();
  for (const who of [honest, forger, challenger]) {
    await mine(m.token.connect(who).approve(stakingAddress, 500n * TOKEN));
    await mine(m.staking.connect(who).stake(500n * TOKEN));
  }
  const digits = mnistTest();
  const env: Record<string, string> = {
    OPML_RPC_URL: chain.anvil.rpcUrl,
    OPML_MARKET: m.addresses.market,
    OPML_REGISTRY: m.addresses.registry,
    OPML_STAKING: m.addresses.staking,
    OPML_TOKEN: m.addresses.token,
    OPML_GAME: m.dispute!.game,
    OPML_DATA_BUCKET: DATA_BUCKET,
    OPML_S3_ENDPOINT: aws.config.s3Endpoint!,
    OPML_SQS_ENDPOINT: aws.config.sqsEndpoint!,
    OPML_AWS_ACCESS_KEY_ID: 'S3RVER',
    OPML_AWS_SECRET_ACCESS_KEY: 'S3RVER',
    OPML_IPFS: 'embedded',
    OPML_IPFS_PATH: ipfsPath,
    OPML_WORKER_WAIT_SECONDS: '1',
    OPML_WORKER_DISPUTE_WAIT_SECONDS: '3',
  };
  const wallet = (role: keyof typeof ACCOUNTS) => chain.wallets[ACCOUNTS[role]];
  const createTaskWithInput = async (bytes: Uint8Array, terms: TaskTerms = {}) => {
    const inputCid = await blobs.put(bytes);
    const now = BigInt((await chain.provider.getBlock('latest'))!.timestamp);
    const { taskId, receipt } = await createTaskWithPermit(
      m.market,
      m.token,
      requester,
      {
        modelId: terms.model ?? modelId,
        inputRoot: hex(merkleRootOfBytes(bytes)),
        inputCid,
        bounty: terms.bounty ?? 20n * TOKEN,
        deadline: now + (terms.deadlineSeconds ?? 3_600n),
        collateral: terms.collateral ?? 100n * TOKEN,
        challengeWindow: terms.challengeWindow ?? 600n,
        maxModelFee: TOKEN,
        consumer: ZeroAddress,
        callbackGasLimit: 0n,
        steps: terms.steps ?? 1n,
      },
      now + 600n,
    );
    const log = receipt.logs.find((l) => m.market.interface.parseLog(l)?.name === 'TaskCreated')!;
    return { taskId, inputCid, eventId: `${receipt.hash}:${log.index}` };
  };

  return {
    chain,
    aws,
    clients,
    ipfs,
    ipfsPath,
    blobs,
    m,
    prepared,
    modelId,
    wallet,
    queue: (name, visibilitySeconds = 30) => createQueueWithDlq(clients.sqs, { name, fifo: true, visibilityTimeoutSeconds: visibilitySeconds, maxReceiveCount: 5 }),
    registerPackage,
    async createTask(index, challengeWindow = 600n, model = modelId, terms = {}) {
      const input = quantizeInput(prepared.model, digits.images[index]);
      return { ...(await createTaskWithInput(tensorBytes(input), { challengeWindow, model, ...terms })), input };
    },
    createTaskWithInput,
    async send(queueUrl, job) {
      await sendMessages(clients.sqs, queueUrl, [{ body: JSON.stringify(job), groupId: jobGroupOf(job), deduplicationId: jobDeduplicationIdOf(job) }]);
    },
    workerEnv(who, queueUrl, cacheDir, extra = {}) {
      return {
        ...env,
        OPML_WORKER_KEY: wallet(who).privateKey,
        OPML_WORKER_ROLE: who === 'challenger' ? 'challenger' : 'provider',
        OPML_WORKER_QUEUE_URL: queueUrl,
        OPML_WORKER_CACHE_DIR: cacheDir,
        OPML_WORKER_HEALTH_FILE: join(cacheDir, 'alive'),
        OPML_WORKER_VISIBILITY_SECONDS: '30',
        ...extra,
      };
    },
    async stop() {
      await ipfs.close();
      await aws.stop();
      await chain.stop();
      await rm(ipfsPath, { recursive: true, force: true });
    },
  };
}

/**
 * The dispatcher's part in a worker test: each call sends every event of game `gameId` not sent
 * yet (from `fromBlock` on) as a dispute job to every queue, as the dispatcher would.
 */
export function gameDispatcher(w: WorkerMarket, taskId: string, gameId: bigint, queueUrls: string[], fromBlock: number): { dispatch(): Promise<void>; seen: Set<string> } {
  const game = w.m.dispute!.contract;
  const seen = new Set<string>();
  let from = fromBlock;
  return {
    seen,
    async dispatch() {
      const logs = await w.chain.provider.getLogs({ address: await game.getAddress(), fromBlock: from });
      for (const log of logs) {
        const parsed = game.interface.parseLog(log);
        const eventId = `${log.transactionHash}:${log.index}`;
        if (!parsed || parsed.args.gameId !== gameId || seen.has(eventId)) continue;
        seen.add(eventId);
        for (const url of queueUrls) await w.send(url, { kind: 'dispute', taskId, gameId: gameId.toString(), eventId });
        from = Math.max(from, log.blockNumber);
      }
    },
  };
}

/** Counts a market event for a task in all blocks so far. */
export async function countEvents(w: WorkerMarket, name: 'TaskClaimed' | 'TaskCommitted' | 'TaskChallenged' | 'TaskRefuted' | 'TaskFinalized', taskId: bigint): Promise<number> {
  const filter = (w.m.market.filters as unknown as Record<string, (id: bigint) => Parameters<typeof w.m.market.queryFilter>[0]>)[name](taskId);
  return (await w.m.market.queryFilter(filter, 0)).length;
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Its stdout, one parsed JSON object per line. */
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

/** Runs `node <args>` with only `env` (plus PATH and HOME), collecting its JSON log lines. */
export function spawnWorkerProcess(args: string[], env: Record<string, string>, cwd: string): WorkerProcess {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) if (p.startsWith('{')) lines.push(JSON.parse(p));
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  void exited.then((code) => code !== 0 && code !== null && process.stderr.write(`worker exited ${code}: ${stderr.slice(-2000)}\n`));
  return { child, lines, exited };
}
