/**
 * The SDK through the HTTP API (the API's real handlers on a local server, real S3, embedded IPFS,
 * anvil): a model registered by upload and the owner's own signed transaction, a task whose input is
 * stored through POST /inputs and whose signed createTaskWithPermit goes through POST /tasks, read
 * back by API and chain; API refusals arrive as typed ApiErrors.
 */
import type { HDNodeWallet } from 'ethers';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { fileCid } from '../../shared/ipfs/cid';
import {
  ApiError,
  connectOpml,
  createTask,
  grayToPng,
  readModel,
  readTask,
  registerModelPackage,
  resolveModelPackage,
  type OpmlContext,
} from '../../shared/sdk';
import { startApiStack, TOKEN, type ApiStack } from './apiStack';

jest.setTimeout(120_000);

let stack: ApiStack;
let owner: HDNodeWallet, requester: HDNodeWallet;
let asOwner: OpmlContext, asRequester: OpmlContext;
let modelId: bigint;
const digits = mnistTest();
const three = digits.images[digits.labels.indexOf(3)];

beforeAll(async () => {
  stack = await startApiStack({ accounts: 3 });
  [, owner, requester] = stack.wallets;
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
  const registered = await registerModelPackage(asOwner, resolveModelPackage('mnist-mlp'), TOKEN);
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
});

it('API refusals are ApiErrors with status, code and field', async () => {
  const api = asRequester.api!;
  await expect(api.getTask(424242n)).rejects.toMatchObject({ name: 'ApiError', status: 404, code: 'NotFound' });
  const short = await api.postInput({ modelId: modelId.toString(), inputBase64: Buffer.from([1, 2, 3]).toString('base64') }).catch((e: unknown) => e);
  expect(short).toBeInstanceOf(ApiError);
  expect(short).toMatchObject({ status: 400, code: 'InvalidRequest', field: 'inputBase64' });
  await expect(api.postTask('0x1234')).rejects.toMatchObject({ status: 400, code: 'InvalidRequest' });
});
