/**
 * `npm start`: the whole serverless market on this machine (shared/stack startLocalStack: anvil, S3, SQS,
 * embedded IPFS, contracts with the real dispute game, the functions under serverless-offline, the
 * indexer schedule and SQS event sources, an honest provider, a forging provider and a challenger as
 * worker processes). Then, only through the HTTP API: the model owner uploads and registers the MNIST MLP
 * and CNN and the trained LLaMA-architecture text model, the requester submits tasks on real digits
 * and two text continuations, and every task is followed from GET /tasks/{id}
 * (Open -> Claimed -> Committed -> window -> Finalized, or the dispute's rounds until the cheater is
 * slashed). Prints a summary and the dashboard address; keeps running until Ctrl-C (`--exit` or CI=true:
 * exits after the summary). `--fast` runs the functions in this process instead of serverless-offline.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileContracts } from './compile-contracts';
import type { LocalStack } from '../shared/stack/localStack';

const ROOT = resolve(__dirname, '..');
const TOKEN = 10n ** 18n;
/** Chain seconds (a block a second) during which a commitment can be challenged: the market's minimum. */
const CHALLENGE_WINDOW = 60n;
const PLAN = [
  { model: 'mnist-mlp', digit: 7 },
  { model: 'mnist-mlp', digit: 4 },
  { model: 'mnist-cnn', digit: 2 },
  { model: 'mnist-cnn', digit: 1 },
] as const;

/**
 * Text generation beside the digits: the trained LLaMA-architecture model (models/llama-brown, a
 * Hugging Face folder) imported like a downloaded checkpoint, registered, and asked for two
 * continuations; the dispatcher's alternation gives one to each provider, so one is forged.
 */
const LLM_FOLDER = process.env.OPML_START_LLM ?? join(ROOT, 'models', 'llama-brown');
const LLM_CONTEXT = 48;
const GENERATION_PLAN = [
  { prompt: 'The jury said that', decoding: { maxTokens: 10 } },
  { prompt: 'It was a cold morning and', decoding: { maxTokens: 10, temperature: 0.8, topK: 40, seed: 42 } },
] as const;

const args = new Set(process.argv.slice(2));
const exitAfterSummary = args.has('--exit') || process.env.CI === 'true';
const started = Date.now();
const log = (stage: string, message: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${stage.padEnd(9)} ${message}`);

let stack: LocalStack | undefined;
let stopping: Promise<void> | undefined;
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    const running = stack;
    stack = undefined;
    if (running) {
      await running.stop();
      log('stop', 'every process the stack started is stopped');
    }
  })();
  return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`\nstart: ${signal}: stopping the market`);
    shutdown().finally(() => process.exit(130));
  });
}

const opml = (wei: string): string => (Number(BigInt(wei) / 10n ** 16n) / 100).toFixed(2);
const table = (rows: string[][]): string[] => {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
};

async function main(): Promise<void> {
  await compileContracts();
  // Imported after compiling: they load the generated bindings.
  const { startLocalStack } = await import('../shared/stack/localStack');
  const { OpmlApiClient } = await import('../shared/sdk/apiClient');
  const { connectOpml } = await import('../shared/sdk/context');
  const { createTask } = await import('../shared/sdk/requester');
  const { registerModelPackage } = await import('../shared/sdk/models');
  const { mnistTest } = await import('../shared/dnn/datasets/mnist');
  const { FINAL_STATUSES } = await import('../shared/sdk/taskState');
  const final = new Set<string>(FINAL_STATUSES);

  stack = await startLocalStack({ mode: args.has('--fast') ? 'fast' : 'offline' }, (p) => log(p.phase, p.message));
  const s = stack;
  const api = new OpmlApiClient(s.apiUrl);
  const names = new Map<string, string>([
    [s.parties.honest.address.toLowerCase(), 'honest provider'],
    [s.parties.cheater.address.toLowerCase(), 'forging provider'],
    [s.parties.challenger.address.toLowerCase(), 'challenger'],
  ]);
  const who = (address: string | null | undefined) => (address ? (names.get(address.toLowerCase()) ?? address) : '-');

  // The model owner: upload through the API (it pins graph, weights and VM image), sign registerModel, submit.
  const owner = await connectOpml({ provider: s.provider, apiUrl: s.apiUrl, signer: s.parties.modelOwner });
  const modelIds = new Map<string, bigint>();
  for (const name of new Set(PLAN.map((p) => p.model))) {
    const registered = await registerModelPackage(owner, join(ROOT, 'models', name), { fee: TOKEN });
    modelIds.set(name, registered.modelId);
    log('model', `${name}: uploaded to S3, verified as a package (${registered.nodes} nodes, graph ${registered.spec.graphCid.slice(0, 16)}…), owner signs registerModel, POST /models -> model ${registered.modelId}`);
  }
  let llmModelId: bigint | undefined;
  if (existsSync(join(LLM_FOLDER, 'config.json'))) {
    const { importCheckpointFolder } = await import('../shared/sdk/llmImport');
    const llmDir = mkdtempSync(join(tmpdir(), 'opml-start-llm-'));
    const imported = importCheckpointFolder(LLM_FOLDER, { context: LLM_CONTEXT, calibration: 'brown:8', out: join(llmDir, 'llama-brown') });
    log('model', `llama-brown: imported from its Hugging Face folder into a generation package (${imported.model.spec.nodes.length} nodes per token, context ${LLM_CONTEXT})`);
    const llm = await registerModelPackage(owner, imported.base, { fee: TOKEN });
    rmSync(llmDir, { recursive: true, force: true });
    llmModelId = llm.modelId;
    log('model', `llama-brown: uploaded, verified, registered as model ${llm.modelId}`);
  } else {
    log('model', `llama-brown: ${LLM_FOLDER} is not here (npx tsx scripts/train-llama.ts makes it): no text tasks this run`);
  }

  // The requester: POST /inputs, sign createTaskWithPermit, POST /tasks.
  const requester = await connectOpml({ provider: s.provider, apiUrl: s.apiUrl, signer: s.parties.requester });
  const test = mnistTest();
  const tasks: Array<{ taskId: bigint; model: string; input: string }> = [];
  for (const entry of PLAN) {
    const image = test.images[test.labels.indexOf(entry.digit)]!;
    const created = await createTask(requester, {
      modelId: modelIds.get(entry.model)!,
      input: { kind: 'values', values: image },
      bounty: 20n * TOKEN,
      collateral: 100n * TOKEN,
      challengeWindow: CHALLENGE_WINDOW,
    });
    tasks.push({ taskId: created.taskId, model: entry.model, input: `digit ${entry.digit}` });
    log('task', `task ${created.taskId}: ${entry.model} on a handwritten ${entry.digit} (POST /inputs -> ${created.input.inputCid?.slice(0, 16)}…, signed permit task, POST /tasks)`);
  }
  for (const entry of llmModelId === undefined ? [] : GENERATION_PLAN) {
    const created = await createTask(requester, {
      modelId: llmModelId!,
      input: { kind: 'generation', prompt: entry.prompt, decoding: entry.decoding },
      bounty: 20n * TOKEN,
      collateral: 100n * TOKEN,
      challengeWindow: CHALLENGE_WINDOW,
    });
    tasks.push({ taskId: created.taskId, model: 'llama-brown', input: JSON.stringify(entry.prompt) });
    log('task', `task ${created.taskId}: llama-brown continues ${JSON.stringify(entry.prompt)} by ${entry.decoding.maxTokens} tokens (${created.request.steps} steps; POST /inputs, signed permit task, POST /tasks)`);
  }
  const resultOf = (d: Awaited<ReturnType<typeof api.getTask>>) =>
    d.generation ? JSON.stringify(d.generation.text ?? d.generation.tokens.join(' ')) : d.predictedClass !== undefined ? `class ${d.predictedClass}` : undefined;

  // Live progress from the API alone.
  const seen = new Map<bigint, string>();
  const deadline = Date.now() + 15 * 60_000;
  let details = new Map<bigint, Awaited<ReturnType<typeof api.getTask>>>();
  let failedPolls = 0;
  for (;;) {
    try {
      details = new Map(await Promise.all(tasks.map(async (t) => [t.taskId, await api.getTask(t.taskId)] as const)));
      failedPolls = 0;
    } catch (e) {
      // One failed read of a loaded local server is not the market failing: say so and read again.
      if (++failedPolls > 10) throw e;
      log('progress', `GET /tasks/{id} failed (${(e as Error).message}); reading again`);
      await new Promise((r) => setTimeout(r, 1_000));
      continue;
    }
    for (const t of tasks) {
      const d = details.get(t.taskId)!;
      const dispute = d.dispute ? ` | game ${d.dispute.gameId}: ${d.dispute.phase}, ${d.dispute.moves.length} moves, ${d.dispute.outcome}` : '';
      const result = resultOf(d);
      const state = `${d.status}${d.provider ? ` by ${who(d.provider)}` : ''}${result ? `, ${result}` : ''}${d.windowEnd && d.status === 'Committed' && !d.dispute ? `, window ends ${d.windowEnd}` : ''}${dispute}`;
      if (seen.get(t.taskId) !== state) {
        seen.set(t.taskId, state);
        log('progress', `task ${t.taskId}: ${state}`);
      }
    }
    if (tasks.every((t) => final.has(details.get(t.taskId)!.status))) break;
    if (stopping) return;
    if (Date.now() > deadline) throw new Error('tasks not final after 15 minutes: see the worker logs above');
    await new Promise((r) => setTimeout(r, 1_000));
  }

  console.log('\nstart: tasks (all read from the HTTP API)');
  table([
    ['task', 'model', 'input', 'served by', 'result', 'status', 'dispute'],
    ...tasks.map((t) => {
      const d = details.get(t.taskId)!;
      return [`${t.taskId}`, t.model, t.input, who(d.provider), resultOf(d) ?? '-', d.status, d.dispute ? `game ${d.dispute.gameId}: ${d.dispute.outcome} after ${d.dispute.moves.length} moves` : '-'];
    }),
  ]).forEach((l) => console.log(l));
  // The views trail the chain by the confirmation depth and an indexer run: wait for them to show every final task.
  const finalizedOnChain = tasks.filter((t) => details.get(t.taskId)!.status === 'Finalized').length;
  let providers = await api.listProviders();
  for (let i = 0; i < 30 && providers.providers.reduce((n, p) => n + p.tasksFinalized, 0) < finalizedOnChain; i++) {
    await new Promise((r) => setTimeout(r, 500));
    providers = await api.listProviders();
  }
  console.log('start: providers (GET /providers)');
  table([
    ['provider', 'staked', 'slashed', 'earned', 'claimed', 'finalized'],
    ...providers.providers.map((p) => [who(p.address), opml(p.staked), opml(p.slashed), opml(p.earned), `${p.tasksClaimed}`, `${p.tasksFinalized}`]),
  ]).forEach((l) => console.log(l));
  const stats = await api.stats();
  console.log(`start: disputes ${JSON.stringify(stats.disputes)}, stake ${JSON.stringify(stats.stake)}`);
  const cheaterStake = await s.market.staking.stakeOf(s.parties.cheater.address);
  console.log(`start: the forging provider's stake is now ${Number(cheaterStake / 10n ** 16n) / 100} OPML (it staked 500)`);
  console.log(`\nstart: dashboard ${s.apiUrl}/dashboard   API ${s.apiUrl}   chain ${s.rpcUrl}`);
  console.log(`start: everything in ${((Date.now() - started) / 1000).toFixed(1)} s (stack up in ${(s.startedMs / 1000).toFixed(1)} s)`);
  if (exitAfterSummary) {
    await shutdown();
    process.exit(0);
  }
  console.log('start: the market keeps running; Ctrl-C stops everything');
}

main().catch(async (e) => {
  console.error(`start failed: ${(e as { shortMessage?: string }).shortMessage ?? (e instanceof Error ? e.message : String(e))}`);
  await shutdown();
  process.exit(1);
});
