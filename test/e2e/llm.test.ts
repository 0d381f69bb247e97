/**
 * The trained text model through the whole local market: imported from its Hugging Face folder
 * (models/llama-brown) like a downloaded checkpoint, uploaded and registered through the API, and
 * asked for two continuations of one prompt. The honest provider's answer comes back through
 * GET /tasks/{id} as text, equal to what the package generates locally; the forging provider's
 * answer (its middle token forged, the rest the model's own continuation) is refuted through every
 * phase down to one VM step of that token's Sample node, and the forger is slashed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generate, promptIds } from '../../shared/llm/generate';
import { OpmlApiClient } from '../../shared/sdk/apiClient';
import { connectOpml } from '../../shared/sdk/context';
import { importCheckpointFolder } from '../../shared/sdk/llmImport';
import { registerModelPackage } from '../../shared/sdk/models';
import { createTask } from '../../shared/sdk/requester';
import { pidAlive } from '../../shared/stack/processes';
import { startLocalStack, type LocalStack } from '../../shared/stack/localStack';
import { until } from '../helpers/until';

jest.setTimeout(600_000);

const TOKEN = 10n ** 18n;
const COLLATERAL = 100n * TOKEN;
/** The shipped trained model; OPML_E2E_LLM names another checkpoint folder. */
const FOLDER = process.env.OPML_E2E_LLM ?? resolve(__dirname, '..', '..', 'models', 'llama-brown');
const PROMPT = 'The jury said that';
const DECODING = { maxTokens: 6 };

let stack: LocalStack;
let api: OpmlApiClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2e-llm-'));
  stack = await startLocalStack({ mode: 'fast', functionVisibilitySeconds: 30, workerVisibilitySeconds: 60 });
  api = new OpmlApiClient(stack.apiUrl);
}, 180_000);

afterAll(async () => {
  const pids = stack?.pids() ?? [];
  await stack?.stop();
  for (const pid of pids) expect(pidAlive(pid)).toBe(false);
  rmSync(dir, { recursive: true, force: true });
});

it('answers a prompt with text through the API, and refutes a forged middle token to one step', async () => {
  const { model, base } = importCheckpointFolder(FOLDER, { context: 32, calibration: 'brown:8', out: join(dir, 'llama-brown') });
  const owner = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.modelOwner });
  const registered = await registerModelPackage(owner, base, { fee: TOKEN });

  // Tasks go to the providers by id: two tasks reach both, the honest one and the forger.
  const requester = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.requester });
  const tasks: bigint[] = [];
  for (let i = 0; i < 2; i++) {
    const created = await createTask(requester, { modelId: registered.modelId, input: { kind: 'generation', prompt: PROMPT, decoding: DECODING }, bounty: 20n * TOKEN, collateral: COLLATERAL, challengeWindow: 60n });
    expect(created.request.steps).toBe(BigInt(created.promptTokens!.length + DECODING.maxTokens - 1));
    tasks.push(created.taskId);
  }
  const expected = generate(model, promptIds(model, PROMPT), DECODING);

  const [finalized, refuted] = await until('one task finalized and the other refuted', 480_000, async () => {
    const details = await Promise.all(tasks.map((t) => api.getTask(t)));
    const f = details.find((d) => d.status === 'Finalized');
    const r = details.find((d) => d.status === 'Refuted');
    return f && r ? [f, r] : undefined;
  });
  expect(finalized.provider?.toLowerCase()).toBe(stack.parties.honest.address.toLowerCase());
  expect(finalized.generation?.tokens).toEqual(expected.tokens);
  expect(typeof finalized.generation?.text).toBe('string');
  expect(refuted.provider?.toLowerCase()).toBe(stack.parties.cheater.address.toLowerCase());
  expect(refuted.dispute).toMatchObject({ outcome: 'ChallengerWon' });
  expect(await stack.market.staking.stakeOf(stack.parties.cheater.address)).toBe(500n * TOKEN - COLLATERAL);

  // The game ran over the unrolled graph and ended inside it, at the forged token's Sample node, by one step.
  const game = stack.market.dispute!.contract;
  const g = await game.getGame(BigInt(refuted.dispute!.gameId));
  const n = BigInt(model.spec.nodes.length);
  expect(g.steps).toBe(BigInt(refuted.steps!));
  expect(g.nodeCount).toBe(g.steps * n);
  expect(g.node % n).toBe(0n); // the last node of its step: Sample
  expect(g.node).toBeLessThan(g.nodeCount);
  expect(await game.queryFilter(game.filters.StepVerified(BigInt(refuted.dispute!.gameId)))).toHaveLength(1);
});
