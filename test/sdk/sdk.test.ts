/**
 * The SDK against a real chain (anvil, the market with the real dispute game, mnist-mlp registered
 * from its package): a requester creates a task with a permit from a PNG and reads it back, a
 * provider stakes, unbonds and withdraws with balances checked, waitForResult follows a task through
 * Claimed and Committed to Finalized while this test plays the provider on chain, and the example
 * consumer contract receives the result by callback.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HDNodeWallet } from 'ethers';
import { ResultConsumer__factory } from '../../build/types';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { MarketRevertError, revertDataOf } from '../../shared/market/errors';
import { mine } from '../../shared/market/tasks';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphStateAt } from '../../shared/dispute/graph';
import { decodeIds, encodeText } from '../../shared/dnn/datasets/charlm';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { runModel } from '../../shared/dnn/executor';
import { generateGreedy } from '../../shared/dnn/generate';
import { readModelFiles } from '../../shared/dnn/files';
import { KERNEL_ELF_PATH, kernelImageFromElf } from '../../shared/dnn/guest/kernelImage';
import { quantizeInput } from '../../shared/dnn/io';
import { tensorBytes, toHex } from '../../shared/dnn/tensor';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { prepareModelRegistration, registerModel, type PreparedModel } from '../../shared/models/registration';
import {
  connectOpml,
  createTask,
  finalizeTask,
  grayToPng,
  inputSpecOf,
  ModelNotFoundError,
  prepareInput,
  providerStatus,
  readOutput,
  readTask,
  requestUnbonding,
  SdkConfigError,
  stake,
  TaskNotFoundError,
  waitForResult,
  withdraw,
  type OpmlContext,
  type TaskSnapshot,
} from '../../shared/sdk';

jest.setTimeout(120_000);

const TOKEN = 10n ** 18n;
const UNBONDING_DELAY = 600;
let chain: LocalChain;
let m: DeployedMarket;
let admin: HDNodeWallet, requester: HDNodeWallet, provider: HDNodeWallet;
let prepared: PreparedModel;
let modelId: bigint;
let asRequester: OpmlContext, asProvider: OpmlContext;
const digits = mnistTest();
const seven = digits.images[digits.labels.indexOf(7)];

async function connectAs(wallet: HDNodeWallet): Promise<OpmlContext> {
  return connectOpml({ provider: chain.provider, market: m.addresses.market, signer: wallet });
}

async function increaseTime(seconds: number): Promise<void> {
  await chain.provider.send('evm_increaseTime', [seconds]);
  await chain.provider.send('evm_mine', []);
}

/** What the honest provider commits for `taskId`: every slot recomputed natively. */
async function serve(taskId: bigint, values: Float32Array): Promise<string> {
  const input = quantizeInput(prepared.model, values);
  const slots = dnnSlotTensors(prepared.model, input);
  const roots = slots.map((t) => merkleRootOfBytes(t));
  const out = prepared.graph.outputSlot;
  await mine(m.market.connect(provider).claim(taskId));
  await mine(m.market.connect(provider).commit(taskId, toHex(roots[out]), graphStateAt(roots, roots.length - 1), slots[out]));
  return toHex(roots[out]);
}

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 4 });
  [admin, requester, provider] = chain.wallets as [HDNodeWallet, HDNodeWallet, HDNodeWallet];
  m = await deployMarket(admin, { disputeGame: true, minStake: 100n * TOKEN, unbondingDelaySeconds: UNBONDING_DELAY });
  prepared = prepareModelRegistration(readModelFiles(join(__dirname, '..', '..', 'models', 'mnist-mlp')), kernelImageFromElf(readFileSync(KERNEL_ELF_PATH)), 2n * TOKEN);
  ({ modelId } = await registerModel(m.registry, admin, prepared.spec));
  for (const a of [requester, provider]) await mine(m.token.connect(admin).mint(a.address, 1_000n * TOKEN));
  asRequester = await connectAs(requester);
  asProvider = await connectAs(provider);
});
afterAll(async () => chain?.stop());

const inputSpec = () => inputSpecOf(prepared.model.specBytes);

it('reads every contract address from the market alone', () => {
  expect(asRequester.contracts.addresses).toEqual({
    market: m.addresses.market,
    registry: m.addresses.registry,
    staking: m.addresses.staking,
    token: m.addresses.token,
    game: m.dispute!.game,
  });
});

it('provider stakes (approving what the allowance lacks), unbonds after the delay and withdraws, balances checked', async () => {
  const before = await providerStatus(asProvider, provider.address);
  expect(before).toMatchObject({ stake: 0n, locked: 0n, unbonding: 0n, isStaked: false, earned: 0n, balance: 1_000n * TOKEN });

  const first = await stake(asProvider, 300n * TOKEN);
  expect(first.approveTx).not.toBeNull();
  expect(first.stake).toBe(300n * TOKEN);
  const staked = await providerStatus(asProvider, provider.address);
  expect(staked).toMatchObject({ stake: 300n * TOKEN, free: 300n * TOKEN, isStaked: true, balance: 700n * TOKEN });

  const unbond = await requestUnbonding(asProvider, 100n * TOKEN);
  expect(unbond.amount).toBe(100n * TOKEN);
  const unbonding = await providerStatus(asProvider, provider.address);
  expect(unbonding).toMatchObject({ stake: 200n * TOKEN, unbonding: 100n * TOKEN, unbondingReadyAt: unbond.readyAt, withdrawable: false });
  // Too early: the contract's own error, by name.
  await expect(withdraw(asProvider)).rejects.toMatchObject({ name: 'MarketRevertError', errorName: 'StakingUnbondingNotReady' });

  await increaseTime(UNBONDING_DELAY + 1);
  expect((await providerStatus(asProvider, provider.address)).withdrawable).toBe(true);
  const out = await withdraw(asProvider);
  expect(out.amount).toBe(100n * TOKEN);
  const after = await providerStatus(asProvider, provider.address);
  expect(after).toMatchObject({ stake: 200n * TOKEN, unbonding: 0n, balance: 800n * TOKEN });
  // Staking again reuses nothing of the spent allowance: a fresh approve.
  expect((await stake(asProvider, 100n * TOKEN)).stake).toBe(300n * TOKEN);
});

it('requester creates a task with a permit from a PNG digit and reads it back', async () => {
  const balance = await m.token.balanceOf(requester.address);
  const created = await createTask(asRequester, {
    modelId,
    input: { kind: 'image', png: grayToPng(seven) },
    bounty: 10n * TOKEN,
    collateral: 50n * TOKEN,
    inputSpec: inputSpec(),
    submit: 'chain',
  });
  // The PNG round trip (8-bit) gives the same int8 codes as the digit itself.
  const direct = tensorBytes(quantizeInput(prepared.model, seven));
  expect(toHex(created.input.bytes)).toBe(toHex(direct));
  expect(created.input.inputRoot).toBe(toHex(merkleRootOfBytes(direct)));

  const task = await readTask(asRequester, created.taskId);
  expect(task).toMatchObject({ status: 'Open', requester: requester.address, provider: null, modelId, bounty: 10n * TOKEN, fee: 2n * TOKEN, collateral: 50n * TOKEN, inputRoot: created.input.inputRoot, output: null });
  expect(task.secondsLeft).toBeGreaterThan(3_500n);
  expect(await m.token.balanceOf(requester.address)).toBe(balance - 12n * TOKEN);
  // The permit was spent exactly: no allowance left behind.
  expect(await m.token.allowance(requester.address, m.addresses.market)).toBe(0n);
});

it('waitForResult reports Open, Claimed, Committed with a countdown, then Finalized with the output', async () => {
  const { taskId } = await createTask(asRequester, {
    modelId,
    input: { kind: 'values', values: seven },
    bounty: 10n * TOKEN,
    collateral: 50n * TOKEN,
    challengeWindow: 120n,
    inputSpec: inputSpec(),
  });
  const seen: TaskSnapshot[] = [];
  const waiting = waitForResult(asRequester, taskId, { pollMs: 20, timeoutMs: 60_000, onProgress: (s) => seen.push(s) });
  /** The first snapshot the watch reported with `status`. */
  const sawStatus = (status: string) =>
    new Promise<TaskSnapshot>((resolve) => {
      const check = () => {
        const found = seen.find((s) => s.status === status);
        if (found) resolve(found);
        else setTimeout(check, 10);
      };
      check();
    });
  expect((await sawStatus('Open')).secondsLeft).toBeGreaterThan(0n);

  const outputRoot = await serve(taskId, seven);
  const committed = await sawStatus('Committed');
  expect(committed).toMatchObject({ status: 'Committed', provider: provider.address, outputRoot });
  expect(committed.secondsLeft).toBeGreaterThan(0n);
  expect(committed.secondsLeft).toBeLessThanOrEqual(120n);
  expect(readOutput(prepared.model.specBytes, committed.output!).predictedClass).toBe(7);
  // The window has to close first: finalize too early is the contract's named error.
  await expect(finalizeTask(asProvider, taskId)).rejects.toBeInstanceOf(MarketRevertError);

  await increaseTime(121);
  await finalizeTask(asProvider, taskId);
  const final = await waiting;
  expect(final.status).toBe('Finalized');
  expect(final.challenges).toEqual([]);
  const statuses = seen.map((s) => s.status).filter((s, i, a) => a[i - 1] !== s);
  expect(statuses[0]).toBe('Open');
  expect(statuses.slice(-2)).toEqual(['Committed', 'Finalized']);
  const status = await providerStatus(asProvider, provider.address);
  expect(status).toMatchObject({ earned: 10n * TOKEN, tasksFinalized: 1, locked: 0n });
});

it('the example consumer keeps the results its policy accepts, rejects the rest, and refuses anyone but the market', async () => {
  // The policy: this model only, a window of at least 120 s, 20 tokens of collateral, our requester's tasks.
  const policy = { minChallengeWindow: 120n, minCollateral: 20n * TOKEN, requester: requester.address };
  const consumer = await new ResultConsumer__factory(admin).deploy(m.addresses.market, policy, [modelId]);
  await consumer.waitForDeployment();
  const task = async (terms: { collateral: bigint; challengeWindow: bigint }) =>
    (await createTask(asRequester, { modelId, input: { kind: 'values', values: seven }, bounty: 5n * TOKEN, ...terms, consumer: await consumer.getAddress(), inputSpec: inputSpec() })).taskId;
  const taskId = await task({ collateral: 20n * TOKEN, challengeWindow: 120n });
  const outputRoot = await serve(taskId, seven);
  // Finding 5: a result secured by a short window or little collateral is delivered, but not kept.
  const [quick, cheap] = [await task({ collateral: 20n * TOKEN, challengeWindow: 60n }), await task({ collateral: 1n, challengeWindow: 600n })];
  await serve(quick, seven);
  await serve(cheap, seven);
  expect((await consumer.resultOf(taskId)).receivedAt).toBe(0n);
  await increaseTime(601);
  for (const id of [taskId, quick, cheap]) await finalizeTask(asRequester, id);
  const stored = await consumer.resultOf(taskId);
  expect([stored.modelId, stored.inputRoot, stored.outputRoot, stored.provider, stored.collateral]).toEqual([
    modelId,
    (await readTask(asRequester, taskId)).inputRoot,
    outputRoot,
    provider.address,
    20n * TOKEN,
  ]);
  expect(stored.receivedAt).toBeGreaterThan(0n);
  expect(await consumer.resultCount()).toBe(1n);
  const rejected = await consumer.queryFilter(consumer.filters.ResultRejected());
  expect(rejected.map((e) => [e.args.taskId, Number(e.args.reason)])).toEqual([
    [quick, 1],
    [cheap, 2],
  ]);
  for (const id of [quick, cheap]) expect((await consumer.resultOf(id)).receivedAt).toBe(0n);
  const called = await m.market.queryFilter(m.market.filters.ConsumerCalled(taskId));
  expect(called.map((e) => e.args.success)).toEqual([true]);
  const forged = { taskId, modelId, inputRoot: outputRoot, outputRoot, requester: requester.address, provider: provider.address, bounty: 1n, collateral: 10n ** 30n, challengeWindow: 10n ** 9n };
  const refused = await consumer.connect(requester).onTaskResult(forged).catch((e: unknown) => e);
  expect(consumer.interface.parseError(revertDataOf(refused)!)?.args.toArray()).toEqual([requester.address, m.addresses.market]);
  expect(consumer.interface.parseError(revertDataOf(refused)!)?.name).toBe('ResultConsumerNotMarket');
});

it('names what is wrong: unknown model, unknown task, no signer, a model input that does not fit', async () => {
  await expect(createTask(asRequester, { modelId: 99n, input: { kind: 'values', values: seven }, bounty: 1n, collateral: 1n })).rejects.toThrow(ModelNotFoundError);
  await expect(createTask(asRequester, { modelId: 99n, input: { kind: 'values', values: seven }, bounty: 1n, collateral: 1n })).rejects.toThrow(
    'model 99 does not exist: list models with `opml model list`',
  );
  await expect(readTask(asRequester, 12345n)).rejects.toThrow(TaskNotFoundError);
  const readOnly = await connectOpml({ provider: chain.provider, market: m.addresses.market });
  await expect(stake(readOnly, 1n)).rejects.toThrow(SdkConfigError);
  await expect(connectOpml({ provider: chain.provider, market: m.addresses.market, privateKey: '0x1234' })).rejects.toThrow(/malformed/);
  await expect(
    createTask(asRequester, { modelId, input: { kind: 'prompt', text: 'hello' }, bounty: 1n, collateral: 1n, inputSpec: inputSpec() }),
  ).rejects.toMatchObject({ name: 'InputPreparationError' });
  await expect(createTask(asRequester, { modelId, input: { kind: 'values', values: [1, 2, 3] }, bounty: 1n, collateral: 1n, inputSpec: inputSpec() })).rejects.toThrow(
    /784 elements/,
  );
  // A deadline inside the market's minimum commit period, refused before anything is stored or signed.
  await expect(createTask(asRequester, { modelId, input: { kind: 'values', values: seven }, bounty: 1n, collateral: 1n, deadlineSeconds: 60n })).rejects.toMatchObject({
    name: 'TaskTermsError',
    field: 'deadlineSeconds',
    message: expect.stringMatching(/at least 60 s from its claim.*90 s or more/),
  });
});

it("a prompt becomes the character model's token window: the last position predicts what greedy generation does", async () => {
  const charlm = readModelFiles(join(__dirname, '..', '..', 'models', 'charlm'));
  const input = await prepareInput(inputSpecOf(charlm.specBytes), { kind: 'prompt', text: 'The VM ' });
  expect(input.tensor.dtype).toBe('int32');
  expect(Array.from(input.tensor.data.slice(-7))).toEqual(encodeText('The VM '));
  expect(input.promptPosition).toBe(31);
  const run = runModel(charlm, input.tensor);
  const [expected] = generateGreedy(charlm, encodeText('The VM '), 1, encodeText(' ')[0]);
  const reading = readOutput(charlm.specBytes, toHex(tensorBytes(run.output)), input.promptPosition);
  expect(reading.nextChar).toBe(decodeIds([expected.id]));
  await expect(prepareInput(inputSpecOf(charlm.specBytes), { kind: 'prompt', text: 'naïve' })).rejects.toThrow(/outside the model's vocabulary/);
  await expect(prepareInput(inputSpecOf(charlm.specBytes), { kind: 'image', png: grayToPng(seven) })).rejects.toThrow(/pass --prompt/);
});
