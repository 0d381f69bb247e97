/**
 * Model owners: import an ONNX file into an int8 package (calibrated on representative inputs), and
 * register a package of any size through the API (upload to S3, verification and pinning by the
 * service, then the owner's own signed registerModel).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { CHARLM, charlmCorpus } from '../dnn/datasets/charlm';
import { mnistTrain } from '../dnn/datasets/mnist';
import { writeModelFiles } from '../dnn/files';
import { weightsRoot, type DnnModel } from '../dnn/model';
import type { CalibrationSample } from '../dnn/onnx/calibrate';
import { toHex } from '../dnn/tensor';
import type { PackageRecord } from '../api/schemas';
import { scanPackage } from '../models/scanPackage';
import type { OpmlApiClient } from './apiClient';
import { requireApi, requireSigner, type OpmlContext } from './context';
import { SdkError } from './errors';
import { pngToMnist } from './inputs';
import { signOffline } from './requester';
import { uploadFile, type UploadProgress, type UploadResult } from './upload';

/** The shipped packages (models/<name>.dnn.json + .dnn.bin). */
export const MODELS_DIR = resolve(__dirname, '..', '..', 'models');

export class ModelPackageError extends SdkError {
  override name = 'ModelPackageError';
}

/**
 * Calibration inputs from a description: `mnist[:N]` (N training digits, default 200), `charlm[:N]`
 * (N windows of the character corpus, default 100), a directory of PNG digits, or a JSON file holding
 * an array of input arrays.
 */
export function calibrationSamples(source: string): CalibrationSample[] {
  const [kind, countText] = source.split(':');
  const count = countText === undefined ? undefined : Number(countText);
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) throw new ModelPackageError(`calibration count "${countText}" is not a positive integer: e.g. --calibration mnist:200`);
  if (kind === 'mnist') {
    const { images } = mnistTrain();
    const n = count ?? 200;
    const stride = Math.max(1, Math.floor(images.length / n));
    return images.filter((_, i) => i % stride === 0).slice(0, n);
  }
  if (kind === 'charlm') {
    const { train } = charlmCorpus();
    const n = count ?? 100;
    const T = CHARLM.context;
    return Array.from({ length: n }, (_, i) => {
      const s = Math.floor((i * (train.length - T)) / n);
      return BigInt64Array.from(train.slice(s, s + T), BigInt);
    });
  }
  if (!existsSync(source)) throw new ModelPackageError(`calibration source ${source} is neither mnist[:N], charlm[:N], a directory of PNGs nor a JSON file`);
  if (statSync(source).isDirectory()) {
    const pngs = readdirSync(source).filter((f) => f.toLowerCase().endsWith('.png')).sort();
    if (pngs.length === 0) throw new ModelPackageError(`no .png files in ${source}: put representative input images there`);
    return pngs.map((f) => pngToMnist(readFileSync(join(source, f))));
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(source, 'utf8'));
  } catch (e) {
    throw new ModelPackageError(`${source} is not JSON (${(e as Error).message}): give an array of input arrays`);
  }
  if (!Array.isArray(json) || json.length === 0 || !json.every((s) => Array.isArray(s) && s.every((v) => typeof v === 'number')))
    throw new ModelPackageError(`${source} must hold a non-empty array of arrays of numbers, one whole input each`);
  return json.map((s: number[]) => Float32Array.from(s));
}

export interface ImportModelOptions {
  name?: string;
  calibration: string;
  inputShape?: number[];
  /** Output path without extension; <onnx dir>/<name> when absent. */
  out?: string;
}

export async function importModelFile(onnxPath: string, options: ImportModelOptions): Promise<{ model: DnnModel; base: string }> {
  if (!existsSync(onnxPath)) throw new ModelPackageError(`${onnxPath} does not exist: give the path of an .onnx file`);
  const name = options.name ?? basename(onnxPath, extname(onnxPath));
  // Loaded on use: onnx-proto's protobufjs cannot load under `--conditions=import`, which the IPFS
  // packages need, so processes that only register or submit (npm start, the benches) never touch it.
  const { importOnnx } = await import('../dnn/onnx/import');
  const model = await importOnnx(readFileSync(onnxPath), { name, calibration: calibrationSamples(options.calibration), inputShape: options.inputShape });
  const base = options.out ?? join(resolve(onnxPath, '..'), name);
  writeModelFiles(base, model);
  return { model, base };
}

/** A package from a base path (x → x.dnn.json + x.dnn.bin), a directory holding one, or a shipped model's name. */
export function resolveModelPackage(dirOrName: string): string {
  const candidates = [dirOrName.replace(/\.dnn\.(json|bin)$/, ''), join(MODELS_DIR, dirOrName)];
  for (const base of candidates) if (existsSync(`${base}.dnn.json`) && existsSync(`${base}.dnn.bin`)) return base;
  if (existsSync(dirOrName) && statSync(dirOrName).isDirectory()) {
    const specs = readdirSync(dirOrName).filter((f) => f.endsWith('.dnn.json'));
    if (specs.length === 1) return join(dirOrName, specs[0].replace(/\.dnn\.json$/, ''));
    if (specs.length > 1) throw new ModelPackageError(`${dirOrName} holds ${specs.length} packages (${specs.join(', ')}): name one`);
  }
  const shipped = existsSync(MODELS_DIR) ? readdirSync(MODELS_DIR).filter((f) => f.endsWith('.dnn.json')).map((f) => f.replace(/\.dnn\.json$/, '')) : [];
  throw new ModelPackageError(`no model package at ${dirOrName}: give a .dnn.json path, a directory with one, or a shipped name (${shipped.join(', ')}); make one with \`opml model import\``);
}

export interface RegisteredModel {
  modelId: bigint;
  txHash: string;
  spec: { graphSpecHash: string; weightsRoot: string; vmImageRoot: string; graphCid: string; weightsCid: string; vmImageCid: string; fee: string };
  nodes: number;
  /** Per file: sent now, resumed from an earlier run, or already stored by the API. */
  uploads: { graph: UploadResult; weights: UploadResult };
}

export type RegisterProgress =
  | { stage: 'hashing'; bytesDone: number; bytesTotal: number }
  | ({ stage: 'uploading'; file: 'graph' | 'weights' } & UploadProgress)
  | { stage: 'verifying'; bytesVerified: number; bytesTotal: number | undefined }
  | { stage: 'registering' };

export interface RegisterOptions {
  fee: bigint;
  onProgress?: (p: RegisterProgress) => void;
  /** Stops an upload between parts; run again to resume. */
  signal?: AbortSignal;
  /** Where upload journals live (default ~/.cache/opml/uploads, or $XDG_CACHE_HOME/opml/uploads). */
  journalDir?: string;
  /** Parts in flight at once (default 4). */
  concurrency?: number;
  /** Parts' size in bytes (at least 5 MiB; default the API's). */
  partSize?: number;
  /** How long to wait for the service's verification of the package (default 30 minutes). */
  verifyTimeoutMs?: number;
  /** Between polls of the package record (default 1 s). */
  pollMs?: number;
}

export function defaultJournalDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'opml', 'uploads');
}

/** Waits for the pinner's verdict on the package: its record once verified; ModelPackageError if rejected. */
async function verifiedPackage(api: OpmlApiClient, graphCid: string, weightsCid: string, o: RegisterOptions): Promise<PackageRecord> {
  const deadline = Date.now() + (o.verifyTimeoutMs ?? 30 * 60_000);
  for (let record = await api.postPackage({ graphCid, weightsCid }); ; record = await api.getPackage(graphCid, weightsCid)) {
    if (record.status === 'verified') return record;
    if (record.status === 'rejected') throw new ModelPackageError(`the service rejected the package: ${record.error?.message ?? 'no reason given'}`);
    o.onProgress?.({ stage: 'verifying', bytesVerified: record.bytesVerified ?? 0, bytesTotal: record.weightsBytes });
    if (Date.now() > deadline) throw new ModelPackageError(`the service has not verified the package within ${Math.round((o.verifyTimeoutMs ?? 1_800_000) / 1000)} s (${record.bytesVerified ?? 0} bytes checked): run the command again later, the uploads are kept`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/**
 * Registers a package of any size through the API: hashes it locally (CIDs, tensor roots), uploads
 * both files to S3 by presigned multipart upload (resumable), waits until the service has verified
 * and pinned them, checks that what it verified is the package held here, signs registerModel with
 * exactly those fields and submits it.
 */
export async function registerModelPackage(ctx: OpmlContext, base: string, options: RegisterOptions): Promise<RegisteredModel> {
  const api = requireApi(ctx);
  const signer = requireSigner(ctx);
  const local = await scanPackage(base, (bytesDone, bytesTotal) => options.onProgress?.({ stage: 'hashing', bytesDone, bytesTotal }));
  try {
    const common = { api, journalDir: options.journalDir ?? defaultJournalDir(), concurrency: options.concurrency, partSize: options.partSize, signal: options.signal };
    const graph = await uploadFile({ ...common, file: local.specFile, cid: local.graphCid, size: local.specBytes, onProgress: (p) => options.onProgress?.({ stage: 'uploading', file: 'graph', ...p }) });
    const weights = await uploadFile({ ...common, file: local.weightsFile, cid: local.weightsCid, size: local.weightsBytes, onProgress: (p) => options.onProgress?.({ stage: 'uploading', file: 'weights', ...p }) });
    const record = await verifiedPackage(api, local.graphCid, local.weightsCid, options);
    const registry = record.registry!;
    // The owner signs what it registers: the package the service verified must be the one held here.
    const ownRoot = toHex(weightsRoot(local.model));
    if (registry.weightsRoot.toLowerCase() !== ownRoot) throw new ModelPackageError(`the service verified weightsRoot ${registry.weightsRoot}, the package's is ${ownRoot}: use another --api`);
    options.onProgress?.({ stage: 'registering' });
    const spec = { ...registry, fee: options.fee.toString() };
    const tx = await ctx.contracts.registry.connect(signer).registerModel.populateTransaction({ ...registry, fee: options.fee });
    const registered = await api.postModel(await signOffline(ctx, tx));
    return { modelId: BigInt(registered.modelId), txHash: registered.txHash, spec, nodes: record.nodes ?? local.model.spec.nodes.length, uploads: { graph, weights } };
  } finally {
    local.model.weights.close();
  }
}
