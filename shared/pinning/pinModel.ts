/**
 * The pinner's two jobs, over packages of any size:
 *
 * - `verify-package` (POST /models/packages): an uploaded (graph, weights) pair is fetched by CID from
 *   S3 into a work folder in one streaming pass (its CIDs, every tensor root and the weights root
 *   checked on the way), loaded with every check of the DNN loader, its registry entry computed, and
 *   its files pinned to IPFS (the guest kernel image too). The package record then says verified,
 *   with the fields registerModel must carry, or rejected, naming the file and what was wrong; a
 *   file whose bytes are not its CID is deleted from S3 so that the owner can upload it again.
 * - `pin` (ModelRegistered): a registered model's files end up in both stores. When its files are a
 *   package verified here with the registered roots, that record stands for the check; otherwise the
 *   files are fetched and checked against everything the registry commits to.
 *
 * A rejection is a verdict, recorded and final for that request; failures of the stores or the chain
 * throw, so the job is retried and, after the queue's receive limit, dead-lettered for an operator.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelRegistry } from '../../build/types';
import type { PackageRecord } from '../api/schemas';
import { deleteObject } from '../aws/s3';
import { putFileObject } from '../aws/multipart';
import { BlobNotFoundError, type BlobStore } from '../blobs/blobStore';
import { kernelImageFromElf, type KernelImage } from '../dnn/guest/kernelImage';
import { ModelCommitmentMismatch, PackageFileInvalidError } from '../models/errors';
import { fetchPackage, type FetchedPackage, type PackageFiles } from '../models/fetchPackage';
import type { PackageRecordStore } from './packageRecords';
import { PIN_FILE_FIELDS, type PinStatus, type PinStatusStore } from './status';

export interface PinDeps {
  registry: ModelRegistry;
  blobs: BlobStore;
  statuses: PinStatusStore;
  packages: PackageRecordStore;
  /** The guest kernel image this service registers packages with (OPML_KERNEL_ELF). */
  kernel(): Promise<KernelImage>;
  /** Where packages are downloaded while they are checked (Lambda: /tmp). */
  workDir?: string;
  /** How often a verification reports its progress in the package record. */
  progressIntervalMs?: number;
}

const REGISTRY_FIELDS = ['graphSpecHash', 'weightsRoot', 'vmImageRoot', 'graphCid', 'weightsCid', 'vmImageCid'] as const;
type RegistryFields = Record<(typeof REGISTRY_FIELDS)[number], string>;

function registryFields(fetched: FetchedPackage, kernel: KernelImage): RegistryFields {
  const s = fetched.prepared.spec;
  return { graphSpecHash: s.graphSpecHash, weightsRoot: s.weightsRoot, vmImageRoot: kernel.imageRoot, graphCid: String(s.graphCid), weightsCid: String(s.weightsCid), vmImageCid: kernel.cid };
}

/** Runs `work` on a package fetched into a fresh folder, which is removed afterwards whatever happens. */
async function withFetchedPackage<T>(deps: PinDeps, files: PackageFiles, kernel: KernelImage, onProgress: ((done: number, total: number | undefined) => void) | undefined, work: (fetched: FetchedPackage) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(deps.workDir ?? tmpdir(), 'opml-package-'));
  try {
    const fetched = await fetchPackage(deps.blobs, files, kernel, dir, { onProgress });
    try {
      return await work(fetched);
    } finally {
      fetched.prepared.model.weights.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Both stores hold the package's files and the kernel image: the weights streamed from its file. */
async function pinFiles(deps: PinDeps, fetched: FetchedPackage, kernel: KernelImage): Promise<PinStatus['files']> {
  const { blobs } = deps;
  const spec = fetched.prepared.spec;
  const weightsCid = String(spec.weightsCid);
  const where = await blobs.where(weightsCid);
  if (!where.s3) await putFileObject(blobs.s3Store.s3, blobs.s3Store.options.bucket, blobs.s3Store.key(weightsCid), fetched.weightsFile);
  if (!where.ipfs) await blobs.addToIpfs(weightsCid, createReadStream(fetched.weightsFile));
  await blobs.put(fetched.prepared.model.specBytes);
  await blobs.put(kernel.elf);
  const cids = { graphCid: String(spec.graphCid), weightsCid, vmImageCid: kernel.cid };
  return Promise.all(PIN_FILE_FIELDS.map(async (field) => ({ field, cid: cids[field], ...(await blobs.where(cids[field])) })));
}

/**
 * Verifies the package of a POST /models/packages request and records the verdict. A request that
 * is no longer the record's (a newer one replaced it) is skipped.
 */
export async function verifyPackage(deps: PinDeps, files: PackageFiles, requestId: string): Promise<PackageRecord> {
  const current = await deps.packages.read(files.graphCid, files.weightsCid);
  if (!current || current.requestId !== requestId || current.status !== 'verifying') return current ?? { ...files, status: 'rejected', requestId, requestedAt: new Date().toISOString() };
  const kernel = await deps.kernel();
  let reported = Date.now();
  const onProgress = (done: number, total: number | undefined) => {
    if (Date.now() - reported < (deps.progressIntervalMs ?? 5000)) return;
    reported = Date.now();
    void deps.packages.write({ ...current, bytesVerified: done, ...(total !== undefined ? { weightsBytes: total } : {}) }).catch(() => {});
  };
  try {
    return await withFetchedPackage(deps, files, kernel, onProgress, async (fetched) => {
      await pinFiles(deps, fetched, kernel);
      const record: PackageRecord = {
        ...current,
        status: 'verified',
        bytesVerified: fetched.roots.length,
        weightsBytes: fetched.roots.length,
        registry: registryFields(fetched, kernel),
        nodes: fetched.prepared.graph.nodes.length,
        verifiedAt: new Date().toISOString(),
      };
      await deps.packages.write(record);
      return record;
    });
  } catch (e) {
    const verdict = e instanceof PackageFileInvalidError ? e : e instanceof BlobNotFoundError ? new PackageFileInvalidError(e.cid === files.graphCid ? 'graphCid' : 'weightsCid', e.cid, 'is in neither S3 nor IPFS: upload it') : undefined;
    if (!verdict) throw e;
    // Bytes that are not their CID must not block the right upload of that CID.
    if (/holds other bytes/.test(verdict.message)) await deleteObject(deps.blobs.s3Store.s3, deps.blobs.s3Store.options.bucket, deps.blobs.s3Store.key(verdict.cid));
    const record: PackageRecord = { ...current, status: 'rejected', verifiedAt: new Date().toISOString(), error: { name: verdict.name, field: verdict.field, message: verdict.message } };
    await deps.packages.write(record);
    return record;
  }
}

/** Verifies model `modelId`'s files against the registry and pins them to S3 and IPFS; records the outcome either way. */
export async function pinModel(deps: PinDeps, modelId: bigint): Promise<PinStatus> {
  const [[graphCid, weightsCid, vmImageCid], [graphSpecHash, weightsRoot, vmImageRoot]] = await Promise.all([deps.registry.modelCids(modelId), deps.registry.modelRoots(modelId)]);
  const cids = { graphCid, weightsCid, vmImageCid };
  const registered = { graphSpecHash, weightsRoot, vmImageRoot };
  const record = async (verified: boolean, files?: PinStatus['files'], error?: PinStatus['error']): Promise<PinStatus> => {
    const status: PinStatus = {
      modelId: modelId.toString(),
      files: files ?? (await Promise.all(PIN_FILE_FIELDS.map(async (field) => ({ field, cid: cids[field], ...(await deps.blobs.where(cids[field])) })))),
      verified,
      at: new Date().toISOString(),
      ...(error ? { error } : {}),
    };
    await deps.statuses.write(status);
    return status;
  };
  const verifiedPackage = await deps.packages.read(graphCid, weightsCid);
  const sameAsVerified = verifiedPackage?.status === 'verified' && Object.entries({ ...registered, vmImageCid }).every(([k, v]) => verifiedPackage.registry?.[k as keyof RegistryFields].toLowerCase() === v.toLowerCase());
  try {
    let kernel: KernelImage;
    try {
      kernel = kernelImageFromElf(await deps.blobs.get(vmImageCid));
    } catch (e) {
      if (e instanceof BlobNotFoundError) throw e;
      throw new PackageFileInvalidError('vmImageCid', vmImageCid, `is not a loadable RV32 ELF (${(e as Error).message})`, { cause: e });
    }
    if (kernel.imageRoot.toLowerCase() !== vmImageRoot.toLowerCase()) throw new ModelCommitmentMismatch(modelId, 'vmImageRoot', vmImageRoot, kernel.imageRoot);
    const where = await Promise.all(PIN_FILE_FIELDS.map((field) => deps.blobs.where(cids[field])));
    if (sameAsVerified && where.every((w) => w.s3 && w.ipfs)) return await record(true);
    return await withFetchedPackage(deps, { graphCid, weightsCid }, kernel, undefined, async (fetched) => {
      const fields = registryFields(fetched, kernel);
      for (const field of ['weightsRoot', 'graphSpecHash'] as const)
        if (fields[field].toLowerCase() !== registered[field].toLowerCase()) throw new ModelCommitmentMismatch(modelId, field, registered[field], fields[field]);
      return record(true, await pinFiles(deps, fetched, kernel));
    });
  } catch (e) {
    if (e instanceof PackageFileInvalidError || e instanceof ModelCommitmentMismatch) await record(false, undefined, { name: e.name, field: e.field, message: `model ${modelId}: ${e.message}` });
    throw e;
  }
}
