/**
 * The local stack in both modes: it comes up, the API's health route names the deployed contracts, the
 * indexer runs on its schedule through the mode's invocation path, the workers are up, and stop() leaves
 * none of the processes it started behind (checked by PID, including after a second stop()).
 */
import { receiveMessages, sendMessages } from '../../shared/aws/sqs';
import { pidAlive } from '../../shared/stack/processes';
import { startLocalStack, type LocalStack } from '../../shared/stack/localStack';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function exercise(stack: LocalStack): Promise<void> {
  const res = await fetch(`${stack.apiUrl}/health`);
  expect(res.status).toBe(200);
  const health = (await res.json()) as { chainId: string; contracts: Record<string, string> };
  expect(health.chainId).toBe('31337');
  expect(health.contracts.market).toBe(stack.market.addresses.market);
  expect(health.contracts.game).toBe(stack.env.OPML_GAME);
  // Blocks keep coming and the schedule keeps invoking the indexer.
  const block = await stack.provider.getBlockNumber();
  await until('two indexer runs and a new block', async () => stack.eventSources.indexerRuns >= 2 && (await stack.provider.getBlockNumber()) > block);
  for (const name of ['provider-honest', 'provider-2', 'challenger'] as const) {
    expect(stack.workers[name]?.logs.some((l) => l.event === 'ready')).toBe(true);
    expect(pidAlive(stack.workers[name]!.pid)).toBe(true);
  }
  expect(new Set(Object.values(stack.queues.workers).map((q) => q.url)).size).toBe(3);
}

async function stopAndCheck(stack: LocalStack): Promise<void> {
  const pids = stack.pids();
  expect(pids.length).toBeGreaterThanOrEqual(4);
  await stack.stop();
  await stack.stop();
  await until('every started process to be gone', () => pids.every((p) => !pidAlive(p)), 10_000);
  await expect(fetch(`${stack.apiUrl}/health`)).rejects.toThrow();
}

test('fast mode: handlers in this process; a poison record goes to the DLQ, the rest of the queue drains', async () => {
  const stack = await startLocalStack({ mode: 'fast', functionVisibilitySeconds: 1 });
  try {
    await exercise(stack);
    const views = stack.queues.functions.views;
    await sendMessages(stack.sqs, views.url, [{ body: '{"not":"an event"}', groupId: 'poison', deduplicationId: 'poison-1' }]);
    let dead: Awaited<ReturnType<typeof receiveMessages>> = [];
    await until('the poison record in the DLQ', async () => (dead = await receiveMessages(stack.sqs, views.dlqUrl, { waitSeconds: 1 })).length > 0, 60_000);
    expect(dead[0]!.body).toBe('{"not":"an event"}');
    // Everything the indexer published was consumed and deleted.
    expect(await receiveMessages(stack.sqs, views.url, { waitSeconds: 0, visibilityTimeoutSeconds: 0 })).toEqual([]);
    // A killed worker comes back with a new PID on restart.
    const worker = stack.workers['provider-honest']!;
    const before = worker.pid;
    worker.kill('SIGKILL');
    await until('the killed worker to exit', () => !pidAlive(before));
    await worker.restart();
    expect(worker.pid).not.toBe(before);
    expect(pidAlive(worker.pid)).toBe(true);
  } finally {
    await stopAndCheck(stack);
  }
}, 180_000);

test('a second fast stack in the same process reaches its own servers', async () => {
  const stack = await startLocalStack({ mode: 'fast', workers: false });
  try {
    const res = await fetch(`${stack.apiUrl}/health`);
    expect(((await res.json()) as { contracts: { market: string } }).contracts.market).toBe(stack.market.addresses.market);
    await until('two indexer runs', () => stack.eventSources.indexerRuns >= 2);
  } finally {
    await stack.stop();
  }
}, 120_000);

test('offline mode: the functions under serverless-offline', async () => {
  const stack = await startLocalStack({ mode: 'offline' });
  try {
    expect(stack.lambdaUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.offline && pidAlive(stack.offline.process.pid)).toBe(true);
    await exercise(stack);
  } finally {
    await stopAndCheck(stack);
  }
}, 240_000);
