/**
 * A local chain for development and tests: the anvil binary shipped in the npm platform package,
 * started on 127.0.0.1 and stopped by its PID (never by name: other anvils may be running).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface AnvilOptions {
  /** TCP port; a free one is picked when omitted. */
  port?: number;
  /** Number of funded dev accounts (anvil's default mnemonic). */
  accounts?: number;
  /** Seconds between blocks; omitted means automine (a block per transaction). */
  blockTime?: number;
  chainId?: number;
  /** EVM hardfork (anvil's default, the latest, when omitted): an older one plays a chain that has not upgraded. */
  hardfork?: string;
  /** Block gas limit; raised above the default so big deployments and proofs fit. */
  gasLimit?: bigint;
  /** Print anvil's own output. */
  verbose?: boolean;
}

export interface Anvil {
  rpcUrl: string;
  port: number;
  pid: number;
  chainId: number;
  stop(): Promise<void>;
}

export class AnvilStartError extends Error {
  override name = 'AnvilStartError';
}

/** The well-known private keys of anvil's default mnemonic, in account order. */
export const ANVIL_DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk';

export function anvilBinary(): string {
  const candidates: string[] = [];
  try {
    candidates.push(join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil'));
  } catch {
    /* platform package missing: fall through to the error below */
  }
  if (process.env.ANVIL_BIN) candidates.unshift(process.env.ANVIL_BIN);
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new AnvilStartError(
      'anvil binary not found: run `npm install` (it ships in @foundry-rs/anvil-linux-amd64) or set ANVIL_BIN',
    );
  }
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function rpcReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = [
    '--host', '127.0.0.1',
    '--port', String(port),
    '--accounts', String(opts.accounts ?? 10),
    '--chain-id', String(chainId),
    '--gas-limit', String(opts.gasLimit ?? 100_000_000n),
    '--code-size-limit', String(0x10000),
  ];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));
  if (opts.hardfork !== undefined) args.push('--hardfork', opts.hardfork);
  const child: ChildProcess = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let listening = false;
  const onData = (d: Buffer) => {
    if (opts.verbose) process.stdout.write(d);
    if (listening) return;
    output += d.toString();
    // Our own process must say it is listening: another anvil on the same port would also answer RPC.
    if (output.includes(`Listening on 127.0.0.1:${port}`)) listening = true;
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let dead = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      dead = true;
      resolve(code);
    }),
  );
  const rpcUrl = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 20_000;
  while (!listening || !(await rpcReady(rpcUrl))) {
    if (dead) throw new AnvilStartError(`anvil exited before it was ready on ${rpcUrl}: ${output.trim().slice(-500)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new AnvilStartError(`anvil did not answer on ${rpcUrl} within 20 s: ${output.trim().slice(-500)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  // Keep draining its output so a chatty node never blocks on a full pipe.
  output = '';

  return {
    rpcUrl,
    port,
    pid: child.pid!,
    chainId,
    async stop() {
      if (dead) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
