import { type HDNodeWallet } from 'ethers';
import { TestConsumer__factory, type TestConsumer } from '../../build/types';
import { createTaskWithPermit, mine, GameOutcome, MIN_COMMIT_PERIOD, TASK_STATUS, CHALLENGE_STATUS } from '../../shared/market/tasks';
import {
  BOND,
  MIN_STAKE,
  MODEL_FEE,
  PROTOCOL_BPS,
  TOKEN,
  UNBONDING_DELAY,
  committedTask,
  createTask,
  expectRevert,
  increaseTime,
  now,
  output,
  request,
  root,
  startMarketFixture,
  wealth,
  type MarketFixture,
} from './fixture';

const any = expect.anything();
const share = (amount: bigint) => ({ protocol: (amount * PROTOCOL_BPS) / 10_000n, winner: amount - (amount * PROTOCOL_BPS) / 10_000n });
/** The default task's bond: the floor plus 5% of bounty (50) and collateral (200). */
const TASK_BOND = BOND + ((250n * TOKEN) * 500n) / 10_000n;
/** What each winning challenger of a refuted default task earns: the challengers' share of 200, over 4 games. */
const REWARD = share(200n * TOKEN).winner / 4n;

describe('task market lifecycle', () => {
  let f: MarketFixture;
  let requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet, challenger2: HDNodeWallet, challenger3: HDNodeWallet;
  let consumer: TestConsumer;
  const status = async (taskId: bigint) => TASK_STATUS[Number((await f.m.market.getTask(taskId)).status)];

  beforeAll(async () => {
    f = await startMarketFixture(7);
    [requester, provider, challenger, challenger2, challenger3] = f.actors as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
    for (const a of [provider, challenger, challenger2, challenger3]) await mine(f.m.staking.connect(a).stake(1_000n * TOKEN));
    consumer = await new TestConsumer__factory(f.admin).deploy();
    await consumer.waitForDeployment();
  });
  afterAll(() => f?.stop());

  it('runs the happy path with a permit, pays provider and model owner after the window, then calls the consumer', async () => {
    const parties = [requester.address, provider.address, f.modelOwner.address];
    const before = await Promise.all(parties.map((a) => wealth(f, a)));
    const req = await request(f, { consumer: await consumer.getAddress(), callbackGasLimit: 100_000n });
    const { taskId } = await createTaskWithPermit(f.m.market, f.m.token, requester, req, (await now(f.provider)) + 600n);
    expect(await status(taskId)).toBe('Open');
    expect(await f.m.token.balanceOf(f.addresses.market)).toBe(50n * TOKEN + MODEL_FEE);

    await mine(f.m.market.connect(provider).claim(taskId));
    expect(await f.m.staking.lockedOf(provider.address)).toBe(200n * TOKEN);
    const out = output('c0ffee', 3);
    const commit = await mine(f.m.market.connect(provider).commit(taskId, out.root, root('graph-state'), out.bytes));
    const committed = f.m.market.interface.parseLog(commit.logs[0]!)!;
    expect(committed.name).toBe('TaskCommitted');
    expect(committed.args.output).toBe(out.bytes);

    await expect(f.m.market.finalize(taskId)).rejects.toThrow();
    await increaseTime(f.provider, 600);
    const fin = await mine(f.m.market.connect(challenger).finalize(taskId));
    expect(await status(taskId)).toBe('Finalized');
    const events = fin.logs.map((l) => f.m.market.interface.parseLog(l)?.name).filter(Boolean);
    expect(events).toEqual(['TaskFinalized', 'Credited', 'Credited', 'ConsumerCalled']);
    expect(await consumer.outputRootOf(taskId)).toBe(out.root);
    // Finding 5: the consumer learns who asked, who served and what was at stake.
    const delivered = fin.logs.map((l) => consumer.interface.parseLog(l)).find((e) => e?.name === 'ResultTerms')!.args;
    expect([delivered.taskId, delivered.requester, delivered.provider, delivered.bounty, delivered.collateral, delivered.challengeWindow]).toEqual([
      taskId,
      requester.address,
      provider.address,
      50n * TOKEN,
      200n * TOKEN,
      600n,
    ]);
    expect(await f.m.staking.lockedOf(provider.address)).toBe(0n);

    const after = await Promise.all(parties.map((a) => wealth(f, a)));
    expect(after.map((a, i) => a - before[i]!)).toEqual([-(50n * TOKEN + MODEL_FEE), 50n * TOKEN, MODEL_FEE]);
    // Finalize credited the payments (finding 6); the market holds them until each party withdraws.
    const credited = fin.logs.map((l) => f.m.market.interface.parseLog(l)).filter((e) => e?.name === 'Credited');
    expect(credited.map((e) => [e!.args.account, e!.args.amount])).toEqual([
      [provider.address, 50n * TOKEN],
      [f.modelOwner.address, MODEL_FEE],
    ]);
    expect(await f.m.token.balanceOf(f.addresses.market)).toBe(50n * TOKEN + MODEL_FEE);
    const providerBalance = await f.m.token.balanceOf(provider.address);
    await mine(f.m.market.connect(f.modelOwner).withdraw(f.modelOwner.address));
    expect(await f.m.market.creditOf(f.modelOwner.address)).toBe(0n);
    // Running totals: the slot stays non-zero, so the next finalize rewrites it cheaply.
    expect(await f.m.market.creditTotalsOf(f.modelOwner.address)).toEqual([MODEL_FEE, MODEL_FEE]);
    expect(await f.m.token.balanceOf(f.addresses.market)).toBe(50n * TOKEN);
    expect(await f.m.token.balanceOf(provider.address)).toBe(providerBalance);
    // The permit replaced the fixture's unlimited approval; restore it for the other tests.
    await mine(f.m.token.connect(requester).approve(f.addresses.market, 2n ** 256n - 1n));
  });

  it('lets a challenged provider win: the bond is split provider/treasury and the task finalizes', async () => {
    const taskId = await committedTask(f, requester, provider);
    const providerBefore = await wealth(f, provider.address);
    const treasuryBefore = await wealth(f, f.treasury.address);
    expect(await f.m.market.challengeBondOf(taskId)).toBe(TASK_BOND);
    await mine(f.m.market.connect(challenger).challenge(taskId));
    expect((await f.m.market.getChallenge(taskId, 0)).bond).toBe(TASK_BOND);
    const subject = await f.m.testGame!.subjectOf(taskId, 0);
    expect([subject.provider, subject.challenger, subject.inputRoot, subject.outputRoot, subject.graphStateRoot]).toEqual([
      provider.address,
      challenger.address,
      root('input'),
      output('output').root,
      root('graph-state'),
    ]);
    await increaseTime(f.provider, 600);
    await expect(f.m.market.finalize(taskId)).rejects.toThrow();
    await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ProviderWon));
    expect(CHALLENGE_STATUS[Number((await f.m.market.getChallenge(taskId, 0)).status)]).toBe('ProviderWon');
    expect((await wealth(f, provider.address)) - providerBefore).toBe(share(TASK_BOND).winner);
    expect((await wealth(f, f.treasury.address)) - treasuryBefore).toBe(share(TASK_BOND).protocol);
    await mine(f.m.market.finalize(taskId));
    expect(await status(taskId)).toBe('Finalized');
  });

  it('refutes a wrong result: provider slashed, the winner rewarded, the rest to the treasury, requester refunded, bond returned', async () => {
    const taskId = await committedTask(f, requester, provider);
    const [reqB, chB, trB, stakeB] = await Promise.all([
      wealth(f, requester.address),
      wealth(f, challenger.address),
      wealth(f, f.treasury.address),
      f.m.staking.stakeOf(provider.address),
    ]);
    await mine(f.m.market.connect(challenger).challenge(taskId));
    await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ChallengerWon));
    expect(await status(taskId)).toBe('Refuted');
    const collateral = 200n * TOKEN;
    expect((await wealth(f, requester.address)) - reqB).toBe(50n * TOKEN + MODEL_FEE);
    // A lone winner earns one game's reward; the game was the last, so the unclaimed rest is the treasury's.
    expect((await wealth(f, challenger.address)) - chB).toBe(REWARD);
    expect((await wealth(f, f.treasury.address)) - trB).toBe(collateral - REWARD);
    expect(await f.m.market.slashPoolOf(taskId)).toEqual([REWARD, 0n]);
    expect(stakeB - (await f.m.staking.stakeOf(provider.address))).toBe(collateral);
    expect(await f.m.staking.lockedOf(provider.address)).toBe(0n);
  });

  it('does not let a colluding challenger shield a cheater, and slashes only once across several games', async () => {
    const taskId = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(challenger3).challenge(taskId)); // the provider's accomplice
    await mine(f.m.market.connect(challenger).challenge(taskId));
    await mine(f.m.market.connect(challenger2).challenge(taskId));
    const stakeB = await f.m.staking.stakeOf(provider.address);
    const providerB = await wealth(f, provider.address);

    // The sham game ends first: the accomplice's bond goes to the provider (and treasury) but nothing finalizes.
    await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ProviderWon));
    await increaseTime(f.provider, 600);
    await expect(f.m.market.finalize(taskId)).rejects.toThrow();
    expect(await status(taskId)).toBe('Committed');

    await mine(f.m.testGame!.decide(taskId, 1, GameOutcome.ChallengerWon));
    expect(await status(taskId)).toBe('Refuted');
    expect(stakeB - (await f.m.staking.stakeOf(provider.address))).toBe(200n * TOKEN);

    // A later win earns the same reward without a second slash.
    const ch2B = await wealth(f, challenger2.address);
    await mine(f.m.testGame!.decide(taskId, 2, GameOutcome.ChallengerWon));
    expect((await wealth(f, challenger2.address)) - ch2B).toBe(TASK_BOND + REWARD);
    expect(stakeB - (await f.m.staking.stakeOf(provider.address))).toBe(200n * TOKEN);
    expect((await wealth(f, provider.address)) - providerB).toBe(share(TASK_BOND).winner);
    expect((await f.m.market.getTask(taskId)).pendingGames).toBe(0n);
  });

  it('sends a lost bond wholly to the treasury once the provider is refuted, and the unclaimed pool after the last game', async () => {
    const taskId = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(challenger).challenge(taskId));
    await mine(f.m.market.connect(challenger2).challenge(taskId));
    await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ChallengerWon));
    // One game is still pending: the pool keeps what a second winner would be paid, and more.
    expect(await f.m.market.slashPoolOf(taskId)).toEqual([REWARD, share(200n * TOKEN).winner - REWARD]);
    const [providerB, treasuryB] = await Promise.all([wealth(f, provider.address), wealth(f, f.treasury.address)]);
    await mine(f.m.testGame!.decide(taskId, 1, GameOutcome.ProviderWon));
    expect(await wealth(f, provider.address)).toBe(providerB);
    expect((await wealth(f, f.treasury.address)) - treasuryB).toBe(TASK_BOND + share(200n * TOKEN).winner - REWARD);
    expect(await f.m.market.slashPoolOf(taskId)).toEqual([REWARD, 0n]);
  });

  it('expires an unclaimed task with a full refund', async () => {
    const reqB = await f.m.token.balanceOf(requester.address);
    const taskId = await createTask(f, requester, { deadline: (await now(f.provider)) + 100n });
    await increaseTime(f.provider, 101);
    await mine(f.m.market.expire(taskId));
    expect(await status(taskId)).toBe('Expired');
    expect(await f.m.token.balanceOf(requester.address)).toBe(reqB);
  });

  it('expires a claimed but never committed task, slashing the no-show: the requester gets at most the bounty, the treasury the rest', async () => {
    const reqB = await f.m.token.balanceOf(requester.address);
    const treasuryB = await wealth(f, f.treasury.address);
    const stakeB = await f.m.staking.stakeOf(provider.address);
    // Collateral 100, bounty 50: the winner's share (80) is more than the bounty, so 50 + the protocol's 20 + 30.
    const taskId = await createTask(f, requester, { deadline: (await now(f.provider)) + 100n, collateral: 100n * TOKEN });
    await mine(f.m.market.connect(provider).claim(taskId));
    await increaseTime(f.provider, 101);
    await mine(f.m.market.connect(challenger).expire(taskId));
    expect((await f.m.token.balanceOf(requester.address)) - reqB).toBe(50n * TOKEN);
    expect((await wealth(f, f.treasury.address)) - treasuryB).toBe(50n * TOKEN);
    expect(stakeB - (await f.m.staking.stakeOf(provider.address))).toBe(100n * TOKEN);
    expect(await f.m.staking.lockedOf(provider.address)).toBe(0n);
    // Below the bounty, the requester gets the whole winner's share.
    const small = await createTask(f, requester, { deadline: (await now(f.provider)) + 100n, collateral: 20n * TOKEN });
    await mine(f.m.market.connect(provider).claim(small));
    await increaseTime(f.provider, 101);
    const reqS = await f.m.token.balanceOf(requester.address);
    await mine(f.m.market.expire(small));
    expect((await f.m.token.balanceOf(requester.address)) - reqS).toBe(50n * TOKEN + MODEL_FEE + share(20n * TOKEN).winner);
  });

  it('defeats the deadline trap (finding 3): no claim in the last minute, and a no-show never profits the requester beyond its bounty', async () => {
    expect(await f.m.market.MIN_COMMIT_PERIOD()).toBe(MIN_COMMIT_PERIOD);
    // The attack: bounty 1 wei, collateral the provider's whole free stake, deadline one block away.
    const free = (await f.m.staking.stakeOf(provider.address)) - (await f.m.staking.lockedOf(provider.address));
    const soon = (await now(f.provider)) + 2n;
    const trap = await request(f, { bounty: 1n, collateral: free, deadline: soon });
    await expectRevert(f, () => f.m.market.connect(requester).createTask(trap), 'MarketDeadlineTooSoon', [soon, any]);
    // A deadline just past the minimum is accepted, but a claim that leaves under a minute is refused.
    const reqB = await f.m.token.balanceOf(requester.address);
    const deadline = (await now(f.provider)) + 61n;
    const taskId = await createTask(f, requester, { bounty: 1n, collateral: free, deadline });
    await increaseTime(f.provider, 5);
    await expectRevert(f, () => f.m.market.connect(provider).claim(taskId), 'MarketCommitPeriodTooShort', [taskId, deadline, any]);
    expect(await f.m.staking.lockedOf(provider.address)).toBe(0n);
    await increaseTime(f.provider, 60);
    await mine(f.m.market.expire(taskId));
    // The attacker got its 1 wei and model fee back, nothing more, and paid the gas.
    expect(await f.m.token.balanceOf(requester.address)).toBe(reqB);
    expect((await f.m.staking.stakeOf(provider.address)) - (await f.m.staking.lockedOf(provider.address))).toBe(free);
  });

  it.each([
    ['reverting', 1],
    ['gas-burning', 2],
  ])('pays the provider even when the consumer is %s', async (_label, mode) => {
    await mine(consumer.setMode(mode));
    const taskId = await committedTask(f, requester, provider, { consumer: await consumer.getAddress(), callbackGasLimit: 200_000n });
    await increaseTime(f.provider, 600);
    const providerB = await wealth(f, provider.address);
    const receipt = await mine(f.m.market.finalize(taskId));
    const called = receipt.logs.map((l) => f.m.market.interface.parseLog(l)).find((e) => e?.name === 'ConsumerCalled');
    expect(called?.args.success).toBe(false);
    expect((await wealth(f, provider.address)) - providerB).toBe(50n * TOKEN);
    expect(receipt.gasUsed).toBeLessThan(400_000n);
    await mine(consumer.setMode(0));
  });

  it('stakes, unbonds and withdraws after the delay; locked stake stays put', async () => {
    const staker = f.actors[5]!;
    const balB = await f.m.token.balanceOf(staker.address);
    await mine(f.m.staking.connect(staker).stake(MIN_STAKE));
    const taskId = await createTask(f, requester, { collateral: 60n * TOKEN });
    await mine(f.m.market.connect(staker).claim(taskId));
    await mine(f.m.staking.connect(staker).requestUnbond(40n * TOKEN));
    expect(await f.m.staking.stakeOf(staker.address)).toBe(60n * TOKEN);
    await increaseTime(f.provider, UNBONDING_DELAY);
    await mine(f.m.staking.connect(staker).withdraw());
    expect(balB - (await f.m.token.balanceOf(staker.address))).toBe(60n * TOKEN);
    expect(await f.m.staking.unbondingOf(staker.address)).toEqual([0n, 0n]);
  });

  it('keeps each unbonding request on its own clock: a later one never delays an earlier one (finding 7)', async () => {
    const staker = f.actors[6]!;
    await mine(f.m.staking.connect(staker).stake(MIN_STAKE));
    const balB = await f.m.token.balanceOf(staker.address);
    await mine(f.m.staking.connect(staker).requestUnbond(30n * TOKEN));
    await increaseTime(f.provider, UNBONDING_DELAY / 2);
    const second = await mine(f.m.staking.connect(staker).requestUnbond(20n * TOKEN));
    const secondReady = BigInt((await f.provider.getBlock(second.blockNumber))!.timestamp) + BigInt(UNBONDING_DELAY);
    expect(await f.m.staking.unbondingOf(staker.address)).toEqual([50n * TOKEN, secondReady]);
    await increaseTime(f.provider, UNBONDING_DELAY / 2);
    // The first request is due, the second is not: withdraw pays the first alone.
    expect(await f.m.staking.withdrawableOf(staker.address)).toBe(30n * TOKEN);
    await mine(f.m.staking.connect(staker).withdraw());
    expect((await f.m.token.balanceOf(staker.address)) - balB).toBe(30n * TOKEN);
    await expectRevert(f, () => f.m.staking.connect(staker).withdraw(), 'StakingUnbondingNotReady', [staker.address, secondReady, any]);
    await increaseTime(f.provider, UNBONDING_DELAY / 2);
    await mine(f.m.staking.connect(staker).withdraw());
    expect((await f.m.token.balanceOf(staker.address)) - balB).toBe(50n * TOKEN);
    expect(await f.m.staking.unbondingOf(staker.address)).toEqual([0n, 0n]);
    await expectRevert(f, () => f.m.staking.connect(staker).withdraw(), 'StakingNothingUnbonding', [staker.address]);
  });

  it('registers, reprices and deactivates a model', async () => {
    const owner = f.modelOwner;
    expect(await f.m.registry.modelRoots(f.modelId)).toEqual([root('graph'), root('weights'), root('vm-image')]);
    expect(await f.m.registry.modelCids(f.modelId)).toEqual(['bafy-graph', 'bafy-weights', 'bafy-vm']);
    await mine(f.m.registry.connect(owner).setModelFee(f.modelId, 3n * TOKEN));
    expect((await f.m.registry.modelTerms(f.modelId))[1]).toBe(3n * TOKEN);
    await mine(f.m.registry.connect(owner).setModelFee(f.modelId, MODEL_FEE));
    const second = await mine(
      f.m.registry.connect(owner).registerModel({
        graphSpecHash: root('g2'),
        weightsRoot: root('w2'),
        vmImageRoot: root('v2'),
        graphCid: 'g2',
        weightsCid: 'w2',
        vmImageCid: 'v2',
        fee: 0n,
      }),
    );
    const id = f.m.registry.interface.parseLog(second.logs[0]!)!.args.modelId as bigint;
    await mine(f.m.registry.connect(owner).deactivateModel(id));
    expect(await f.m.registry.modelTerms(id)).toEqual([owner.address, 0n, false]);
  });

  it('pauses new tasks and claims but not settlement', async () => {
    const taskId = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(f.admin).pause());
    await increaseTime(f.provider, 600);
    await mine(f.m.market.finalize(taskId));
    await expect(f.m.market.connect(requester).createTask(await request(f))).rejects.toThrow();
    await mine(f.m.market.connect(f.admin).unpause());
    await createTask(f, requester);
  });
});
