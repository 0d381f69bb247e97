/**
 * Pinning a registered model: its graph, weights and VM image are fetched by the CIDs the registry holds
 * (S3 first, IPFS second), checked against everything the registry commits to, and then stored in both
 * S3 and IPFS. A file that does not give the registered value is not pinned: the error names the
 * registry field, the status record says so, and the pin job fails (retried, then dead-lettered) so
 * that an operator sees it.
 */
import type { ModelRegistry } from '../../build/types';
import type { BlobStore } from '../blobs/blobStore';
import { DnnSpecError } from '../dnn/errors';
import { kernelImageFromElf, type KernelImage } from '../dnn/guest/kernelImage';
import { loadModel, type DnnModel } from '../dnn/model';
import { merkleRootOfBytes } from '../vm/merkle';
import { fileCid } from '../ipfs/cid';
import { ModelCommitmentMismatch } from '../models/errors';
import { prepareModelRegistration } from '../models/registration';
import { PIN_FILE_FIELDS, type PinStatus, type PinStatusStore } from './status';

type FileField = (typeof PIN_FILE_FIELDS)[number];

/** A file's bytes do not hash to the CID it was fetched by, or do not load as a model package. */
export class PinFileInvalidError extends Error {
  override name = 'PinFileInvalidError';
  constructor(readonly modelId: bigint, readonly field: FileField, readonly cid: string, reason: string) {
    super(`model ${modelId}: the file registered as ${field} (${cid}) ${reason}; re-upload the right file or register the model again`);
  }
}

export interface PinDeps {
  registry: ModelRegistry;
  blobs: BlobStore;
  statuses: PinStatusStore;
}

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

type RegisteredRoots = Record<'graphSpecHash' | 'weightsRoot' | 'vmImageRoot', string>;

async function verifiedFiles(deps: PinDeps, modelId: bigint, cids: Record<FileField, string>, registered: RegisteredRoots): Promise<Record<FileField, { cid: string; bytes: Uint8Array }>> {
  const files = {} as Record<FileField, { cid: string; bytes: Uint8Array }>;
  for (const field of PIN_FILE_FIELDS) {
    const cid = cids[field];
    const bytes = await deps.blobs.get(cid);
    // The stores check content already; this check does not depend on which store answered.
    const actual = fileCid(bytes);
    if (actual !== cid) throw new PinFileInvalidError(modelId, field, cid, `holds content ${actual}`);
    files[field] = { cid, bytes };
  }

  const check = (field: keyof RegisteredRoots, value: string): void => {
    if (value.toLowerCase() !== registered[field].toLowerCase()) throw new ModelCommitmentMismatch(modelId, field, registered[field], value);
  };
  // The two roots of raw files first: a swapped weights blob is named as such, not as a graph that fails to load.
  check('weightsRoot', hex(merkleRootOfBytes(files.weightsCid.bytes)));
  let kernel: KernelImage;
  try {
    kernel = kernelImageFromElf(files.vmImageCid.bytes);
  } catch (e) {
    throw new PinFileInvalidError(modelId, 'vmImageCid', files.vmImageCid.cid, `is not a loadable RV32 ELF (${(e as Error).message})`);
  }
  check('vmImageRoot', kernel.imageRoot);
  let model: DnnModel;
  try {
    model = loadModel(files.graphCid.bytes, files.weightsCid.bytes);
  } catch (e) {
    if (e instanceof DnnSpecError) throw new PinFileInvalidError(modelId, 'graphCid', files.graphCid.cid, `does not load as a model package (${e.where}: ${e.message})`);
    throw e;
  }
  check('graphSpecHash', prepareModelRegistration(model, kernel).spec.graphSpecHash);
  return files;
}

/**
 * Verifies model `modelId`'s files and pins them to S3 and IPFS; records the outcome either way and
 * returns it, or throws the verification error after recording it.
 */
export async function pinModel(deps: PinDeps, modelId: bigint): Promise<PinStatus> {
  const [[graphCid, weightsCid, vmImageCid], [graphSpecHash, weightsRoot, vmImageRoot]] = await Promise.all([
    deps.registry.modelCids(modelId),
    deps.registry.modelRoots(modelId),
  ]);
  const cids: Record<FileField, string> = { graphCid, weightsCid, vmImageCid };
  let files: Awaited<ReturnType<typeof verifiedFiles>>;
  try {
    files = await verifiedFiles(deps, modelId, cids, { graphSpecHash, weightsRoot, vmImageRoot });
  } catch (e) {
    if (e instanceof PinFileInvalidError || e instanceof ModelCommitmentMismatch) {
      await deps.statuses.write({
        modelId: modelId.toString(),
        files: await Promise.all(PIN_FILE_FIELDS.map(async (field) => ({ field, cid: cids[field], ...(await deps.blobs.where(cids[field])) }))),
        verified: false,
        at: new Date().toISOString(),
        error: { name: e.name, field: e.field, message: e.message },
      });
    }
    throw e;
  }
  const pinned: PinStatus['files'] = [];
  for (const field of PIN_FILE_FIELDS) {
    const { cid, bytes } = files[field];
    let where = await deps.blobs.where(cid);
    if (!where.s3 || !where.ipfs) {
      await deps.blobs.put(bytes);
      where = await deps.blobs.where(cid);
    }
    pinned.push({ field, cid, ...where });
  }
  const status: PinStatus = { modelId: modelId.toString(), files: pinned, verified: true, at: new Date().toISOString() };
  await deps.statuses.write(status);
  return status;
}
