/**
 * A model with 64 MiB of weights through the whole local market: the owner's presigned multipart
 * upload is interrupted and resumed without resending what landed; the pinner verifies the package
 * from S3 and pins it; registration goes through the API; workers whose caches start cold download
 * and verify it; a forged output on the big node is refuted through its dispute, whose phase link
 * proves that node's 64 MiB weight tensor as a subtree of the registry's weights root; the forger is
 * slashed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelFiles } from '../../shared/dnn/files';
import { toHex } from '../../shared/dnn/tensor';
import { OpmlApiClient, type TaskDetail } from '../../shared/sdk/apiClient';
import { connectOpml } from '../../shared/sdk/context';
import { registerModelPackage, type RegisterProgress } from '../../shared/sdk/models';
import { createTask } from '../../shared/sdk/requester';
import { pidAlive } from '../../shared/stack/processes';
import { startLocalStack, type LocalStack } from '../../shared/stack/localStack';
import { writeRandomDenseModel } from '../../scripts/randomDenseModel';
import { until } from '../helpers/until';

jest.setTimeout(600_000);

const TOKEN = 10n ** 18n;
const COLLATERAL = 100n * TOKEN;
/** One layer 8192 × 8192: 64 MiB of int8 weights in a single node, the node the forger lies about. */
const WIDTHS = [8192, 8192];
const PART = 8 << 20;

let stack: LocalStack;
let api: OpmlApiClient;
let dir: string;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'big-model-'));
  base = join(dir, 'dense-64mib');
  writeRandomDenseModel(base, WIDTHS, 7);
  stack = await startLocalStack({ mode: 'fast', functionVisibilitySeconds: 30, workerVisibilitySeconds: 60 });
  api = new OpmlApiClient(stack.apiUrl);
}, 180_000);

afterAll(async () => {
  const pids = stack?.pids() ?? [];
  await stack?.stop();
  for (const pid of pids) expect(pidAlive(pid)).toBe(false);
  if (dir) await rm(dir, { recursive: true, force: true });
});


it('uploads (interrupted, resumed), verifies, registers, serves cold and disputes a 64 MiB model', async () => {
  const model = readModelFiles(base);
  expect(model.weights.byteLength).toBeGreaterThanOrEqual(64 << 20);
  const owner = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.modelOwner });
  const journalDir = join(dir, 'journals');

  // First run: stopped (as by Ctrl-C) once three weight parts have landed.
  const stop = new AbortController();
  let landed = 0;
  const first = await registerModelPackage(owner, base, {
    fee: TOKEN,
    journalDir,
    partSize: PART,
    signal: stop.signal,
    onProgress: (p: RegisterProgress) => {
      if (p.stage === 'uploading' && p.file === 'weights' && p.partsDone >= 3 && !stop.signal.aborted) {
        landed = p.partsDone;
        stop.abort();
      }
    },
  }).catch((e: unknown) => e);
  expect(first).toMatchObject({ name: 'UploadInterruptedError' });
  const resumedFrom = (first as { partsDone: number }).partsDone;
  expect(resumedFrom).toBeGreaterThanOrEqual(landed);

  // Second run: the parts that landed are not sent again.
  const stages = new Set<string>();
  const registered = await registerModelPackage(owner, base, { fee: TOKEN, journalDir, partSize: PART, onProgress: (p) => stages.add(p.stage) });
  const partCount = Math.ceil(model.weights.byteLength / PART);
  expect(registered.uploads.weights).toMatchObject({ alreadyStored: false, partsResumed: resumedFrom, partsSent: partCount - resumedFrom });
  expect(registered.uploads.graph.alreadyStored).toBe(true);
  expect([...stages]).toEqual(['hashing', 'uploading', 'verifying', 'registering']);
  expect(registered.spec.weightsRoot).toBe(toHex(model.weightsTree.root()));
  expect(registered.spec.weightsCid).toMatch(/^bafybei/);
  const record = await api.getPackage(registered.spec.graphCid, registered.spec.weightsCid);
  expect(record).toMatchObject({ status: 'verified', weightsBytes: model.weights.byteLength });

  // Tasks go to the providers by id: two tasks reach both, the honest one and the forger.
  const requester = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.requester });
  const input = Array.from({ length: WIDTHS[0] }, (_, i) => (((i * 37) % 255) - 127) / 64);
  const tasks: bigint[] = [];
  for (let i = 0; i < 2; i++)
    tasks.push((await createTask(requester, { modelId: registered.modelId, input: { kind: 'values', values: input }, bounty: 20n * TOKEN, collateral: COLLATERAL, challengeWindow: 60n })).taskId);

  const refuted = await until('the forged task to be refuted', 480_000, async () => {
    for (const taskId of tasks) {
      const d = await api.getTask(taskId);
      if (d.status === 'Refuted') return d;
    }
    return undefined;
  });
  expect(refuted.provider?.toLowerCase()).toBe(stack.parties.cheater.address.toLowerCase());
  expect(refuted.dispute).toMatchObject({ outcome: 'ChallengerWon' });
  expect(await stack.market.staking.stakeOf(stack.parties.cheater.address)).toBe(500n * TOKEN - COLLATERAL);

  // Every worker that served the model started cold and downloaded it once.
  for (const name of ['provider-honest', 'provider-2', 'challenger'] as const) {
    const loads = stack.workers[name]!.logs.filter((l) => l.event === 'model-loaded');
    expect(loads.map((l) => l.from)).toEqual(['download']);
    expect(loads[0].weightsBytes).toBe(model.weights.byteLength);
  }

  // The phase link proved the 64 MiB weight tensor inside the registered weights root.
  const game = stack.market.dispute!.contract;
  const [linked] = await game.queryFilter(game.filters.NodeLinked());
  const tx = await stack.provider.getTransaction(linked.transactionHash);
  const call = game.interface.parseTransaction({ data: tx!.data })!;
  const proof = call.args[1];
  const weightInput = [...proof.node.inputs].findIndex((ref: { source: bigint }) => ref.source === 1n);
  const weightSpec = model.tensorSpecs.get('fc1.weight')!;
  expect(Number(proof.node.inputs[weightInput].index)).toBe(weightSpec.offset);
  expect(Number(proof.node.inputs[weightInput].size)).toBe(64 << 20);
  expect(proof.inputRoots[weightInput]).toBe(weightSpec.root);
  expect(proof.inputSiblings[weightInput].length).toBe(Math.log2(model.weightsTree.size / (64 << 20)));
  const detail: TaskDetail = await api.getTask(tasks.find((t) => String(t) !== refuted.taskId)!);
  expect(['Committed', 'Finalized']).toContain(detail.status);
  model.weights.close();
});
