/**
 * The whole market on local servers, end to end: API -> chain -> indexer -> queues -> workers -> chain ->
 * index, for an honest task and a disputed one, with faults injected while it runs: the honest provider's
 * worker is killed with SIGKILL between its claim and its commit, the S3 and SQS servers are restarted,
 * and a poison message is put on the dispatcher's queue. The tasks must still end right, with exactly one
 * claim and one commit each, the index must agree with the chain, and the poison must sit in the DLQ.
 */
import { join, resolve } from 'node:path';
import { receiveMessages, sendMessages } from '../../shared/aws/sqs';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { OpmlApiClient, type TaskDetail } from '../../shared/sdk/apiClient';
import { connectOpml } from '../../shared/sdk/context';
import { registerModelPackage } from '../../shared/sdk/models';
import { createTask } from '../../shared/sdk/requester';
import { pidAlive } from '../../shared/stack/processes';
import { startLocalStack, type LocalStack } from '../../shared/stack/localStack';
import { until } from '../helpers/until';

const TOKEN = 10n ** 18n;
const COLLATERAL = 100n * TOKEN;
const MODELS = resolve(__dirname, '..', '..', 'models');

let stack: LocalStack;
let api: OpmlApiClient;

beforeAll(async () => {
  stack = await startLocalStack({
    mode: 'fast',
    functionVisibilitySeconds: 2,
    workerVisibilitySeconds: 6,
    // The honest worker stops for a while after each claim, so the test can kill it mid-job.
    workerEnv: { 'provider-honest': { OPML_WORKER_TEST_PAUSE_AFTER: 'claim', OPML_WORKER_TEST_PAUSE_MS: '30000' } },
  });
  api = new OpmlApiClient(stack.apiUrl);
}, 180_000);

afterAll(async () => {
  const pids = stack?.pids() ?? [];
  await stack?.stop();
  for (const pid of pids) expect(pidAlive(pid)).toBe(false);
});


async function chainEventCount(name: 'TaskClaimed' | 'TaskCommitted', taskId: bigint): Promise<number> {
  const market = stack.market.market;
  return (await market.queryFilter(market.filters[name](taskId))).length;
}

it('serves an honest and a forged task through the API, survives a killed worker and restarted servers, and indexes the result', async () => {
  const owner = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.modelOwner });
  const { modelId } = await registerModelPackage(owner, join(MODELS, 'mnist-mlp'), { fee: TOKEN });
  const requester = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.requester });

  // Tasks are routed to the two providers by id; submit until each has one.
  const test = mnistTest();
  const digits = [7, 4];
  const tasks: Array<{ taskId: bigint; digit: number }> = [];
  for (const digit of digits) {
    const image = test.images[test.labels.indexOf(digit)]!;
    const created = await createTask(requester, { modelId, input: { kind: 'values', values: image }, bounty: 20n * TOKEN, collateral: COLLATERAL, challengeWindow: 60n });
    tasks.push({ taskId: created.taskId, digit });
  }

  // Poison on the dispatcher's queue: it must fail every delivery and end in the DLQ, blocking nothing else.
  const dispatch = stack.queues.functions.dispatcher;
  await sendMessages(stack.sqs, dispatch.url, [{ body: '{"kind":"event","event":{"id":"nonsense"}}', groupId: 'poison', deduplicationId: 'poison-1' }]);

  // Kill the honest worker right after its claim, then bring it back: the job must come back to it.
  const honest = stack.workers['provider-honest']!;
  const killedPid = honest.pid;
  const claimed = await until('the honest worker to claim', 90_000, async () => honest.logs.find((l) => l.state === 'claimed') ?? undefined);
  const honestTaskId = BigInt(claimed.taskId as string);
  honest.kill('SIGKILL');
  await until('the killed worker to exit', 10_000, async () => (pidAlive(killedPid) ? undefined : true));
  expect(await chainEventCount('TaskCommitted', honestTaskId)).toBe(0);
  await honest.restart();
  expect(honest.pid).not.toBe(killedPid);

  // Both storage servers go away for a moment while the work is in flight.
  await stack.restartS3();
  await stack.restartSqs(1_500);

  const forgedTaskId = tasks.map((t) => t.taskId).find((id) => id !== honestTaskId)!;
  const final = new Map<bigint, TaskDetail>();
  for (const taskId of [forgedTaskId, honestTaskId]) {
    const want = taskId === honestTaskId ? 'Finalized' : 'Refuted';
    final.set(taskId, await until(`task ${taskId} to be ${want}`, 240_000, async () => {
      const d = await api.getTask(taskId);
      return d.status === want ? d : undefined;
    }));
  }

  // Exactly one claim and one commit per task, the redelivered job included.
  for (const t of tasks) {
    expect(await chainEventCount('TaskClaimed', t.taskId)).toBe(1);
    expect(await chainEventCount('TaskCommitted', t.taskId)).toBe(1);
  }
  const honestDetail = final.get(honestTaskId)!;
  expect(honestDetail.provider?.toLowerCase()).toBe(stack.parties.honest.address.toLowerCase());
  expect(honestDetail.predictedClass).toBe(tasks.find((t) => t.taskId === honestTaskId)!.digit);
  const forged = final.get(forgedTaskId)!;
  expect(forged.provider?.toLowerCase()).toBe(stack.parties.cheater.address.toLowerCase());
  expect(forged.dispute).toMatchObject({ outcome: 'ChallengerWon' });
  expect(await stack.market.staking.stakeOf(stack.parties.cheater.address)).toBe(500n * TOKEN - COLLATERAL);

  // The index catches up with the chain: list views, provider views and statistics agree with it.
  await until('the views to show both outcomes', 60_000, async () => {
    const listed = (await api.listTasks()).tasks;
    const byId = new Map(listed.map((t) => [t.taskId, t.status]));
    return byId.get(String(honestTaskId)) === 'Finalized' && byId.get(String(forgedTaskId)) === 'Refuted' ? true : undefined;
  });
  const stats = await api.stats();
  expect(stats.disputes).toMatchObject({ total: 1, challengerWon: 1, providerWon: 0 });
  expect(stats.tasksByStatus).toMatchObject({ Finalized: 1, Refuted: 1 });
  const providers = new Map((await api.listProviders()).providers.map((p) => [p.address.toLowerCase(), p]));
  expect(providers.get(stack.parties.cheater.address.toLowerCase())).toMatchObject({ slashed: COLLATERAL.toString(), staked: (500n * TOKEN - COLLATERAL).toString() });
  expect(providers.get(stack.parties.honest.address.toLowerCase())).toMatchObject({ tasksFinalized: 1, earned: (20n * TOKEN).toString() });

  // The poison message was delivered until the redrive moved it, and nothing else is dead.
  const dead = await until('the poison message in the DLQ', 60_000, async () => {
    const got = await receiveMessages(stack.sqs, dispatch.dlqUrl, { waitSeconds: 1 });
    return got.length > 0 ? got : undefined;
  });
  expect(dead.map((m) => m.body)).toEqual(['{"kind":"event","event":{"id":"nonsense"}}']);
  for (const pair of [...Object.values(stack.queues.workers), stack.queues.functions.views, stack.queues.functions.pinner]) {
    expect(await receiveMessages(stack.sqs, pair.dlqUrl, { waitSeconds: 0 })).toEqual([]);
  }
}, 600_000);
