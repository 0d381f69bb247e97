/**
 * The SDK through the HTTP API (the API's real handlers on a local server, real S3, embedded IPFS,
 * anvil): a model registered by upload and the owner's own signed transaction, a task whose input is
 * stored through POST /inputs and whose signed createTaskWithPermit goes through POST /tasks, read
 * back by API and chain; API refusals arrive as typed ApiErrors.
 */
import type { HDNodeWallet } from 'ethers';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphStateAt } from '../../shared/dispute/graph';
import { readModelFiles } from '../../shared/dnn/files';
import { quantizeInput } from '../../shared/dnn/io';
import { toHex } from '../../shared/dnn/tensor';
import { mine } from '../../shared/market/tasks';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { fileCid } from '../../shared/ipfs/cid';
import {
  ApiError,
  connectOpml,
  createTask,
  finalizeTask,
  grayToPng,
  readModel,
  readTask,
  registerModelPackage,
  resolveModelPackage,
  waitForResultViaApi,
  type OpmlContext,
} from '../../shared/sdk';
import { startApiStack, TOKEN, type ApiStack } from './apiStack';

jest.setTimeout(120_000);

let stack: ApiStack;
let owner: HDNodeWallet, requester: HDNodeWallet, provider: HDNodeWallet;
let taskId: bigint;
let asOwner: OpmlContext, asRequester: OpmlContext;
let modelId: bigint;
const digits = mnistTest();
const three = digits.images[digits.labels.indexOf(3)];

beforeAll(async () => {
  stack = await startApiStack({ accounts: 4 });
  [, owner, requester, provider] = stack.wallets;
  asOwner = await connectOpml({ provider: stack.chain.provider, apiUrl: stack.api.url, signer: owner });
  asRequester = await connectOpml({ provider: stack.chain.provider, apiUrl: stack.api.url, signer: requester });
});
afterAll(async () => stack?.stop());

it('takes contract addresses from GET /health', async () => {
  expect(asRequester.contracts.addresses).toEqual({
    market: stack.market.addresses.market,
    registry: stack.market.addresses.registry,
    staking: stack.market.addresses.staking,
    token: stack.market.addresses.token,
    game: stack.market.dispute!.game,
  });
});

it('registers a shipped package through upload and a signed registerModel', async () => {
  const registered = await registerModelPackage(asOwner, resolveModelPackage('mnist-mlp'), { fee: TOKEN });
  modelId = registered.modelId;
  expect(modelId).toBe(1n);
  const onChain = await readModel(asOwner, modelId);
  expect(onChain).toMatchObject({ owner: owner.address, fee: TOKEN, active: true, graphCid: registered.spec.graphCid, weightsCid: registered.spec.weightsCid });
  const view = await asOwner.api!.getModel(modelId);
  expect(view.inputShape).toEqual([1, 784]);
});

it('creates a task through the API from a PNG: input stored by CID, signed transaction mined, status read back', async () => {
  const created = await createTask(asRequester, { modelId, input: { kind: 'image', png: grayToPng(three) }, bounty: 5n * TOKEN, collateral: 20n * TOKEN });
  expect(created.input.inputCid).toBe(await fileCid(created.input.bytes));
  const stored = await asRequester.api!.getBlob(created.input.inputCid!);
  expect(Buffer.from(stored).equals(Buffer.from(created.input.bytes))).toBe(true);

  const viaApi = await asRequester.api!.getTask(created.taskId);
  expect(viaApi).toMatchObject({ taskId: created.taskId.toString(), status: 'Open', inputRoot: created.input.inputRoot });
  const viaChain = await readTask(asRequester, created.taskId);
  expect(viaChain).toMatchObject({ status: 'Open', requester: requester.address, bounty: 5n * TOKEN, fee: TOKEN, inputRoot: created.input.inputRoot });
  expect(await stack.market.token.balanceOf(requester.address)).toBe(1_000n * TOKEN - 6n * TOKEN);
  taskId = created.taskId;
});

it('waitForResultViaApi follows the task through GET /tasks/{id} to Committed (with the predicted class) and Finalized', async () => {
  const model = readModelFiles(resolveModelPackage('mnist-mlp'));
  const slots = dnnSlotTensors(model, quantizeInput(model, three));
  const roots = slots.map((t) => merkleRootOfBytes(t));
  const out = slots.length - 1;
  const { market, token, staking } = stack.market;
  await mine(token.connect(provider).approve(stack.market.addresses.staking, 100n * TOKEN));
  await mine(staking.connect(provider).stake(100n * TOKEN));
  const statuses: string[] = [];
  const committed = waitForResultViaApi(asRequester.api!, taskId, { pollMs: 50, timeoutMs: 30_000, until: (d) => d.status === 'Committed', onProgress: (d) => statuses.push(d.status) });
  await mine(market.connect(provider).claim(taskId));
  await mine(market.connect(provider).commit(taskId, toHex(roots[out]), graphStateAt(roots, roots.length - 1), slots[out]));
  expect(await committed).toMatchObject({ status: 'Committed', provider: provider.address, outputRoot: toHex(roots[out]), output: toHex(slots[out]), predictedClass: 3 });
  expect(statuses[0]).toBe('Open');

  await stack.chain.provider.send('evm_increaseTime', [601]);
  await stack.chain.provider.send('evm_mine', []);
  await finalizeTask(asRequester, taskId);
  expect((await waitForResultViaApi(asRequester.api!, taskId, { pollMs: 50, timeoutMs: 30_000 })).status).toBe('Finalized');
});

it('API refusals are ApiErrors with status, code and field', async () => {
  const api = asRequester.api!;
  await expect(api.getTask(424242n)).rejects.toMatchObject({ name: 'ApiError', status: 404, code: 'NotFound' });
  const short = await api.postInput({ modelId: modelId.toString(), inputBase64: Buffer.from([1, 2, 3]).toString('base64') }).catch((e: unknown) => e);
  expect(short).toBeInstanceOf(ApiError);
  expect(short).toMatchObject({ status: 400, code: 'InvalidRequest', field: 'inputBase64' });
  await expect(api.postTask('0x1234')).rejects.toMatchObject({ status: 400, code: 'InvalidRequest' });
});
