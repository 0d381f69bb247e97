/**
 * The whole market on this machine (what `npm start` and the end-to-end tests run on): anvil making a
 * block a second, s3rver and local-aws-sqs, the embedded IPFS store in a folder every process shares, the
 * contracts with the real dispute game, funded and staked parties, the functions (under serverless-offline,
 * or in this process in fast mode), the schedule and SQS event sources, and the three workers.
 * stop() stops everything it started, by PID, in reverse order; it is idempotent.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { JsonRpcProvider, type HDNodeWallet } from 'ethers';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { startAnvil, type Anvil } from '../chain/anvil';
import { startLocalAws, type LocalAws } from '../aws/localAws';
import { awsClients } from '../aws/config';
import { ensureBucket } from '../aws/s3';
import { devAccounts } from '../market/devAccounts';
import { DEMO_ROLES, DEMO_TERMS, type DemoRole } from '../market/protocolDemo';
import { deployMarket, type DeployedMarket } from '../market/deploy';
import { mine } from '../market/tasks';
import { createStackQueues, type StackQueues, type WorkerName } from './queues';
import { inProcessInvoker, offlineInvoker, startEventSources, type EventSourceActivity, type EventSources, type Invoke } from './eventSources';
import { LOCAL_FUNCTION_PREFIX, startOffline, type OfflineFunctions } from './offline';
import { startWorker, type WorkerHandle, type WorkerSpec } from './workers';

const ROOT = resolve(__dirname, '..', '..');

export const localStackOptionsSchema = z
  .object({
    /** 'offline': the functions under serverless-offline (npm start); 'fast': their handlers in this process (tests). */
    mode: z.enum(['offline', 'fast']).default('fast'),
    /** Seconds between blocks. */
    blockTime: z.number().int().positive().default(1),
    confirmations: z.number().int().nonnegative().default(1),
    indexerIntervalMs: z.number().int().positive().default(1_000),
    /** Start the three workers (honest provider, forging provider, challenger). */
    workers: z.boolean().default(true),
    /** Extra environment per worker (tests: pause points). */
    workerEnv: z.record(z.string(), z.record(z.string(), z.string())).default({}),
    /** Each party's dispute clock in the real game. */
    disputeClockSeconds: z.number().int().min(60).default(DEMO_TERMS.clockSeconds),
    functionVisibilitySeconds: z.number().int().min(1).default(10),
    /** Print serverless-offline's and the workers' own output (also OPML_STACK_VERBOSE=1). */
    verbose: z.boolean().default(process.env.OPML_STACK_VERBOSE === '1'),
    workerVisibilitySeconds: z.number().int().min(3).default(30),
  })
  .strict();
export type LocalStackOptions = z.input<typeof localStackOptionsSchema>;

export type StackPhase = 'chain' | 'aws' | 'ipfs' | 'contracts' | 'stake' | 'functions' | 'event-sources' | 'workers' | 'ready' | 'stop';

export interface StackProgress {
  phase: StackPhase;
  message: string;
  elapsedMs: number;
}

export interface LocalStack {
  mode: 'offline' | 'fast';
  apiUrl: string;
  /** serverless-offline's Lambda endpoint (offline mode). */
  lambdaUrl?: string;
  rpcUrl: string;
  provider: JsonRpcProvider;
  anvil: Anvil;
  aws: LocalAws;
  s3: S3Client;
  sqs: SQSClient;
  market: DeployedMarket;
  /** Wallets (Wallet, so API-submitted transactions can be signed offline) in the demo's roles. */
  parties: Record<DemoRole, HDNodeWallet>;
  queues: StackQueues;
  buckets: { data: string; views: string };
  ipfsPath: string;
  /** The service env the functions and workers run with (shared/service/config.ts). */
  env: Record<string, string>;
  workers: Partial<Record<WorkerName, WorkerHandle>>;
  eventSources: EventSources;
  /** The serverless-offline process (offline mode). */
  offline?: OfflineFunctions;
  /** Every PID this stack started and that is still its own (anvil, serverless-offline, workers). */
  pids(): number[];
  restartS3(): Promise<void>;
  restartSqs(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  startedMs: number;
}

/** Which worker serves which party. */
const WORKER_PARTIES: Record<WorkerName, { party: 'honest' | 'cheater' | 'challenger'; role: 'provider' | 'challenger'; forge: boolean }> = {
  'provider-honest': { party: 'honest', role: 'provider', forge: false },
  'provider-2': { party: 'cheater', role: 'provider', forge: true },
  challenger: { party: 'challenger', role: 'challenger', forge: false },
};

export async function startLocalStack(options: LocalStackOptions = {}, onProgress: (p: StackProgress) => void = () => {}): Promise<LocalStack> {
  const o = localStackOptionsSchema.parse(options);
  const started = Date.now();
  const say = (phase: StackPhase, message: string) => onProgress({ phase, message, elapsedMs: Date.now() - started });
  // Everything started so far, stopped in reverse order by stop() (also when the start itself fails).
  const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  const pidOwners: Array<() => number | undefined> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const s of stops.reverse()) {
        try {
          await s.stop();
          say('stop', `${s.name} stopped`);
        } catch (e) {
          say('stop', `${s.name}: ${(e as Error).message}`);
        }
      }
    })());

  try {
    const stateDir = await mkdtemp(join(tmpdir(), 'opml-stack-'));
    stops.push({ name: `state folder ${stateDir}`, stop: () => rm(stateDir, { recursive: true, force: true }) });

    // Automine while deploying and staking (a block per transaction), then a block every blockTime seconds
    // so confirmations and challenge windows advance on their own.
    const anvil = await startAnvil({ accounts: DEMO_ROLES.length });
    stops.push({ name: `anvil (pid ${anvil.pid})`, stop: () => anvil.stop() });
    pidOwners.push(() => anvil.pid);
    const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 250 });
    stops.push({ name: 'JSON-RPC provider', stop: async () => provider.destroy() });
    say('chain', `anvil (pid ${anvil.pid}) on ${anvil.rpcUrl}`);

    const aws = await startLocalAws();
    stops.push({ name: 'S3 and SQS servers', stop: () => aws.stop() });
    const { s3, sqs } = awsClients(aws.config);
    const buckets = { data: 'opml-data', views: 'opml-views' };
    await ensureBucket(s3, buckets.data);
    await ensureBucket(s3, buckets.views);
    const queues = await createStackQueues(sqs, { functionVisibilitySeconds: o.functionVisibilitySeconds, workerVisibilitySeconds: o.workerVisibilitySeconds });
    say('aws', `S3 ${aws.config.s3Endpoint} (buckets ${buckets.data}, ${buckets.views}), SQS ${aws.config.sqsEndpoint} (${Object.keys(queues.functions).length + Object.keys(queues.workers).length} FIFO queues, each with a DLQ)`);

    const ipfsPath = join(stateDir, 'ipfs');
    await mkdir(ipfsPath, { recursive: true });
    say('ipfs', `embedded IPFS blocks in ${ipfsPath}, shared by the functions and the workers`);

    const wallets = devAccounts(provider, DEMO_ROLES.length);
    // Plain wallets (no NonceManager): API-submitted transactions are signed offline with the chain's nonce.
    const parties = Object.fromEntries(DEMO_ROLES.map((role, i) => [role, wallets[i]!])) as Record<DemoRole, HDNodeWallet>;
    const deployedFrom = await provider.getBlockNumber();
    const market = await deployMarket(parties.admin, {
      treasury: parties.treasury.address,
      disputeGame: true,
      disputeClockSeconds: o.disputeClockSeconds,
      minStake: 100n * 10n ** 18n,
      challengeBond: DEMO_TERMS.challengeBond,
    });
    say('contracts', `market ${market.addresses.market}, registry ${market.addresses.registry}, dispute game ${market.dispute!.game}`);

    const { token, staking } = market;
    for (const who of [parties.requester, parties.honest, parties.cheater, parties.challenger]) await mine(token.connect(parties.admin).mint(who.address, DEMO_TERMS.mint));
    for (const [who, amount] of [
      [parties.honest, DEMO_TERMS.providerStake],
      [parties.cheater, DEMO_TERMS.providerStake],
      [parties.challenger, DEMO_TERMS.challengerStake],
    ] as const) {
      await mine(token.connect(who).approve(market.addresses.staking, amount));
      await mine(staking.connect(who).stake(amount));
    }
    // Challenges pull the bond from the challenger's wallet.
    await mine(token.connect(parties.challenger).approve(market.addresses.market, DEMO_TERMS.challengeBond * 100n));
    await provider.send('evm_setAutomine', [false]);
    await provider.send('evm_setIntervalMining', [o.blockTime]);
    say('stake', `requester and parties hold ${DEMO_TERMS.mint / 10n ** 18n} OPML; providers stake ${DEMO_TERMS.providerStake / 10n ** 18n}, the challenger ${DEMO_TERMS.challengerStake / 10n ** 18n}; from now on a block every ${o.blockTime} s`);

    const workerRoutes = (Object.keys(WORKER_PARTIES) as WorkerName[]).map((name) => ({
      address: parties[WORKER_PARTIES[name].party].address,
      role: WORKER_PARTIES[name].role,
      queueUrl: queues.workers[name].url,
    }));
    const env: Record<string, string> = {
      OPML_RPC_URL: anvil.rpcUrl,
      OPML_MARKET: market.addresses.market,
      OPML_REGISTRY: market.addresses.registry,
      OPML_STAKING: market.addresses.staking,
      OPML_TOKEN: market.addresses.token,
      OPML_GAME: market.dispute!.game,
      OPML_START_BLOCK: String(deployedFrom),
      OPML_CONFIRMATIONS: String(o.confirmations),
      OPML_DATA_BUCKET: buckets.data,
      OPML_VIEWS_BUCKET: buckets.views,
      OPML_EVENTS_VIEWS_QUEUE_URL: queues.functions.views.url,
      OPML_EVENTS_DISPATCH_QUEUE_URL: queues.functions.dispatcher.url,
      OPML_PIN_QUEUE_URL: queues.functions.pinner.url,
      OPML_WORKERS: JSON.stringify(workerRoutes),
      AWS_REGION: 'us-east-1',
      OPML_S3_ENDPOINT: aws.config.s3Endpoint!,
      OPML_SQS_ENDPOINT: aws.config.sqsEndpoint!,
      OPML_AWS_ACCESS_KEY_ID: aws.config.credentials!.accessKeyId,
      OPML_AWS_SECRET_ACCESS_KEY: aws.config.credentials!.secretAccessKey,
      OPML_IPFS: 'embedded',
      OPML_IPFS_PATH: ipfsPath,
      OPML_KERNEL_ELF: join(ROOT, 'build', 'guest', 'dnn-kernels.elf'),
      OPML_DASHBOARD_DIR: join(ROOT, 'build', 'dashboard'),
      OPML_MAX_INPUT_BYTES: String(1 << 20),
      OPML_MAX_MODEL_BYTES: String(32 * 2 ** 30),
    };

    let apiUrl: string;
    let offline: OfflineFunctions | undefined;
    let invoke: Invoke;
    if (o.mode === 'offline') {
      say('functions', 'serverless-offline: bundling the functions with esbuild and starting (osls offline start --stage local)');
      offline = await startOffline(env, { onLine: o.verbose ? (l) => console.log(`[serverless-offline] ${l}`) : undefined });
      const off = offline;
      stops.push({ name: `serverless-offline (pid ${off.process.pid})`, stop: () => off.stop() });
      pidOwners.push(() => (off.process.alive() ? off.process.pid : undefined));
      apiUrl = off.apiUrl;
      invoke = offlineInvoker(off.lambdaUrl, LOCAL_FUNCTION_PREFIX);
      say('functions', `serverless-offline (pid ${off.process.pid}): HTTP API ${apiUrl}, Lambda endpoint ${off.lambdaUrl}`);
    } else {
      // The handlers read the service env once per cold start, from this process's environment.
      Object.assign(process.env, env);
      const { startLocalApi, routeTable } = await import('../api/localHttp');
      const { lambdaHandler } = await import('../api/router');
      const { ROUTE_GROUPS } = await import('../api/app');
      const { closeApiServices } = await import('../api/services');
      const api = await startLocalApi(routeTable(Object.values(ROUTE_GROUPS).map((routes) => [routes, lambdaHandler(routes)] as const)));
      stops.push({ name: 'in-process API', stop: async () => (await api.stop(), await closeApiServices()) });
      apiUrl = api.url;
      const local = inProcessInvoker(env);
      stops.push({ name: 'in-process event functions', stop: async () => local.close() });
      invoke = local;
      say('functions', `API handlers in this process on ${apiUrl}`);
    }

    const eventSources = startEventSources({
      invoke,
      sqs,
      queues: { views: queues.functions.views.url, dispatcher: queues.functions.dispatcher.url, pinner: queues.functions.pinner.url },
      indexerIntervalMs: o.indexerIntervalMs,
      onActivity: (a: EventSourceActivity) => {
        if (a.error) say('event-sources', `${a.fn}: ${a.error}`);
      },
    });
    stops.push({ name: 'event sources', stop: () => eventSources.stop() });
    say('event-sources', `indexer every ${o.indexerIntervalMs} ms; views, dispatcher, pinner on their queues`);

    const workers: Partial<Record<WorkerName, WorkerHandle>> = {};
    if (o.workers) {
      const specs: WorkerSpec[] = (Object.keys(WORKER_PARTIES) as WorkerName[]).map((name) => {
        const w = WORKER_PARTIES[name];
        const wallet = parties[w.party];
        return { name, role: w.role, key: wallet.privateKey, address: wallet.address, queueUrl: queues.workers[name].url, forge: w.forge, env: o.workerEnv[name] };
      });
      await Promise.all(
        specs.map(async (spec) => {
          await mkdir(join(stateDir, spec.name), { recursive: true });
          const handle = await startWorker(spec, env, stateDir, { onLog: o.verbose ? (name, line) => console.log(`[worker ${name}] ${JSON.stringify(line)}`) : undefined });
          workers[spec.name] = handle;
          stops.push({ name: `worker ${spec.name}`, stop: () => handle.stop() });
          pidOwners.push(() => (handle.process.alive() ? handle.pid : undefined));
          say('workers', `${spec.name} (${spec.role}${spec.forge ? ', FORGES its outputs' : ''}) pid ${handle.pid}, ${spec.address}`);
        }),
      );
    }
    say('ready', `the market is up in ${((Date.now() - started) / 1000).toFixed(1)} s: API ${apiUrl}`);

    return {
      mode: o.mode,
      apiUrl,
      lambdaUrl: offline?.lambdaUrl,
      rpcUrl: anvil.rpcUrl,
      provider,
      anvil,
      aws,
      s3,
      sqs,
      market,
      parties,
      queues,
      buckets,
      ipfsPath,
      env,
      workers,
      eventSources,
      offline,
      pids: () => pidOwners.map((p) => p()).filter((p): p is number => p !== undefined),
      restartS3: () => aws.restartS3(),
      restartSqs: (downMs?: number) => aws.restartSqs(downMs),
      stop: stopAll,
      startedMs: Date.now() - started,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}
