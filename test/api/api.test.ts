/**
 * The HTTP API end to end on real servers: anvil with the market and the real dispute game, s3rver and
 * local SQS, the embedded IPFS store, the indexer and view consumer, and the Lambda handlers of
 * functions/api behind the local HTTP server. Model files uploaded by presigned multipart upload,
 * verified as a package by the pinner and registered, inputs, tasks signed by the requester's wallet,
 * status with output and dispute progress, the read routes, and refusals.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ZeroAddress, Wallet, type HDNodeWallet, type TransactionRequest } from 'ethers';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { consumeOnce, type RecordFailure } from '../../shared/aws/batch';
import { ensureBucket } from '../../shared/aws/s3';
import { createQueueWithDlq } from '../../shared/aws/sqs';
import { ViewStore, viewUpdater } from '../../shared/indexer/consumer';
import { CursorStore } from '../../shared/indexer/cursor';
import { Indexer } from '../../shared/indexer/indexer';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { signPermit } from '../../shared/market/permit';
import { mine, type TaskRequest } from '../../shared/market/tasks';
import { fileCid } from '../../shared/ipfs/cid';
import { readModelFiles } from '../../shared/dnn/files';
import { mnistTest } from '../../shared/dnn/datasets/mnist';
import { argmaxRows, quantizeInput } from '../../shared/dnn/io';
import { tensorBytes, tensorFromBytes } from '../../shared/dnn/tensor';
import { dnnSlotTensors } from '../../shared/dispute/dnnGraph';
import { graphStateAt } from '../../shared/dispute/graph';
import { PHASES } from '../../shared/dispute/spec';
import { merkleRootOfBytes } from '../../shared/vm/merkle';
import { startLocalApi, routeTable, type LocalApi } from '../../shared/api/localHttp';
import { closeApiServices, createApiServices } from '../../shared/api/services';
import { ok, route, Router } from '../../shared/api/router';
import { health, healthRoutes } from '../../shared/api/routes/health';
import { parseServiceEnv } from '../../shared/service/config';
import { freePort } from '../../shared/chain/anvil';
import { taskRoutes } from '../../shared/api/routes/tasks';
import { modelRoutes } from '../../shared/api/routes/models';
import { inputRoutes } from '../../shared/api/routes/inputs';
import { providerRoutes } from '../../shared/api/routes/providers';
import { statsRoutes } from '../../shared/api/routes/stats';
import { blobRoutes } from '../../shared/api/routes/blobs';
import { dashboardRoutes } from '../../shared/api/routes/dashboard';
import {
  apiErrorBodySchema,
  healthResponseSchema,
  listModelsResponseSchema,
  listProvidersResponseSchema,
  listTasksResponseSchema,
  modelDetailResponseSchema,
  postInputResponseSchema,
  packageRecordSchema,
  postUploadResponseSchema,
  providerDetailResponseSchema,
  statsResponseSchema,
  taskDetailResponseSchema,
  type ModelSpecJson,
} from '../../shared/api/schemas';
import * as tasksFn from '../../functions/api/tasks';
import * as uploadsFn from '../../functions/api/uploads';
import { handler as pinnerHandler } from '../../functions/pinner';
import { uploadRoutes } from '../../shared/api/routes/uploads';
import { OpmlApiClient } from '../../shared/sdk/apiClient';
import { uploadFile } from '../../shared/sdk/upload';
import { runSqsLambda } from '../functions/lambda';
import * as modelsFn from '../../functions/api/models';
import * as inputsFn from '../../functions/api/inputs';
import * as providersFn from '../../functions/api/providers';
import * as statsFn from '../../functions/api/stats';
import * as healthFn from '../../functions/api/health';
import * as blobsFn from '../../functions/api/blobs';
import * as dashboardFn from '../../functions/api/dashboard';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';

const TOKEN = 10n ** 18n;
const DATA_BUCKET = 'api-data';
const VIEWS_BUCKET = 'api-views';
const MAX_INPUT_BYTES = 4096;
const MAX_MODEL_BYTES = 64 << 20;
const MODEL_FEE = TOKEN;
const BOUNTY = 20n * TOKEN;
const MLP = resolve(__dirname, '..', '..', 'models', 'mnist-mlp');

let chain: LocalChain;
let aws: LocalAws;
let clients: AwsClients;
let m: DeployedMarket;
let api: LocalApi;
let tmp: string;
let admin: HDNodeWallet, owner: HDNodeWallet, requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet;
let indexer: Indexer;
let eventsQueueUrl: string;
let pinQueueUrl: string;
const failures: RecordFailure[] = [];

const model = readModelFiles(MLP);
const digits = mnistTest();
const SEVEN = digits.images[digits.labels.indexOf(7)]!;
const input = tensorBytes(quantizeInput(model, SEVEN));
const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

beforeAll(async () => {
  chain = await startLocalChain({ accounts: 6 });
  [admin, owner, requester, provider, challenger] = chain.wallets as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
  aws = await startLocalAws();
  clients = awsClients(aws.config);
  await ensureBucket(clients.s3, DATA_BUCKET);
  await ensureBucket(clients.s3, VIEWS_BUCKET);
  m = await deployMarket(admin, { disputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN });
  for (const w of [requester, provider, challenger]) await mine(m.token.connect(admin).mint(w.address, 1_000n * TOKEN));
  for (const w of [provider, challenger]) {
    await mine(m.token.connect(w).approve(m.addresses.staking, 2n ** 256n - 1n));
    await mine(m.staking.connect(w).stake(300n * TOKEN));
  }
  await mine(m.token.connect(challenger).approve(m.addresses.market, 2n ** 256n - 1n));

  tmp = await mkdtemp(join(tmpdir(), 'api-test-'));
  const dashboard = join(tmp, 'dashboard');
  await mkdir(dashboard);
  await writeFile(join(dashboard, 'index.html'), '<!doctype html><title>opML market</title><script src="/dashboard/app.js"></script>');
  await writeFile(join(dashboard, 'app.js'), 'console.log("dashboard");');
  await writeFile(join(tmp, 'secret.txt'), 'outside the dashboard folder');

  const events = await createQueueWithDlq(clients.sqs, { name: 'api-events', fifo: true, visibilityTimeoutSeconds: 5, maxReceiveCount: 5 });
  eventsQueueUrl = events.url;
  pinQueueUrl = (await createQueueWithDlq(clients.sqs, { name: 'api-pin', fifo: true, visibilityTimeoutSeconds: 30, maxReceiveCount: 5 })).url;
  const game = m.dispute!.game;
  indexer = new Indexer(
    chain.provider,
    { market: m.addresses.market, registry: m.addresses.registry, staking: m.addresses.staking, game },
    new CursorStore(clients.s3, VIEWS_BUCKET, 'indexer/cursor.json'),
    clients.sqs,
    [eventsQueueUrl],
    { confirmations: 0 },
  );

  Object.assign(process.env, {
    OPML_RPC_URL: chain.anvil.rpcUrl,
    OPML_MARKET: m.addresses.market,
    OPML_REGISTRY: m.addresses.registry,
    OPML_STAKING: m.addresses.staking,
    OPML_TOKEN: m.addresses.token,
    OPML_GAME: game,
    OPML_DATA_BUCKET: DATA_BUCKET,
    OPML_VIEWS_BUCKET: VIEWS_BUCKET,
    OPML_S3_ENDPOINT: aws.config.s3Endpoint,
    OPML_SQS_ENDPOINT: aws.config.sqsEndpoint,
    OPML_AWS_ACCESS_KEY_ID: 'S3RVER',
    OPML_AWS_SECRET_ACCESS_KEY: 'S3RVER',
    OPML_IPFS: 'embedded',
    OPML_IPFS_PATH: join(tmp, 'ipfs'),
    OPML_KERNEL_ELF: resolve(__dirname, '..', '..', 'build', 'guest', 'dnn-kernels.elf'),
    OPML_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES),
    OPML_MAX_MODEL_BYTES: String(MAX_MODEL_BYTES),
    OPML_DASHBOARD_DIR: dashboard,
    OPML_PIN_QUEUE_URL: pinQueueUrl,
  });
  api = await startLocalApi(
    routeTable([
      [taskRoutes, tasksFn.handler],
      [modelRoutes, modelsFn.handler],
      [uploadRoutes, uploadsFn.handler],
      [inputRoutes, inputsFn.handler],
      [providerRoutes, providersFn.handler],
      [statsRoutes, statsFn.handler],
      [healthRoutes, healthFn.handler],
      [blobRoutes, blobsFn.handler],
      [dashboardRoutes, dashboardFn.handler],
    ]),
  );
});

afterAll(async () => {
  await api?.stop();
  await closeApiServices();
  await aws?.stop();
  await chain?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
  bytes: Uint8Array;
}

async function call(method: string, path: string, body?: unknown, raw?: string): Promise<Reply> {
  const res = await fetch(api.url + path, {
    method,
    headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
    body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  const json = (res.headers.get('content-type') ?? '').startsWith('application/json') && text ? JSON.parse(text) : undefined;
  return { status: res.status, body: json, headers: res.headers, bytes };
}

/** A refusal in the API's error shape, with its code and (when given) the field it names. */
function expectError(reply: Reply, status: number, code: string, field?: string, message?: RegExp): void {
  expect({ status: reply.status, code: reply.body?.error?.code, field: reply.body?.error?.field }).toEqual({ status, code, field });
  expect(apiErrorBodySchema.parse(reply.body)).toBeTruthy();
  if (message) expect(reply.body.error.message).toMatch(message);
}

/** Signs a call as `wallet` would in its own client: nonce, gas and chain id from the node, then the raw bytes. */
async function sign(wallet: HDNodeWallet, to: string, data: string, overrides: TransactionRequest = {}): Promise<string> {
  const tx = await wallet.populateTransaction({ to, data, gasLimit: 8_000_000n, ...overrides });
  return wallet.signTransaction(tx);
}

async function now(): Promise<bigint> {
  return BigInt((await chain.provider.getBlock('latest'))!.timestamp);
}

async function signedCreateTask(request: Partial<TaskRequest> & { modelId: bigint; inputRoot: string; inputCid: string }, to = m.addresses.market): Promise<string> {
  const t = await now();
  const full: TaskRequest = {
    bounty: BOUNTY,
    deadline: t + 3_600n,
    collateral: 50n * TOKEN,
    challengeWindow: 600n,
    maxModelFee: MODEL_FEE,
    consumer: ZeroAddress,
    callbackGasLimit: 0n,
    steps: 1n,
    ...request,
  };
  const permit = await signPermit(m.token, requester, m.addresses.market, BigInt(full.bounty) + BigInt(full.maxModelFee), t + 600n);
  const data = m.market.interface.encodeFunctionData('createTaskWithPermit', [full, permit.value, permit.deadline, permit.v, permit.r, permit.s]);
  return sign(requester, to, data);
}

async function indexAll(): Promise<void> {
  await chain.provider.send('evm_mine', []);
  await indexer.catchUp();
  for (let idle = 0; idle < 2; ) {
    const { received } = await consumeOnce(clients.sqs, eventsQueueUrl, viewUpdater(new ViewStore(clients.s3, VIEWS_BUCKET)), { waitSeconds: 0, onFailure: (f) => failures.push(f) });
    idle = received === 0 ? idle + 1 : 0;
  }
  expect(failures).toEqual([]);
}

describe('HTTP API on the local stack', () => {
  let spec: ModelSpecJson;
  let modelId: string;
  let inputCid: string;
  let inputRoot: string;
  let taskId: string;

  it('reports the chain and contracts it serves', async () => {
    const r = await call('GET', '/health');
    expect(r.status).toBe(200);
    expect(healthResponseSchema.parse(r.body)).toEqual({
      chainId: String(chain.anvil.chainId),
      blockNumber: await chain.provider.getBlockNumber(),
      contracts: { market: m.addresses.market, registry: m.addresses.registry, staking: m.addresses.staking, token: m.addresses.token, game: m.dispute!.game },
    });
  });

  it('uploads the MNIST MLP files by presigned multipart upload, straight to S3', async () => {
    const client = new OpmlApiClient(api.url);
    const journalDir = join(tmp, 'journals');
    for (const file of [`${MLP}.dnn.json`, `${MLP}.dnn.bin`]) {
      const bytes = readFileSync(file);
      const started = await call('POST', '/uploads', { cid: fileCid(bytes), size: bytes.length });
      expect(started.status).toBe(201);
      const session = postUploadResponseSchema.parse(started.body);
      expect(session).toMatchObject({ stored: false, upload: { cid: fileCid(bytes), size: bytes.length, partCount: 1 } });
      const sent = await uploadFile({ api: client, file, cid: fileCid(bytes), size: bytes.length, journalDir });
      expect(sent).toMatchObject({ alreadyStored: false, partsSent: 1 });
      // Stored under its CID: a second upload of the same file sends nothing.
      expect((await call('POST', '/uploads', { cid: fileCid(bytes), size: bytes.length })).body).toEqual({ stored: true, cid: fileCid(bytes), size: bytes.length });
      const blob = await call('GET', `/blobs/${fileCid(bytes)}`);
      expect(blob.status).toBe(200);
      expect(blob.headers.get('content-type')).toBe('application/octet-stream');
      expect(Buffer.from(blob.bytes).equals(bytes)).toBe(true);
    }
  });

  it('verifies the uploaded pair as a package through the pinner, with its registry fields', async () => {
    const [graph, weights, elf] = [readFileSync(`${MLP}.dnn.json`), readFileSync(`${MLP}.dnn.bin`), readFileSync(process.env.OPML_KERNEL_ELF!)];
    const files = { graphCid: fileCid(graph), weightsCid: fileCid(weights) };
    const submitted = await call('POST', '/models/packages', files);
    expect(submitted.status).toBe(202);
    expect(packageRecordSchema.parse(submitted.body)).toMatchObject({ ...files, status: 'verifying' });
    // Submitted again while verifying: the same request, not a second job.
    expect((await call('POST', '/models/packages', files)).body.requestId).toBe(submitted.body.requestId);
    expect(await runSqsLambda(clients.sqs, pinQueueUrl, pinnerHandler)).toMatchObject({ records: 1, failed: [] });
    const record = packageRecordSchema.parse((await call('GET', `/models/packages/${files.graphCid}/${files.weightsCid}`)).body);
    expect(record).toMatchObject({ status: 'verified', nodes: model.spec.nodes.length, weightsBytes: weights.length });
    spec = { ...record.registry!, fee: MODEL_FEE.toString() };
    expect([spec.graphCid, spec.weightsCid, spec.vmImageCid]).toEqual([files.graphCid, files.weightsCid, fileCid(elf)]);
    expect(spec.weightsRoot).toBe(hex(merkleRootOfBytes(weights)));
    expect((await call('POST', '/models/packages', files)).status).toBe(200);
  });

  it('refuses bad uploads and packages of files it does not hold', async () => {
    const bytes = readFileSync(`${MLP}.dnn.bin`);
    expectError(await call('POST', '/uploads', { cid: 'Qmnotbase32', size: 10 }), 400, 'InvalidRequest', 'cid');
    expectError(await call('POST', '/uploads', { cid: fileCid(new Uint8Array(3)), size: MAX_MODEL_BYTES + 1 }), 413, 'PayloadTooLarge');
    expectError(await call('POST', '/uploads', { cid: fileCid(bytes), size: bytes.length + 1 }), 409, 'Conflict', undefined, /holds 134848 bytes/);
    expectError(await call('POST', '/uploads/not-an-upload/parts', { parts: [{ partNumber: 1, md5Base64: 'AAAAAAAAAAAAAAAAAAAAAA==' }] }), 404, 'NotFound');
    const other = new Uint8Array(6 << 20).fill(7);
    const started = postUploadResponseSchema.parse((await call('POST', '/uploads', { cid: fileCid(other), size: other.length, partSize: 5 << 20 })).body);
    if (started.stored) throw new Error('expected a new upload');
    const { uploadId, partCount } = started.upload;
    expect(partCount).toBe(2);
    expectError(await call('POST', `/uploads/${uploadId}/parts`, { parts: [{ partNumber: 3, md5Base64: 'AAAAAAAAAAAAAAAAAAAAAA==' }] }), 400, 'InvalidRequest', 'parts.0.partNumber');
    expectError(await call('POST', `/uploads/${uploadId}/complete`, { parts: [{ partNumber: 1, etag: 'x' }] }), 400, 'InvalidRequest', 'parts', /part 2 of 2 is missing/);
    // Parts that hold other than the declared size: the object is discarded, not kept under the CID.
    const client = new OpmlApiClient(api.url);
    const etags = [];
    for (const [n, body] of [[1, other.subarray(0, 5 << 20)], [2, other.subarray(0, 10)]] as const) {
      const md5Base64 = createHash('md5').update(body).digest('base64');
      const [{ url }] = (await client.postUploadParts(uploadId, { parts: [{ partNumber: n, md5Base64 }] })).parts;
      const put = await fetch(url, { method: 'PUT', body, headers: { 'content-md5': md5Base64 } });
      etags.push({ partNumber: n, etag: put.headers.get('etag')! });
    }
    expectError(await call('POST', `/uploads/${uploadId}/complete`, { parts: etags }), 400, 'InvalidRequest', 'parts', /hold 5242890 bytes but the upload declared 6291456/);
    expect((await call('POST', '/uploads', { cid: fileCid(other), size: other.length })).body.stored).toBe(false);
    const never = fileCid(new TextEncoder().encode('never uploaded'));
    expectError(await call('POST', '/models/packages', { graphCid: fileCid(readFileSync(`${MLP}.dnn.json`)), weightsCid: never }), 400, 'InvalidRequest', 'weightsCid', /POST \/uploads/);
    expectError(await call('GET', `/models/packages/${never}/${never}`), 404, 'NotFound');
  });

  it('registers the model from a transaction the owner signed, once its package is verified with those fields', async () => {
    const encode = (s: ModelSpecJson): string => m.registry.interface.encodeFunctionData('registerModel', [s]);
    const forged = await call('POST', '/models', { signedTransaction: await sign(owner, m.addresses.registry, encode({ ...spec, weightsRoot: '0x' + '11'.repeat(32) })) });
    expectError(forged, 400, 'InvalidRequest', 'signedTransaction.spec.weightsRoot', /verified package gives/);
    const unknownCid = fileCid(new TextEncoder().encode('never uploaded'));
    const missing = await call('POST', '/models', { signedTransaction: await sign(owner, m.addresses.registry, encode({ ...spec, weightsCid: unknownCid })) });
    expectError(missing, 400, 'InvalidRequest', 'signedTransaction.spec.graphCid', /was never submitted: registration waits/);
    const elsewhere = await call('POST', '/models', { signedTransaction: await sign(owner, m.addresses.market, encode(spec)) });
    expectError(elsewhere, 400, 'InvalidRequest', 'signedTransaction.to');
    expect(await m.registry.modelCount()).toBe(0n);

    const r = await call('POST', '/models', { signedTransaction: await sign(owner, m.addresses.registry, encode(spec)) });
    expect(r.status).toBe(201);
    modelId = r.body.modelId;
    expect(modelId).toBe('1');
    expect([...(await m.registry.modelCids(1))]).toEqual([spec.graphCid, spec.weightsCid, spec.vmImageCid]);
    expect((await m.registry.modelTerms(1)).owner).toBe(owner.address);
  });

  it('stores a quantized digit as a task input and returns its CID and Merkle root', async () => {
    const r = await call('POST', '/inputs', { modelId, inputBase64: Buffer.from(input).toString('base64') });
    expect(r.status).toBe(201);
    ({ inputCid, inputRoot } = postInputResponseSchema.parse(r.body));
    expect(r.body).toEqual({ inputCid: await fileCid(input), inputRoot: hex(merkleRootOfBytes(input)), bytes: 784 });
    const blob = await call('GET', `/blobs/${inputCid}`);
    expect(Buffer.from(blob.bytes).equals(Buffer.from(input))).toBe(true);
  });

  it('accepts a base64-encoded event body in the Lambda handler itself', async () => {
    const body = Buffer.from(JSON.stringify({ modelId: 1, inputBase64: Buffer.from(input).toString('base64') })).toString('base64');
    const result = (await inputsFn.handler({
      version: '2.0',
      routeKey: 'POST /inputs',
      rawPath: '/inputs',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      requestContext: { http: { method: 'POST', path: '/inputs' } },
      body,
      isBase64Encoded: true,
    } as never)) as APIGatewayProxyStructuredResultV2;
    expect(result.statusCode).toBe(201);
    expect(JSON.parse(result.body!)).toMatchObject({ inputCid, inputRoot });
  });

  it('refuses bad inputs: malformed JSON, wrong types, wrong size, unknown model, oversized', async () => {
    expectError(await call('POST', '/inputs', undefined, '{"modelId": 1,'), 400, 'InvalidRequest', undefined, /not JSON/);
    expectError(await call('POST', '/inputs', { modelId: 'one', inputBase64: '' }), 400, 'InvalidRequest', 'modelId');
    expectError(await call('POST', '/inputs', { modelId, inputBase64: 7 }), 400, 'InvalidRequest', 'inputBase64');
    expectError(await call('POST', '/inputs', { modelId, inputBase64: 'AAAA', extra: true }), 400, 'InvalidRequest', undefined, /extra/);
    expectError(await call('POST', '/inputs', { modelId, inputBase64: Buffer.alloc(100).toString('base64') }), 400, 'InvalidRequest', 'inputBase64', /784 bytes/);
    expectError(await call('POST', '/inputs', { modelId: '99', inputBase64: Buffer.from(input).toString('base64') }), 404, 'NotFound', undefined, /no model 99/);
    expectError(await call('POST', '/inputs', { modelId, inputBase64: Buffer.alloc(MAX_INPUT_BYTES + 1).toString('base64') }), 413, 'PayloadTooLarge');
    expectError(await call('POST', '/inputs', { modelId, inputBase64: Buffer.alloc(200_000).toString('base64') }), 413, 'PayloadTooLarge');
  });

  it('refuses task transactions that would not create the task asked for, leaving no task on chain', async () => {
    const good = { modelId: BigInt(modelId), inputRoot, inputCid };
    expectError(await call('POST', '/tasks', { signedTransaction: '0x1234' }), 400, 'InvalidRequest', 'signedTransaction', /not a signed raw transaction/);
    expectError(await call('POST', '/tasks', { signedTransaction: 'hello' }), 400, 'InvalidRequest', 'signedTransaction');
    expectError(await call('POST', '/tasks', { signedTransaction: await signedCreateTask(good, m.addresses.registry) }), 400, 'InvalidRequest', 'signedTransaction.to');
    const claim = await sign(requester, m.addresses.market, m.market.interface.encodeFunctionData('claim', [1n]));
    expectError(await call('POST', '/tasks', { signedTransaction: claim }), 400, 'InvalidRequest', 'signedTransaction.data', /relays only createTask or createTaskWithPermit/);
    const unknownCid = await fileCid(Uint8Array.from({ length: 784 }, (_, i) => i % 7));
    expectError(
      await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ ...good, inputCid: unknownCid }) }),
      400,
      'InvalidRequest',
      'signedTransaction.request.inputCid',
      /POST \/inputs first/,
    );
    expectError(
      await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ ...good, inputRoot: '0x' + 'ab'.repeat(32) }) }),
      400,
      'InvalidRequest',
      'signedTransaction.request.inputRoot',
    );
    expectError(await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ ...good, modelId: 7n }) }), 404, 'NotFound');
    const past = await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ ...good, deadline: (await now()) - 10n }) });
    expectError(past, 422, 'TransactionRejected', undefined, /MarketDeadlineTooSoon/);
    expect(past.body.error.revert.name).toBe('MarketDeadlineTooSoon');
    const cheapFee = await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ ...good, maxModelFee: 0n }) });
    expect(cheapFee.body.error.revert).toEqual({ name: 'MarketModelFeeTooHigh', args: [modelId, MODEL_FEE.toString(), '0'] });
    expect(await m.market.taskCount()).toBe(0n);
    expect(await chain.provider.getTransactionCount(requester.address)).toBe(0);
  });

  it('creates a task from the requester-signed permit transaction and shows it open', async () => {
    const r = await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ modelId: BigInt(modelId), inputRoot, inputCid }) });
    expect(r.status).toBe(201);
    taskId = r.body.taskId;
    expect(taskId).toBe('1');
    expect((await chain.provider.getTransactionReceipt(r.body.txHash))!.blockNumber).toBe(r.body.blockNumber);

    const t = await call('GET', `/tasks/${taskId}`);
    expect(t.status).toBe(200);
    expect(taskDetailResponseSchema.parse(t.body)).toMatchObject({ taskId, status: 'Open', requester: requester.address, modelId, inputCid, inputRoot, bounty: BOUNTY.toString(), provider: null });
    expect(t.body.output).toBeUndefined();

    const pending = await call('POST', '/tasks?wait=false', { signedTransaction: await signedCreateTask({ modelId: BigInt(modelId), inputRoot, inputCid }) });
    expect(pending.status).toBe(202);
    expect((await chain.provider.waitForTransaction(pending.body.txHash))!.status).toBe(1);
    expect(await m.market.taskCount()).toBe(2n);
  });

  it('answers 404 for tasks that do not exist and 400 for malformed ids', async () => {
    expectError(await call('GET', '/tasks/0'), 404, 'NotFound');
    expectError(await call('GET', '/tasks/99'), 404, 'NotFound', undefined, /tasks 1 to 2/);
    expectError(await call('GET', '/tasks/abc'), 400, 'InvalidRequest', 'path.taskId');
    expectError(await call('GET', '/models/5'), 404, 'NotFound');
    expectError(await call('GET', '/nowhere'), 404, 'NotFound');
  });

  it('shows the committed output and the predicted class once a provider commits on chain', async () => {
    await mine(m.market.connect(provider).claim(BigInt(taskId)));
    const slots = dnnSlotTensors(model, quantizeInput(model, SEVEN));
    const out = slots.at(-1)!;
    const roots = slots.map((s) => merkleRootOfBytes(s));
    await mine(m.market.connect(provider).commit(BigInt(taskId), hex(roots.at(-1)!), graphStateAt(roots, roots.length - 1), out));

    const t = await call('GET', `/tasks/${taskId}`);
    const outputSpec = model.tensorSpecs.get(model.spec.output)!;
    const expectedClass = argmaxRows(tensorFromBytes(outputSpec.dtype, [...outputSpec.shape], out))[0];
    expect(expectedClass).toBe(7);
    expect(taskDetailResponseSchema.parse(t.body)).toMatchObject({
      status: 'Committed',
      provider: provider.address,
      output: hex(out),
      outputShape: outputSpec.shape,
      predictedClass: expectedClass,
      outputRoot: hex(roots.at(-1)!),
    });
    expect(Number(t.body.windowEnd)).toBeGreaterThan(Number(await now()));
  });

  it('shows dispute progress from the game contract once the task is challenged', async () => {
    await mine(m.market.connect(challenger).challenge(BigInt(taskId)));
    const t = await call('GET', `/tasks/${taskId}`);
    // The bond: the floor (10) plus 5% of the task's bounty and collateral.
    const bond = await m.market.challengeBondOf(BigInt(taskId));
    expect(bond).toBeGreaterThan(10n * TOKEN);
    expect(t.body.challenges).toEqual([{ index: '0', challenger: challenger.address, game: m.dispute!.game, bond: bond.toString(), status: 'Pending' }]);
    const game = await m.dispute!.contract.getGame(1n);
    expect(t.body.dispute).toEqual({ challengeIndex: '0', challenger: challenger.address, gameId: '1', phase: PHASES[Number(game.phase)], moves: [], outcome: 'Undecided' });
  });

  it('lists tasks, models, providers and statistics from the indexed views', async () => {
    await indexAll();
    const all = listTasksResponseSchema.parse((await call('GET', '/tasks')).body).tasks;
    expect(all.map((t) => [t.taskId, t.status])).toEqual([
      ['2', 'Open'],
      ['1', 'Committed'],
    ]);
    expect((await call('GET', '/tasks?status=Committed')).body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(['1']);
    expect((await call('GET', `/tasks?provider=${provider.address.toLowerCase()}&limit=5`)).body.tasks.map((t: { taskId: string }) => t.taskId)).toEqual(['1']);
    expect((await call('GET', '/tasks?limit=1')).body.tasks).toHaveLength(1);
    expectError(await call('GET', '/tasks?limit=501'), 400, 'InvalidRequest', 'query.limit');
    expectError(await call('GET', '/tasks?status=Sleeping'), 400, 'InvalidRequest', 'query.status');

    const models = listModelsResponseSchema.parse((await call('GET', '/models')).body).models;
    expect(models).toEqual([expect.objectContaining({ modelId, owner: owner.address, graphCid: spec.graphCid, active: true, tasks: 2 })]);
    const detail = modelDetailResponseSchema.parse((await call('GET', `/models/${modelId}`)).body);
    expect(detail).toMatchObject({ spec, inputShape: model.tensorSpecs.get(model.spec.input)!.shape, outputShape: [1, 10], tasks: 2 });

    const providers = listProvidersResponseSchema.parse((await call('GET', '/providers')).body).providers;
    expect(providers.map((p) => p.address).sort()).toEqual([provider.address, challenger.address].map((a) => a.toLowerCase()).sort());
    const one = providerDetailResponseSchema.parse((await call('GET', `/providers/${provider.address}`)).body);
    expect(one).toMatchObject({ tasksClaimed: 1, chain: { stake: (await m.staking.stakeOf(provider.address)).toString(), locked: (50n * TOKEN).toString(), unbonding: '0' } });
    expectError(await call('GET', `/providers/${Wallet.createRandom().address}`), 404, 'NotFound');
    expectError(await call('GET', '/providers/0x1234'), 400, 'InvalidRequest', 'path.address');

    const stats = statsResponseSchema.parse((await call('GET', '/stats')).body);
    expect(stats.tasksByStatus).toEqual({ Open: 1, Committed: 1 });
    expect(stats.models).toEqual([{ modelId, tasks: 2 }]);
    expect(stats.disputes).toEqual({ total: 1, challengerWon: 0, providerWon: 0, pending: 1 });
    expect(stats.stake).toEqual({ staked: (600n * TOKEN).toString(), locked: (50n * TOKEN).toString(), slashed: '0' });
    expect(stats.daily.reduce((n, d) => n + d.tasksCreated, 0)).toBe(2);
    expect(stats.latency.finalizedSeconds).toEqual([]);

    const task = (await call('GET', `/tasks/${taskId}`)).body;
    const created = (await chain.provider.getBlock((await m.market.queryFilter(m.market.filters.TaskCreated(BigInt(taskId))))[0]!.blockNumber))!.timestamp;
    expect(task).toMatchObject({ createdAt: created, claimedAt: expect.any(Number), committedAt: expect.any(Number), challengeWindow: '600' });
  });

  it('refuses tasks on a deactivated model with 409', async () => {
    await mine(m.registry.connect(owner).deactivateModel(BigInt(modelId)));
    const r = await call('POST', '/tasks', { signedTransaction: await signedCreateTask({ modelId: BigInt(modelId), inputRoot, inputCid }) });
    expectError(r, 409, 'Conflict', undefined, /deactivated/);
    expect(await m.market.taskCount()).toBe(2n);
  });

  it('counts time to finalization and ranks providers by what they earned', async () => {
    const second = 2n;
    await mine(m.market.connect(provider).claim(second));
    const slots = dnnSlotTensors(model, quantizeInput(model, SEVEN));
    const roots = slots.map((s) => merkleRootOfBytes(s));
    await mine(m.market.connect(provider).commit(second, hex(roots.at(-1)!), graphStateAt(roots, roots.length - 1), slots.at(-1)!));
    await chain.provider.send('evm_increaseTime', [601]);
    await mine(m.market.connect(provider).finalize(second));
    await indexAll();

    const [created, finalized] = await Promise.all(
      [m.market.filters.TaskCreated(second), m.market.filters.TaskFinalized(second)].map(async (f) => (await chain.provider.getBlock((await m.market.queryFilter(f))[0]!.blockNumber))!.timestamp),
    );
    const stats = statsResponseSchema.parse((await call('GET', '/stats')).body);
    expect(stats.latency.finalizedSeconds).toEqual([finalized - created]);
    expect(finalized - created).toBeGreaterThan(600);
    expect(stats.tasksByStatus).toEqual({ Finalized: 1, Committed: 1 });
    const leaders = listProvidersResponseSchema.parse((await call('GET', '/providers')).body).providers;
    expect(leaders[0]).toMatchObject({ address: provider.address.toLowerCase(), earned: BOUNTY.toString(), tasksFinalized: 1 });
    expect((await call('GET', `/tasks/${second}`)).body).toMatchObject({ status: 'Finalized', finalizedAt: finalized, predictedClass: 7 });
  });

  it('answers 502 Upstream when the chain node cannot be reached', async () => {
    const down = await createApiServices(parseServiceEnv({ ...process.env, OPML_RPC_URL: `http://127.0.0.1:${await freePort()}` }));
    try {
      const reply = await new Router([route({ method: 'GET', path: '/health', handle: async () => ok(await health(down)) })]).handle({ method: 'GET', path: '/health', params: {}, query: {}, headers: {} });
      expect(reply.status).toBe(502);
      expect(apiErrorBodySchema.parse(reply.json).error).toMatchObject({ code: 'Upstream', message: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await down.close();
    }
  });

  it('serves the dashboard files with their content types and nothing outside their folder', async () => {
    const index = await call('GET', '/dashboard');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(new TextDecoder().decode(index.bytes)).toContain('<title>opML market</title>');
    const js = await call('GET', '/dashboard/app.js');
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expectError(await call('GET', '/dashboard/missing.css'), 404, 'NotFound');
    expectError(await call('GET', '/dashboard/..%2Fsecret.txt'), 404, 'NotFound');
    expectError(await call('GET', '/dashboard/%2E%2E'), 404, 'NotFound');
  });
});
