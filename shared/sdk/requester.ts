/**
 * The requester's side: prepare an input from a registered model's own spec, store it through the
 * API (checking the CID and root it answers against the SDK's own), sign createTaskWithPermit
 * locally, and submit the signed transaction through the API or straight to the chain. The API
 * never sees a key.
 */
import { ZeroAddress, type TransactionRequest } from 'ethers';
import type { ITaskMarket } from '../../build/types';
import type { ModelSpec, TensorSpec } from '../dnn/spec';
import { signPermit } from '../market/permit';
import { MIN_COMMIT_PERIOD, mine, taskIdOf } from '../market/tasks';
import { toMarketError } from '../market/errors';
import { chainNow, requireApi, requireSigner, type OpmlContext } from './context';
import { InputMismatchError, InsufficientBalanceError, ModelInactiveError, ModelNotFoundError, SdkConfigError, SdkError, TaskTermsError } from './errors';
import { inputSpecOf, packageSpecOf, prepareInput, type InputSource, type PreparedInput } from './inputs';
import { prepareGeneration } from './generation';

export interface ModelInfo {
  modelId: bigint;
  owner: string;
  fee: bigint;
  active: boolean;
  graphCid: string;
  weightsCid: string;
  vmImageCid: string;
}

/** The registry's entry for `modelId`; ModelNotFoundError when there is none. */
export async function readModel(ctx: OpmlContext, modelId: bigint): Promise<ModelInfo> {
  const { registry } = ctx.contracts;
  const count = await registry.modelCount();
  if (modelId < 1n || modelId > count) throw new ModelNotFoundError(modelId);
  const [[owner, fee, active], [graphCid, weightsCid, vmImageCid]] = await Promise.all([registry.modelTerms(modelId), registry.modelCids(modelId)]);
  return { modelId, owner, fee, active, graphCid, weightsCid, vmImageCid };
}

/** The model's input tensor spec, from its package spec fetched by CID through the API. */
export async function readInputSpec(ctx: OpmlContext, model: ModelInfo): Promise<TensorSpec> {
  return inputSpecOf(await requireApi(ctx).getBlob(model.graphCid));
}

export interface CreateTaskParams {
  modelId: bigint;
  input: InputSource;
  bounty: bigint;
  /** Stake the provider locks while serving; forfeited if it cheats or fails to deliver. */
  collateral: bigint;
  /** Seconds after the commit during which anyone may challenge. */
  challengeWindow?: bigint;
  /** Seconds from now the provider has to claim and commit. */
  deadlineSeconds?: bigint;
  /** The most model fee this task pays; the model's current fee when absent. */
  maxModelFee?: bigint;
  /** A contract implementing ITaskConsumer to receive the result on finalization. */
  consumer?: string;
  callbackGasLimit?: bigint;
  /** How many times the model's nodes run: 1 (default) for a plain model; a generation's steps (docs/dnn-spec.md section 10). */
  steps?: bigint;
  /** 'api' (POST /tasks, default when an API is configured) or 'chain' (send the transaction directly). */
  submit?: 'api' | 'chain';
  /** The input spec, when the caller has the package; read from the model's graph CID otherwise. */
  inputSpec?: TensorSpec;
  /** The whole package spec, when the caller has it (a generation needs its state shape and tokenizer). */
  modelSpec?: ModelSpec;
}

/** Tokens a generation produces when the requester gives a prompt and no maxTokens. */
export const DEFAULT_MAX_TOKENS = 32;

export interface CreatedTask {
  taskId: bigint;
  txHash: string;
  blockNumber: number;
  request: ITaskMarket.TaskRequestStruct;
  input: PreparedInput;
  /** For a generation: the prompt as token ids. */
  promptTokens?: number[];
}

export const DEFAULT_CHALLENGE_WINDOW = 600n;
export const DEFAULT_DEADLINE_SECONDS = 3_600n;
/** Room for the blocks between reading the chain's time and the one that takes the task. */
const DEADLINE_SLACK_SECONDS = 30n;

export async function createTask(ctx: OpmlContext, p: CreateTaskParams): Promise<CreatedTask> {
  const signer = requireSigner(ctx);
  const { market, token } = ctx.contracts;
  const deadlineSeconds = p.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  // The deadline is counted from the chain's time now; the block that takes the task is later, by a few seconds.
  if (deadlineSeconds < MIN_COMMIT_PERIOD + DEADLINE_SLACK_SECONDS) {
    throw new TaskTermsError('deadlineSeconds', `a deadline of ${deadlineSeconds} s is too soon: the market gives a provider at least ${MIN_COMMIT_PERIOD} s from its claim to commit, so ask for ${MIN_COMMIT_PERIOD + DEADLINE_SLACK_SECONDS} s or more`);
  }
  const model = await readModel(ctx, p.modelId);
  if (!model.active) throw new ModelInactiveError(p.modelId);
  let input: PreparedInput;
  let steps = p.steps ?? 1n;
  let promptTokens: number[] | undefined;
  // A caller that passes only the input spec has a plain model in hand: its prompt is a next-character input.
  if (p.input.kind === 'generation' || (p.input.kind === 'prompt' && p.inputSpec === undefined)) {
    // A prompt for a generation package is a generation (DEFAULT_MAX_TOKENS unless told); for the character model, a next-character input.
    const spec = p.modelSpec ?? packageSpecOf(await requireApi(ctx).getBlob(model.graphCid));
    if (spec.generation) {
      const g = p.input.kind === 'generation' ? p.input : { prompt: p.input.text, decoding: { maxTokens: DEFAULT_MAX_TOKENS } };
      const prepared = prepareGeneration(spec, g.prompt, g.decoding);
      input = prepared.input;
      steps = prepared.steps;
      promptTokens = prepared.promptTokens;
    } else {
      input = await prepareInput(spec.tensors.find((t) => t.name === spec.input)!, p.input);
    }
  } else {
    input = await prepareInput(p.inputSpec ?? (await readInputSpec(ctx, model)), p.input);
  }

  if (ctx.api) {
    // The API stores the bytes under the CID providers will fetch; a wrong answer would send them elsewhere.
    const stored = await ctx.api.postInput({ modelId: p.modelId.toString(), inputBase64: Buffer.from(input.bytes).toString('base64') });
    if (input.inputCid !== null && stored.inputCid !== input.inputCid) throw new InputMismatchError('inputCid', input.inputCid, stored.inputCid);
    if (stored.inputRoot.toLowerCase() !== input.inputRoot) throw new InputMismatchError('inputRoot', input.inputRoot, stored.inputRoot);
    input.inputCid = stored.inputCid;
  } else if (input.inputCid === null) {
    throw new SdkConfigError(`an input of ${input.bytes.length} bytes spans several IPFS blocks: pass --api <url> so it is stored and addressed by the API`);
  }

  const requester = await signer.getAddress();
  const maxModelFee = p.maxModelFee ?? model.fee;
  const value = p.bounty + maxModelFee;
  const balance = await token.balanceOf(requester);
  if (balance < value) throw new InsufficientBalanceError(requester, value, balance);

  const now = await chainNow(ctx.provider);
  const request: ITaskMarket.TaskRequestStruct = {
    modelId: p.modelId,
    inputRoot: input.inputRoot,
    inputCid: input.inputCid!,
    bounty: p.bounty,
    deadline: now + deadlineSeconds,
    collateral: p.collateral,
    challengeWindow: p.challengeWindow ?? DEFAULT_CHALLENGE_WINDOW,
    maxModelFee,
    consumer: p.consumer ?? ZeroAddress,
    callbackGasLimit: p.callbackGasLimit ?? (p.consumer ? 200_000n : 0n),
    steps,
  };
  const marketAddress = await market.getAddress();
  const permit = await signPermit(token.connect(signer), signer, marketAddress, value, now + 3_600n);
  const tx = await market.createTaskWithPermit.populateTransaction(request, permit.value, permit.deadline, permit.v, permit.r, permit.s);

  const via = p.submit ?? (ctx.api ? 'api' : 'chain');
  if (via === 'api') {
    const signed = await signOffline(ctx, tx);
    const res = await requireApi(ctx).postTask(signed);
    if (!('taskId' in res)) throw new SdkError(`POST /tasks answered before mining (tx ${res.txHash}): find the task with \`opml task list --requester ${requester}\``);
    return { taskId: BigInt(res.taskId), txHash: res.txHash, blockNumber: res.blockNumber, request, input, ...(promptTokens ? { promptTokens } : {}) };
  }
  const receipt = await mine(market.connect(signer).createTaskWithPermit(request, permit.value, permit.deadline, permit.v, permit.r, permit.s));
  return { taskId: taskIdOf(market, receipt), txHash: receipt.hash, blockNumber: receipt.blockNumber, request, input, ...(promptTokens ? { promptTokens } : {}) };
}

/**
 * A transaction signed here and sent elsewhere (the API broadcasts it). Gas is estimated first so a
 * reverting call fails here with the contract's error instead of as an opaque 422.
 */
export async function signOffline(ctx: OpmlContext, tx: TransactionRequest): Promise<string> {
  const signer = requireSigner(ctx);
  try {
    const populated = await signer.populateTransaction(tx);
    return await signer.signTransaction(populated);
  } catch (e) {
    throw toMarketError(e);
  }
}

/** Ends the challenge window of a Committed task (anyone may); the provider's worker normally does this. */
export async function finalizeTask(ctx: OpmlContext, taskId: bigint): Promise<string> {
  const receipt = await mine(ctx.contracts.market.connect(requireSigner(ctx)).finalize(taskId));
  return receipt.hash;
}
