/**
 * Reads several routes share: a model's registry entry and a task, each a 404 when the id was never
 * assigned (ids count up from 1, so 0 and anything past the count do not exist), and a model's input
 * tensor from its stored graph file.
 */
import type { ITaskMarket } from '../../build/types';
import { DTYPE_SIZE, type TensorSpec } from '../dnn/spec';
import { elementCount } from '../dnn/tensor';
import { NotFoundError } from './errors';
import type { ModelSpecJson } from './schemas';
import type { ApiServices } from './services';

export interface RegisteredModel {
  modelId: bigint;
  owner: string;
  active: boolean;
  spec: ModelSpecJson;
}

export async function registeredModel(s: ApiServices, modelId: bigint): Promise<RegisteredModel> {
  const count = await s.registry.modelCount();
  if (modelId === 0n || modelId > count) throw new NotFoundError(`no model ${modelId}: the registry has models 1 to ${count} (GET /models lists them)`);
  const [terms, [graphSpecHash, weightsRoot, vmImageRoot], [graphCid, weightsCid, vmImageCid]] = await Promise.all([
    s.registry.modelTerms(modelId),
    s.registry.modelRoots(modelId),
    s.registry.modelCids(modelId),
  ]);
  return {
    modelId,
    owner: terms.owner,
    active: terms.active,
    spec: {
      graphSpecHash,
      weightsRoot,
      vmImageRoot,
      graphCid,
      weightsCid,
      vmImageCid,
      fee: terms.fee.toString(),
    },
  };
}

export async function taskOnChain(s: ApiServices, taskId: bigint): Promise<ITaskMarket.TaskStructOutput> {
  const count = await s.market.taskCount();
  if (taskId === 0n || taskId > count) throw new NotFoundError(`no task ${taskId}: the market has tasks 1 to ${count}`);
  return s.market.getTask(taskId);
}

/** The input tensor a model takes and its size in bytes: what POST /inputs and POST /tasks check inputs against. */
export async function modelInput(s: ApiServices, model: RegisteredModel): Promise<{ tensor: TensorSpec; bytes: number }> {
  const spec = await s.graphSpec(model.spec.graphCid);
  const tensor = spec.tensors.find((t) => t.name === spec.input)!;
  return { tensor, bytes: elementCount(tensor.shape) * DTYPE_SIZE[tensor.dtype] };
}
