/**
 * jobsFor's edges that a protocol run does not reach: missing routes, orphaned events, the finalize delay
 * bounds, one address in both roles, and how a finalize job travels on FIFO and standard queues (a real
 * local SQS server for the latter). The chain answers come from a fixed table: routing reads nothing else.
 */
import { awsClients } from '../../shared/aws/config';
import { createQueueWithDlq, receiveMessages, sendMessages } from '../../shared/aws/sqs';
import { jobsFor, MAX_DELAY_SECONDS, outgoingOf, type ChainReader, type DispatchTargets } from '../../shared/dispatch/routing';
import { chainEventSchema, type ChainEvent, type EventMessage } from '../../shared/schemas/events';
import type { WorkerRoute } from '../../shared/service/config';
import { startLocalAws, type LocalAws } from '../helpers/servers';

const PROVIDER = '0x1111111111111111111111111111111111111111';
const OTHER_PROVIDER = '0x2222222222222222222222222222222222222222';
const CHALLENGER = '0x3333333333333333333333333333333333333333';
const GAME = '0x4444444444444444444444444444444444444444';
const NOW = 1_800_000_000;

const route = (address: string, role: WorkerRoute['role'], name: string, fifo = true): WorkerRoute => ({
  address,
  role,
  queueUrl: `http://127.0.0.1:1/000000000000/${name}${fifo ? '.fifo' : ''}`,
});

/** Task 7 was claimed by PROVIDER; game 3 is its dispute with CHALLENGER. */
const chain: ChainReader = {
  task: async (taskId) => ({ provider: taskId === 7n ? PROVIDER : OTHER_PROVIDER, modelId: 1n }),
  gameIdOf: async (game, taskId, challengeIndex) => (game === GAME && taskId === 7n && challengeIndex === 0n ? 3n : 0n),
  game: async (_game, gameId) => ({ taskId: gameId === 3n ? 7n : 0n, provider: PROVIDER, challenger: CHALLENGER }),
  now: async () => NOW,
};

let logIndex = 0;
function event(contract: ChainEvent['contract'], name: string, args: ChainEvent['args']): EventMessage {
  const i = logIndex++;
  return {
    kind: 'event',
    event: chainEventSchema.parse({
      id: `0x${'ab'.repeat(32)}:${i}`,
      contract,
      address: contract === 'game' ? GAME : '0x5555555555555555555555555555555555555555',
      name,
      blockNumber: 10,
      blockHash: `0x${'cd'.repeat(32)}`,
      timestamp: NOW,
      txHash: `0x${'ab'.repeat(32)}`,
      logIndex: i,
      args,
    }),
  };
}

const committed = (windowEnd: number) =>
  event('market', 'TaskCommitted', { taskId: '7', outputRoot: `0x${'11'.repeat(32)}`, graphStateRoot: `0x${'22'.repeat(32)}`, output: '0x', windowEnd: String(windowEnd) });

describe('jobsFor', () => {
  const targets: DispatchTargets = {
    workers: [route(PROVIDER, 'provider', 'p1'), route(OTHER_PROVIDER, 'provider', 'p2'), route(CHALLENGER, 'challenger', 'c1'), route(OTHER_PROVIDER, 'challenger', 'c2')],
    pinQueueUrl: 'http://127.0.0.1:1/000000000000/pin.fifo',
  };

  it('sends no job for an orphaned event and says why', async () => {
    const message = committed(NOW + 60);
    const { jobs, skipped } = await jobsFor({ kind: 'orphaned', event: message.event }, targets, chain);
    expect(jobs).toEqual([]);
    expect(skipped).toEqual([expect.stringMatching(/orphaned/)]);
  });

  it('skips, with a reason, what no route serves', async () => {
    const created = event('market', 'TaskCreated', { taskId: '8', requester: PROVIDER, modelId: '1', bounty: '1', fee: '0', deadline: '9', collateral: '1', challengeWindow: '60', inputCid: 'bafk' });
    expect(await jobsFor(created, { workers: [route(CHALLENGER, 'challenger', 'c1')] }, chain)).toEqual({ jobs: [], skipped: [expect.stringMatching(/no provider routes/)] });
    const finalizeless = await jobsFor(committed(NOW + 60), { workers: [route(CHALLENGER, 'challenger', 'c1')] }, chain);
    expect(finalizeless.jobs.map((d) => d.job.kind)).toEqual(['verify']);
    expect(finalizeless.skipped).toEqual([expect.stringMatching(new RegExp(`no provider route for ${PROVIDER}: finalize`))]);
    const registered = event('registry', 'ModelRegistered', { modelId: '4', owner: PROVIDER, fee: '0' });
    expect(await jobsFor(registered, { workers: [] }, chain)).toEqual({ jobs: [], skipped: [expect.stringMatching(/OPML_PIN_QUEUE_URL/)] });
    expect((await jobsFor(registered, targets, chain)).jobs).toEqual([{ queueUrl: targets.pinQueueUrl, job: { kind: 'pin', modelId: '4', eventId: registered.event.id } }]);
  });

  it('verifies on every challenger route and finalizes on the provider route, the delay within [0, 900]', async () => {
    const soon = await jobsFor(committed(NOW + 60), targets, chain);
    expect(soon.jobs.map((d) => [d.job.kind, d.queueUrl.split('/').pop()])).toEqual([
      ['verify', 'c1.fifo'],
      ['verify', 'c2.fifo'],
      ['finalize', 'p1.fifo'],
    ]);
    expect(soon.jobs[2]!.delaySeconds).toBe(60);
    expect((await jobsFor(committed(NOW + 86_400), targets, chain)).jobs[2]!.delaySeconds).toBe(MAX_DELAY_SECONDS);
    expect((await jobsFor(committed(NOW - 5), targets, chain)).jobs[2]!.delaySeconds).toBe(0);
  });

  it('verifies and finalizes again when a full task frees a slot and its window restarts', async () => {
    const extended = event('market', 'ChallengeWindowExtended', { taskId: '7', windowEnd: String(NOW + 600) });
    const { jobs, skipped } = await jobsFor(extended, targets, chain);
    expect(skipped).toEqual([]);
    expect(jobs.map((d) => [d.queueUrl.split('/').pop(), d.job, d.delaySeconds])).toEqual([
      ['c1.fifo', { kind: 'verify', taskId: '7', modelId: '1', provider: PROVIDER, eventId: extended.event.id }, undefined],
      ['c2.fifo', { kind: 'verify', taskId: '7', modelId: '1', provider: PROVIDER, eventId: extended.event.id }, undefined],
      ['p1.fifo', { kind: 'finalize', taskId: '7', windowEnd: String(NOW + 600), eventId: extended.event.id }, 600],
    ]);
    // A new event id: SQS deduplication does not drop these as repeats of the TaskCommitted jobs.
    expect(jobs[0]!.job).not.toEqual((await jobsFor(committed(NOW + 60), targets, chain)).jobs[0]!.job);
  });

  it('refuses to send a job the jobs schema rejects', async () => {
    // A TaskCreated without its input CID (an ABI the events schema does not pin down).
    const created = event('market', 'TaskCreated', { taskId: '8', requester: PROVIDER, modelId: '1', bounty: '1', fee: '0', deadline: '9', collateral: '1', challengeWindow: '60' });
    await expect(jobsFor(created, targets, chain)).rejects.toMatchObject({ name: 'DispatchJobInvalidError', message: expect.stringContaining('inputCid') });
  });

  it('sends dispute jobs to both players, once per queue when one address plays both roles from one queue', async () => {
    const challenged = event('market', 'TaskChallenged', { taskId: '7', challengeIndex: '0', challenger: CHALLENGER, game: GAME, bond: '1' });
    const both = await jobsFor(challenged, targets, chain);
    expect(both.jobs.map((d) => [d.queueUrl.split('/').pop(), d.job])).toEqual([
      ['p1.fifo', { kind: 'dispute', taskId: '7', gameId: '3', eventId: challenged.event.id }],
      ['c1.fifo', { kind: 'dispute', taskId: '7', gameId: '3', eventId: challenged.event.id }],
    ]);
    const moved = event('game', 'Bisected', { gameId: '3', phase: '1', lo: '0', hi: '8', claims: [] });
    const shared = route(PROVIDER, 'provider', 'solo');
    const solo = await jobsFor(moved, { workers: [shared, { ...shared, address: CHALLENGER, role: 'challenger' }] }, chain);
    expect(solo.jobs).toEqual([{ queueUrl: shared.queueUrl, job: { kind: 'dispute', taskId: '7', gameId: '3', eventId: moved.event.id } }]);
  });
});

describe('finalize jobs on FIFO and standard queues', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => aws?.stop());

  it('a FIFO queue gets it undelayed in its own group; a standard queue holds it for the delay', async () => {
    const job = { kind: 'finalize', taskId: '7', windowEnd: String(NOW + 2), eventId: `0x${'ab'.repeat(32)}:1` } as const;
    expect(outgoingOf({ queueUrl: 'http://h/1/q.fifo', job, delaySeconds: 2 })).toEqual({
      body: JSON.stringify(job),
      groupId: 'task-7-finalize',
      deduplicationId: `finalize:${job.eventId}`,
    });
    const { sqs } = awsClients(aws.config);
    const standard = await createQueueWithDlq(sqs, { name: 'c1-standard', fifo: false, visibilityTimeoutSeconds: 5, maxReceiveCount: 5 });
    const fifo = await createQueueWithDlq(sqs, { name: 'c1-fifo', fifo: true, visibilityTimeoutSeconds: 5, maxReceiveCount: 5 });
    await sendMessages(sqs, standard.url, [outgoingOf({ queueUrl: standard.url, job, delaySeconds: 2 })]);
    await sendMessages(sqs, fifo.url, [outgoingOf({ queueUrl: fifo.url, job, delaySeconds: 2 })]);
    expect((await receiveMessages(sqs, fifo.url, { waitSeconds: 0 })).map((m) => [m.groupId, m.body])).toEqual([['task-7-finalize', JSON.stringify(job)]]);
    expect(await receiveMessages(sqs, standard.url, { waitSeconds: 0 })).toEqual([]);
    const later = await receiveMessages(sqs, standard.url, { waitSeconds: 5 });
    expect(later.map((m) => m.body)).toEqual([JSON.stringify(job)]);
  });
});
