/**
 * The worker's package cache on a real S3 server and the embedded IPFS store: a cold load downloads
 * and verifies, a restarted worker loads from disk with S3 down (a cached CID is never downloaded
 * again, and nothing is rehashed: it is trusted by the manifest's size and mtime), a file that changed
 * on disk is fetched again, the least recently used package is evicted under the byte cap, and a
 * package larger than the whole cap is refused by name.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClients } from '../../shared/aws/config';
import { ensureBucket } from '../../shared/aws/s3';
import { BlobStore } from '../../shared/blobs/blobStore';
import { readModelFiles } from '../../shared/dnn/files';
import { kernelImageFromElf, KERNEL_ELF_PATH } from '../../shared/dnn/guest/kernelImage';
import { toHex } from '../../shared/dnn/tensor';
import { weightsBytes } from '../../shared/dnn/weights';
import { openEmbeddedIpfs } from '../../shared/ipfs/embedded';
import { fileCid } from '../../shared/ipfs/cid';
import type { IpfsStore } from '../../shared/ipfs/store';
import { packageCids } from '../../shared/models/registration';
import { PackageFileCache } from '../../worker-image/src/modelCache';
import { writeRandomDenseModel } from '../../scripts/randomDenseModel';
import { startLocalAws, type LocalAws } from '../helpers/servers';

jest.setTimeout(60_000);

const BUCKET = 'cache-data';
let aws: LocalAws;
let ipfs: IpfsStore;
let blobs: BlobStore;
let dir: string;
const kernel = kernelImageFromElf(new Uint8Array(readFileSync(KERNEL_ELF_PATH)));
const packages: { graphCid: string; weightsCid: string; bytes: number; weightsRoot: string }[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  const { s3 } = awsClients(aws.config);
  await ensureBucket(s3, BUCKET);
  dir = await mkdtemp(join(tmpdir(), 'model-cache-'));
  ipfs = await openEmbeddedIpfs();
  blobs = new BlobStore(s3, ipfs, { bucket: BUCKET, maxBytes: 64 << 20 });
  // Three packages of about 1.1 MiB of weights each (multi-chunk blobs, dag-pb CIDs).
  for (const seed of [1, 2, 3]) {
    const base = join(dir, `m${seed}`);
    writeRandomDenseModel(base, [1024, 1024, 64], seed);
    const model = readModelFiles(base);
    const cids = packageCids(model);
    for (const bytes of [model.specBytes, weightsBytes(model.weights)]) await blobs.s3Store.put(bytes);
    packages.push({ graphCid: cids.spec, weightsCid: cids.weights, bytes: model.weights.byteLength, weightsRoot: toHex(model.weightsTree.root()) });
    model.weights.close();
  }
  await blobs.s3Store.put(kernel.elf);
});
afterAll(async () => {
  await ipfs?.close();
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cacheDir = () => join(dir, 'cache');

it('downloads and verifies a package once; a restarted worker loads it from disk with S3 down', async () => {
  const [p] = packages;
  const cold = await new PackageFileCache(cacheDir(), blobs, 1 << 30).load(p.graphCid, p.weightsCid, kernel);
  expect(cold.from).toBe('download');
  expect(String(cold.prepared.spec.weightsCid)).toBe(p.weightsCid);
  expect(cold.prepared.spec.weightsRoot).toBe(p.weightsRoot);
  await aws.stopS3();
  try {
    const warm = await new PackageFileCache(cacheDir(), blobs, 1 << 30).load(p.graphCid, p.weightsCid, kernel);
    expect(warm.from).toBe('disk');
    expect(warm.prepared.spec).toEqual(cold.prepared.spec);
    expect(warm.prepared.graph.nodes.map((n) => n.inputs)).toEqual(cold.prepared.graph.nodes.map((n) => n.inputs));
  } finally {
    await aws.restartS3();
  }
});

it('a worker whose cache folder does not exist yet fetches the VM image first (as a model load does), then keeps it on disk', async () => {
  const folder = join(dir, 'fresh', 'models');
  const cache = new PackageFileCache(folder, blobs, 1 << 30);
  const cid = fileCid(kernel.elf);
  expect((await cache.kernel(cid)).imageRoot).toBe(kernel.imageRoot);
  expect(readFileSync(join(folder, cid)).equals(Buffer.from(kernel.elf))).toBe(true);
  await aws.stopS3();
  try {
    expect((await new PackageFileCache(folder, blobs, 1 << 30).kernel(cid)).imageRoot).toBe(kernel.imageRoot);
  } finally {
    await aws.restartS3();
  }
});

it('fetches a package again when its file changed on disk since it was verified', async () => {
  const [p] = packages;
  const file = join(cacheDir(), p.weightsCid);
  const before = await stat(file);
  await utimes(file, before.atime, new Date(before.mtimeMs + 60_000));
  const again = await new PackageFileCache(cacheDir(), blobs, 1 << 30).load(p.graphCid, p.weightsCid, kernel);
  expect(again.from).toBe('download');
});

it('evicts the least recently used package to stay under the cap, and refuses one larger than the cap', async () => {
  const capped = join(dir, 'capped');
  const cap = Math.floor(2.5 * packages[0].bytes);
  const cache = new PackageFileCache(capped, blobs, cap);
  for (const p of packages.slice(0, 2)) await cache.load(p.graphCid, p.weightsCid, kernel);
  // Using the first again makes the second the least recently used one.
  expect((await cache.load(packages[0].graphCid, packages[0].weightsCid, kernel)).from).toBe('disk');
  await cache.load(packages[2].graphCid, packages[2].weightsCid, kernel);
  const present = await Promise.all(packages.map((p) => stat(join(capped, p.weightsCid)).then(() => true, () => false)));
  expect(present).toEqual([true, false, true]);
  const tiny = new PackageFileCache(join(dir, 'tiny'), blobs, 1 << 20);
  await expect(tiny.load(packages[0].graphCid, packages[0].weightsCid, kernel)).rejects.toMatchObject({ name: 'CacheTooSmallError', capBytes: 1 << 20 });
});
