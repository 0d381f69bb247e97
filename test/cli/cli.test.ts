/**
 * The real `bin/opml` as a child process with --json against anvil (market + real dispute game),
 * s3rver, embedded IPFS and the API's handlers on a local server: model import and register, task
 * submit from a PNG written from an MNIST digit, task show and watch to Finalized, provider stake and
 * status, dispute inspect of a real game, a worker started by the CLI serving a job, and refusals with clear messages and non-zero exit codes.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HDNodeWallet } from 'ethers';
import { encodeText } from '../../shared/dnn/datasets/charlm';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { readModelFiles } from '../../shared/dnn/files';
import { quantizeInput } from '../../shared/dnn/io';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphStateAt } from '../../shared/dispute/graph';
import { mine } from '../../shared/market/tasks';
import { toHex } from '../../shared/dnn/tensor';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { grayToPng } from '../../shared/sdk';
import { awsClients } from '../../shared/aws/config';
import { createQueueWithDlq, sendMessages } from '../../shared/aws/sqs';
import { jobDeduplicationIdOf, jobGroupOf, type Job } from '../../shared/schemas/jobs';
import { startApiStack, TOKEN, type ApiStack } from '../sdk/apiStack';

jest.setTimeout(120_000);

const BIN = resolve(__dirname, '..', '..', 'bin', 'opml');
const MLP = resolve(__dirname, '..', '..', 'models', 'mnist-mlp');
let stack: ApiStack;
let owner: HDNodeWallet, requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet;
let tmp: string;
let png: string;
let modelId: string;
let taskId: string;
const digits = mnistTest();
const SEVEN = digits.images[digits.labels.indexOf(7)];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Runs bin/opml from outside the repository with the stack's API and RPC (and `key`, through OPML_KEY), none of this process's OPML_* env. */
function opml(args: string[], key?: HDNodeWallet | string): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPML_')));
  if (key !== undefined) env.OPML_KEY = typeof key === 'string' ? key : key.privateKey;
  return new Promise((done) => {
    execFile(BIN, ['--api', stack.api.url, '--rpc', stack.chain.anvil.rpcUrl, ...args], { env, cwd: tmp, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      done({ code, stdout, stderr, json });
    });
  });
}

/** Runs bin/opml under a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: string[]): Promise<Run> {
  const line = [BIN, '--api', stack.api.url, '--rpc', stack.chain.anvil.rpcUrl, ...args].map((a) => `'${a}'`).join(' ');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPML_')));
  return new Promise((done) => {
    execFile('script', ['-qec', line, '/dev/null'], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, json: undefined });
    });
  });
}

/** Plays the honest provider on chain: claim, run natively, commit. */
async function serve(id: bigint): Promise<void> {
  const model = readModelFiles(MLP);
  const slots = dnnSlotTensors(model, quantizeInput(model, SEVEN));
  const roots = slots.map((t) => merkleRootOfBytes(t));
  const out = slots.length - 1;
  await mine(stack.market.market.connect(provider).claim(id));
  await mine(stack.market.market.connect(provider).commit(id, toHex(roots[out]), graphStateAt(roots, roots.length - 1), slots[out]));
}

beforeAll(async () => {
  stack = await startApiStack({ accounts: 5 });
  [, owner, requester, provider, challenger] = stack.wallets;
  tmp = await mkdtemp(join(tmpdir(), 'opml-cli-'));
  png = join(tmp, 'seven.png');
  await writeFile(png, grayToPng(SEVEN));
});
afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it('model import quantizes an ONNX file into a package', async () => {
  const out = join(tmp, 'imported');
  const r = await opml(['--json', 'model', 'import', `${MLP}.onnx`, '--calibration', 'mnist:20', '--input-shape', '1,784', '--out', out]);
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({ name: 'mnist-mlp', base: out, input: { dtype: 'int8', shape: [1, 784] } });
  expect(existsSync(`${out}.dnn.json`) && existsSync(`${out}.dnn.bin`)).toBe(true);
  expect(readModelFiles(out).spec.nodes.length).toBe(r.json.nodes);
});

it('model register uploads the package and registers it with the owner key', async () => {
  const r = await opml(['--json', 'model', 'register', 'mnist-mlp', '--fee', '1'], owner);
  expect(r.code).toBe(0);
  modelId = r.json.modelId;
  expect(modelId).toBe('1');
  const [modelOwner, fee, active] = await stack.market.registry.modelTerms(1);
  expect([modelOwner, fee, active]).toEqual([owner.address, TOKEN, true]);
  expect(r.json.spec.weightsCid).toBe((await stack.market.registry.modelCids(1))[1]);
  const list = await opml(['--json', 'model', 'list']);
  expect(list.json.models.map((m: { modelId: string }) => m.modelId)).toEqual(['1']);
});

it('task submit from a PNG digit, then task show reads it back', async () => {
  const r = await opml(['--json', 'task', 'submit', '--model', modelId, '--image', png, '--bounty', '10', '--collateral', '50', '--window', '60'], requester);
  expect(r.code).toBe(0);
  taskId = r.json.taskId;
  const onChain = await stack.market.market.getTask(BigInt(taskId));
  expect(onChain.requester).toBe(requester.address);
  expect(onChain.inputRoot).toBe(r.json.inputRoot);
  expect(onChain.bounty).toBe(10n * TOKEN);
  expect(await stack.market.token.balanceOf(requester.address)).toBe(1_000n * TOKEN - 11n * TOKEN);

  const show = await opml(['--json', 'task', 'show', taskId]);
  expect(show.code).toBe(0);
  expect(show.json).toMatchObject({ taskId, status: 'Open', requester: requester.address, modelId: '1', bounty: (10n * TOKEN).toString(), inputRoot: r.json.inputRoot, provider: null });
});

it('task submit with a prompt for the character model', async () => {
  const registered = await opml(['--json', 'model', 'register', 'charlm'], owner);
  expect(registered.code).toBe(0);
  const r = await opml(['--json', 'task', 'submit', '--model', registered.json.modelId, '--prompt', 'The VM ', '--bounty', '1', '--collateral', '5'], requester);
  expect(r.code).toBe(0);
  // The input is the 32-id window, left-padded with spaces (int32 little-endian): its root is on chain.
  const ids = [...Array(25).fill(encodeText(' ')[0]), ...encodeText('The VM ')];
  const bytes = new Uint8Array(Int32Array.from(ids).buffer);
  expect(r.json.inputRoot).toBe(toHex(merkleRootOfBytes(bytes)));
  expect((await stack.market.market.getTask(BigInt(r.json.taskId))).inputRoot).toBe(r.json.inputRoot);
  const stored = await fetch(`${stack.api.url}/blobs/${r.json.inputCid}`);
  expect(Buffer.from(await stored.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
});

it('provider stake and status', async () => {
  const staked = await opml(['--json', 'provider', 'stake', '200'], provider);
  expect(staked.code).toBe(0);
  expect(staked.json.stake).toBe((200n * TOKEN).toString());
  expect(await stack.market.staking.stakeOf(provider.address)).toBe(200n * TOKEN);
  const status = await opml(['--json', 'provider', 'status', provider.address]);
  expect(status.json).toMatchObject({ address: provider.address, stake: (200n * TOKEN).toString(), locked: '0', balance: (800n * TOKEN).toString(), isStaked: true, earned: '0' });
});

it('task watch follows the task to Finalized; plain lines when not on a terminal', async () => {
  await serve(BigInt(taskId));
  const committed = await opml(['task', 'show', taskId]);
  expect(committed.code).toBe(0);
  expect(committed.stdout).toMatch(/● Committed +class 7 .*challenge window closes in/);

  await stack.chain.provider.send('evm_increaseTime', [61]);
  await stack.chain.provider.send('evm_mine', []);
  // Someone (normally the provider's worker) finalizes; the watch sees it.
  const plain = opml(['task', 'watch', taskId, '--poll', '100', '--timeout', '60']);
  const finalized = await opml(['--json', 'task', 'finalize', taskId], requester);
  expect(finalized.code).toBe(0);
  const watched = await plain;
  expect(watched.code).toBe(0);
  expect(watched.stdout.trim().split('\n').at(-1)).toBe(`task ${taskId}: Finalized · provider ${provider.address} · output: class 7`);
  expect(watched.stdout).not.toMatch(/\x1b\[/);

  const json = await opml(['--json', 'task', 'watch', taskId]);
  expect(json.json).toMatchObject({ status: 'Finalized', provider: provider.address, reading: { predictedClass: 7 } });
  const status = await opml(['--json', 'provider', 'status'], provider);
  expect(status.json).toMatchObject({ earned: (10n * TOKEN).toString(), tasksFinalized: 1, credit: (10n * TOKEN).toString() });

  // The bounty was credited; the provider withdraws it to another address of its own.
  const shown = await opml(['credit', 'show', provider.address]);
  expect(shown.stdout).toMatch(new RegExp(`${provider.address} has 10 OPML of credit \\(withdraw with \`opml credit withdraw\`\\)`));
  const elsewhere = challenger.address;
  const before = await stack.market.token.balanceOf(elsewhere);
  const withdrawn = await opml(['--json', 'credit', 'withdraw', '--to', elsewhere], provider);
  expect(withdrawn.code).toBe(0);
  expect(withdrawn.json).toMatchObject({ amount: (10n * TOKEN).toString(), to: elsewhere });
  expect((await stack.market.token.balanceOf(elsewhere)) - before).toBe(10n * TOKEN);
  const again = await opml(['credit', 'withdraw'], provider);
  expect(again.code).not.toBe(0);
  expect(again.stderr).toMatch(/has no credit to withdraw/);
  const bad = await opml(['credit', 'withdraw', '--to', '0x12'], provider);
  expect(bad.stderr).toMatch(/--to "0x12" is not an address/);
});

it('dispute inspect shows a real game after a challenge', async () => {
  const r = await opml(['--json', 'task', 'submit', '--model', modelId, '--image', png, '--window', '600'], requester);
  const id = BigInt(r.json.taskId);
  await serve(id);
  await mine(stack.market.token.connect(challenger).approve(stack.market.addresses.staking, 2n ** 255n));
  await mine(stack.market.staking.connect(challenger).stake(100n * TOKEN));
  // The bond scales with the task (challengeBondOf): allow whatever it is.
  await mine(stack.market.token.connect(challenger).approve(stack.market.addresses.market, 2n ** 255n));
  await mine(stack.market.market.connect(challenger).challenge(id));

  const inspect = await opml(['--json', 'dispute', 'inspect', id.toString()]);
  expect(inspect.code).toBe(0);
  expect(inspect.json.challenges).toHaveLength(1);
  expect(inspect.json.challenges[0]).toMatchObject({ index: 0, challenger: challenger.address, status: 'Pending', game: { gameId: '1', phase: 'Open', outcome: 'Undecided', mover: 'provider', moves: [] } });
  const human = await opml(['dispute', 'inspect', id.toString()]);
  expect(human.stdout).toMatch(/game 1 at 0x[0-9a-fA-F]{40}: phase Open, outcome Undecided, provider to move/);

  // On a terminal the watch redraws in place (cursor up, clear) while the game waits for the provider.
  const tty = await onTerminal(['task', 'watch', id.toString(), '--poll', '200', '--timeout', '2']);
  expect(tty.code).toBe(1);
  expect(tty.stdout).toMatch(/\x1b\[\d+F\x1b\[J/);
  // Bond: the floor of 10 plus 5% of bounty 10 and collateral 50.
  expect(tty.stdout).toMatch(/challenge #0 by 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4} \(bond 13 OPML\): Pending · game 1 · Open, provider to move · 0 moves/);
  expect(tty.stdout).toMatch(/error: task \d+ is still Committed after \d+ s: watch it longer with `opml task watch \d+`/);
});

it('worker start runs a provider worker that serves an infer job, and stops on SIGTERM', async () => {
  const sqs = awsClients(stack.aws.config).sqs;
  const queue = await createQueueWithDlq(sqs, { name: 'cli-provider', fifo: true, visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
  const submitted = await opml(['--json', 'task', 'submit', '--model', modelId, '--image', png], requester);
  const receipt = (await stack.chain.provider.getTransactionReceipt(submitted.json.txHash))!;
  const created = receipt.logs.find((l) => stack.market.market.interface.parseLog(l)?.name === 'TaskCreated')!;
  const job: Job = { kind: 'infer', taskId: submitted.json.taskId, modelId, inputCid: submitted.json.inputCid, eventId: `${receipt.hash}:${created.index}` };
  await sendMessages(sqs, queue.url, [{ body: JSON.stringify(job), groupId: jobGroupOf(job), deduplicationId: jobDeduplicationIdOf(job) }]);

  // Addresses are left out of the env on purpose: the command takes them from the API's /health.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPML_')));
  const { OPML_MARKET, OPML_REGISTRY, OPML_STAKING, OPML_TOKEN, OPML_GAME, ...service } = stack.env; // eslint-disable-line @typescript-eslint/no-unused-vars
  Object.assign(env, service, { OPML_KEY: provider.privateKey, OPML_IPFS_PATH: join(tmp, 'worker-ipfs'), OPML_WORKER_CACHE_DIR: join(tmp, 'worker-cache'), OPML_WORKER_WAIT_SECONDS: '1' });
  const worker = spawn(BIN, ['--api', stack.api.url, '--rpc', stack.chain.anvil.rpcUrl, 'worker', 'start', '--queue', queue.url], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  worker.stdout.on('data', (d: Buffer) => (logs += d.toString()));
  worker.stderr.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((r) => worker.on('exit', (code) => r(code)));
  try {
    const taskId = BigInt(submitted.json.taskId);
    const deadline = Date.now() + 60_000;
    while (Number((await stack.market.market.getTask(taskId)).status) !== 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const task = await stack.market.market.getTask(taskId);
    if (Number(task.status) !== 3) process.stderr.write(`worker output:\n${logs}\n`);
    expect({ status: Number(task.status), provider: task.provider }).toEqual({ status: 3, provider: provider.address });
    expect(logs).toMatch(/"event":"ready"/);
    expect(logs).not.toContain(provider.privateKey.slice(2));
  } finally {
    worker.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

describe('refusals', () => {
  it('an unknown command', async () => {
    const r = await opml(['--json', 'fly']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ name: 'UsageError', message: expect.stringMatching(/unknown command 'fly'/) });
  });

  it('task submit without --model', async () => {
    const r = await opml(['--json', 'task', 'submit', '--image', png], requester);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toMatch(/required option '--model <id>'/);
  });

  it('a missing image file', async () => {
    const r = await opml(['--json', 'task', 'submit', '--model', '1', '--image', join(tmp, 'nope.png')], requester);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toBe(`image file ${join(tmp, 'nope.png')} does not exist: pass the path of a PNG`);
  });

  it('a malformed key, which is never echoed', async () => {
    const bad = '0xdeadbeefnothex';
    const r = await opml(['--json', 'provider', 'stake', '1'], bad);
    expect(r.code).toBe(1);
    expect(r.json.error.message).toMatch(/private key is malformed/);
    expect(r.stdout + r.stderr).not.toContain(bad);
    const human = await opml(['provider', 'stake', '1'], bad);
    expect(human.stderr).toMatch(/^error: the private key is malformed/);
    expect(human.stdout + human.stderr).not.toContain(bad);
  });

  it('an unknown model id', async () => {
    const r = await opml(['--json', 'task', 'submit', '--model', '9', '--image', png], requester);
    expect(r.code).toBe(1);
    expect(r.json.error).toMatchObject({ name: 'ModelNotFoundError', message: 'model 9 does not exist: list models with `opml model list`' });
    const human = await opml(['task', 'submit', '--model', '9', '--image', png], requester);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('error: model 9 does not exist: list models with `opml model list`');
  });

  it('worker start without a queue or a valid role', async () => {
    const r = await opml(['--json', 'worker', 'start'], provider);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toBe('no queue: pass --queue <url> or set OPML_WORKER_QUEUE_URL');
    const role = await opml(['--json', 'worker', 'start', '--role', 'miner', '--queue', 'http://127.0.0.1:1/q'], provider);
    expect(role.json.error.message).toBe('--role "miner" must be provider or challenger');
  });

  it('a chain or API that is not there', async () => {
    const noChain = await opml(['--json', '--rpc', 'http://127.0.0.1:9', 'task', 'show', '1']);
    expect(noChain.code).toBe(1);
    expect(noChain.json.error.message).toMatch(/^cannot reach the chain at http:\/\/127\.0\.0\.1:9 \(.+\): start the node or pass --rpc <url>$/);
    const noApi = await opml(['--json', '--api', 'http://127.0.0.1:9', 'model', 'list']);
    expect(noApi.code).toBe(1);
    expect(noApi.json.error).toMatchObject({ name: 'ApiError', code: 'Unreachable', message: expect.stringMatching(/cannot reach the API at http:\/\/127\.0\.0\.1:9 .*pass --api <url>/) });
  });

  it('generation flags: checked before anything is sent, and refused by a model that generates no text', async () => {
    const image = await opml(['--json', 'task', 'submit', '--model', '1', '--image', 'x.png', '--max-tokens', '3'], requester);
    expect(image.code).toBe(2);
    expect(image.json.error.message).toMatch(/--max-tokens, --temperature, --top-k, --top-p and --seed go with --prompt/);
    const hot = await opml(['--json', 'task', 'submit', '--model', '1', '--prompt', 'hi', '--temperature', '500'], requester);
    expect(hot.code).toBe(2);
    expect(hot.json.error.message).toBe('--temperature "500" is not a temperature in [0, 100] (0: greedy)');
    const seed = await opml(['--json', 'task', 'submit', '--model', '1', '--prompt', 'hi', '--seed', '-1'], requester);
    expect(seed.json.error.message).toBe('--seed "-1" is not a 32-bit seed');
    const mnist = await opml(['--json', 'task', 'submit', '--model', '1', '--prompt', 'The VM', '--max-tokens', '3'], requester);
    expect(mnist.code).toBe(1);
    expect(mnist.json.error).toMatchObject({ name: 'InputPreparationError', message: expect.stringMatching(/generates no text/) });
  });

  it('a prompt for an image model, and an unknown task', async () => {
    const r = await opml(['--json', 'task', 'submit', '--model', '1', '--prompt', 'The VM'], requester);
    expect(r.code).toBe(1);
    expect(r.json.error).toMatchObject({ name: 'InputPreparationError', message: expect.stringMatching(/pass --image/) });
    const unknown = await opml(['--json', 'task', 'show', '777']);
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.message).toBe('task 777 does not exist: list tasks with `opml task list`');
  });
});
