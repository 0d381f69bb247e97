/**
 * The pieces the SDK and CLI tests run against: anvil with the market and the real dispute game,
 * s3rver, the embedded IPFS store, and the API's Lambda handlers behind the local HTTP server
 * (shared/api/localHttp.ts), configured through the service env as a deployed API would be. The pinner
 * runs on its queue through an SQS event source mapping, so uploaded packages get verified as on AWS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HDNodeWallet } from 'ethers';
import { ALL_ROUTES } from '../../shared/api/app';
import { routeTable, startLocalApi, type LocalApi } from '../../shared/api/localHttp';
import { lambdaHandler } from '../../shared/api/router';
import { closeApiServices } from '../../shared/api/services';
import { awsClients } from '../../shared/aws/config';
import { ensureBucket } from '../../shared/aws/s3';
import { createQueueWithDlq } from '../../shared/aws/sqs';
import { inProcessInvoker, startEventSources, type EventSources } from '../../shared/stack/eventSources';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { mine } from '../../shared/market/tasks';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';

export const TOKEN = 10n ** 18n;

export interface ApiStack {
  chain: LocalChain;
  aws: LocalAws;
  market: DeployedMarket;
  api: LocalApi;
  /** admin (deployer, minter), then funded accounts. */
  wallets: HDNodeWallet[];
  /** Service env the API runs with (the CLI's worker command would take the same). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startApiStack(options: { accounts?: number; unbondingDelaySeconds?: number; mint?: bigint } = {}): Promise<ApiStack> {
  const chain = await startLocalChain({ accounts: options.accounts ?? 5 });
  const wallets = chain.wallets as HDNodeWallet[];
  const [admin] = wallets;
  const aws = await startLocalAws();
  const tmp = await mkdtemp(join(tmpdir(), 'sdk-api-'));
  let api: LocalApi | undefined;
  let pinner: { sources: EventSources; close(): void } | undefined;
  const stop = async () => {
    await api?.stop();
    await pinner?.sources.stop();
    pinner?.close();
    await closeApiServices();
    await aws.stop();
    await chain.stop();
    await rm(tmp, { recursive: true, force: true });
  };
  try {
    const clients = awsClients(aws.config);
    await ensureBucket(clients.s3, 'sdk-data');
    await ensureBucket(clients.s3, 'sdk-views');
    const pinQueue = await createQueueWithDlq(clients.sqs, { name: 'sdk-pin', fifo: true, visibilityTimeoutSeconds: 60, maxReceiveCount: 5 });
    const market = await deployMarket(admin, { disputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN, unbondingDelaySeconds: options.unbondingDelaySeconds ?? 600 });
    for (const w of wallets.slice(1)) await mine(market.token.connect(admin).mint(w.address, options.mint ?? 1_000n * TOKEN));
    const env: Record<string, string> = {
      OPML_RPC_URL: chain.anvil.rpcUrl,
      OPML_MARKET: market.addresses.market,
      OPML_REGISTRY: market.addresses.registry,
      OPML_STAKING: market.addresses.staking,
      OPML_TOKEN: market.addresses.token,
      OPML_GAME: market.dispute!.game,
      OPML_DATA_BUCKET: 'sdk-data',
      OPML_VIEWS_BUCKET: 'sdk-views',
      OPML_S3_ENDPOINT: aws.config.s3Endpoint!,
      OPML_SQS_ENDPOINT: aws.config.sqsEndpoint!,
      OPML_AWS_ACCESS_KEY_ID: 'S3RVER',
      OPML_AWS_SECRET_ACCESS_KEY: 'S3RVER',
      OPML_IPFS: 'embedded',
      OPML_IPFS_PATH: join(tmp, 'ipfs'),
      OPML_KERNEL_ELF: resolve(__dirname, '..', '..', 'build', 'guest', 'dnn-kernels.elf'),
      OPML_CONFIRMATIONS: '0',
      OPML_PIN_QUEUE_URL: pinQueue.url,
    };
    // The API's services read the service env once per cold start, as a Lambda does.
    Object.assign(process.env, env);
    const invoke = inProcessInvoker(env);
    pinner = { sources: startEventSources({ invoke, sqs: clients.sqs, queues: { pinner: pinQueue.url }, indexer: false }), close: invoke.close };
    api = await startLocalApi(routeTable([[ALL_ROUTES, lambdaHandler(ALL_ROUTES)]]));
    return { chain, aws, market, api, wallets, env, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
