/** `opml credit show | withdraw`: what the market owes an account, paid out on request. */
import type { Command } from 'commander';
import { isAddress } from 'ethers';
import { creditOf, withdrawCredit } from '../../sdk';
import { accountOf, checkAddressArgument, closeContext, contextOf, outputOf } from '../globals';
import { formatTokens, UsageError } from '../output';

export function creditCommands(program: Command): void {
  const credit = program.command('credit').description('read and withdraw what the market has credited you (bounties, refunds, bonds, rewards)');

  credit
    .command('show [address]')
    .description("an account's credit (your own with --key)")
    .action(async (address: string | undefined, _opts, cmd: Command) => {
      checkAddressArgument(address);
      const ctx = await contextOf(cmd);
      try {
        const who = await accountOf(ctx, address, 'whose credit');
        const amount = await creditOf(ctx, who);
        outputOf(cmd).result({ address: who, credit: amount }, [`${who} has ${formatTokens(amount)} of credit${amount > 0n ? ' (withdraw with `opml credit withdraw`)' : ''}`]);
      } finally {
        closeContext(ctx);
      }
    });

  credit
    .command('withdraw')
    .description('withdraw your whole credit to your wallet, or to --to')
    .option('--to <address>', 'pay another address of yours (one the token blocks cannot receive)')
    .action(async (opts: { to?: string }, cmd: Command) => {
      if (opts.to !== undefined && !isAddress(opts.to)) throw new UsageError(`--to "${opts.to}" is not an address: give 0x followed by 40 hex digits`);
      const ctx = await contextOf(cmd, { signer: true });
      try {
        const r = await withdrawCredit(ctx, { to: opts.to });
        outputOf(cmd).result(r, [`withdrew ${formatTokens(r.amount)} to ${r.to} (tx ${r.tx})`]);
      } finally {
        closeContext(ctx);
      }
    });
}
