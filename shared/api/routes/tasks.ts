/**
 * Tasks: relaying a requester's signed createTask / createTaskWithPermit after checking what it asks
 * for (the market, a live model, an input the stores hold whose root it names), listing the task
 * views, and one task's status read from the chain with its committed output and dispute progress.
 */
import { boundOutput } from '../../market/output';
import { hexlify, ZeroAddress } from 'ethers';
import { BlobNotFoundError } from '../../blobs/blobStore';
import { PHASES } from '../../dispute/spec';
import { elementCount, tensorFromBytes } from '../../dnn/tensor';
import { readGeneration } from '../../llm/generate';
import { IpfsInvalidCidError } from '../../ipfs/store';
import { CHALLENGE_STATUS, TASK_STATUS } from '../../market/tasks';
import { merkleRootOfBytes } from '../../vm/merkle';
import { parseCid } from '../../ipfs/cid';
import { modelInput, registeredModel, taskOnChain } from '../chainReads';
import { ConflictError, InvalidRequestError } from '../errors';
import { accepted, created, ok, parseJsonBody, parseQuery, route, type Route } from '../router';
import {
  gameViewSchema,
  listTasksQuerySchema,
  postTaskQuerySchema,
  postTaskRequestSchema,
  taskParamsSchema,
  taskViewSchema,
  type TaskDetailResponse,
  type TaskView,
} from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { broadcast, decodeSignedCall, eventOf, RECEIPT_WAIT_MS, simulate, waitForReceipt } from '../transactions';
import { viewIds, readViews } from '../viewList';
import { TRANSACTION_BODY_BYTES } from './limits';

const GAME_OUTCOMES = ['Undecided', 'ProviderWon', 'ChallengerWon'] as const;
const REQUEST_FIELD = 'signedTransaction.request';

/** Checks the task request inside a signed transaction against the registry and the blob store. */
async function checkTaskRequest(s: ApiServices, request: { modelId: bigint; inputRoot: string; inputCid: string }): Promise<void> {
  const model = await registeredModel(s, request.modelId);
  if (!model.active) throw new ConflictError(`model ${request.modelId} is deactivated: it takes no new tasks`);
  try {
    parseCid(request.inputCid);
  } catch (e) {
    if (e instanceof IpfsInvalidCidError) throw new InvalidRequestError(e.message, `${REQUEST_FIELD}.inputCid`);
    throw e;
  }
  let input: Uint8Array;
  try {
    input = await s.blobs.get(request.inputCid);
  } catch (e) {
    if (e instanceof BlobNotFoundError)
      throw new InvalidRequestError(`input ${request.inputCid} is not stored: POST /inputs first and put the inputCid it returns in the request`, `${REQUEST_FIELD}.inputCid`);
    throw e;
  }
  const root = hexlify(merkleRootOfBytes(input));
  if (root !== request.inputRoot.toLowerCase())
    throw new InvalidRequestError(`inputRoot ${request.inputRoot} is not the Merkle root of input ${request.inputCid} (${root}); use the inputRoot POST /inputs returned`, `${REQUEST_FIELD}.inputRoot`);
  const { bytes } = await modelInput(s, model);
  if (input.length !== bytes)
    throw new InvalidRequestError(`input ${request.inputCid} has ${input.length} bytes; model ${request.modelId} takes ${bytes}`, `${REQUEST_FIELD}.inputCid`);
}

export async function relayCreateTask(s: ApiServices, signedTransaction: string, wait: boolean): Promise<{ taskId?: string; txHash: string; blockNumber?: number }> {
  const call = decodeSignedCall(signedTransaction, {
    to: s.env.OPML_MARKET,
    chainId: (await s.provider.getNetwork()).chainId,
    iface: s.market.interface,
    functions: ['createTask', 'createTaskWithPermit'],
    contractName: 'TaskMarket',
  });
  const request = call.args[0] as { modelId: bigint; inputRoot: string; inputCid: string };
  await checkTaskRequest(s, request);
  await simulate(s.provider, call);
  const txHash = await broadcast(s.provider, call);
  if (!wait) return { txHash };
  const receipt = await waitForReceipt(s.provider, call, txHash, RECEIPT_WAIT_MS);
  if (!receipt) return { txHash };
  const event = eventOf(receipt, s.env.OPML_MARKET, s.market.interface, 'TaskCreated');
  return { taskId: (event.taskId as bigint).toString(), txHash, blockNumber: receipt.blockNumber };
}

const isTaskView = (state: unknown): state is TaskView => taskViewSchema.safeParse(state).success;
const nullIfZero = (a: string): string | null => (a === ZeroAddress ? null : a);
const ZERO_ROOT = '0x' + '00'.repeat(32);
const TIMESTAMP_FIELDS = ['claimedAt', 'committedAt', 'finalizedAt', 'refutedAt', 'expiredAt'] as const;

export async function taskDetail(s: ApiServices, taskId: bigint): Promise<TaskDetailResponse> {
  const [task, { doc }] = await Promise.all([taskOnChain(s, taskId), s.views.read('tasks', taskId.toString())]);
  // The view knows the blocks of the task's events, so the logs are read from those blocks rather than
  // the whole chain; the whole range is the fallback when the view lags or a reorg moved the event.
  const blockOf = (name: string): number | undefined => doc?.events.filter((e) => e.name === name).at(-1)?.blockNumber;
  const logsOf = async <T>(query: (from: number, to: number | 'latest') => Promise<T[]>, block: number | undefined): Promise<T[]> => {
    const found = block !== undefined ? await query(block, block) : [];
    return found.length > 0 ? found : query(s.env.OPML_START_BLOCK, 'latest');
  };
  const wasCommitted = ['Committed', 'Finalized', 'Refuted'].includes(TASK_STATUS[Number(task.status)] ?? '');
  const [createdLogs, committedLogs, challenges] = await Promise.all([
    logsOf((from, to) => s.market.queryFilter(s.market.filters.TaskCreated(taskId), from, to), blockOf('TaskCreated')),
    wasCommitted ? logsOf((from, to) => s.market.queryFilter(s.market.filters.TaskCommitted(taskId), from, to), blockOf('TaskCommitted')) : Promise.resolve([]),
    Promise.all(Array.from({ length: Number(task.challengeCount) }, (_, i) => s.market.getChallenge(taskId, i))),
  ]);
  const indexed = isTaskView(doc?.state) ? doc.state : undefined;
  const committed = committedLogs.at(-1);
  const detail: TaskDetailResponse = {
    taskId: taskId.toString(),
    status: TASK_STATUS[Number(task.status)] ?? String(task.status),
    requester: task.requester,
    modelId: task.modelId.toString(),
    bounty: task.bounty.toString(),
    inputCid: createdLogs.at(-1)?.args.inputCid ?? indexed?.inputCid ?? null,
    provider: nullIfZero(task.provider),
    outputRoot: task.outputRoot === ZERO_ROOT ? null : task.outputRoot,
    // The chain's, not the commit log's: a game that ends while every slot is taken restarts the window.
    windowEnd: wasCommitted ? task.deadline.toString() : null,
    challenges: challenges.map((c, i) => ({ index: String(i), challenger: c.challenger, game: c.game, bond: c.bond.toString(), status: CHALLENGE_STATUS[Number(c.status)] ?? String(c.status) })),
    createdAt: indexed?.createdAt ?? null,
    updatedAt: indexed?.updatedAt ?? null,
    challengeWindow: task.challengeWindow.toString(),
    ...Object.fromEntries(TIMESTAMP_FIELDS.filter((f) => indexed?.[f] !== undefined).map((f) => [f, indexed![f]])),
    deadline: task.deadline.toString(),
    inputRoot: task.inputRoot,
    steps: task.steps.toString(),
  };
  const output = committed ? boundOutput(committed.args.output as string, detail.outputRoot) : null;
  if (output) {
    detail.output = output;
    const model = await registeredModel(s, task.modelId);
    const spec = await s.graphSpec(model.spec.graphCid);
    const tensor = spec.tensors.find((t) => t.name === spec.output)!;
    detail.outputShape = tensor.shape;
    const bytes = Buffer.from(output.slice(2), 'hex');
    const classes = tensor.shape.at(-1)!;
    if (spec.generation) {
      // The final state of a generation: its tokens, and their text through the package's own tokenizer.
      detail.generation = readGeneration(spec, tensorFromBytes(tensor.dtype, [...tensor.shape], bytes));
    } else if (tensor.dtype === 'int8' && bytes.length === classes && elementCount(tensor.shape) === classes) {
      // A class index only means something for one row of int8 logits.
      const logits = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      detail.predictedClass = logits.reduce((best, v, i) => (v > logits[best]! ? i : best), 0);
    }
  }
  const last = challenges.length - 1;
  if (last >= 0 && s.game && challenges[last]!.game.toLowerCase() === s.env.OPML_GAME!.toLowerCase()) {
    const gameId = await s.game.gameIdOf(taskId, last);
    if (gameId !== 0n) {
      const [game, gameView] = await Promise.all([s.game.getGame(gameId), s.views.state('games', gameId.toString())]);
      const moves = gameViewSchema.safeParse(gameView);
      detail.dispute = {
        challengeIndex: String(last),
        challenger: game.challenger,
        gameId: gameId.toString(),
        phase: PHASES[Number(game.phase)] ?? String(game.phase),
        moves: moves.success ? moves.data.moves : [],
        outcome: GAME_OUTCOMES[Number(game.outcome)] ?? 'Undecided',
      };
    }
  }
  return detail;
}

export async function listTasks(s: ApiServices, query: ReturnType<typeof listTasksQuerySchema.parse>): Promise<TaskView[]> {
  const ids = (await viewIds(s.s3, s.env.OPML_VIEWS_BUCKET, 'tasks')).filter((id) => /^\d+$/.test(id));
  ids.sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : BigInt(b) < BigInt(a) ? -1 : 0));
  const same = (a: string | null, b: string | undefined): boolean => b === undefined || (a !== null && a.toLowerCase() === b.toLowerCase());
  const matches = (state: unknown): state is TaskView =>
    isTaskView(state) &&
    (query.status === undefined || state.status === query.status) &&
    same(state.requester, query.requester) &&
    same(state.provider, query.provider) &&
    (query.modelId === undefined || state.modelId === query.modelId);
  return readViews(s.views, 'tasks', ids, matches, query.limit);
}

export const taskRoutes: Route[] = [
  route({
    method: 'POST',
    path: '/tasks',
    maxBodyBytes: TRANSACTION_BODY_BYTES,
    async handle(req) {
      const body = parseJsonBody(req, postTaskRequestSchema);
      const { wait } = parseQuery(req, postTaskQuerySchema);
      const result = await relayCreateTask(await apiServices(), body.signedTransaction, wait === 'true');
      return result.taskId !== undefined ? created(result) : accepted({ txHash: result.txHash });
    },
  }),
  route({
    method: 'GET',
    path: '/tasks',
    async handle(req) {
      const query = parseQuery(req, listTasksQuerySchema);
      return ok({ tasks: await listTasks(await apiServices(), query) });
    },
  }),
  route({
    method: 'GET',
    path: '/tasks/{taskId}',
    params: taskParamsSchema,
    async handle(req) {
      return ok(await taskDetail(await apiServices(), BigInt(req.params.taskId)));
    },
  }),
];
