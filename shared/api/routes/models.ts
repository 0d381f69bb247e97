/**
 * Models: submitting an uploaded (graph, weights) pair for verification as one package (the pinner
 * streams the files from S3, checks every root and bound, and pins them), reading that record,
 * relaying the owner's signed registerModel once its package is verified and the registry fields it
 * signs are the verified ones, and reading models.
 */
import { randomUUID } from 'node:crypto';
import { objectSize } from '../../aws/s3';
import { sendMessages } from '../../aws/sqs';
import { BLOB_PREFIX } from '../../blobs/blobStore';
import { MAX_SPEC_BYTES } from '../../dnn/spec';
import { PackageRecordStore } from '../../pinning/packageRecords';
import { jobDeduplicationIdOf, jobGroupOf, type Job } from '../../schemas/jobs';
import { registeredModel } from '../chainReads';
import { ApiError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../errors';
import { accepted, created, ok, parseJsonBody, route, type Route } from '../router';
import {
  modelParamsSchema,
  modelViewSchema,
  packageParamsSchema,
  postModelRequestSchema,
  postPackageRequestSchema,
  type ModelDetailResponse,
  type ModelView,
  type PackageRecord,
  type PostModelResponse,
} from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { broadcast, decodeSignedCall, eventOf, RECEIPT_WAIT_MS, simulate, waitForReceipt } from '../transactions';
import { allViews } from '../viewList';
import { TRANSACTION_BODY_BYTES } from './limits';

const REGISTRY_FIELDS = ['graphSpecHash', 'weightsRoot', 'vmImageRoot', 'graphCid', 'weightsCid', 'vmImageCid'] as const;

/** A verification that has not reported for this long is taken as lost (its job dead-lettered) and sent again. */
export const STALE_VERIFICATION_MS = 30 * 60_000;

const records = (s: ApiServices): PackageRecordStore => new PackageRecordStore(s.s3, s.env.OPML_VIEWS_BUCKET);

/** Both files must be uploaded; the graph must be small enough to be a spec. */
async function checkUploaded(s: ApiServices, graphCid: string, weightsCid: string): Promise<void> {
  const [graphBytes, weightsBytes] = await Promise.all([graphCid, weightsCid].map((cid) => objectSize(s.s3, s.env.OPML_DATA_BUCKET, `${BLOB_PREFIX}${cid}`)));
  if (graphBytes === undefined) throw new InvalidRequestError(`${graphCid} is not uploaded: POST /uploads the .dnn.json first`, 'graphCid');
  if (weightsBytes === undefined) throw new InvalidRequestError(`${weightsCid} is not uploaded: POST /uploads the .dnn.bin first`, 'weightsCid');
  if (graphBytes > MAX_SPEC_BYTES) throw new PayloadTooLargeError(graphBytes, MAX_SPEC_BYTES, `the graph file ${graphCid}`);
}

/**
 * The package's record; a new verification job when there is none, the last one was rejected (the
 * owner uploaded again) or it went quiet. 200 with a verified record, 202 while verifying.
 */
export async function submitPackage(s: ApiServices, graphCid: string, weightsCid: string): Promise<{ fresh: boolean; record: PackageRecord }> {
  const current = await records(s).read(graphCid, weightsCid);
  const quiet = (r: PackageRecord) => Date.now() - Date.parse(r.verifiedAt ?? r.requestedAt) > STALE_VERIFICATION_MS;
  if (current && (current.status === 'verified' || (current.status === 'verifying' && !quiet(current)))) return { fresh: false, record: current };
  await checkUploaded(s, graphCid, weightsCid);
  if (!s.env.OPML_PIN_QUEUE_URL) throw new ApiError(500, 'Internal', 'this service has no pin queue (OPML_PIN_QUEUE_URL), so packages cannot be verified');
  const record: PackageRecord = { graphCid, weightsCid, status: 'verifying', requestId: randomUUID(), requestedAt: new Date().toISOString() };
  await records(s).write(record);
  const job: Job = { kind: 'verify-package', graphCid, weightsCid, requestId: record.requestId };
  await sendMessages(s.sqs, s.env.OPML_PIN_QUEUE_URL, [{ body: JSON.stringify(job), groupId: jobGroupOf(job), deduplicationId: jobDeduplicationIdOf(job) }]);
  return { fresh: true, record };
}

export async function packageStatus(s: ApiServices, graphCid: string, weightsCid: string): Promise<PackageRecord> {
  const record = await records(s).read(graphCid, weightsCid);
  if (!record) throw new NotFoundError(`package ${graphCid} + ${weightsCid} was never submitted: POST /models/packages`);
  return record;
}

export async function relayRegisterModel(s: ApiServices, signedTransaction: string): Promise<PostModelResponse> {
  const call = decodeSignedCall(signedTransaction, {
    to: s.env.OPML_REGISTRY,
    chainId: (await s.provider.getNetwork()).chainId,
    iface: s.registry.interface,
    functions: ['registerModel'],
    contractName: 'ModelRegistry',
  });
  const raw = call.args[0] as Record<(typeof REGISTRY_FIELDS)[number], string> & { fee: bigint };
  const field = 'signedTransaction.spec';
  const record = await records(s).read(raw.graphCid, raw.weightsCid);
  if (!record || record.status !== 'verified' || !record.registry) {
    const state = record ? `is ${record.status}${record.error ? ` (${record.error.message})` : ''}` : 'was never submitted';
    throw new InvalidRequestError(`the package ${raw.graphCid} + ${raw.weightsCid} ${state}: registration waits until POST /models/packages reports it verified`, `${field}.graphCid`);
  }
  for (const name of REGISTRY_FIELDS)
    if (String(raw[name]).toLowerCase() !== record.registry[name].toLowerCase())
      throw new InvalidRequestError(`${name} is ${raw[name]} but the verified package gives ${record.registry[name]}: sign the fields GET /models/packages returned`, `${field}.${name}`);
  if (raw.fee >= 1n << 88n) throw new InvalidRequestError('fee must fit in 88 bits (uint88)', `${field}.fee`);
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
    path: '/models/packages',
    maxBodyBytes: TRANSACTION_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postPackageRequestSchema);
      const { record } = await submitPackage(await apiServices(), body.graphCid, body.weightsCid);
      return record.status === 'verified' ? ok(record) : accepted(record);
    },
  }),
  route({
    method: 'GET',
    path: '/models/packages/{graphCid}/{weightsCid}',
    params: packageParamsSchema,
    async handle(req) {
      return ok(await packageStatus(await apiServices(), req.params.graphCid, req.params.weightsCid));
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
