/**
 * Gas of every market step, measured from receipts on a fresh local chain. Each step is measured in
 * steady state, as on a live market: the parties and the model were used once before, and the market
 * holds the escrow of another open task (so no token balance goes from zero to non-zero). The first
 * task on a fresh deployment is reported too. Prints progress lines, then one JSON object on the last line.
 */
import { getBytes, hexlify, JsonRpcProvider, keccak256, toUtf8Bytes, type ContractTransactionReceipt } from 'ethers';
import { merkleRootOfBytes } from '../shared/vm/merkle';
import { startAnvil } from '../shared/chain/anvil';
import { deployMarket } from '../shared/market/deploy';
import { devAccounts } from '../shared/market/devAccounts';
import { createTaskWithPermit, GameOutcome, mine, taskIdOf, type TaskRequest } from '../shared/market/tasks';
import { TestConsumer__factory } from '../build/types';

const TOKEN = 10n ** 18n;
const HAPPY_PATH_GOAL = 400_000n;
const root = (s: string) => keccak256(toUtf8Bytes(s));

async function main(): Promise<void> {
  const anvil = await startAnvil({ accounts: 6 });
  const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const [admin, modelOwner, requester, worker, challenger] = devAccounts(provider, 5) as [ReturnType<typeof devAccounts>[number], ...ReturnType<typeof devAccounts>];
    console.log(`bench: anvil on ${anvil.rpcUrl}, deploying the market`);
    const m = await deployMarket(admin, { testDisputeGame: true, minStake: 100n * TOKEN, challengeBond: 10n * TOKEN });
    const market = m.market;
    const marketAddress = await market.getAddress();
    for (const a of [requester, worker, challenger]) {
      await mine(m.token.connect(admin).mint(a.address, 100_000n * TOKEN));
      await mine(m.token.connect(a).approve(marketAddress, 2n ** 256n - 1n));
      await mine(m.token.connect(a).approve(await m.staking.getAddress(), 2n ** 256n - 1n));
    }
    await mine(m.staking.connect(worker).stake(10_000n * TOKEN));
    await mine(m.staking.connect(challenger).stake(1_000n * TOKEN));
    const reg = await mine(
      m.registry.connect(modelOwner).registerModel({
        graphSpecHash: root('graph'),
        weightsRoot: root('weights'),
        vmImageRoot: root('vm'),
        graphCid: 'bafy-graph',
        weightsCid: 'bafy-weights',
        vmImageCid: 'bafy-vm',
        fee: TOKEN,
      }),
    );
    const modelId = m.registry.interface.parseLog(reg.logs[0]!)!.args.modelId as bigint;
    const consumer = await new TestConsumer__factory(admin).deploy();
    await consumer.waitForDeployment();

    const now = async () => BigInt((await provider.getBlock('latest'))!.timestamp);
    const request = async (extra: Partial<TaskRequest> = {}): Promise<TaskRequest> => ({
      modelId,
      inputRoot: root('input'),
      inputCid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
      bounty: 50n * TOKEN,
      deadline: (await now()) + 3_600n,
      collateral: 200n * TOKEN,
      challengeWindow: 600n,
      maxModelFee: TOKEN,
      consumer: '0x0000000000000000000000000000000000000000',
      callbackGasLimit: 0n,
      steps: 1n,
      ...extra,
    });
    const timeTravel = async (s: number) => {
      await provider.send('evm_increaseTime', [s]);
      await provider.send('evm_mine', []);
    };
    const output = '0x' + '7f'.repeat(40);
    // commit checks the bytes against their tensor root (docs/security.md, finding 2).
    const outputRoot = hexlify(merkleRootOfBytes(getBytes(output)));
    const happyPath = async (extra: Partial<TaskRequest> = {}) => {
      const create = await mine(market.connect(requester).createTask(await request(extra)));
      const taskId = taskIdOf(market, create);
      const claim = await mine(market.connect(worker).claim(taskId));
      const commit = await mine(market.connect(worker).commit(taskId, outputRoot, root('state'), output));
      await timeTravel(600);
      const finalize = await mine(market.finalize(taskId));
      // The market credits the bounty; the provider withdraws it, as the worker does after every task by
      // default, so each finalize writes a credit slot that starts at zero (the dearer case).
      const withdraw = await mine(market.connect(worker).withdraw(worker.address));
      return { create, claim, commit, finalize, withdraw };
    };
    const gas = (r: ContractTransactionReceipt) => r.gasUsed;

    console.log('bench: first task on the fresh deployment');
    const cold = await happyPath();
    console.log('bench: another requester\'s open task, so the market holds escrow as it does when live');
    await mine(market.connect(challenger).createTask(await request({ deadline: (await now()) + 86_400n * 30n })));

    console.log('bench: happy path');
    const warm = await happyPath();
    console.log('bench: happy path with a consumer callback');
    const withConsumer = await happyPath({ consumer: await consumer.getAddress(), callbackGasLimit: 100_000n });

    console.log('bench: createTaskWithPermit');
    const { receipt: createWithPermit } = await createTaskWithPermit(market, m.token, requester, await request(), (await now()) + 600n);
    await mine(m.token.connect(requester).approve(marketAddress, 2n ** 256n - 1n));

    console.log('bench: challenge, then both outcomes');
    const challengeTask = async () => {
      const taskId = taskIdOf(market, await mine(market.connect(requester).createTask(await request())));
      await mine(market.connect(worker).claim(taskId));
      await mine(market.connect(worker).commit(taskId, outputRoot, root('state'), output));
      return { taskId, challenge: await mine(market.connect(challenger).challenge(taskId)) };
    };
    const lost = await challengeTask();
    const resolveProviderWon = await mine(m.testGame!.decide(lost.taskId, 0, GameOutcome.ProviderWon));
    const won = await challengeTask();
    const resolveChallengerWon = await mine(m.testGame!.decide(won.taskId, 0, GameOutcome.ChallengerWon));

    console.log('bench: expire (unclaimed and claimed-but-silent)');
    const openTask = taskIdOf(market, await mine(market.connect(requester).createTask(await request({ deadline: (await now()) + 100n }))));
    const silentTask = taskIdOf(market, await mine(market.connect(requester).createTask(await request({ deadline: (await now()) + 100n }))));
    await mine(market.connect(worker).claim(silentTask));
    await timeTravel(101);
    const expireUnclaimed = await mine(market.expire(openTask));
    const expireClaimed = await mine(market.expire(silentTask));

    const happyTotal = gas(warm.create) + gas(warm.claim) + gas(warm.commit) + gas(warm.finalize);
    const coldTotal = gas(cold.create) + gas(cold.claim) + gas(cold.commit) + gas(cold.finalize);
    const result = {
      bench: 'gas',
      unit: 'gas',
      chain: 'anvil (cancun)',
      outputBytes: (output.length - 2) / 2,
      createTask: Number(gas(warm.create)),
      createTaskWithPermit: Number(gas(createWithPermit)),
      claim: Number(gas(warm.claim)),
      commit: Number(gas(warm.commit)),
      challenge: Number(gas(won.challenge)),
      resolveProviderWon: Number(gas(resolveProviderWon)),
      resolveChallengerWon: Number(gas(resolveChallengerWon)),
      finalize: Number(gas(warm.finalize)),
      finalizeWithConsumer: Number(gas(withConsumer.finalize)),
      withdraw: Number(gas(warm.withdraw)),
      expireUnclaimed: Number(gas(expireUnclaimed)),
      expireClaimed: Number(gas(expireClaimed)),
      happyPathTotal: Number(happyTotal),
      happyPathFirstTaskTotal: Number(coldTotal),
      happyPathWithWithdrawTotal: Number(happyTotal + gas(warm.withdraw)),
      happyPathGoal: Number(HAPPY_PATH_GOAL),
      meetsGoal: happyTotal < HAPPY_PATH_GOAL,
      firstTaskMeetsGoal: coldTotal < HAPPY_PATH_GOAL,
    };
    console.log(JSON.stringify(result));
  } finally {
    provider.destroy();
    await anvil.stop();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.stack ?? e.message : e);
  process.exit(1);
});
