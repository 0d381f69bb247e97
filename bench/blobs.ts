/**
 * `npm run bench:blobs [-- --size 2GiB]`: a model of any size through the market's data path, on
 * this machine, with the references each figure is judged against measured in the same run.
 *
 * 1. A package of random int8 Dense layers (scripts/randomDenseModel.ts) written to a temporary folder.
 * 2. In a child process (its own peak RSS): the Kubo CID of the weights alone, their weights root and
 *    tensor roots alone (MerkleStream over all cores), and both in one pass as the SDK does it
 *    (scanPackage); reference: raw keccak of the same hasher over all cores, from memory.
 * 3. The local market (anvil, s3rver, SQS, the API and pinner in this process, no workers): the SDK
 *    uploads the package by presigned multipart parts in parallel, the pinner verifies it from S3 and
 *    pins it, the owner registers it; reference: a plain file copy of the weights on the same disk.
 * 4. A worker's package cache in a child process: cold (download from S3, verified while streaming)
 *    and, in a second child on the same folder, warm (a restart: trusted by size and mtime); then one
 *    inference over the whole model read by offset.
 * 5. Native inference with roots over onnxruntime for the CNN and the char model (bench/infer.ts).
 *
 * Goals at 2 GiB: roots ≤ 1.3 × the raw keccak time, peak RSS ≤ 1 GiB, warm load ≤ 1 s/GiB, and
 * native with roots ≤ 3 × onnxruntime. Last line: one JSON object.
 */
import { spawn } from 'node:child_process';
import { createReadStream, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeRandomDenseModel } from '../scripts/randomDenseModel';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const READ_BYTES = 4 << 20;
const KERNEL_ELF = resolve(__dirname, '..', 'build', 'guest', 'dnn-kernels.elf');

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const round = (x: number, digits = 3) => +x.toFixed(digits);
const maxRssMiB = () => round((process.resourceUsage().maxRSS * 1024) / MiB, 1);

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(GiB|MiB|KiB|B)?$/i.exec(text.trim());
  if (!m) throw new Error(`--size ${text}: write a size such as 2GiB, 512MiB or 65536`);
  const unit = { gib: GiB, mib: MiB, kib: 1024, b: 1 }[(m[2] ?? 'b').toLowerCase() as 'gib' | 'mib' | 'kib' | 'b'];
  return Math.round(Number(m[1]) * unit);
}

/** Dense widths whose weights add up to about `bytes`: layers of 16384² (256 MiB) when it is that big, else one square layer. */
export function widthsFor(bytes: number): number[] {
  const LAYER = 16384;
  if (bytes >= LAYER * LAYER) return Array.from({ length: Math.round(bytes / (LAYER * LAYER)) + 1 }, () => LAYER);
  const w = Math.max(64, 64 * Math.round(Math.sqrt(bytes) / 64));
  return [w, w];
}

// ---------------------------------------------------------------- child: roots and CIDs

async function hashChild(base: string): Promise<void> {
  const { FileCidBuilder } = await import('../shared/ipfs/unixfs/fileCidBuilder');
  const { WeightsHasher } = await import('../shared/models/weightsHasher');
  const { scanPackage } = await import('../shared/models/scanPackage');
  const { parseSpec } = await import('../shared/dnn/model');
  const { hasher } = await import('../shared/vm/hasher');
  const { rawKeccakSecondsPerGiB } = await import('./merkleSpeed');
  const weightsFile = `${base}.dnn.bin`;
  const { size } = await stat(weightsFile);
  const gib = size / GiB;
  const spec = parseSpec(new Uint8Array(readFileSync(`${base}.dnn.json`)));
  const read = () => createReadStream(weightsFile, { highWaterMark: READ_BYTES });

  let t0 = performance.now();
  for await (const _ of read()); // eslint-disable-line @typescript-eslint/no-unused-vars
  const readSeconds = seconds(t0);

  t0 = performance.now();
  const cid = new FileCidBuilder();
  for await (const chunk of read()) cid.update(chunk as Buffer);
  cid.digest();
  const cidSeconds = seconds(t0);

  t0 = performance.now();
  const roots = new WeightsHasher(spec);
  for await (const chunk of read()) await roots.push(chunk as Buffer);
  await roots.finish();
  const rootsSeconds = seconds(t0);

  t0 = performance.now();
  await scanPackage(base);
  const scanSeconds = seconds(t0);

  const keccakLimit = await rawKeccakSecondsPerGiB(hasher, Math.min(2, Math.max(0.25, gib)));
  console.log(
    JSON.stringify({
      hasher: hasher.name,
      threads: hasher.threads,
      readSecondsPerGiB: round(readSeconds / gib),
      cidSecondsPerGiB: round(cidSeconds / gib),
      weightsRootSecondsPerGiB: round(rootsSeconds / gib),
      scanSecondsPerGiB: round(scanSeconds / gib),
      keccakLimitSecondsPerGiB: round(keccakLimit),
      maxRssMiB: maxRssMiB(),
    }),
  );
}

// ---------------------------------------------------------------- child: a worker's package cache

async function cacheChild(args: { env: Record<string, string>; dir: string; graphCid: string; weightsCid: string; vmImageCid: string; run: boolean }): Promise<void> {
  const { awsClients } = await import('../shared/aws/config');
  const { BlobStore } = await import('../shared/blobs/blobStore');
  const { kernelImageFromElf } = await import('../shared/dnn/guest/kernelImage');
  const { runModel } = await import('../shared/dnn/executor');
  const { allocTensor } = await import('../shared/dnn/tensor');
  const { openIpfsStore } = await import('../shared/ipfs/store');
  const { awsConfigOf, ipfsConfigOf, parseServiceEnv } = await import('../shared/service/config');
  const { PackageFileCache } = await import('../worker-image/src/modelCache');
  const env = parseServiceEnv(args.env);
  const { s3 } = awsClients(awsConfigOf(env));
  const ipfs = await openIpfsStore(ipfsConfigOf(env));
  const blobs = new BlobStore(s3, ipfs, { bucket: env.OPML_DATA_BUCKET, maxBytes: env.OPML_MAX_MODEL_BYTES });
  const files = new PackageFileCache(args.dir, blobs, 64 * GiB);
  const kernel = await files.kernel(args.vmImageCid);
  if (kernel.imageRoot !== kernelImageFromElf(readFileSync(KERNEL_ELF)).imageRoot) throw new Error('the registered VM image is not this checkout’s build/guest/dnn-kernels.elf');
  let lastReport = 0;
  const load = await files.load(args.graphCid, args.weightsCid, kernel, (done, total) => {
    if (Date.now() - lastReport < 2000) return;
    lastReport = Date.now();
    process.stderr.write(`  worker cache: ${(done / GiB).toFixed(2)} / ${((total ?? 0) / GiB).toFixed(2)} GiB\n`);
  });
  const result: Record<string, unknown> = { from: load.from, seconds: round(load.seconds), weightsBytes: load.prepared.model.weights.byteLength };
  if (args.run) {
    const model = load.prepared.model;
    const spec = model.tensorSpecs.get(model.spec.input)!;
    const input = allocTensor(spec.dtype, [...spec.shape]);
    for (let i = 0; i < input.data.length; i++) input.data[i] = ((i * 37) % 255) - 127;
    const t0 = performance.now();
    runModel(model, input, { backend: 'wasm' });
    result.inferenceSeconds = round(seconds(t0));
  }
  result.maxRssMiB = maxRssMiB();
  console.log(JSON.stringify(result));
}

/** Runs this file as a child (async: the servers this process hosts must keep serving it); its last stdout line is JSON. */
function child<T>(kind: string, arg: unknown): Promise<T> {
  return new Promise((done, fail) => {
    const c = spawn(process.execPath, [...process.execArgv, __filename, '--child', kind, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    c.on('error', fail);
    c.on('exit', (code) => {
      if (code !== 0) return fail(new Error(`bench:blobs ${kind} child failed (exit ${code}): see its output above`));
      done(JSON.parse(out.trim().split('\n').pop()!) as T);
    });
  });
}

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const sizeAt = argv.indexOf('--size');
  const target = parseSize(sizeAt >= 0 ? argv[sizeAt + 1] ?? '' : '2GiB');
  const widths = widthsFor(target);
  const dir = await mkdtemp(join(tmpdir(), 'bench-blobs-'));
  const log = (line: string) => process.stderr.write(`bench:blobs: ${line}\n`);
  const { startLocalStack } = await import('../shared/stack/localStack');
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    const base = join(dir, 'dense');
    log(`writing ${widths.length - 1} Dense layer(s) of ${widths[1]}² to ${dir}`);
    let t0 = performance.now();
    const { weightsBytes } = writeRandomDenseModel(base, widths, 3);
    const writeSeconds = seconds(t0);
    const gib = weightsBytes / GiB;

    log('hashing (child process)');
    const hashing = await child<Record<string, number | string>>('hash', base);

    t0 = performance.now();
    await copyFile(`${base}.dnn.bin`, join(dir, 'copy.bin'));
    const copyMiBPerSecond = round(weightsBytes / MiB / seconds(t0), 1);
    await rm(join(dir, 'copy.bin'));

    log('starting the local market (no workers)');
    stack = await startLocalStack({ mode: 'fast', workers: false, confirmations: 0 });
    const { connectOpml } = await import('../shared/sdk/context');
    const { registerModelPackage } = await import('../shared/sdk/models');
    const owner = await connectOpml({ provider: stack.provider, apiUrl: stack.apiUrl, signer: stack.parties.modelOwner });
    const stageStart = new Map<string, number>();
    let lastReport = 0;
    const registered = await registerModelPackage(owner, base, {
      fee: 0n,
      journalDir: join(dir, 'journals'),
      onProgress: (p) => {
        const key = p.stage === 'uploading' ? `uploading-${p.file}` : p.stage;
        if (!stageStart.has(key)) stageStart.set(key, performance.now());
        if (Date.now() - lastReport > 2000 && p.stage === 'uploading') {
          lastReport = Date.now();
          log(`uploading ${p.file}: ${(p.bytesDone / MiB).toFixed(0)} / ${(p.bytesTotal / MiB).toFixed(0)} MiB`);
        }
      },
    });
    const uploadSeconds = (stageStart.get('verifying')! - stageStart.get('uploading-weights')!) / 1000;
    const verifySeconds = (stageStart.get('registering')! - stageStart.get('verifying')!) / 1000;
    const uploadParts = registered.uploads.weights.partsSent;

    const cacheArgs = { env: stack.env, dir: join(dir, 'worker-cache'), graphCid: registered.spec.graphCid, weightsCid: registered.spec.weightsCid, vmImageCid: registered.spec.vmImageCid };
    log('worker cold load (child process)');
    const cold = await child<{ from: string; seconds: number; maxRssMiB: number }>('cache', { ...cacheArgs, run: false });
    log('worker warm load after a restart (child process), then one inference');
    const warm = await child<{ from: string; seconds: number; maxRssMiB: number; inferenceSeconds: number }>('cache', { ...cacheArgs, run: true });
    if (cold.from !== 'download' || warm.from !== 'disk') throw new Error(`expected a cold download then a warm disk load, got ${cold.from} then ${warm.from}`);
    await stack.stop();
    stack = undefined;

    log('native inference with roots against onnxruntime');
    const { withRootsOverOnnxruntime } = await import('./infer');
    const inference = await withRootsOverOnnxruntime(['mnist-cnn', 'charlm']);

    const result = {
      bench: 'blobs',
      cores: availableParallelism(),
      sizeBytes: weightsBytes,
      layers: widths.length - 1,
      width: widths[1],
      writeSecondsPerGiB: round(writeSeconds / gib),
      ...hashing,
      rootOverKeccakLimit: round(Number(hashing.weightsRootSecondsPerGiB) / Number(hashing.keccakLimitSecondsPerGiB)),
      hashPeakRssMiB: hashing.maxRssMiB,
      uploadMiBPerSecond: round(weightsBytes / MiB / uploadSeconds, 1),
      upload: { parts: uploadParts, seconds: round(uploadSeconds), copyMiBPerSecond },
      pinnerVerifySecondsPerGiB: round(verifySeconds / gib),
      workerColdLoadSeconds: cold.seconds,
      workerWarmLoadSeconds: warm.seconds,
      worker: {
        coldPeakRssMiB: cold.maxRssMiB,
        warmLoadSecondsPerGiB: round(warm.seconds / gib),
        warmPeakRssMiB: warm.maxRssMiB,
        inferenceSeconds: warm.inferenceSeconds,
      },
      peakRssMiB: Math.max(Number(hashing.maxRssMiB), cold.maxRssMiB, warm.maxRssMiB),
      nativeWithRootsOverOnnxruntime: Object.fromEntries(Object.entries(inference).map(([k, v]) => [k, v.ratio])),
      inference,
    };
    console.log(JSON.stringify(result));
  } finally {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const run = process.argv[2] === '--child' ? (process.argv[3] === 'hash' ? hashChild(JSON.parse(process.argv[4])) : cacheChild(JSON.parse(process.argv[4]))) : main();
  run.then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
