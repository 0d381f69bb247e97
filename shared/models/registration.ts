/**
 * What the registry must store for a model package so the real dispute game can referee its tasks
 * (docs/dispute-spec.md section 3): the graph commitment of the package's dispute graph as
 * graphSpecHash, the weights blob's Merkle root, the kernel image's VM memory root, and the
 * content ids of the spec, weights and image files.
 */
import type { ContractTransactionReceipt, Signer } from 'ethers';
import type { IModelRegistry, ModelRegistry } from '../../build/types';
import { dnnDisputeGraph } from '../dispute/dnnGraph';
import { graphCommitment, type DisputeGraph } from '../dispute/graph';
import { weightsRoot, type DnnModel } from '../dnn/model';
import { weightsChunks } from '../dnn/weights';
import { fileCid } from '../ipfs/cid';
import { FileCidBuilder } from '../ipfs/unixfs/fileCidBuilder';
import type { KernelImage } from '../dnn/guest/kernelImage';
import { mine } from '../market/tasks';
import { ModelRegistrationMissing } from './errors';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');

export interface PreparedModel {
  model: DnnModel;
  /** The public graph both dispute players need; its commitment is `spec.graphSpecHash`. */
  graph: DisputeGraph;
  /** The registry entry, fee included. */
  spec: IModelRegistry.ModelSpecStruct & { graphSpecHash: string; weightsRoot: string; vmImageRoot: string };
}

/** The CIDs of a package's two files (what `ipfs add --cid-version 1` gives), the blob read in chunks. */
export function packageCids(model: DnnModel): PackageCids {
  const weights = new FileCidBuilder();
  for (const piece of weightsChunks(model.weights)) weights.update(piece);
  return { spec: fileCid(model.specBytes), weights: weights.digest() };
}

export interface PackageCids {
  spec: string;
  weights: string;
}

/**
 * The registry entry of a loaded package. `cids` are its files' CIDs: a caller that fetched or hashed
 * the files by CID passes them (a multi-GB blob is not hashed again); otherwise they are computed.
 */
export function prepareModelRegistration(model: DnnModel, kernelImage: KernelImage, fee = 0n, cids: PackageCids = packageCids(model)): PreparedModel {
  const graph = dnnDisputeGraph(model, kernelImage.elf);
  return {
    model,
    graph,
    spec: {
      graphSpecHash: graphCommitment(graph),
      weightsRoot: hex(weightsRoot(model)),
      vmImageRoot: kernelImage.imageRoot,
      graphCid: cids.spec,
      weightsCid: cids.weights,
      vmImageCid: kernelImage.cid,
      fee,
    },
  };
}

/** Registers `spec` as `owner`; returns the new model id and the receipt. */
export async function registerModel(
  registry: ModelRegistry,
  owner: Signer,
  spec: IModelRegistry.ModelSpecStruct,
): Promise<{ modelId: bigint; receipt: ContractTransactionReceipt }> {
  const receipt = await mine(registry.connect(owner).registerModel(spec));
  for (const log of receipt.logs) {
    const parsed = registry.interface.parseLog(log);
    if (parsed?.name === 'ModelRegistered') return { modelId: parsed.args.modelId as bigint, receipt };
  }
  throw new ModelRegistrationMissing(receipt.hash);
}
