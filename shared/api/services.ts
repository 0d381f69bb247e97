/**
 * What the API routes talk to, built once per cold start from the service environment and reused by
 * every warm invocation: the chain (provider and typed contracts), the blob store (S3 + IPFS), the
 * materialized views, and model specs by CID (content never changes, so a
 * spec read once is good for the life of the container).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { JsonRpcProvider } from 'ethers';
import {
  DisputeGame__factory,
  MarketToken__factory,
  ModelRegistry__factory,
  Staking__factory,
  TaskMarket__factory,
  type DisputeGame,
  type MarketToken,
  type ModelRegistry,
  type Staking,
  type TaskMarket,
} from '../../build/types';
import { awsClients } from '../aws/config';
import { BlobStore } from '../blobs/blobStore';
import { modelSpecSchema, type ModelSpec } from '../dnn/spec';
import { ViewStore } from '../indexer/consumer';
import { openIpfsStore, type IpfsStore } from '../ipfs/store';
import { awsConfigOf, ipfsConfigOf, parseServiceEnv, type ServiceEnv } from '../service/config';

export interface ApiServices {
  env: ServiceEnv;
  provider: JsonRpcProvider;
  market: TaskMarket;
  registry: ModelRegistry;
  staking: Staking;
  token: MarketToken;
  game?: DisputeGame;
  s3: S3Client;
  sqs: SQSClient;
  ipfs: IpfsStore;
  blobs: BlobStore;
  views: ViewStore;
  /** The model spec stored under a graph CID, parsed once. */
  graphSpec(graphCid: string): Promise<ModelSpec>;
  close(): Promise<void>;
}

/** A registry graph file that is not a model spec: the registration was wrong, not the request. */
export class StoredGraphInvalidError extends Error {
  override name = 'StoredGraphInvalidError';
  constructor(readonly cid: string, reason: string) {
    super(`the graph file ${cid} is not a valid .dnn.json (${reason})`);
  }
}


/** Milliseconds between receipt polls while a route waits for its transaction. */
export const RECEIPT_POLL_MS = 250;

export async function createApiServices(env: ServiceEnv): Promise<ApiServices> {
  // One request per call: ethers' batching would delay every read by its batch window.
  const provider = new JsonRpcProvider(env.OPML_RPC_URL, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1, pollingInterval: RECEIPT_POLL_MS });
  const { s3, sqs } = awsClients(awsConfigOf(env));
  const ipfs = await openIpfsStore(ipfsConfigOf(env));
  const blobs = new BlobStore(s3, ipfs, { bucket: env.OPML_DATA_BUCKET, maxBytes: Math.max(env.OPML_MAX_MODEL_BYTES, env.OPML_MAX_INPUT_BYTES) });
  const specs = new Map<string, Promise<ModelSpec>>();
  const graphSpec = async (cid: string): Promise<ModelSpec> => {
    const bytes = await blobs.get(cid);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new StoredGraphInvalidError(cid, (e as Error).message);
    }
    const parsed = modelSpecSchema.safeParse(json);
    if (!parsed.success) throw new StoredGraphInvalidError(cid, parsed.error.issues[0]!.message);
    return parsed.data;
  };
  return {
    env,
    provider,
    market: TaskMarket__factory.connect(env.OPML_MARKET, provider),
    registry: ModelRegistry__factory.connect(env.OPML_REGISTRY, provider),
    staking: Staking__factory.connect(env.OPML_STAKING, provider),
    token: MarketToken__factory.connect(env.OPML_TOKEN, provider),
    game: env.OPML_GAME ? DisputeGame__factory.connect(env.OPML_GAME, provider) : undefined,
    s3,
    sqs,
    ipfs,
    blobs,
    views: new ViewStore(s3, env.OPML_VIEWS_BUCKET),
    graphSpec(cid) {
      let spec = specs.get(cid);
      if (!spec) {
        spec = graphSpec(cid);
        specs.set(cid, spec);
        // A failed read (IPFS down) is not remembered; a bad file is, since its bytes never change.
        spec.catch((e: unknown) => {
          if (!(e instanceof StoredGraphInvalidError)) specs.delete(cid);
        });
      }
      return spec;
    },
    async close() {
      provider.destroy();
      await ipfs.close();
    },
  };
}

let cached: Promise<ApiServices> | undefined;

/** The services of this container, from process.env on first use. */
export function apiServices(): Promise<ApiServices> {
  if (!cached) {
    cached = createApiServices(parseServiceEnv(process.env));
    cached.catch(() => (cached = undefined));
  }
  return cached;
}

/** Closes and forgets the cached services (tests and the local stack on shutdown). */
export async function closeApiServices(): Promise<void> {
  const current = cached;
  cached = undefined;
  if (current) await (await current).close();
}
