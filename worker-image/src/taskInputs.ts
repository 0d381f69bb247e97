/** A task's input as any party can find it: the CID from its TaskCreated log, the bytes by CID, checked against inputRoot. */
import type { Tensor } from '../../shared/dnn/tensor';
import type { PreparedModel } from '../../shared/models/registration';
import type { WorkerContext } from './context';
import { taskInput } from './slots';

export class TaskCreatedLogMissingError extends Error {
  override name = 'TaskCreatedLogMissingError';
  constructor(readonly taskId: bigint, readonly fromBlock: number) {
    super(`no TaskCreated log for task ${taskId} from block ${fromBlock}: check OPML_START_BLOCK and that the RPC node serves old logs`);
  }
}

export async function inputCidOf(ctx: WorkerContext, taskId: bigint): Promise<string> {
  const { market } = ctx.chain;
  const [created] = await market.queryFilter(market.filters.TaskCreated(taskId), ctx.startBlock);
  if (!created) throw new TaskCreatedLogMissingError(taskId, ctx.startBlock);
  return created.args.inputCid;
}

export async function fetchTaskInput(ctx: WorkerContext, prepared: PreparedModel, taskId: bigint, inputRoot: string): Promise<Tensor> {
  return taskInput(prepared, taskId, await ctx.blobs.get(await inputCidOf(ctx, taskId)), inputRoot);
}
