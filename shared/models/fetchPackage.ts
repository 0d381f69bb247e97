/**
 * A model package fetched by its files' CIDs into a folder and checked in one pass over the weights:
 * the spec (small, read whole, checked against its CID), then the weights blob streamed to disk
 * with its CID, every constant's region root and the blob's root computed on the way, then the
 * package loaded from the file with those roots (the value bounds read it by offset). What the
 * pinner verifies before anything is registered and what a worker loads, the same way.
 */
import { join } from 'node:path';
import type { BlobStore, DownloadOptions } from '../blobs/blobStore';
import { BlobCidMismatchError } from '../blobs/blobStore';
import type { KernelImage } from '../dnn/guest/kernelImage';
import { DnnSpecError } from '../dnn/errors';
import { loadModel, parseSpec, type DnnModel } from '../dnn/model';
import { toHex } from '../dnn/tensor';
import { FileWeights } from '../dnn/weights';
import { PackageFileInvalidError } from './errors';
import { prepareModelRegistration, type PreparedModel } from './registration';
import { WeightsHasher, type WeightsRoots } from './weightsHasher';

export interface PackageFiles {
  graphCid: string;
  weightsCid: string;
}

export interface FetchedPackage {
  prepared: PreparedModel;
  /** where the blob was downloaded (the model reads it from there) */
  weightsFile: string;
  roots: WeightsRoots;
}

/** The weights file's name in `dir`: the blob's CID, so one folder holds any number of packages. */
export const weightsFileOf = (dir: string, weightsCid: string): string => join(dir, weightsCid);

/** The spec bytes checked against their CID and parsed; a file that is not a spec is PackageFileInvalidError. */
export async function fetchSpec(blobs: BlobStore, graphCid: string): Promise<{ specBytes: Uint8Array; spec: ReturnType<typeof parseSpec> }> {
  const specBytes = await blobs.get(graphCid);
  try {
    return { specBytes, spec: parseSpec(specBytes) };
  } catch (e) {
    if (e instanceof DnnSpecError) throw new PackageFileInvalidError('graphCid', graphCid, `is not a model spec (${e.message})`, { cause: e });
    throw e;
  }
}

/** Loads a package whose blob is already in `weightsFile`, checking its regions against `regionRoots`. */
export function loadPackageFile(specBytes: Uint8Array, files: PackageFiles, weightsFile: string, kernel: KernelImage, regionRoots: ReadonlyMap<number, string> | 'trusted'): PreparedModel {
  let model: DnnModel;
  try {
    model = loadModel(specBytes, new FileWeights(weightsFile), regionRoots === 'trusted' ? { trusted: true } : { regionRoots });
  } catch (e) {
    if (!(e instanceof DnnSpecError)) throw e;
    const field = e.where.startsWith('tensor ') || e.where === 'weights' ? 'weightsCid' : 'graphCid';
    throw new PackageFileInvalidError(field, field === 'weightsCid' ? files.weightsCid : files.graphCid, `does not load as part of the package (${e.message})`, { cause: e });
  }
  return prepareModelRegistration(model, kernel, 0n, { spec: files.graphCid, weights: files.weightsCid });
}

export async function fetchPackage(blobs: BlobStore, files: PackageFiles, kernel: KernelImage, dir: string, options: Pick<DownloadOptions, 'onProgress'> = {}): Promise<FetchedPackage> {
  const { specBytes, spec } = await fetchSpec(blobs, files.graphCid);
  const hasher = new WeightsHasher(spec);
  const weightsFile = weightsFileOf(dir, files.weightsCid);
  try {
    await blobs.download(files.weightsCid, weightsFile, { onBytes: (chunk) => hasher.push(chunk), onProgress: options.onProgress });
  } catch (e) {
    if (e instanceof BlobCidMismatchError) throw new PackageFileInvalidError('weightsCid', files.weightsCid, `holds other bytes (they give ${e.actual})`, { cause: e });
    throw e;
  }
  const roots = await hasher.finish();
  const prepared = loadPackageFile(specBytes, files, weightsFile, kernel, roots.regionRoots);
  // The tree from the regions' roots and the tree of the bytes are one tree once every region matched.
  if (toHex(prepared.model.weightsTree.root()) !== roots.root) throw new Error(`internal: weights root ${roots.root} of the bytes differs from the regions' ${toHex(prepared.model.weightsTree.root())}`);
  return { prepared, weightsFile, roots };
}
