import type { HDNodeWallet } from 'ethers';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { consumeOnce, processBatch, type RecordFailure } from '../../shared/aws/batch';
import { S3PreconditionFailedError } from '../../shared/aws/errors';
import { ensureBucket, getObject } from '../../shared/aws/s3';
import { createQueueWithDlq, receiveMessages, sendMessages, type QueuePair } from '../../shared/aws/sqs';
import { EventMessageInvalidError, ViewStore, viewKey, viewUpdater } from '../../shared/indexer/consumer';
import { CursorStore, type Cursor } from '../../shared/indexer/cursor';
import { Indexer, toOutgoing, type IndexerOptions } from '../../shared/indexer/indexer';
import { GameOutcome, mine } from '../../shared/market/tasks';
import type { EventMessage } from '../../shared/schemas/events';
import { committedTask, createTask, increaseTime, startMarketFixture, TOKEN, type MarketFixture } from '../market/fixture';
import { startLocalAws, type LocalAws } from '../helpers/servers';

const BUCKET = 'market-index';
const CONFIRMATIONS = 2;

let aws: LocalAws;
let clients: AwsClients;
let f: MarketFixture;
let queue: QueuePair;
let views: ViewStore;
let requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet, requester2: HDNodeWallet;
const failures: RecordFailure[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  clients = awsClients(aws.config);
  f = await startMarketFixture(4);
  [requester, provider, challenger, requester2] = f.actors as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
  for (const a of [provider, challenger]) await mine(f.m.staking.connect(a).stake(1_000n * TOKEN));
  await ensureBucket(clients.s3, BUCKET);
  // A short visibility timeout so that failed records come back (and reach the DLQ) within the test.
  queue = await createQueueWithDlq(clients.sqs, { name: 'events', fifo: true, visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
  views = new ViewStore(clients.s3, BUCKET);
});
afterAll(async () => {
  await f?.stop();
  await aws?.stop();
});

function indexer(options: IndexerOptions = {}, cursors = new CursorStore(clients.s3, BUCKET, 'indexer/cursor.json')): Indexer {
  const contracts = { market: f.addresses.market, registry: f.m.registry.target as string, staking: f.addresses.staking };
  return new Indexer(f.provider, contracts, cursors, clients.sqs, [queue.url], { confirmations: CONFIRMATIONS, ...options });
}

async function mineBlocks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await f.provider.send('evm_mine', []);
}

/** Consumes the events queue until it stays empty. */
async function drain(): Promise<void> {
  for (let idle = 0; idle < 2; ) {
    const { received } = await consumeOnce(clients.sqs, queue.url, viewUpdater(views), { waitSeconds: 0, onFailure: (x) => failures.push(x) });
    idle = received === 0 ? idle + 1 : 0;
  }
}

async function eventsOf(kind: string, id: string): Promise<Array<{ id: string; name: string; blockHash: string; timestamp: number }>> {
  return (await views.read(kind, id)).doc?.events ?? [];
}

/** The market's logs for one task straight from the chain: what the task view must hold, once each. */
async function chainLogIdsOfTask(taskId: bigint): Promise<string[]> {
  const head = (await f.provider.getBlockNumber()) - CONFIRMATIONS;
  const logs = await f.provider.getLogs({ address: f.addresses.market, fromBlock: 0, toBlock: head });
  return logs
    .filter((l) => {
      const parsed = f.m.market.interface.parseLog(l);
      return parsed && 'taskId' in parsed.args.toObject() && parsed.args.taskId === taskId;
    })
    .map((l) => `${l.transactionHash.toLowerCase()}:${l.index}`);
}

describe('indexer and view consumer on a real chain, S3 and SQS', () => {
  let honest: bigint, refuted: bigint;

  it('turns a task lifecycle into correct views', async () => {
    honest = await committedTask(f, requester, provider);
    await increaseTime(f.provider, 700);
    await mine(f.m.market.connect(requester).finalize(honest));
    refuted = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(challenger).challenge(refuted));
    await mine(f.m.testGame!.decide(refuted, 0, GameOutcome.ChallengerWon));
    await mineBlocks(CONFIRMATIONS);

    const rounds = await indexer().catchUp();
    expect(rounds.reduce((n, r) => n + r.published, 0)).toBeGreaterThan(10);
    await drain();
    expect(failures).toEqual([]);

    expect(await views.state('tasks', String(honest))).toMatchObject({
      status: 'Finalized',
      requester: requester.address,
      provider: provider.address,
      bounty: (50n * TOKEN).toString(),
      challenges: [],
      refutedAt: null,
      expiredAt: null,
    });
    const honestView = (await views.state('tasks', String(honest))) as Record<string, unknown>;
    const honestEvents = await eventsOf('tasks', String(honest));
    const at = (name: string) => honestEvents.find((e) => e.name === name)!.timestamp;
    expect(honestView).toMatchObject({ claimedAt: at('TaskClaimed'), committedAt: at('TaskCommitted'), finalizedAt: at('TaskFinalized') });
    expect(Number(honestView.finalizedAt)).toBeGreaterThanOrEqual(Number(honestView.committedAt) + 700);
    expect(honestView.challengeWindow).toMatch(/^[1-9][0-9]*$/);
    expect(await views.state('tasks', String(refuted))).toMatchObject({
      status: 'Refuted',
      refutedAt: expect.any(Number),
      finalizedAt: null,
      // A lone winner's reward: the challengers' 80% of the 200 collateral over four possible games.
      challenges: [{ index: '0', challenger: challenger.address, status: 'ChallengerWon', reward: (40n * TOKEN).toString() }],
    });
    expect(await views.state('disputes', `${refuted}-0`)).toMatchObject({ status: 'ChallengerWon', slashed: (200n * TOKEN).toString(), reward: (40n * TOKEN).toString() });
    // Payments are credits: the task views say who was credited what.
    expect(honestView.credits).toEqual([
      { account: provider.address, amount: (50n * TOKEN).toString() },
      { account: f.modelOwner.address, amount: (2n * TOKEN).toString() },
    ]);
    const bond = (await f.m.market.getChallenge(refuted, 0)).bond;
    expect(((await views.state('tasks', String(refuted))) as Record<string, unknown>).credits).toEqual([
      { account: requester.address, amount: (52n * TOKEN).toString() },
      { account: challenger.address, amount: (bond + 40n * TOKEN).toString() },
      { account: f.treasury.address, amount: (120n * TOKEN).toString() },
    ]);
    expect(await views.state('models', String(f.modelId))).toMatchObject({ owner: f.modelOwner.address, active: true, tasks: 2 });
    // The slash lowered both stake and locked collateral: the view must agree with the chain.
    expect(await views.state('providers', provider.address.toLowerCase())).toMatchObject({
      staked: (await f.m.staking.stakeOf(provider.address)).toString(),
      locked: (await f.m.staking.lockedOf(provider.address)).toString(),
      tasksClaimed: 2,
      tasksFinalized: 1,
      earned: (50n * TOKEN).toString(),
      slashed: (200n * TOKEN).toString(),
    });
    const day = new Date(Number((await f.provider.getBlock('latest'))!.timestamp) * 1000).toISOString().slice(0, 10);
    expect(await views.state('daily', day)).toMatchObject({ tasksCreated: 2, tasksFinalized: 1, challenges: 1, refuted: 1 });
    for (const task of [honest, refuted]) {
      expect((await eventsOf('tasks', String(task))).map((e) => e.id).sort()).toEqual((await chainLogIdsOfTask(task)).sort());
    }
  });

  it('changes nothing when an event is delivered again', async () => {
    const key = viewKey('tasks', String(honest));
    const before = await getObject(clients.s3, BUCKET, key, 1 << 20);
    const doc = (await views.read('tasks', String(honest))).doc!;
    const replay: EventMessage = { kind: 'event', event: doc.events[0]! };
    await viewUpdater(views)({ messageId: 'replay', body: JSON.stringify(replay) });
    // Also through the queue with a fresh deduplication id, as a redelivery past SQS's 5-minute window would be.
    await sendMessages(clients.sqs, queue.url, [{ ...toOutgoing(replay), deduplicationId: 'replayed-later' }]);
    await drain();
    const after = await getObject(clients.s3, BUCKET, key, 1 << 20);
    expect(after.etag).toBe(before.etag);
    expect(Buffer.from(after.body).equals(Buffer.from(before.body))).toBe(true);
  });

  it('loses and doubles nothing when the indexer dies between publishing and saving its cursor', async () => {
    const tasks: bigint[] = [];
    for (let i = 0; i < 4; i++) tasks.push(await createTask(f, requester));
    await mineBlocks(CONFIRMATIONS);
    class CrashingCursorStore extends CursorStore {
      override async save(_cursor: Cursor, _etag: string | null): Promise<string> {
        throw new Error('process killed before the cursor was written');
      }
    }
    const dying = indexer({ maxBlocksPerPoll: 2 }, new CrashingCursorStore(clients.s3, BUCKET, 'indexer/cursor.json'));
    await expect(dying.poll()).rejects.toThrow('process killed');
    const restarted = indexer({ maxBlocksPerPoll: 2 });
    const rounds = await restarted.catchUp();
    expect(rounds.length).toBeGreaterThan(1);
    await drain();
    for (const task of tasks) {
      const ids = (await eventsOf('tasks', String(task))).map((e) => e.id);
      expect(ids).toEqual(await chainLogIdsOfTask(task));
      expect(await views.state('tasks', String(task))).toMatchObject({ status: 'Open' });
    }
    expect(await views.state('models', String(f.modelId))).toMatchObject({ tasks: 6 });
    expect(failures).toEqual([]);
  });

  it('rewinds to the common ancestor after a reorg and retracts the orphaned events', async () => {
    const snapshot = await f.provider.send('evm_snapshot', []);
    const orphanedTask = await createTask(f, requester);
    await mineBlocks(CONFIRMATIONS + 1);
    await indexer().catchUp();
    await drain();
    expect(await views.state('tasks', String(orphanedTask))).toMatchObject({ requester: requester.address });

    await f.provider.send('evm_revert', [snapshot]);
    // A different history: another requester's task takes the same id, and the new chain is longer.
    const replacement = await createTask(f, requester2);
    expect(replacement).toBe(orphanedTask);
    await mineBlocks(CONFIRMATIONS + 3);
    const [first] = await indexer().catchUp();
    expect(first!.orphaned).toBeGreaterThan(0);
    expect(first!.rewoundTo).toBeDefined();
    await drain();

    expect(await views.state('tasks', String(replacement))).toMatchObject({ requester: requester2.address, status: 'Open' });
    const ids = (await eventsOf('tasks', String(replacement))).map((e) => e.id);
    expect(ids).toEqual(await chainLogIdsOfTask(replacement));
    expect(await views.state('models', String(f.modelId))).toMatchObject({ tasks: 7 });
    expect(failures).toEqual([]);
  });

  it('lets only one of two indexers advance from the same cursor', async () => {
    await createTask(f, requester);
    await mineBlocks(CONFIRMATIONS);
    const cursors = new CursorStore(clients.s3, BUCKET, 'indexer/cursor.json');
    const { cursor, etag } = await cursors.load();
    const advanced: Cursor = { ...cursor!, recent: cursor!.recent.slice(-1) };
    // The other indexer reads the same version, then this one advances first.
    class ReadFirst extends CursorStore {
      override async load() {
        return { cursor, etag };
      }
    }
    const late = indexer({}, new ReadFirst(clients.s3, BUCKET, 'indexer/cursor.json'));
    await cursors.save(advanced, etag);
    await expect(late.poll()).rejects.toBeInstanceOf(S3PreconditionFailedError);
    await indexer().catchUp();
    await drain();
    expect(failures).toEqual([]);
  });

  it('reports a poison message by id, applies the rest, and the poison lands in the dead-letter queue', async () => {
    const good = (await views.read('tasks', String(honest))).doc!.events[0]!;
    const result = await processBatch(
      [
        { messageId: 'poison', body: '{"kind":"event","event":{"id":"nope"}}', groupId: 'p' },
        { messageId: 'good', body: JSON.stringify({ kind: 'event', event: good }), groupId: 'g' },
      ],
      viewUpdater(views),
    );
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'poison' }] });

    await sendMessages(clients.sqs, queue.url, [{ body: 'not json', groupId: 'poison', deduplicationId: 'poison-1' }]);
    const seen: RecordFailure[] = [];
    let dead: Awaited<ReturnType<typeof receiveMessages>> = [];
    for (let round = 0; round < 20 && dead.length === 0; round++) {
      await consumeOnce(clients.sqs, queue.url, viewUpdater(views), { waitSeconds: 1, onFailure: (x) => seen.push(x) });
      dead = await receiveMessages(clients.sqs, queue.dlqUrl, { waitSeconds: 0 });
    }
    expect(dead.map((m) => m.body)).toEqual(['not json']);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]!.error).toBeInstanceOf(EventMessageInvalidError);
    expect((seen[0]!.error as Error).message).toMatch(/not JSON/);
  });
});
