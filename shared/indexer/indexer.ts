/**
 * Reads the watched contracts' logs from the stored cursor up to `head - confirmations`, publishes each as
 * an event message on every FIFO events queue (views, dispatch), then advances the cursor. Publishing before advancing means
 * a crash re-reads and re-publishes a range (the queue's deduplication and the views' idempotency absorb
 * it) and never skips one. A cursor block that is no longer canonical means a reorg deeper than the
 * confirmation depth: the indexer rewinds to the last common ancestor and retracts the orphaned events.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Block, JsonRpcProvider } from 'ethers';
import { z } from 'zod';
import { sendMessages, type OutgoingMessage } from '../aws/sqs';
import type { ChainEvent, EventMessage } from '../schemas/events';
import { type Cursor, type CursorStore, type IndexedBlock } from './cursor';
import { EventDecoder, type WatchedContracts } from './decode';

export const indexerOptionsSchema = z
  .object({
    /** Blocks a log must be under the head before it is published. */
    confirmations: z.number().int().nonnegative().default(3),
    /** First block to read when no cursor exists (the deployment block). */
    startBlock: z.number().int().nonnegative().default(0),
    maxBlocksPerPoll: z.number().int().positive().default(2_000),
    /** How many blocks of history the cursor keeps to find a common ancestor. */
    reorgWindowBlocks: z.number().int().positive().default(128),
  })
  .strict();
export type IndexerOptions = z.input<typeof indexerOptionsSchema>;

export class IndexerReorgTooDeepError extends Error {
  override name = 'IndexerReorgTooDeepError';
  constructor(readonly cursorBlock: number, readonly oldestKnownBlock: number) {
    super(`no block the indexer recorded between ${oldestKnownBlock} and ${cursorBlock} is still canonical: reorg deeper than the window`);
  }
}

export class IndexerNoQueueError extends Error {
  override name = 'IndexerNoQueueError';
  constructor() {
    super('the indexer needs at least one events queue URL (OPML_EVENTS_VIEWS_QUEUE_URL, OPML_EVENTS_DISPATCH_QUEUE_URL)');
  }
}

/** The chain changed while a range was read; the round is dropped and read again next time. */
export class IndexerChainMovedError extends Error {
  override name = 'IndexerChainMovedError';
  constructor(readonly blockNumber: number) {
    super(`block ${blockNumber} changed while its range was being read`);
  }
}

/** Events of one task (or game, model, staker) share a FIFO group, so they are consumed in chain order. */
export function messageGroupOf(event: ChainEvent): string {
  const a = event.args;
  if (typeof a.gameId === 'string') return `game-${a.gameId}`;
  if (typeof a.taskId === 'string') return `task-${a.taskId}`;
  if (typeof a.modelId === 'string') return `model-${a.modelId}`;
  if (typeof a.staker === 'string') return `staker-${a.staker.toLowerCase()}`;
  return event.contract;
}

/**
 * txHash:logIndex names the event; the block hash prefix keeps a transaction re-mined in another block
 * after a reorg from being dropped as a duplicate of its orphaned copy (SQS deduplicates for 5 minutes).
 */
export function deduplicationIdOf(message: EventMessage): string {
  const e = message.event;
  return `${message.kind === 'orphaned' ? 'orphaned:' : ''}${e.id}:${e.blockHash.slice(2, 18)}`;
}

export function toOutgoing(message: EventMessage): OutgoingMessage {
  return { body: JSON.stringify(message), groupId: messageGroupOf(message.event), deduplicationId: deduplicationIdOf(message) };
}

export interface PollResult {
  fromBlock: number;
  toBlock: number;
  published: number;
  /** Events retracted because their blocks left the canonical chain. */
  orphaned: number;
  /** The block the indexer rewound to, when a reorg was found. */
  rewoundTo?: number;
}

export class Indexer {
  private readonly options: z.output<typeof indexerOptionsSchema>;
  private readonly decoder: EventDecoder;

  constructor(
    private readonly provider: JsonRpcProvider,
    contracts: WatchedContracts,
    private readonly cursors: CursorStore,
    private readonly sqs: SQSClient,
    /** Each gets every message with the same group and deduplication ids (docs/service-spec.md section 1). */
    private readonly queueUrls: readonly string[],
    options: IndexerOptions = {},
  ) {
    if (queueUrls.length === 0) throw new IndexerNoQueueError();
    this.options = indexerOptionsSchema.parse(options);
    this.decoder = new EventDecoder(contracts);
  }

  private async block(tag: number | string): Promise<Block> {
    const block = await this.provider.getBlock(tag);
    if (!block?.hash) throw new IndexerChainMovedError(typeof tag === 'number' ? tag : -1);
    return block;
  }

  /** The newest recorded block still on the canonical chain; everything after it was orphaned. */
  private async commonAncestor(cursor: Cursor): Promise<{ kept: IndexedBlock[]; orphaned: IndexedBlock[] }> {
    for (let i = cursor.recent.length - 1; i >= 0; i--) {
      const recorded = cursor.recent[i]!;
      const canonical = await this.provider.getBlock(recorded.number);
      if (canonical?.hash === recorded.hash) return { kept: cursor.recent.slice(0, i + 1), orphaned: cursor.recent.slice(i + 1) };
    }
    throw new IndexerReorgTooDeepError(cursor.blockNumber, cursor.recent[0]!.number);
  }

  /** One round: reorg check, at most maxBlocksPerPoll confirmed blocks read, published, cursor advanced. */
  async poll(): Promise<PollResult> {
    const { cursor, etag } = await this.cursors.load();
    let recent: IndexedBlock[] = cursor?.recent ?? [];
    let orphaned: IndexedBlock[] = [];
    if (cursor) ({ kept: recent, orphaned } = await this.commonAncestor(cursor));
    const from = recent.length > 0 ? recent[recent.length - 1]!.number + 1 : this.options.startBlock;
    const target = (await this.provider.getBlockNumber()) - this.options.confirmations;
    const to = Math.min(target, from + this.options.maxBlocksPerPoll - 1);

    const retractions: EventMessage[] = orphaned
      .flatMap((b) => b.events)
      .reverse()
      .map((event) => ({ kind: 'orphaned', event }));
    const blocks = to >= from ? await this.read(from, to) : [];
    const messages: EventMessage[] = [...retractions, ...blocks.flatMap((b) => b.events.map((event): EventMessage => ({ kind: 'event', event })))];
    const outgoing = messages.map(toOutgoing);
    for (const queueUrl of this.queueUrls) await sendMessages(this.sqs, queueUrl, outgoing);

    if (blocks.length > 0 || orphaned.length > 0) {
      const all = [...recent, ...blocks];
      const last = all[all.length - 1]!;
      const oldest = last.number - this.options.reorgWindowBlocks;
      const kept = all.filter((b, i) => b.number > oldest || i === all.length - 1);
      await this.cursors.save({ blockNumber: last.number, blockHash: last.hash, recent: kept }, etag);
    }
    return {
      fromBlock: from,
      toBlock: Math.max(to, from - 1),
      published: messages.length - retractions.length,
      orphaned: retractions.length,
      rewoundTo: orphaned.length > 0 ? recent[recent.length - 1]?.number : undefined,
    };
  }

  /**
   * Polls until the cursor reaches the confirmed head, or until `hasTime()` says no further round fits
   * (a scheduled function's time budget); the next run goes on from the cursor.
   */
  async catchUp(hasTime: () => boolean = () => true): Promise<PollResult[]> {
    const rounds: PollResult[] = [];
    for (;;) {
      const round = await this.poll();
      rounds.push(round);
      if (round.toBlock < round.fromBlock || round.toBlock >= (await this.provider.getBlockNumber()) - this.options.confirmations) return rounds;
      if (!hasTime()) return rounds;
    }
  }

  /** The blocks of [from, to] that have events, plus block `to` itself (the new cursor). */
  private async read(from: number, to: number): Promise<IndexedBlock[]> {
    const end = await this.block(to);
    const logs = await this.provider.getLogs({ address: this.decoder.addresses, fromBlock: from, toBlock: to });
    // A reorg between the two reads could mix blocks of two chains; re-checking the end block catches it.
    if ((await this.block(to)).hash !== end.hash) throw new IndexerChainMovedError(to);
    const byBlock = new Map<number, IndexedBlock>();
    const timestamps = new Map<string, number>();
    for (const log of logs) {
      if (log.removed) continue;
      let timestamp = timestamps.get(log.blockHash);
      if (timestamp === undefined) {
        timestamp = (await this.block(log.blockHash)).timestamp;
        timestamps.set(log.blockHash, timestamp);
      }
      const event = this.decoder.decode(log, timestamp);
      if (!event) continue;
      let block = byBlock.get(log.blockNumber);
      if (!block) byBlock.set(log.blockNumber, (block = { number: log.blockNumber, hash: log.blockHash, events: [] }));
      block.events.push(event);
    }
    if (!byBlock.has(to)) byBlock.set(to, { number: to, hash: end.hash!, events: [] });
    return [...byBlock.values()].sort((a, b) => a.number - b.number);
  }
}
