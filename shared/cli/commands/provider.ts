/** `opml provider stake | unbond | withdraw | status`. */
import type { Command } from 'commander';
import { providerStatus, requestUnbonding, stake, withdraw } from '../../sdk';
import { accountOf, checkAddressArgument, closeContext, contextOf, outputOf } from '../globals';
import { formatDuration, formatTokens, parseTokens } from '../output';
import { chainNow } from '../../sdk/context';

export function providerCommands(program: Command): void {
  const provider = program.command('provider').description('stake, unbond, withdraw, and read a provider position');

  provider
    .command('stake <amount>')
    .description('stake <amount> tokens (approving the staking contract first when needed)')
    .action(async (amount: string, _opts, cmd: Command) => {
      const value = parseTokens(amount, 'amount');
      const ctx = await contextOf(cmd, { signer: true });
      try {
        const r = await stake(ctx, value);
        outputOf(cmd).result(r, [`staked ${formatTokens(value)} (tx ${r.stakeTx}); stake now ${formatTokens(r.stake)}`]);
      } finally {
        closeContext(ctx);
      }
    });

  provider
    .command('unbond [amount]')
    .description('start unbonding [amount] tokens of free stake (all free stake when omitted)')
    .action(async (amount: string | undefined, _opts, cmd: Command) => {
      const value = amount === undefined ? undefined : parseTokens(amount, 'amount');
      const ctx = await contextOf(cmd, { signer: true });
      try {
        const r = await requestUnbonding(ctx, value);
        const wait = r.readyAt - (await chainNow(ctx.provider));
        outputOf(cmd).result(r, [`unbonding ${formatTokens(r.amount)} (tx ${r.tx}); withdraw with \`opml provider withdraw\` in ${formatDuration(wait > 0n ? wait : 0n)}`]);
      } finally {
        closeContext(ctx);
      }
    });

  provider
    .command('withdraw')
    .description('withdraw stake whose unbonding delay has passed')
    .action(async (_opts, cmd: Command) => {
      const ctx = await contextOf(cmd, { signer: true });
      try {
        const r = await withdraw(ctx);
        outputOf(cmd).result(r, [`withdrew ${formatTokens(r.amount)} (tx ${r.tx})`]);
      } finally {
        closeContext(ctx);
      }
    });

  provider
    .command('status [address]')
    .description("a provider's wallet, stake, locked collateral, unbonding and earnings (your own with --key)")
    .action(async (address: string | undefined, _opts, cmd: Command) => {
      checkAddressArgument(address);
      const ctx = await contextOf(cmd);
      try {
        const who = await accountOf(ctx, address, 'whose status');
        const s = await providerStatus(ctx, who);
        outputOf(cmd).result(s, [
          `provider ${s.address}${s.isStaked ? '' : ' (below the minimum stake: cannot claim tasks)'}`,
          `  wallet     ${formatTokens(s.balance)}`,
          `  credit     ${formatTokens(s.credit)}${s.credit > 0n ? ' (withdraw with `opml credit withdraw`)' : ''}`,
          `  stake      ${formatTokens(s.stake)} (locked ${formatTokens(s.locked)}, free ${formatTokens(s.free)})`,
          `  unbonding  ${formatTokens(s.unbonding)}${s.unbonding > 0n ? (s.withdrawable ? ' (withdrawable now)' : ` (ready at ${new Date(Number(s.unbondingReadyAt) * 1000).toISOString()})`) : ''}`,
          `  earned     ${formatTokens(s.earned)} over ${s.tasksFinalized} finalized task${s.tasksFinalized === 1 ? '' : 's'}`,
          `  slashed    ${formatTokens(s.slashed)}`,
        ]);
      } finally {
        closeContext(ctx);
      }
    });
}
