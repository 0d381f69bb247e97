/**
 * The provider's side of staking: stake (approving only what the allowance lacks), request
 * unbonding, withdraw after the delay, and a status read from the chain with earnings summed from
 * TaskFinalized events.
 */
import { mine } from '../market/tasks';
import { chainNow, requireSigner, type OpmlContext } from './context';
import { InsufficientBalanceError, SdkError } from './errors';

export interface ProviderStatus {
  address: string;
  /** Wallet balance of the market token. */
  balance: bigint;
  /** What the market has credited this address and not yet paid out (`opml credit withdraw`). */
  credit: bigint;
  stake: bigint;
  locked: bigint;
  /** stake - locked: what can back new tasks or be unbonded. */
  free: bigint;
  unbonding: bigint;
  /** Chain time when `unbonding` can be withdrawn (0 when nothing unbonds). */
  unbondingReadyAt: bigint;
  withdrawable: boolean;
  /** Holds at least the minimum stake. */
  isStaked: boolean;
  /** Bounties of the tasks this provider finalized. */
  earned: bigint;
  tasksFinalized: number;
  /** Stake taken from this provider by slashing. */
  slashed: bigint;
}

/** The staker's position now, from the chain. */
export async function providerStatus(ctx: OpmlContext, address: string): Promise<ProviderStatus> {
  const { staking, token, market } = ctx.contracts;
  const [balance, credit, stake, locked, [unbonding, readyAt], isStaked, finalized, slashes, now] = await Promise.all([
    token.balanceOf(address),
    market.creditOf(address),
    staking.stakeOf(address),
    staking.lockedOf(address),
    staking.unbondingOf(address),
    staking.isStaked(address),
    market.queryFilter(market.filters.TaskFinalized(undefined, address), 0, 'latest'),
    staking.queryFilter(staking.filters.Slashed(address), 0, 'latest'),
    chainNow(ctx.provider),
  ]);
  return {
    address,
    balance,
    credit,
    stake,
    locked,
    free: stake - locked,
    unbonding,
    unbondingReadyAt: readyAt,
    withdrawable: unbonding > 0n && now >= readyAt,
    isStaked,
    earned: finalized.reduce((a, e) => a + e.args.bounty, 0n),
    tasksFinalized: finalized.length,
    slashed: slashes.reduce((a, e) => a + e.args.amount, 0n),
  };
}

export interface StakeResult {
  approveTx: string | null;
  stakeTx: string;
  stake: bigint;
}

export async function stake(ctx: OpmlContext, amount: bigint): Promise<StakeResult> {
  if (amount <= 0n) throw new SdkError('the amount to stake must be positive: e.g. `opml provider stake 100`');
  const signer = requireSigner(ctx);
  const { staking, token } = ctx.contracts;
  const me = await signer.getAddress();
  const stakingAddress = await staking.getAddress();
  const [balance, allowance] = await Promise.all([token.balanceOf(me), token.allowance(me, stakingAddress)]);
  if (balance < amount) throw new InsufficientBalanceError(me, amount, balance);
  const approveTx = allowance < amount ? (await mine(token.connect(signer).approve(stakingAddress, amount))).hash : null;
  const receipt = await mine(staking.connect(signer).stake(amount));
  return { approveTx, stakeTx: receipt.hash, stake: await staking.stakeOf(me) };
}

/** Starts unbonding `amount` of free stake (all of it when absent); it can be withdrawn after the delay. */
export async function requestUnbonding(ctx: OpmlContext, amount?: bigint): Promise<{ tx: string; amount: bigint; readyAt: bigint }> {
  const signer = requireSigner(ctx);
  const { staking } = ctx.contracts;
  const me = await signer.getAddress();
  const value = amount ?? (await staking.stakeOf(me)) - (await staking.lockedOf(me));
  if (value <= 0n) throw new SdkError(`${me} has no free stake to unbond: check \`opml provider status\``);
  const receipt = await mine(staking.connect(signer).requestUnbond(value));
  const [unbonding, readyAt] = await staking.unbondingOf(me);
  return { tx: receipt.hash, amount: unbonding, readyAt };
}

/**
 * Withdraws every unbonding request that is due, one transaction each (the contract pays one per
 * call, so its gas does not depend on the time); with none due, the contract's refusal
 * (StakingUnbondingNotReady, StakingNothingUnbonding) is thrown.
 */
export async function withdraw(ctx: OpmlContext): Promise<{ tx: string; txs: string[]; amount: bigint }> {
  const signer = requireSigner(ctx);
  const { staking } = ctx.contracts;
  const me = await signer.getAddress();
  const txs: string[] = [];
  let amount = 0n;
  do {
    const receipt = await mine(staking.connect(signer).withdraw());
    txs.push(receipt.hash);
    for (const log of receipt.logs) {
      const event = staking.interface.parseLog(log);
      if (event?.name === 'Withdrawn') amount += event.args.amount as bigint;
    }
  } while ((await staking.withdrawableOf(me)) > 0n);
  return { tx: txs.at(-1)!, txs, amount };
}
