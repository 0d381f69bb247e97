/**
 * The pinner function on a real registry, S3 server, SQS server and embedded IPFS: registered models
 * whose files sit in only one store end up verified in both; a model registered with a weights blob
 * that is not the one its weightsRoot commits to is refused by field, recorded, left unpinned, and its
 * pin job dead-lettered after maxReceiveCount receives.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { awsClients, type AwsClients } from '../../shared/aws/config';
import { ensureBucket, putObject } from '../../shared/aws/s3';
import { createQueueWithDlq, receiveMessages, sendMessages, type QueuePair } from '../../shared/aws/sqs';
import { BlobStore } from '../../shared/blobs/blobStore';
import { readModelFiles } from '../../shared/dnn/files';
import { kernelImageFromElf, KERNEL_ELF_PATH, type KernelImage } from '../../shared/dnn/guest/kernelImage';
import { openEmbeddedIpfs } from '../../shared/ipfs/embedded';
import { fileCid } from '../../shared/ipfs/cid';
import type { IpfsStore } from '../../shared/ipfs/store';
import { deployMarket, type DeployedMarket } from '../../shared/market/deploy';
import { prepareModelRegistration, registerModel, type PreparedModel } from '../../shared/models/registration';
import { PinStatusStore } from '../../shared/pinning/status';
import { jobDeduplicationIdOf, jobGroupOf, type Job } from '../../shared/schemas/jobs';
import { weightsBytes } from '../../shared/dnn/weights';
import { PackageRecordStore } from '../../shared/pinning/packageRecords';
import { handler as pinnerHandler } from '../../functions/pinner';
import { startLocalChain, type LocalChain } from '../helpers/chain';
import { startLocalAws, type LocalAws } from '../helpers/servers';
import { runSqsLambda, sqsEventOf } from './lambda';

jest.setTimeout(120_000);

const DATA = 'pin-data';
const VIEWS = 'pin-views';
const MAX_RECEIVES = 2;

let aws: LocalAws;
let clients: AwsClients;
let chain: LocalChain;
let m: DeployedMarket;
let ipfsDir: string;
let ipfs: IpfsStore;
let blobs: BlobStore;
let statuses: PinStatusStore;
let kernel: KernelImage;
let queue: QueuePair;
const logs: string[] = [];

beforeAll(async () => {
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => void logs.push(String(line)));
  [aws, chain] = await Promise.all([startLocalAws(), startLocalChain({ accounts: 2 })]);
  clients = awsClients(aws.config);
  m = await deployMarket(chain.signers[0]!, {});
  await Promise.all([ensureBucket(clients.s3, DATA), ensureBucket(clients.s3, VIEWS)]);
  queue = await createQueueWithDlq(clients.sqs, { name: 'c1-pin', fifo: true, visibilityTimeoutSeconds: 1, maxReceiveCount: MAX_RECEIVES });
  ipfsDir = await mkdtemp(join(tmpdir(), 'c1-pin-ipfs-'));
  // The same folder the function's embedded node keeps its blocks in: what a second IPFS reader sees.
  ipfs = await openEmbeddedIpfs(ipfsDir);
  blobs = new BlobStore(clients.s3, ipfs, { bucket: DATA, maxBytes: 6 << 20 });
  statuses = new PinStatusStore(clients.s3, VIEWS);
  kernel = kernelImageFromElf(new Uint8Array(readFileSync(KERNEL_ELF_PATH)));
  Object.assign(process.env, {
    OPML_RPC_URL: chain.anvil.rpcUrl,
    OPML_MARKET: m.addresses.market,
    OPML_REGISTRY: m.addresses.registry,
    OPML_STAKING: m.addresses.staking,
    OPML_TOKEN: m.addresses.token,
    OPML_DATA_BUCKET: DATA,
    OPML_VIEWS_BUCKET: VIEWS,
    OPML_PIN_QUEUE_URL: queue.url,
    OPML_S3_ENDPOINT: aws.config.s3Endpoint,
    OPML_SQS_ENDPOINT: aws.config.sqsEndpoint,
    OPML_AWS_ACCESS_KEY_ID: 'S3RVER',
    OPML_AWS_SECRET_ACCESS_KEY: 'S3RVER',
    OPML_IPFS: 'embedded',
    OPML_IPFS_PATH: ipfsDir,
  });
});
afterAll(async () => {
  await ipfs?.close();
  await chain?.stop();
  await aws?.stop();
  if (ipfsDir) await rm(ipfsDir, { recursive: true, force: true });
});

const model = (name: string) => readModelFiles(resolve(__dirname, '..', '..', 'models', name));
const pinJob = (modelId: bigint, n: number): Job => ({ kind: 'pin', modelId: modelId.toString(), eventId: `0x${n.toString(16).padStart(64, '0')}:0` });
const send = (jobs: Job[]) => sendMessages(clients.sqs, queue.url, jobs.map((j) => ({ body: JSON.stringify(j), groupId: jobGroupOf(j), deduplicationId: jobDeduplicationIdOf(j) })));

async function register(prepared: PreparedModel['spec']): Promise<bigint> {
  return (await registerModel(m.registry, chain.signers[1]!, prepared)).modelId;
}

describe('pinner function', () => {
  let inS3: PreparedModel, inIpfs: PreparedModel;
  let s3Model: bigint, ipfsModel: bigint;

  it('verifies models held in one store only and pins all three files to both', async () => {
    inS3 = prepareModelRegistration(model('mnist-mlp'), kernel);
    inIpfs = prepareModelRegistration(model('mnist-cnn'), kernel);
    for (const bytes of [inS3.model.specBytes, weightsBytes(inS3.model.weights), kernel.elf]) await blobs.s3Store.put(bytes);
    for (const bytes of [inIpfs.model.specBytes, weightsBytes(inIpfs.model.weights)]) await ipfs.add(bytes);
    s3Model = await register(inS3.spec);
    ipfsModel = await register(inIpfs.spec);
    expect(await blobs.where(inS3.spec.weightsCid)).toEqual({ s3: true, ipfs: false });
    expect(await blobs.where(inIpfs.spec.weightsCid)).toEqual({ s3: false, ipfs: true });

    await send([pinJob(s3Model, 1), pinJob(ipfsModel, 2)]);
    const run = await runSqsLambda(clients.sqs, queue.url, pinnerHandler);
    expect(run).toMatchObject({ failed: [], records: 2 });

    for (const [modelId, p] of [
      [s3Model, inS3],
      [ipfsModel, inIpfs],
    ] as const) {
      const status = await statuses.read(modelId);
      expect(status).toMatchObject({ modelId: modelId.toString(), verified: true });
      expect(status!.error).toBeUndefined();
      expect(status!.files).toEqual([
        { field: 'graphCid', cid: p.spec.graphCid, s3: true, ipfs: true },
        { field: 'weightsCid', cid: p.spec.weightsCid, s3: true, ipfs: true },
        { field: 'vmImageCid', cid: p.spec.vmImageCid, s3: true, ipfs: true },
      ]);
      // What each store now serves is the registered content.
      expect(Buffer.from(await blobs.s3Store.get(p.spec.weightsCid)).equals(Buffer.from(weightsBytes(p.model.weights)))).toBe(true);
      expect(Buffer.from(await ipfs.get(p.spec.graphCid)).equals(Buffer.from(p.model.specBytes))).toBe(true);
    }
    expect(await fileCid(await ipfs.get(kernel.cid))).toBe(kernel.cid);
  });

  it('pinning again is harmless (the job is idempotent)', async () => {
    const before = await statuses.read(s3Model);
    const response = await pinnerHandler(sqsEventOf([{ messageId: 'again', receiptHandle: 'r', body: JSON.stringify(pinJob(s3Model, 3)), receiveCount: 1, groupId: `model-${s3Model}` }], queue.url));
    expect(response).toEqual({ batchItemFailures: [] });
    const after = await statuses.read(s3Model);
    expect({ ...after, at: null }).toEqual({ ...before, at: null });
  });

  it('refuses a model whose weights blob is not the package its graph describes, by field, and dead-letters the job', async () => {
    const weights = Uint8Array.from(weightsBytes(inIpfs.model.weights));
    weights[weights.length - 1] ^= 0x5a;
    const swappedCid = await blobs.s3Store.put(weights);
    const swapped = await register({ ...inIpfs.spec, weightsCid: swappedCid });

    const direct = await pinnerHandler(sqsEventOf([{ messageId: 'swapped', receiptHandle: 'r', body: JSON.stringify(pinJob(swapped, 4)), receiveCount: 1, groupId: `model-${swapped}` }], queue.url));
    expect(direct).toEqual({ batchItemFailures: [{ itemIdentifier: 'swapped' }] });
    const status = await statuses.read(swapped);
    expect(status).toMatchObject({ verified: false, error: { name: 'PackageFileInvalidError', field: 'weightsCid' } });
    expect(status!.error!.message).toMatch(new RegExp(`${swappedCid}.*root does not match the weights blob`));
    // The bad blob is not spread to IPFS.
    expect(await blobs.where(swappedCid)).toEqual({ s3: true, ipfs: false });
    const failure = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'record-failed' && l.messageId === 'swapped');
    expect(failure).toMatchObject({ consumer: 'pinner', error: { name: 'PackageFileInvalidError' } });

    // Through the queue: retried by visibility timeout, then moved to the dead-letter queue.
    await send([pinJob(swapped, 5)]);
    let dead: Awaited<ReturnType<typeof receiveMessages>> = [];
    let attempts = 0;
    for (let round = 0; round < 20 && dead.length === 0; round++) {
      attempts += (await runSqsLambda(clients.sqs, queue.url, pinnerHandler)).failed.length;
      dead = await receiveMessages(clients.sqs, queue.dlqUrl, { waitSeconds: 1 });
    }
    expect(dead.map((d) => JSON.parse(d.body))).toEqual([pinJob(swapped, 5)]);
    expect(attempts).toBe(MAX_RECEIVES);
  });

  it('names vmImageRoot for another VM image and graphSpecHash for a wrong graph commitment', async () => {
    const otherElf = new Uint8Array(readFileSync(resolve(KERNEL_ELF_PATH, '..', 'arith.elf')));
    const otherImage = await blobs.s3Store.put(otherElf);
    const cases: Array<[PreparedModel['spec'], string]> = [
      [{ ...inS3.spec, vmImageCid: otherImage }, 'vmImageRoot'],
      [{ ...inS3.spec, graphSpecHash: `0x${'77'.repeat(32)}` }, 'graphSpecHash'],
    ];
    for (const [spec, field] of cases) {
      const modelId = await register(spec);
      const response = await pinnerHandler(sqsEventOf([{ messageId: field, receiptHandle: 'r', body: JSON.stringify(pinJob(modelId, 6)), receiveCount: 1 }], queue.url));
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: field }] });
      expect(await statuses.read(modelId)).toMatchObject({ verified: false, error: { field } });
    }
  });

  it('a message that is not a pin job fails by id with the reason', async () => {
    const response = await pinnerHandler(
      sqsEventOf([{ messageId: 'infer', receiptHandle: 'r', body: JSON.stringify({ kind: 'infer', taskId: '1', modelId: '1', inputCid: 'x', eventId: `0x${'0'.repeat(64)}:0` }), receiveCount: 1, groupId: 'g' }], queue.url),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'infer' }] });
    const failure = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'record-failed' && l.messageId === 'infer');
    expect(failure).toMatchObject({ error: { name: 'PinJobInvalidError', message: expect.stringContaining('kind is infer') } });
  });
  describe('verify-package jobs (POST /models/packages)', () => {
    const packages = () => new PackageRecordStore(clients.s3, VIEWS);
    const submit = async (graphCid: string, weightsCid: string, requestId: string) => {
      await packages().write({ graphCid, weightsCid, status: 'verifying', requestId, requestedAt: new Date().toISOString() });
      const job: Job = { kind: 'verify-package', graphCid, weightsCid, requestId };
      return pinnerHandler(sqsEventOf([{ messageId: requestId, receiptHandle: 'r', body: JSON.stringify(job), receiveCount: 1, groupId: jobGroupOf(job) }], queue.url));
    };

    it('verifies an uploaded pair, records the registry fields and pins both files and the kernel to IPFS', async () => {
      const p = prepareModelRegistration(model('charlm'), kernel);
      const [graphCid, weightsCid] = [await blobs.s3Store.put(p.model.specBytes), await blobs.s3Store.put(weightsBytes(p.model.weights))];
      expect(await submit(graphCid, weightsCid, 'ok-1')).toEqual({ batchItemFailures: [] });
      const record = await packages().read(graphCid, weightsCid);
      expect(record).toMatchObject({ status: 'verified', nodes: p.graph.nodes.length, weightsBytes: p.model.weights.byteLength });
      const { fee: _, ...fields } = { ...p.spec, graphCid: String(p.spec.graphCid), weightsCid: String(p.spec.weightsCid), vmImageCid: String(p.spec.vmImageCid) };
      expect(record!.registry).toEqual(fields);
      for (const cid of [graphCid, weightsCid, kernel.cid]) expect(await blobs.where(cid)).toEqual({ s3: true, ipfs: true });
    });

    it('rejects bytes that are not their CID, naming the file, and deletes them so the right file can be uploaded', async () => {
      const p = prepareModelRegistration(model('mnist-cnn'), kernel);
      const graphCid = await blobs.s3Store.put(p.model.specBytes);
      const weightsCid = String(p.spec.weightsCid);
      const wrong = Uint8Array.from(weightsBytes(p.model.weights));
      wrong[7] ^= 1;
      // An upload under the right key with the wrong bytes (what a client that bypasses the part checks could leave).
      await putObject(clients.s3, DATA, blobs.s3Store.key(weightsCid), wrong);
      expect(await submit(graphCid, weightsCid, 'bad-bytes')).toEqual({ batchItemFailures: [] });
      const record = await packages().read(graphCid, weightsCid);
      expect(record).toMatchObject({ status: 'rejected', error: { name: 'PackageFileInvalidError', field: 'weightsCid', message: expect.stringContaining(`(${weightsCid}) holds other bytes`) } });
      expect((await blobs.where(weightsCid)).s3).toBe(false);
    });

    it('rejects a graph file that is not a spec, and a request a newer one replaced is skipped', async () => {
      const graphCid = await blobs.s3Store.put(new TextEncoder().encode('{"format": "not-a-model"}'));
      const weightsCid = await blobs.s3Store.put(new Uint8Array(64));
      await submit(graphCid, weightsCid, 'not-a-spec');
      expect(await packages().read(graphCid, weightsCid)).toMatchObject({ status: 'rejected', error: { field: 'graphCid', message: expect.stringContaining('is not a model spec') } });
      const stale: Job = { kind: 'verify-package', graphCid, weightsCid, requestId: 'older' };
      expect(await pinnerHandler(sqsEventOf([{ messageId: 'stale', receiptHandle: 'r', body: JSON.stringify(stale), receiveCount: 1, groupId: jobGroupOf(stale) }], queue.url))).toEqual({ batchItemFailures: [] });
      expect(await packages().read(graphCid, weightsCid)).toMatchObject({ requestId: 'not-a-spec', status: 'rejected' });
    });
  });
});
