/**
 * What every SDK operation runs against: a chain provider, the market's typed contracts, optionally
 * the HTTP API and a signer. Contract addresses come from the caller, from the API's /health, or
 * from the market contract itself.
 */
import { JsonRpcProvider, Network, Wallet, ZeroAddress, type Provider, type Signer } from 'ethers';
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
import { privateKeySchema } from '../market/schemas';
import { OpmlApiClient } from './apiClient';
import { SdkConfigError } from './errors';

export interface ContractAddresses {
  market: string;
  registry: string;
  staking: string;
  token: string;
  /** The dispute game (the market's dispute factory); null when the market has none. */
  game: string | null;
}

export interface MarketContracts {
  addresses: ContractAddresses;
  market: TaskMarket;
  registry: ModelRegistry;
  staking: Staking;
  token: MarketToken;
  game: DisputeGame | null;
}

export interface OpmlContext {
  provider: Provider;
  contracts: MarketContracts;
  api: OpmlApiClient | null;
  /**
   * Sends and signs. Tasks and models submitted through the API are signed offline, so this must be
   * a signer that fills its own nonce from the chain (a Wallet), not a NonceManager.
   */
  signer: Signer | null;
}

export interface ConnectOptions {
  /** A JSON-RPC URL, or `provider`. */
  rpcUrl?: string;
  provider?: Provider;
  /** The HTTP API; also where contract addresses come from when `addresses` and `market` are absent. */
  apiUrl?: string;
  /** A 0x private key, or `signer`. */
  privateKey?: string;
  signer?: Signer;
  addresses?: ContractAddresses;
  /** The market's address alone: the other addresses are read from it. */
  market?: string;
}

export function connectContracts(addresses: ContractAddresses, provider: Provider): MarketContracts {
  return {
    addresses,
    market: TaskMarket__factory.connect(addresses.market, provider),
    registry: ModelRegistry__factory.connect(addresses.registry, provider),
    staking: Staking__factory.connect(addresses.staking, provider),
    token: MarketToken__factory.connect(addresses.token, provider),
    game: addresses.game ? DisputeGame__factory.connect(addresses.game, provider) : null,
  };
}

/** Every address the market knows, read from the market contract. */
export async function addressesFromMarket(market: string, provider: Provider): Promise<ContractAddresses> {
  const m = TaskMarket__factory.connect(market, provider);
  const [registry, staking, token, factory] = await Promise.all([m.registry(), m.staking(), m.token(), m.disputeFactory()]);
  return { market, registry, staking, token, game: factory === ZeroAddress ? null : factory };
}

/**
 * A provider pinned to the chain id the endpoint reports. Asking once, here, turns a wrong or stopped
 * endpoint into one clear error instead of ethers' endless network-detection retries.
 */
async function providerFor(rpcUrl: string): Promise<JsonRpcProvider> {
  let chainId: bigint;
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(10_000),
    });
    chainId = BigInt(((await res.json()) as { result: string }).result);
  } catch (e) {
    throw new SdkConfigError(`cannot reach the chain at ${rpcUrl} (${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}): start the node or pass --rpc <url>`);
  }
  const network = Network.from(chainId);
  return new JsonRpcProvider(rpcUrl, network, { staticNetwork: network, cacheTimeout: -1, pollingInterval: 200 });
}

export async function connectOpml(options: ConnectOptions): Promise<OpmlContext> {
  const api = options.apiUrl ? new OpmlApiClient(options.apiUrl) : null;
  const provider = options.provider ?? (options.rpcUrl ? await providerFor(options.rpcUrl) : null);
  if (!provider) throw new SdkConfigError('no chain to talk to: pass --rpc <url> (or set OPML_RPC_URL)');
  let addresses = options.addresses;
  if (!addresses && options.market) addresses = await addressesFromMarket(options.market, provider);
  if (!addresses && api) addresses = (await api.health()).contracts;
  if (!addresses) throw new SdkConfigError('no contract addresses: pass --api <url> (its /health names them) or --market <address>');
  let signer = options.signer ?? null;
  if (!signer && options.privateKey !== undefined) {
    // The key itself never appears in an error: only what is wrong with it.
    if (!privateKeySchema.safeParse(options.privateKey).success)
      throw new SdkConfigError('the private key is malformed: it must be 0x followed by 64 hex digits (--key or OPML_KEY)');
    signer = new Wallet(options.privateKey, provider);
  }
  return { provider, contracts: connectContracts(addresses, provider), api, signer };
}

export function requireSigner(ctx: OpmlContext): Signer {
  if (!ctx.signer) throw new SdkConfigError('this needs an account: pass --key <hex> or set OPML_KEY');
  return ctx.signer;
}

export function requireApi(ctx: OpmlContext): OpmlApiClient {
  if (!ctx.api) throw new SdkConfigError('this needs the HTTP API: pass --api <url> (or set OPML_API_URL)');
  return ctx.api;
}

/** The chain's current time: windows and deadlines are measured against blocks, not the local clock. */
export async function chainNow(provider: Provider): Promise<bigint> {
  const block = await provider.getBlock('latest');
  return BigInt(block!.timestamp);
}
