/**
 * Credits: the market pays bounties, fees, refunds of refuted tasks, won bonds and challenge rewards
 * into a balance per account, which its owner withdraws to any address (docs/security.md, finding 6).
 */
import { getAddress, isAddress } from 'ethers';
import { mine } from '../market/tasks';
import { requireSigner, type OpmlContext } from './context';
import { SdkError } from './errors';

/** What the market holds for `address`, ready to withdraw. */
export function creditOf(ctx: OpmlContext, address: string): Promise<bigint> {
  return ctx.contracts.market.creditOf(address);
}

export interface WithdrawCreditResult {
  tx: string;
  amount: bigint;
  /** Where the credit went: the signer's own address unless another was given. */
  to: string;
}

/** Withdraws the signer's whole credit to `to` (its own address by default). */
export async function withdrawCredit(ctx: OpmlContext, options: { to?: string } = {}): Promise<WithdrawCreditResult> {
  const signer = requireSigner(ctx);
  const me = await signer.getAddress();
  if (options.to !== undefined && !isAddress(options.to)) throw new SdkError(`"${options.to}" is not an address: give 0x followed by 40 hex digits`);
  const to = getAddress(options.to ?? me);
  const amount = await creditOf(ctx, me);
  if (amount === 0n) throw new SdkError(`${me} has no credit to withdraw: the market credits bounties, refunds and rewards when a task settles`);
  const receipt = await mine(ctx.contracts.market.connect(signer).withdraw(to));
  return { tx: receipt.hash, amount, to };
}
