/** `opml worker start`: the worker process of worker-image/ with this command line's account and endpoints. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { SdkConfigError } from '../../sdk';
import { OpmlApiClient } from '../../sdk/apiClient';
import { globalsOf, outputOf } from '../globals';
import { UsageError } from '../output';

const ROOT = resolve(__dirname, '..', '..', '..');
const WORKER_MAIN = resolve(ROOT, 'worker-image', 'src', 'main.ts');

export function workerCommands(program: Command): void {
  const worker = program.command('worker').description('run a provider or challenger worker');

  worker
    .command('start')
    .description('run worker-image/src/main.ts with your key; the rest of the service env (buckets, AWS, IPFS) comes from the environment')
    .option('--role <role>', 'provider or challenger', 'provider')
    .option('--queue <url>', "the worker's SQS queue (or OPML_WORKER_QUEUE_URL)")
    .option('--backend <backend>', 'wasm or ts (or OPML_WORKER_BACKEND)')
    .option('--cache-dir <dir>', 'model cache (or OPML_WORKER_CACHE_DIR)')
    .action(async (opts, cmd: Command) => {
      const g = globalsOf(cmd);
      if (opts.role !== 'provider' && opts.role !== 'challenger') throw new UsageError(`--role "${opts.role}" must be provider or challenger`);
      const queue = opts.queue ?? process.env.OPML_WORKER_QUEUE_URL;
      if (!queue) throw new UsageError('no queue: pass --queue <url> or set OPML_WORKER_QUEUE_URL');
      if (!g.key) throw new SdkConfigError('the worker signs claims and commits: pass --key <hex> or set OPML_KEY');
      const env: NodeJS.ProcessEnv = { ...process.env, OPML_WORKER_KEY: g.key, OPML_WORKER_ROLE: opts.role, OPML_WORKER_QUEUE_URL: queue, OPML_RPC_URL: g.rpc };
      if (opts.backend) env.OPML_WORKER_BACKEND = opts.backend;
      if (opts.cacheDir) env.OPML_WORKER_CACHE_DIR = opts.cacheDir;
      if (g.api && !env.OPML_MARKET) {
        // Contract addresses from the API, so a worker needs only --api besides the AWS settings.
        const { contracts } = await new OpmlApiClient(g.api).health();
        Object.assign(env, { OPML_MARKET: contracts.market, OPML_REGISTRY: contracts.registry, OPML_STAKING: contracts.staking, OPML_TOKEN: contracts.token });
        if (contracts.game) env.OPML_GAME = contracts.game;
      }
      outputOf(cmd).note(`starting a ${opts.role} worker on ${queue} (Ctrl-C stops it after the job in hand)`);
      // The ESM-only IPFS packages resolve through their import condition under tsx, as the worker's own tests run it.
      const child = spawn(process.execPath, ['--conditions=import', '--import', 'tsx', WORKER_MAIN], { cwd: ROOT, env, stdio: 'inherit' });
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
      const code = await new Promise<number>((done) => child.on('exit', (c, sig) => done(c ?? (sig ? 1 : 0))));
      process.exitCode = code;
    });
}
