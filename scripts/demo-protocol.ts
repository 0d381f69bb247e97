/**
 * `npm run demo:protocol`: the protocol alone on a local chain, every party in this process (`npm start` runs
 * the whole serverless market instead). Starts anvil on 127.0.0.1, deploys the market
 * with the real dispute game and one-step verifier, registers the MNIST MLP and CNN, and plays
 * shared/market/protocolDemo.ts: tasks on real digits, an honest and a cheating provider, a
 * challenger that refutes the cheat through the full game. Prints every step, then a summary, and
 * stops anvil by PID (also on Ctrl-C).
 */
import { JsonRpcProvider } from 'ethers';
import { startAnvil, type Anvil } from '../shared/chain/anvil';
import { compileContracts } from './compile-contracts';

let anvil: Anvil | undefined;

async function stopChain(): Promise<void> {
  const running = anvil;
  anvil = undefined;
  if (running) {
    await running.stop();
    console.log(`demo: anvil (pid ${running.pid}) stopped`);
  }
}

process.once('SIGINT', () => {
  console.log('\ndemo: interrupted');
  stopChain().finally(() => process.exit(130));
});

const table = (rows: string[][]): string[] => {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
};

async function main(): Promise<void> {
  await compileContracts();
  // Imported after compiling: they load the generated bindings.
  const { devAccounts } = await import('../shared/market/devAccounts');
  const { DEMO_ROLES, DEMO_TOKEN, demoParties, runProtocolDemo } = await import('../shared/market/protocolDemo');

  anvil = await startAnvil({ accounts: DEMO_ROLES.length });
  console.log(`demo: anvil (pid ${anvil.pid}) on ${anvil.rpcUrl}`);
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20 });
  try {
    const parties = demoParties(devAccounts(provider, DEMO_ROLES.length));
    const result = await runProtocolDemo(provider, parties, (p) => console.log(`[${(p.elapsedMs / 1000).toFixed(1).padStart(5)} s] ${p.stage.padEnd(10)} ${p.message}`));

    const fmt = (v: bigint) => {
      const sign = v < 0n ? '-' : v > 0n ? '+' : ' ';
      const abs = v < 0n ? -v : v;
      return `${sign}${abs / DEMO_TOKEN}.${((abs % DEMO_TOKEN) / 10n ** 16n).toString().padStart(2, '0')}`;
    };
    console.log('\ndemo: tasks');
    table([
      ['task', 'model', 'digit', 'provider', 'committed', 'recomputed', 'challenged', 'outcome'],
      ...result.tasks.map((t) => [`${t.taskId}`, t.model, `${t.digit}`, t.provider, `${t.claimedClass}`, `${t.computedClass}`, t.challenged ? 'yes' : 'no', t.status]),
    ]).forEach((l) => console.log(l));
    console.log('demo: parties (OPML; gas of every transaction sent after deployment)');
    table([
      ['party', 'wallet', 'stake', 'gas'],
      ...result.parties.map((p) => [p.role, fmt(p.walletDelta), fmt(p.stakeDelta), `${p.gas}`]),
    ]).forEach((l) => console.log(l));
    for (const d of result.disputes) {
      const moves = d.moves.map((m) => `${m.phase}×${m.count}`).join(' ');
      console.log(`demo: dispute on task ${d.taskId} (game ${d.gameId}): ${d.outcome} in ${(d.wallMs / 1000).toFixed(1)} s wall time, node ${d.node}, step ${d.step} proven on-chain`);
      console.log(`  moves: ${moves}`);
      console.log(`  gas: provider ${d.gas.provider}, challenger ${d.gas.challenger}`);
    }
    console.log(`demo: verifier ${result.dispute.verifier} (code hash ${result.dispute.verifierCodeHash}), DISPUTE_VERSION ${result.dispute.disputeVersion}, VM_VERSION ${result.dispute.vmVersion}`);
    console.log(`demo: whole demo ${(result.totalMs / 1000).toFixed(1)} s`);
    
  } finally {
    provider.destroy();
    await stopChain();
  }
}

main().catch(async (e) => {
  console.error(`demo failed: ${(e as { shortMessage?: string }).shortMessage ?? (e instanceof Error ? e.message : String(e))}`);
  await stopChain();
  process.exit(1);
});
