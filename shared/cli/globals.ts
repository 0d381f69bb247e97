/** The CLI's global options and the SDK context built from them. */
import type { Command } from 'commander';
import { isAddress } from 'ethers';
import { connectOpml, SdkConfigError, type OpmlContext } from '../sdk';
import { createOutput, UsageError, type Output } from './output';

export interface GlobalOptions {
  api?: string;
  rpc: string;
  key?: string;
  market?: string;
  json: boolean;
}

export const DEFAULT_RPC = 'http://127.0.0.1:8545';

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function outputOf(cmd: Command): Output {
  return createOutput(globalsOf(cmd).json === true);
}

/** The context a command runs in; `needs` names what it cannot do without, so the message says which flag to add. */
export async function contextOf(cmd: Command, needs: { signer?: boolean; api?: boolean } = {}): Promise<OpmlContext> {
  const g = globalsOf(cmd);
  if (needs.signer && !g.key) throw new SdkConfigError('this command signs transactions: pass --key <hex> or set OPML_KEY');
  if (needs.api && !g.api) throw new SdkConfigError('this command needs the HTTP API: pass --api <url> or set OPML_API_URL');
  return connectOpml({ rpcUrl: g.rpc, apiUrl: g.api, privateKey: g.key, market: g.market });
}

/** Refuses an `[address]` argument that is not one, before anything connects. */
export function checkAddressArgument(address: string | undefined): void {
  if (address !== undefined && !isAddress(address)) throw new UsageError(`"${address}" is not an address: give 0x followed by 40 hex digits`);
}

/** The account an `[address]` argument names, or the signer's own; `what` is asked when there is neither. */
export async function accountOf(ctx: OpmlContext, address: string | undefined, what: string): Promise<string> {
  const who = address ?? (ctx.signer ? await ctx.signer.getAddress() : undefined);
  if (!who) throw new UsageError(`${what}? give an address, or --key (OPML_KEY) for your own`);
  return who;
}

/** Ends the provider's polling so the process can exit promptly. */
export function closeContext(ctx: OpmlContext): void {
  (ctx.provider as { destroy?: () => void }).destroy?.();
}
