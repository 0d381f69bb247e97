/**
 * The worker's view of the chain: its wallet (no NonceManager: ethers asks the node for the pending
 * nonce on every send, so a restarted worker never reuses or skips one) and the market contracts.
 */
import { JsonRpcProvider, Wallet } from 'ethers';
import {
  DisputeGame__factory,
  MarketToken__factory,
  ModelRegistry__factory,
  TaskMarket__factory,
  type DisputeGame,
  type MarketToken,
  type ModelRegistry,
  type TaskMarket,
} from '../../build/types';

export interface WorkerChain {
  provider: JsonRpcProvider;
  wallet: Wallet;
  address: string;
  market: TaskMarket;
  registry: ModelRegistry;
  token: MarketToken;
  /** The dispute game the market uses (OPML_GAME, else the market's dispute factory). */
  game(): Promise<DisputeGame>;
}

export class PendingTransactionsError extends Error {
  override name = 'PendingTransactionsError';
  constructor(readonly address: string, readonly latest: number, readonly pending: number, readonly waitedMs: number) {
    super(
      `account ${address} still has ${pending - latest} unmined transaction(s) after ${waitedMs} ms (nonce ${latest} mined, ${pending} pending): ` +
        'the job is retried later; if this persists, check the node and the gas price',
    );
  }
}

export function connectChain(opts: { rpcUrl: string; key: string; market: string; registry: string; token: string; game?: string }): WorkerChain {
  // Polling every 250 ms: receipts on a local chain arrive within one interval, on a real one well before a block.
  const provider = new JsonRpcProvider(opts.rpcUrl, undefined, { cacheTimeout: -1, pollingInterval: 250 });
  const wallet = new Wallet(opts.key, provider);
  const market = TaskMarket__factory.connect(opts.market, wallet);
  let game: Promise<DisputeGame> | undefined;
  return {
    provider,
    wallet,
    address: wallet.address,
    market,
    registry: ModelRegistry__factory.connect(opts.registry, wallet),
    token: MarketToken__factory.connect(opts.token, wallet),
    game() {
      game ??= (async () => DisputeGame__factory.connect(opts.game ?? (await market.disputeFactory()), wallet))();
      return game;
    },
  };
}

/**
 * Waits until every transaction this account sent is mined (pending nonce = latest nonce). Decisions
 * taken after this read a chain state that already includes the worker's own earlier effects, which
 * is what makes a redelivered job idempotent: the claim or commit a crashed run sent is seen, not resent.
 */
export async function settleOwnTransactions(chain: WorkerChain, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const [latest, pending] = await Promise.all([
      chain.provider.getTransactionCount(chain.address, 'latest'),
      chain.provider.getTransactionCount(chain.address, 'pending'),
    ]);
    if (pending <= latest) return;
    if (Date.now() - started > timeoutMs) throw new PendingTransactionsError(chain.address, latest, pending, Date.now() - started);
    await new Promise((r) => setTimeout(r, 500));
  }
}
