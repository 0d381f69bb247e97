/**
 * The market credits what it owes (bounties, won bonds, challenge rewards) and each party pulls it
 * (docs/security.md, finding 6). The worker pulls its own into its wallet after a job that may have
 * credited it, once the credit reaches the configured minimum: a high minimum batches withdrawals and
 * spends less gas per task.
 */
import { mine } from '../../shared/market/tasks';
import type { WorkerContext } from './context';

/** Withdraws the worker's whole credit to its own address when it is at least the minimum; returns what was paid. */
export async function withdrawCredit(ctx: WorkerContext): Promise<bigint> {
  const { market, address } = ctx.chain;
  const credit = await market.creditOf(address);
  if (credit === 0n || credit < ctx.withdrawMinCredit) return 0n;
  await mine(market.withdraw(address));
  return credit;
}
