/** Typed helpers around the task market's calls: status names, permit-funded creation, ids from receipts. */
import type { ContractTransactionReceipt, ContractTransactionResponse, Signer } from 'ethers';
import type { ITaskMarket, MarketToken, TaskMarket } from '../../build/types';
import { toMarketError } from './errors';
import { signPermit } from './permit';

/** Solidity enum ITaskMarket.TaskStatus, by index. */
export const TASK_STATUS = ['None', 'Open', 'Claimed', 'Committed', 'Finalized', 'Refuted', 'Expired'] as const;
export type TaskStatusName = (typeof TASK_STATUS)[number];
/** Solidity enum ITaskMarket.ChallengeStatus, by index. */
/** TaskMarket.MIN_COMMIT_PERIOD: the least time from a claim to the deadline (docs/security.md, finding 3). */
export const MIN_COMMIT_PERIOD = 60n;

export const CHALLENGE_STATUS = ['None', 'Pending', 'ChallengerWon', 'ProviderWon'] as const;
/** Solidity enum GameOutcome. */
export const GameOutcome = { Undecided: 0, ProviderWon: 1, ChallengerWon: 2 } as const;

export type TaskRequest = ITaskMarket.TaskRequestStruct;

/** A mined transaction's receipt; a revert becomes a MarketRevertError naming the contract's error. */
/** How long mine() looks for a receipt before calling the transaction dropped. */
const MINE_TIMEOUT_MS = 120_000;

export async function mine(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  try {
    const sent = await tx;
    // wait() alone can miss a transaction an automining node put in a block before wait() began watching
    // for blocks, and then sleeps until some later block that a quiet chain never makes: look for the
    // receipt first, then let wait() (which finds it at once) check its status.
    const deadline = Date.now() + MINE_TIMEOUT_MS;
    while (!(await sent.provider.getTransactionReceipt(sent.hash))) {
      if (Date.now() > deadline) throw new Error(`transaction ${sent.hash} not mined after ${MINE_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const receipt = await sent.wait();
    if (!receipt) throw new Error('transaction was dropped');
    return receipt;
  } catch (e) {
    throw toMarketError(e);
  }
}

/** The id of the task a createTask receipt created. */
export function taskIdOf(market: TaskMarket, receipt: ContractTransactionReceipt): bigint {
  for (const log of receipt.logs) {
    const parsed = market.interface.parseLog(log);
    if (parsed?.name === 'TaskCreated') return parsed.args.taskId as bigint;
  }
  throw new Error(`no TaskCreated event in transaction ${receipt.hash}`);
}

/** Creates a task in one transaction, funding bounty plus the model's current fee with an EIP-2612 permit. */
export async function createTaskWithPermit(
  market: TaskMarket,
  token: MarketToken,
  requester: Signer,
  request: TaskRequest,
  permitDeadline: bigint,
): Promise<{ taskId: bigint; receipt: ContractTransactionReceipt }> {
  const value = BigInt(request.bounty) + BigInt(request.maxModelFee);
  const permit = await signPermit(token, requester, await market.getAddress(), value, permitDeadline);
  const receipt = await mine(
    market.connect(requester).createTaskWithPermit(request, permit.value, permit.deadline, permit.v, permit.r, permit.s),
  );
  return { taskId: taskIdOf(market, receipt), receipt };
}
