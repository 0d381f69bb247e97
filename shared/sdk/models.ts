/**
 * Model owners: import an ONNX file into an int8 package (calibrated on representative inputs), and
 * register a package through the API (upload and pin, then the owner's own signed registerModel).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { CHARLM, charlmCorpus } from '../dnn/datasets/charlm';
import { mnistTrain } from '../dnn/datasets/mnist';
import { readModelFiles, writeModelFiles } from '../dnn/files';
import { weightsRoot, type DnnModel } from '../dnn/model';
import type { CalibrationSample } from '../dnn/onnx/calibrate';
import { toHex } from '../dnn/tensor';
import { requireApi, requireSigner, type OpmlContext } from './context';
import { SdkError } from './errors';
import { pngToMnist } from './inputs';
import { signOffline } from './requester';

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
}

/** Uploads the package (the API pins it and computes the registry spec), checks the weights root, signs registerModel, submits. */
export async function registerModelPackage(ctx: OpmlContext, base: string, fee: bigint): Promise<RegisteredModel> {
  const api = requireApi(ctx);
  const signer = requireSigner(ctx);
  const model = readModelFiles(base);
  const uploaded = await api.uploadModel({
    graph: new TextDecoder().decode(model.specBytes),
    weightsBase64: Buffer.from(model.weights).toString('base64'),
    fee: fee.toString(),
  });
  const spec = uploaded.spec;
  // The owner signs what it registers: the weights it holds must be the ones the API pinned.
  const ownRoot = toHex(weightsRoot(model));
  if (spec.weightsRoot.toLowerCase() !== ownRoot) throw new ModelPackageError(`the API computed weightsRoot ${spec.weightsRoot}, the package's is ${ownRoot}: use another --api`);
  const tx = await ctx.contracts.registry.connect(signer).registerModel.populateTransaction({ ...spec, fee: BigInt(spec.fee) });
  const registered = await api.postModel(await signOffline(ctx, tx));
  return { modelId: BigInt(registered.modelId), txHash: registered.txHash, spec, nodes: uploaded.nodes };
}
