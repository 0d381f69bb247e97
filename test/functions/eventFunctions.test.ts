/**
 * The event-driven functions over a real protocol run (the real dispute game refuting a cheater, honest
 * tasks finalized): the indexer handler publishes every event to both event queues, the views handler
 * folds them, the dispatcher handler routes them to the worker and pin queues as docs/service-spec.md
 * section 3 says, and a restarted indexer neither loses nor doubles an event. Real anvil, s3rver, SQS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface, JsonRpcProvider } from 'ethers';
import { IMultiPhaseDispute__factory } from '../../build/types';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { ensureBucket, getObject } from '../../shared/aws/s3';
import { createQueueWithDlq, sendMessages, type QueuePair, type ReceivedMessage } from '../../shared/aws/sqs';
import { Indexer, deduplicationIdOf, toOutgoing } from '../../shared/indexer/indexer';
import { CursorStore, type Cursor } from '../../shared/indexer/cursor';
import { EventDecoder, type WatchedContracts } from '../../shared/indexer/decode';
import { viewKey } from '../../shared/indexer/consumer';
import { CURSOR_KEY, indexerOf, runIndexer } from '../../shared/indexer/scheduled';
import { DEMO_PLAN, DEMO_ROLES, demoParties, runProtocolDemo, type DemoResult } from '../../shared/market/protocolDemo';
import { eventMessageSchema, type EventMessage } from '../../shared/schemas/events';
import { jobSchema, type Job } from '../../shared/schemas/jobs';
import { parseServiceEnv, type ServiceEnv } from '../../shared/service/config';
import { handler as indexerHandler } from '../../functions/indexer';
import { handler as viewsHandler } from '../../functions/views';
import { handler as dispatcherHandler } from '../../functions/dispatcher';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';
import { drainQueue, runSqsLambda } from './lambda';

jest.setTimeout(120_000);

const VIEWS_BUCKET = 'views';
const fifo = (name: string) => ({ name, fifo: true, visibilityTimeoutSeconds: 5, maxReceiveCount: 5 });

let aws: LocalAws;
let clients: AwsClients;
let chain: LocalChain;
let demo: DemoResult;
let ipfsDir: string;
let env: ServiceEnv;
const q: Record<'views' | 'dispatch' | 'honest' | 'cheater' | 'challenger' | 'pin', QueuePair> = {} as never;

/** The functions' JSON log lines, kept out of the test output and available to assertions. */
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    try {
      logs.push(JSON.parse(String(line)));
    } catch {
      logs.push({ raw: line });
    }
  });
  [aws, chain] = await Promise.all([startLocalAws(), startLocalChain({ accounts: DEMO_ROLES.length })]);
  clients = awsClients(aws.config);
  demo = await runProtocolDemo(chain.provider, demoParties(chain.wallets));
  await Promise.all([ensureBucket(clients.s3, VIEWS_BUCKET), ensureBucket(clients.s3, 'data')]);
  for (const name of ['views', 'dispatch', 'honest', 'cheater', 'challenger', 'pin'] as const) q[name] = await createQueueWithDlq(clients.sqs, fifo(`c1-${name}`));
  ipfsDir = await mkdtemp(join(tmpdir(), 'c1-ipfs-'));
  const parties = demoParties(chain.wallets);
  Object.assign(process.env, {
    OPML_RPC_URL: chain.anvil.rpcUrl,
    OPML_MARKET: demo.addresses.market!,
    OPML_REGISTRY: demo.addresses.registry!,
    OPML_STAKING: demo.addresses.staking!,
    OPML_TOKEN: demo.addresses.token!,
    OPML_GAME: demo.dispute.game,
    OPML_START_BLOCK: '0',
    OPML_CONFIRMATIONS: '0',
    OPML_DATA_BUCKET: 'data',
    OPML_VIEWS_BUCKET: VIEWS_BUCKET,
    OPML_EVENTS_VIEWS_QUEUE_URL: q.views.url,
    OPML_EVENTS_DISPATCH_QUEUE_URL: q.dispatch.url,
    OPML_PIN_QUEUE_URL: q.pin.url,
    // Provider routes in this order: task t goes to providers[t mod 2].
    OPML_WORKERS: JSON.stringify([
      { address: parties.honest.address, role: 'provider', queueUrl: q.honest.url },
      { address: parties.cheater.address, role: 'provider', queueUrl: q.cheater.url },
      { address: parties.challenger.address, role: 'challenger', queueUrl: q.challenger.url },
    ]),
    OPML_S3_ENDPOINT: aws.config.s3Endpoint,
    OPML_SQS_ENDPOINT: aws.config.sqsEndpoint,
    OPML_AWS_ACCESS_KEY_ID: 'S3RVER',
    OPML_AWS_SECRET_ACCESS_KEY: 'S3RVER',
    OPML_IPFS: 'embedded',
    OPML_IPFS_PATH: ipfsDir,
  });
  env = parseServiceEnv(process.env);
});
afterAll(async () => {
  await chain?.stop();
  await aws?.stop();
  if (ipfsDir) await rm(ipfsDir, { recursive: true, force: true });
});

const contracts = (): WatchedContracts => ({ market: env.OPML_MARKET, registry: env.OPML_REGISTRY, staking: env.OPML_STAKING, game: env.OPML_GAME });

/** The ids of every event the indexer should publish, straight from the chain's logs. */
async function chainEventIds(): Promise<string[]> {
  const decoder = new EventDecoder(contracts());
  const logs = await chain.provider.getLogs({ address: decoder.addresses, fromBlock: 0, toBlock: 'latest' });
  return logs.filter((l) => decoder.decode(l, 0) !== null).map((l) => `${l.transactionHash.toLowerCase()}:${l.index}`);
}

/** The received event messages sent again with their groups, under deduplication ids marked `tag`. */
async function resend(queueUrl: string, received: ReceivedMessage[], tag: string): Promise<void> {
  await sendMessages(clients.sqs, queueUrl, messagesOf(received).map((m) => ({ ...toOutgoing(m), deduplicationId: `${tag}:${deduplicationIdOf(m)}` })));
}

const messagesOf = (received: ReceivedMessage[]): EventMessage[] => received.map((m) => eventMessageSchema.parse(JSON.parse(m.body)));
/** Validated jobs, flattened for assertions, with the FIFO group they came in. */
type ReceivedJob = Record<string, string | undefined> & { kind: Job['kind'] };
const jobsOf = (received: ReceivedMessage[]): ReceivedJob[] => received.map((m) => ({ ...jobSchema.parse(JSON.parse(m.body)), groupId: m.groupId }));

describe('indexer, views and dispatcher handlers on a protocol run with a dispute', () => {
  let viewsMessages: ReceivedMessage[];
  /** Per worker queue, `group body` of every job the first dispatch sent. */
  const firstDispatch = new Map<string, string[]>();

  it('indexer handler publishes every chain event once to both event queues', async () => {
    const summary = await indexerHandler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { getRemainingTimeInMillis: () => 60_000 });
    const expected = await chainEventIds();
    expect(summary).toMatchObject({ caughtUp: true, published: expected.length, orphaned: 0, fromBlock: 0 });
    expect(summary.toBlock).toBe(await chain.provider.getBlockNumber());

    // A second run finds nothing new.
    expect(await indexerHandler({}, { getRemainingTimeInMillis: () => 60_000 })).toMatchObject({ published: 0, caughtUp: true });

    viewsMessages = await drainQueue(clients.sqs, q.views.url);
    const dispatchMessages = await drainQueue(clients.sqs, q.dispatch.url);
    const ids = (ms: ReceivedMessage[]) => messagesOf(ms).map((m) => m.event.id).sort();
    expect(ids(viewsMessages)).toEqual([...expected].sort());
    expect(ids(dispatchMessages)).toEqual([...expected].sort());
    // Same group and deduplication ids on both queues.
    const keys = (ms: ReceivedMessage[]) => ms.map((m) => `${m.groupId} ${deduplicationIdOf(eventMessageSchema.parse(JSON.parse(m.body)))}`).sort();
    expect(keys(viewsMessages)).toEqual(keys(dispatchMessages));
    // Put the dispatch copies back for the dispatcher test, as the indexer would have left them (under new
    // deduplication ids: SQS drops a resend of an id it saw in the last 5 minutes).
    await resend(q.dispatch.url, dispatchMessages, 'copy');
  });

  it('views handler folds the events; a replayed batch changes no view', async () => {
    await resend(q.views.url, viewsMessages, 'copy');
    const run = await runSqsLambda(clients.sqs, q.views.url, viewsHandler);
    expect(run.failed).toEqual([]);
    expect(run.records).toBe(viewsMessages.length);

    const { ViewStore } = await import('../../shared/indexer/consumer');
    const views = new ViewStore(clients.s3, VIEWS_BUCKET);
    for (const t of demo.tasks) {
      const state = (await views.state('tasks', String(t.taskId))) as Record<string, unknown>;
      expect(state).toMatchObject({ status: t.status, challengeWindow: '600' });
      expect(state.committedAt).toEqual(expect.any(Number));
      expect(t.status === 'Finalized' ? state.finalizedAt : state.refutedAt).toEqual(expect.any(Number));
    }
    const dispute = demo.disputes[0]!;
    expect(await views.state('games', String(dispute.gameId))).toMatchObject({ outcome: '2' });

    const keys = [
      ...demo.tasks.map((t) => viewKey('tasks', String(t.taskId))),
      ...demo.models.map((m) => viewKey('models', String(m.modelId))),
      viewKey('games', String(dispute.gameId)),
      viewKey('disputes', `${dispute.taskId}-0`),
    ];
    const etags = async () => Promise.all(keys.map(async (k) => (await getObject(clients.s3, VIEWS_BUCKET, k, 1 << 24)).etag));
    const before = await etags();
    // The same records again, as a redelivered Lambda batch: every record succeeds, nothing is rewritten.
    await resend(q.views.url, viewsMessages, 'replay');
    const replay = await runSqsLambda(clients.sqs, q.views.url, viewsHandler);
    expect(replay).toMatchObject({ failed: [], records: viewsMessages.length });
    expect(await etags()).toEqual(before);
  });

  it('dispatcher handler sends each kind of job to the routes section 3 names', async () => {
    const run = await runSqsLambda(clients.sqs, q.dispatch.url, dispatcherHandler);
    expect(run.failed).toEqual([]);
    expect(logs.filter((l) => l.event === 'dispatch-skipped')).toEqual([]);
    expect(logs.filter((l) => l.event === 'dispatched').length).toBeGreaterThan(40);
    const parties = demoParties(chain.wallets);
    const jobs = {
      honest: jobsOf(await drainQueue(clients.sqs, q.honest.url)),
      cheater: jobsOf(await drainQueue(clients.sqs, q.cheater.url)),
      challenger: jobsOf(await drainQueue(clients.sqs, q.challenger.url)),
      pin: jobsOf(await drainQueue(clients.sqs, q.pin.url)),
    };
    for (const name of ['honest', 'cheater', 'challenger', 'pin'] as const) firstDispatch.set(name, jobs[name].map(({ groupId, ...job }) => `${groupId} ${JSON.stringify(job)}`).sort());
    const of = (list: ReceivedJob[], kind: Job['kind']) => list.filter((j) => j.kind === kind);

    // infer: taskId mod 2 over [honest, cheater].
    for (const t of demo.tasks) {
      const queue = t.taskId % 2n === 0n ? jobs.honest : jobs.cheater;
      expect(of(queue, 'infer').filter((j) => j.taskId === String(t.taskId))).toHaveLength(1);
    }
    expect(of(jobs.honest, 'infer').length + of(jobs.cheater, 'infer').length).toBe(DEMO_PLAN.length);

    // verify: every committed task to the challenger, naming its provider and model.
    const modelIdOf = new Map(demo.models.map((m) => [m.name, String(m.modelId)]));
    const byTask = (a: ReceivedJob, b: ReceivedJob) => Number(a.taskId) - Number(b.taskId);
    expect([...of(jobs.challenger, 'verify')].sort(byTask).map((j) => [j.taskId, j.provider, j.modelId])).toEqual(
      [...demo.tasks].sort((a, b) => Number(a.taskId - b.taskId)).map((t) => [String(t.taskId), (t.provider === 'honest' ? parties.honest : parties.cheater).address, modelIdOf.get(t.model)]),
    );

    // finalize: to the task's own provider, in a group of its own on a FIFO queue.
    for (const t of demo.tasks) {
      const own = t.provider === 'honest' ? jobs.honest : jobs.cheater;
      const finalize = of(own, 'finalize').filter((j) => j.taskId === String(t.taskId));
      expect(finalize).toHaveLength(1);
      expect(finalize[0]!.groupId).toBe(`task-${t.taskId}-finalize`);
      expect(finalize[0]).toMatchObject({ windowEnd: expect.stringMatching(/^[1-9][0-9]*$/) });
    }

    // dispute: TaskChallenged and every game event, to the cheating provider and the challenger, nobody else.
    const dispute = demo.disputes[0]!;
    const gameLogs = await chain.provider.getLogs({ address: demo.dispute.game, fromBlock: 0, toBlock: 'latest' });
    const gameIface: Interface = IMultiPhaseDispute__factory.createInterface();
    const gameEvents = gameLogs.map((l) => gameIface.parseLog(l)).filter((p) => p && p.args.gameId === dispute.gameId);
    expect(gameEvents.length).toBeGreaterThan(8);
    for (const queue of [jobs.cheater, jobs.challenger]) {
      const disputes = of(queue, 'dispute');
      expect(disputes).toHaveLength(1 + gameEvents.length);
      for (const j of disputes) expect(j).toMatchObject({ taskId: String(dispute.taskId), gameId: String(dispute.gameId), groupId: `task-${dispute.taskId}` });
      expect(new Set(disputes.map((j) => j.eventId)).size).toBe(disputes.length);
    }
    expect(of(jobs.honest, 'dispute')).toEqual([]);

    // pin: each registered model once, on the pin queue.
    expect(jobs.pin.map((j) => j.modelId).sort()).toEqual(demo.models.map((m) => String(m.modelId)).sort());
    expect(jobs.pin.every((j) => j.groupId === `model-${j.modelId}`)).toBe(true);
    expect(of(jobs.challenger, 'infer')).toEqual([]);
  });

  it('a redelivered event batch sends the same jobs under the same deduplication ids, once', async () => {
    // Past SQS's deduplication of the event messages themselves (fresh ids), twice over: the jobs' own
    // deduplication ids collapse the second copy while the first is still queued.
    for (const tag of ['again', 'again-2']) {
      await resend(q.dispatch.url, viewsMessages, tag);
      expect((await runSqsLambda(clients.sqs, q.dispatch.url, dispatcherHandler)).failed).toEqual([]);
    }
    for (const name of ['honest', 'cheater', 'challenger', 'pin'] as const) {
      const again = (await drainQueue(clients.sqs, q[name].url)).map((m) => `${m.groupId} ${m.body}`).sort();
      expect(again).toEqual(firstDispatch.get(name));
    }
  });

  it('an indexer restarted mid-stream, once killed between publishing and saving, loses and doubles nothing', async () => {
    const bucket = 'restart-views';
    await ensureBucket(clients.s3, bucket);
    const target = await createQueueWithDlq(clients.sqs, fifo('c1-restart'));
    const restartEnv: ServiceEnv = { ...env, OPML_VIEWS_BUCKET: bucket, OPML_EVENTS_VIEWS_QUEUE_URL: target.url, OPML_EVENTS_DISPATCH_QUEUE_URL: undefined };
    // Each run is a new process (new provider, new Indexer) allowed one round of a few blocks.
    const newProcess = () => new JsonRpcProvider(chain.anvil.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const runs: Array<{ caughtUp: boolean; published: number }> = [];
    for (let i = 0; i < 3; i++) runs.push(await runIndexer(indexerOf(restartEnv, newProcess(), clients.s3, clients.sqs, { maxBlocksPerPoll: 5 }), { budgetMs: 0 }));
    class KilledBeforeSaving extends CursorStore {
      override async save(_cursor: Cursor, _etag: string | null): Promise<string> {
        throw new Error('killed after publishing, before saving the cursor');
      }
    }
    const dying = new Indexer(newProcess(), contracts(), new KilledBeforeSaving(clients.s3, bucket, CURSOR_KEY), clients.sqs, [target.url], { confirmations: 0, maxBlocksPerPoll: 5 });
    await expect(dying.poll()).rejects.toThrow('killed');
    for (let i = 0; i < 200 && !runs.at(-1)!.caughtUp; i++) runs.push(await runIndexer(indexerOf(restartEnv, newProcess(), clients.s3, clients.sqs, { maxBlocksPerPoll: 5 }), { budgetMs: 0 }));
    expect(runs.at(-1)!.caughtUp).toBe(true);
    expect(runs.filter((r) => !r.caughtUp).length).toBeGreaterThan(3);

    const received = await drainQueue(clients.sqs, target.url);
    const dedupIds = received.map((m) => deduplicationIdOf(eventMessageSchema.parse(JSON.parse(m.body))));
    expect(new Set(dedupIds).size).toBe(dedupIds.length);
    expect(messagesOf(received).map((m) => m.event.id).sort()).toEqual((await chainEventIds()).sort());
  });
});
