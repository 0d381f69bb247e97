/**
 * `npm start`: the market live on a local chain. Starts anvil on 127.0.0.1, deploys the market with
 * the test dispute game, and plays two tasks end to end (one honest, one challenged where the
 * challenger loses), then prints balances and gas and stops anvil (also on Ctrl-C).
 */
import { JsonRpcProvider, formatUnits, keccak256, toUtf8Bytes, type ContractTransactionReceipt } from 'ethers';
import { startAnvil, type Anvil } from '../shared/chain/anvil';
import { compileContracts } from './compile-contracts';

const TOKEN = 10n ** 18n;
const root = (s: string) => keccak256(toUtf8Bytes(s));
const fmt = (v: bigint) => `${formatUnits(v, 18)} OPML`;

let anvil: Anvil | undefined;

async function stopChain(): Promise<void> {
  const running = anvil;
  anvil = undefined;
  if (running) {
    await running.stop();
    console.log(`start: anvil (pid ${running.pid}) stopped`);
  }
}

process.once('SIGINT', () => {
  console.log('\nstart: interrupted');
  stopChain().finally(() => process.exit(130));
});

async function main(): Promise<void> {
  await compileContracts();
  // Imported after compiling: they load the generated bindings.
  const { TestConsumer__factory } = await import('../build/types');
  const { deployMarket } = await import('../shared/market/deploy');
  const { devAccounts } = await import('../shared/market/devAccounts');
  const { createTaskWithPermit, GameOutcome, mine } = await import('../shared/market/tasks');

  anvil = await startAnvil({ accounts: 7 });
  console.log(`start: anvil (pid ${anvil.pid}) on ${anvil.rpcUrl}`);
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const [admin, treasury, modelOwner, requester, provider1, challenger] = devAccounts(provider, 6) as [
      ReturnType<typeof devAccounts>[number],
      ...ReturnType<typeof devAccounts>,
    ];
    const gas: Record<string, bigint> = {};
    const step = async (label: string, tx: Promise<ContractTransactionReceipt>) => {
      const receipt = await tx;
      gas[label] = (gas[label] ?? 0n) + receipt.gasUsed;
      console.log(`  ${label.padEnd(30)} gas ${receipt.gasUsed}`);
      return receipt;
    };
    const advance = async (seconds: number) => {
      await provider.send('evm_increaseTime', [seconds]);
      await provider.send('evm_mine', []);
      console.log(`  (chain time +${seconds} s)`);
    };

    const m = await deployMarket(admin, { treasury: treasury.address, testDisputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN });
    const { market, token, staking, registry } = m;
    const marketAddress = await market.getAddress();
    console.log(`start: market deployed: ${JSON.stringify(m.addresses)}`);
    for (const a of [requester, provider1, challenger]) await mine(token.connect(admin).mint(a.address, 1_000n * TOKEN));
    const consumer = await new TestConsumer__factory(admin).deploy();
    await consumer.waitForDeployment();

    console.log('start: a model owner registers a model (fee 1 OPML per inference)');
    const reg = await step(
      'registerModel',
      mine(
        registry.connect(modelOwner).registerModel({
          graphSpecHash: root('mnist-mlp graph'),
          weightsRoot: root('mnist-mlp weights'),
          vmImageRoot: root('rv32im kernels'),
          graphCid: 'bafy-demo-graph',
          weightsCid: 'bafy-demo-weights',
          vmImageCid: 'bafy-demo-vm-image',
          fee: TOKEN,
        }),
      ),
    );
    const modelId = registry.interface.parseLog(reg.logs[0]!)!.args.modelId as bigint;

    console.log('start: the provider and a watcher stake');
    for (const [who, amount] of [
      [provider1, 500n * TOKEN],
      [challenger, 200n * TOKEN],
    ] as const) {
      await mine(token.connect(who).approve(await staking.getAddress(), amount));
      await step('stake', mine(staking.connect(who).stake(amount)));
    }

    const parties = [modelOwner, requester, provider1, challenger, treasury];
    const before = await Promise.all(parties.map((a) => token.balanceOf(a.address)));

    const runTask = async (name: string, challenged: boolean) => {
      console.log(`start: task "${name}": the requester creates it with a permit (bounty 20 OPML, collateral 100 OPML, window 10 min)`);
      const now = BigInt((await provider.getBlock('latest'))!.timestamp);
      const { taskId, receipt } = await createTaskWithPermit(
        market,
        token,
        requester,
        {
          modelId,
          inputRoot: root(`input ${name}`),
          inputCid: `bafy-input-${name}`,
          bounty: 20n * TOKEN,
          deadline: now + 3_600n,
          collateral: 100n * TOKEN,
          challengeWindow: 600n,
          maxModelFee: TOKEN,
          consumer: await consumer.getAddress(),
          callbackGasLimit: 100_000n,
        },
        now + 600n,
      );
      gas.createTaskWithPermit = (gas.createTaskWithPermit ?? 0n) + receipt.gasUsed;
      console.log(`  ${'createTaskWithPermit'.padEnd(30)} gas ${receipt.gasUsed} (task ${taskId})`);
      await step('claim', mine(market.connect(provider1).claim(taskId)));
      await step('commit', mine(market.connect(provider1).commit(taskId, root(`output ${name}`), root(`graph state ${name}`), '0x07')));
      if (challenged) {
        console.log(`start: a watcher challenges task ${taskId} with a 10 OPML bond; the (test) game rules for the provider`);
        await mine(token.connect(challenger).approve(marketAddress, 10n * TOKEN));
        await step('challenge', mine(market.connect(challenger).challenge(taskId)));
        await step('resolveChallenge (game)', mine(m.testGame!.decide(taskId, 0, GameOutcome.ProviderWon)));
      } else {
        console.log(`start: nobody challenges task ${taskId}`);
      }
      await advance(600);
      await step('finalize', mine(market.finalize(taskId)));
      console.log(`start: task ${taskId} finalized; the consumer received output root ${await consumer.outputRootOf(taskId)}`);
    };

    await runTask('honest', false);
    await runTask('challenged', true);

    const after = await Promise.all(parties.map((a) => token.balanceOf(a.address)));
    const names = ['model owner', 'requester', 'provider', 'challenger', 'treasury'];
    console.log('start: summary (wallet balance change over the two tasks)');
    names.forEach((n, i) => console.log(`  ${n.padEnd(12)} ${fmt(after[i]! - before[i]!)}`));
    console.log(`  provider stake ${fmt(await staking.stakeOf(provider1.address))}, locked ${fmt(await staking.lockedOf(provider1.address))}`);
    console.log(`  gas per step: ${Object.entries(gas).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  } finally {
    provider.destroy();
    await stopChain();
  }
}

main().catch(async (e) => {
  console.error(`start failed: ${(e as { shortMessage?: string }).shortMessage ?? (e instanceof Error ? e.message : String(e))}`);
  await stopChain();
  process.exit(1);
});
