/**
 * A provider's check before it claims or commits a task: the model's registered roots must be the
 * ones its own package yields, or the dispute game would refuse the provider's `open` (graph
 * commitment) or phase link (weights, image) and it would lose its collateral even when honest.
 */
import type { ModelRegistry, TaskMarket } from '../../build/types';
import { ModelCommitmentMismatch } from './errors';
import type { PreparedModel } from './registration';

export async function assertModelDefensible(registry: ModelRegistry, modelId: bigint, prepared: PreparedModel): Promise<void> {
  const [graphSpecHash, weightsRoot, vmImageRoot] = await registry.modelRoots(modelId);
  const registered = { graphSpecHash, weightsRoot, vmImageRoot };
  for (const field of ['graphSpecHash', 'weightsRoot', 'vmImageRoot'] as const) {
    if (registered[field].toLowerCase() !== prepared.spec[field].toLowerCase()) {
      throw new ModelCommitmentMismatch(modelId, field, registered[field], prepared.spec[field]);
    }
  }
}

/** assertModelDefensible for the model a task names, run by a provider before it claims (registry roots never change, so it holds through the commit). */
export async function assertTaskDefensible(market: TaskMarket, registry: ModelRegistry, taskId: bigint, prepared: PreparedModel): Promise<void> {
  const task = await market.getTask(taskId);
  await assertModelDefensible(registry, task.modelId, prepared);
}
