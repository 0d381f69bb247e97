/**
 * Models: uploading a package (checked with the loader's strict bounds, its registry spec computed,
 * graph, weights and the guest kernel image pinned to S3 and IPFS), relaying the owner's signed
 * registerModel once its files are pinned and its roots recomputed from them, and reading models.
 */
import { DnnError } from '../../dnn/errors';
import { kernelImageFromElf } from '../../dnn/guest/kernelImage';
import { loadModel, type DnnModel } from '../../dnn/model';
import { BlobNotFoundError } from '../../blobs/blobStore';
import { prepareModelRegistration, type PreparedModel } from '../../models/registration';
import { registeredModel } from '../chainReads';
import { ApiError, InvalidRequestError, PayloadTooLargeError } from '../errors';
import { created, ok, parseJsonBody, route, type Route } from '../router';
import {
  modelParamsSchema,
  modelViewSchema,
  postModelRequestSchema,
  postModelUploadRequestSchema,
  type ModelDetailResponse,
  type ModelSpecJson,
  type ModelView,
  type PostModelResponse,
  type PostModelUploadResponse,
} from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { broadcast, decodeSignedCall, eventOf, RECEIPT_WAIT_MS, simulate, waitForReceipt } from '../transactions';
import { allViews } from '../viewList';
import { bodyLimitOf, TRANSACTION_BODY_BYTES } from './limits';

const SPEC_FIELDS = ['graphSpecHash', 'weightsRoot', 'vmImageRoot', 'graphCid', 'weightsCid', 'vmImageCid'] as const;

function specJson(p: PreparedModel): ModelSpecJson {
  const s = p.spec;
  return {
    graphSpecHash: s.graphSpecHash,
    weightsRoot: s.weightsRoot,
    vmImageRoot: s.vmImageRoot,
    graphCid: String(s.graphCid),
    weightsCid: String(s.weightsCid),
    vmImageCid: String(s.vmImageCid),
    fee: BigInt(s.fee).toString(),
  };
}

/** The package loaded with every check of the DNN loader; its faults are 400s naming `field`. */
function loadPackage(graph: Uint8Array, weights: Uint8Array, field: string): DnnModel {
  try {
    return loadModel(graph, weights);
  } catch (e) {
    if (e instanceof DnnError) throw new InvalidRequestError(`the model package is invalid: ${e.message}`, field);
    throw e;
  }
}

export async function uploadModel(s: ApiServices, graphText: string, weights: Uint8Array, fee: bigint): Promise<PostModelUploadResponse> {
  const graph = new TextEncoder().encode(graphText);
  const size = graph.length + weights.length;
  if (size > s.env.OPML_MAX_MODEL_BYTES) throw new PayloadTooLargeError(size, s.env.OPML_MAX_MODEL_BYTES, 'graph and weights together');
  if (fee >= 1n << 88n) throw new InvalidRequestError('fee must fit in 88 bits (uint88)', 'fee');
  const model = loadPackage(graph, weights, 'graph');
  const kernel = await s.kernel();
  const prepared = prepareModelRegistration(model, kernel, fee);
  const spec = specJson(prepared);
  const stored = await Promise.all([s.blobs.put(model.specBytes), s.blobs.put(model.weights), s.blobs.put(kernel.elf)]);
  // The registry keeps single-block CIDs; a file past one IPFS chunk gets another CID from IPFS.
  const named = [spec.graphCid, spec.weightsCid, spec.vmImageCid];
  const fields = ['graph', 'weightsBase64', 'vmImage'];
  stored.forEach((cid, i) => {
    if (cid !== named[i]) throw new InvalidRequestError(`${fields[i]} is stored as ${cid} but the registry spec names ${named[i]}: files over 256 KiB cannot be registered`, fields[i]);
  });
  return { spec, nodes: prepared.graph.nodes.length };
}

/** Fetches a spec's file by CID; a missing one is a 400 telling the caller to upload first. */
async function pinnedFile(s: ApiServices, cid: string, field: string): Promise<Uint8Array> {
  try {
    return await s.blobs.get(cid);
  } catch (e) {
    if (e instanceof BlobNotFoundError || (e instanceof Error && e.name === 'IpfsInvalidCidError'))
      throw new InvalidRequestError(`${cid} is not stored here: POST /models/uploads the package first`, field);
    throw e;
  }
}

export async function relayRegisterModel(s: ApiServices, signedTransaction: string): Promise<PostModelResponse> {
  const call = decodeSignedCall(signedTransaction, {
    to: s.env.OPML_REGISTRY,
    chainId: (await s.provider.getNetwork()).chainId,
    iface: s.registry.interface,
    functions: ['registerModel'],
    contractName: 'ModelRegistry',
  });
  const raw = call.args[0] as Record<(typeof SPEC_FIELDS)[number], string> & { fee: bigint };
  const field = 'signedTransaction.spec';
  const [graph, weights, elf] = await Promise.all([
    pinnedFile(s, raw.graphCid, `${field}.graphCid`),
    pinnedFile(s, raw.weightsCid, `${field}.weightsCid`),
    pinnedFile(s, raw.vmImageCid, `${field}.vmImageCid`),
  ]);
  const prepared = prepareModelRegistration(loadPackage(graph, weights, `${field}.graphCid`), kernelImageFromElf(elf), raw.fee);
  const expected = specJson(prepared);
  for (const name of SPEC_FIELDS)
    if (String(raw[name]).toLowerCase() !== expected[name].toLowerCase())
      throw new InvalidRequestError(`${name} is ${raw[name]} but the pinned files give ${expected[name]}: take the spec POST /models/uploads returned`, `${field}.${name}`);
  await simulate(s.provider, call);
  const txHash = await broadcast(s.provider, call);
  const receipt = await waitForReceipt(s.provider, call, txHash, RECEIPT_WAIT_MS);
  if (!receipt) throw new ApiError(502, 'Upstream', `transaction ${txHash} was sent but not mined within ${RECEIPT_WAIT_MS / 1000} s: look it up on chain before signing again`);
  const event = eventOf(receipt, s.env.OPML_REGISTRY, s.registry.interface, 'ModelRegistered');
  return { modelId: (event.modelId as bigint).toString(), txHash };
}

const isModelView = (state: unknown): state is ModelView => modelViewSchema.safeParse(state).success;

export async function modelDetail(s: ApiServices, modelId: bigint): Promise<ModelDetailResponse> {
  const model = await registeredModel(s, modelId);
  const [view, spec] = await Promise.all([s.views.state('models', modelId.toString()), s.graphSpec(model.spec.graphCid)]);
  const shapeOf = (name: string): number[] => spec.tensors.find((t) => t.name === name)!.shape;
  return {
    modelId: modelId.toString(),
    owner: model.owner,
    graphCid: model.spec.graphCid,
    weightsCid: model.spec.weightsCid,
    vmImageCid: model.spec.vmImageCid,
    fee: model.spec.fee,
    active: model.active,
    tasks: isModelView(view) ? view.tasks : 0,
    spec: model.spec,
    inputShape: shapeOf(spec.input),
    outputShape: shapeOf(spec.output),
  };
}

export async function listModels(s: ApiServices): Promise<ModelView[]> {
  const models = await allViews(s.s3, s.views, 'models', isModelView);
  return models.filter((m) => m.owner !== null).sort((a, b) => Number(a.modelId) - Number(b.modelId));
}

export const modelRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/models/uploads',
    maxBodyBytes: bodyLimitOf('OPML_MAX_MODEL_BYTES'),
    async handle(req) {
      const body = parseJsonBody(req, postModelUploadRequestSchema);
      return created(await uploadModel(await apiServices(), body.graph, Buffer.from(body.weightsBase64, 'base64'), BigInt(body.fee)));
    },
  }),
  route({
    method: 'POST',
    path: '/models',
    maxBodyBytes: TRANSACTION_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postModelRequestSchema);
      return created(await relayRegisterModel(await apiServices(), body.signedTransaction));
    },
  }),
  route({
    method: 'GET',
    path: '/models',
    async handle() {
      return ok({ models: await listModels(await apiServices()) });
    },
  }),
  route({
    method: 'GET',
    path: '/models/{modelId}',
    params: modelParamsSchema,
    async handle(req) {
      return ok(await modelDetail(await apiServices(), BigInt(req.params.modelId)));
    },
  }),
];
