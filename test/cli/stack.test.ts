/**
 * The `opml` CLI against the whole local stack (shared/stack: indexer, dispatcher, views, the three
 * worker processes): the owner registers the MNIST MLP, the requester submits two PNG digits and
 * watches them. The stack routes one task to the honest provider and one to the forging one, so one
 * watch ends Finalized with the right class and the other follows the dispute to Refuted; then
 * `dispute inspect` and `provider status` show the slash.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { HDNodeWallet } from 'ethers';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { grayToPng } from '../../shared/sdk';
import { startLocalStack, type LocalStack } from '../../shared/stack/localStack';

const BIN = resolve(__dirname, '..', '..', 'bin', 'opml');
let stack: LocalStack;
let tmp: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function opml(args: string[], key: HDNodeWallet | undefined, timeoutMs = 60_000): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPML_')));
  if (key) env.OPML_KEY = key.privateKey;
  return new Promise((done) => {
    execFile(BIN, ['--api', stack.apiUrl, '--rpc', stack.rpcUrl, ...args], { env, cwd: tmp, timeout: timeoutMs }, (error, stdout, stderr) => {
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr, json });
    });
  });
}

beforeAll(async () => {
  stack = await startLocalStack({ mode: 'fast' });
  tmp = await mkdtemp(join(tmpdir(), 'opml-cli-stack-'));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

it('submits PNG digits through the API and watches one finalize and one refuted through its dispute', async () => {
  const registered = await opml(['--json', 'model', 'register', 'mnist-mlp', '--fee', '1'], stack.parties.modelOwner);
  expect(registered.code).toBe(0);
  const modelId = String(registered.json.modelId);

  const digits = mnistTest();
  const submitted: Array<{ taskId: string; digit: number }> = [];
  for (const digit of [7, 2]) {
    const png = join(tmp, `digit-${digit}.png`);
    await writeFile(png, grayToPng(digits.images[digits.labels.indexOf(digit)]!));
    const r = await opml(['--json', 'task', 'submit', '--model', modelId, '--image', png, '--bounty', '20', '--collateral', '100', '--window', '60'], stack.parties.requester);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    submitted.push({ taskId: String(r.json.taskId), digit });
  }

  // Plain lines (no terminal): one line per change, the last one the result.
  const watches = await Promise.all(submitted.map((t) => opml(['task', 'watch', t.taskId], undefined, 300_000)));
  const outcomes = new Map<string, string>();
  submitted.forEach((t, i) => {
    const w = watches[i]!;
    expect(w.code).toBe(0);
    const finalized = /Finalized/.test(w.stdout.trim().split('\n').at(-1)!);
    outcomes.set(t.taskId, finalized ? 'Finalized' : 'Refuted');
    if (finalized) {
      // Claimed can last less than one poll (the worker claims and commits within a second), so
      // it may be skipped; what the watch shows must still come in lifecycle order.
      const seen = w.stdout.split('\n').map((line) => /: (Open|Claimed|Committed|Finalized)/.exec(line)?.[1]).filter(Boolean);
      const order = ['Open', 'Claimed', 'Committed', 'Finalized'];
      expect(seen.map((st) => order.indexOf(st!))).toEqual([...seen.map((st) => order.indexOf(st!))].sort((a, b) => a - b));
      expect(w.stdout).toMatch(/Committed/);
      expect(w.stdout).toMatch(new RegExp(`class ${t.digit}`));
    } else {
      // The watch followed the game, not just its end.
      expect(w.stdout).toMatch(/GraphBisect|VmBisect/);
      expect(w.stdout).toMatch(/Refuted/);
    }
  });
  expect([...outcomes.values()].sort()).toEqual(['Finalized', 'Refuted']);

  const refuted = [...outcomes].find(([, o]) => o === 'Refuted')![0];
  const inspected = await opml(['--json', 'dispute', 'inspect', refuted], undefined);
  expect(inspected.code).toBe(0);
  expect(JSON.stringify(inspected.json)).toMatch(/ChallengerWon/);

  const cheater = await opml(['--json', 'provider', 'status', stack.parties.cheater.address], undefined);
  expect(cheater.code).toBe(0);
  expect(cheater.json).toMatchObject({ slashed: (100n * 10n ** 18n).toString(), stake: (400n * 10n ** 18n).toString() });
}, 420_000);
