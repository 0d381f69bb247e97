/**
 * Several games on one task (docs/security.md, findings 1 and 4): the reward of a winning challenger
 * does not depend on the order games end in, which the defender controls; the bond scales with what a
 * challenge holds up; at most MAX_PENDING_GAMES run at once, and a challenger shut out by a full task
 * gets a window back when a slot frees.
 */
import { type HDNodeWallet } from 'ethers';
import { GameOutcome, mine } from '../../shared/market/tasks';
import { BOND, PROTOCOL_BPS, TOKEN, committedTask, expectRevert, increaseTime, now, startMarketFixture, wealth, type MarketFixture } from './fixture';

const share = (amount: bigint) => amount - (amount * PROTOCOL_BPS) / 10_000n;

describe('several games on one task', () => {
  let f: MarketFixture;
  let requester: HDNodeWallet, cheater: HDNodeWallet, puppet: HDNodeWallet, honest: HDNodeWallet, others: HDNodeWallet[];

  beforeAll(async () => {
    f = await startMarketFixture(8);
    [requester, cheater, puppet, honest, ...others] = f.actors as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet, ...HDNodeWallet[]];
    for (const a of [puppet, honest, ...others]) await mine(f.m.staking.connect(a).stake(1_000n * TOKEN));
    await mine(f.m.staking.connect(cheater).stake(5_000n * TOKEN));
  });
  afterAll(() => f?.stop());

  it('pays an honest challenger as much as a lone one when the cheater lets its own sock-puppet win first (finding 1)', async () => {
    const collateral = 400n * TOKEN;
    const reward = share(collateral) / 4n;

    // A lone challenger, for reference.
    const alone = await committedTask(f, requester, cheater, { collateral });
    const loneBefore = await wealth(f, honest.address);
    await mine(f.m.market.connect(honest).challenge(alone));
    await mine(f.m.testGame!.decide(alone, 0, GameOutcome.ChallengerWon));
    const lone = (await wealth(f, honest.address)) - loneBefore;
    expect(lone).toBe(reward);

    // The attack: H opens a game; the cheater answers with its staked puppet's game and loses that one at once.
    const taskId = await committedTask(f, requester, cheater, { collateral });
    // What the cheater and its puppet own together, their stakes included.
    const coalition = async () => (await wealth(f, cheater.address)) + (await wealth(f, puppet.address)) + (await f.m.staking.stakeOf(cheater.address)) + (await f.m.staking.stakeOf(puppet.address));
    const [honestBefore, coalitionBefore, stakeBefore] = await Promise.all([wealth(f, honest.address), coalition(), f.m.staking.stakeOf(cheater.address)]);
    await mine(f.m.market.connect(honest).challenge(taskId));
    await mine(f.m.market.connect(puppet).challenge(taskId));
    const puppetWin = await mine(f.m.testGame!.decide(taskId, 1, GameOutcome.ChallengerWon));
    const names = puppetWin.logs.map((l) => f.m.market.interface.parseLog(l)?.name).filter(Boolean);
    expect(names).toEqual(expect.arrayContaining(['TaskRefuted', 'ChallengeRewarded']));
    // H's game, played out to the end of the cheater's clock, is won later.
    await increaseTime(f.provider, 3_600);
    await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ChallengerWon));

    expect((await wealth(f, honest.address)) - honestBefore).toBe(lone);
    // The cheater lost its whole collateral and took back one reward through the puppet, no more.
    const coalitionAfter = await coalition();
    expect(stakeBefore - (await f.m.staking.stakeOf(cheater.address))).toBe(collateral);
    expect(coalitionBefore - coalitionAfter).toBe(collateral - reward);
    expect(await f.m.market.slashPoolOf(taskId)).toEqual([reward, 0n]);
  });

  it('scales the bond with what the challenge holds up', async () => {
    const small = await committedTask(f, requester, cheater, { bounty: 10n * TOKEN, collateral: 40n * TOKEN });
    const large = await committedTask(f, requester, cheater, { bounty: 100n * TOKEN, collateral: 600n * TOKEN });
    expect(await f.m.market.BOND_RISK_BPS()).toBe(500n);
    expect(await f.m.market.challengeBondOf(small)).toBe(BOND + (50n * TOKEN * 500n) / 10_000n);
    expect(await f.m.market.challengeBondOf(large)).toBe(BOND + (700n * TOKEN * 500n) / 10_000n);
    const before = await f.m.token.balanceOf(honest.address);
    await mine(f.m.market.connect(honest).challenge(large));
    expect(before - (await f.m.token.balanceOf(honest.address))).toBe(BOND + 35n * TOKEN);
    await expectRevert(f, () => f.m.market.challengeBondOf(9_999n), 'MarketTaskUnknown', [9_999n]);
    await mine(f.m.testGame!.decide(large, 0, GameOutcome.ProviderWon));
  });

  it('caps the games pending on a task, and gives a shut-out challenger a whole window once a slot frees (finding 4)', async () => {
    const taskId = await committedTask(f, requester, cheater);
    const window = 600n;
    const challengers = [honest, puppet, ...others];
    for (const c of challengers.slice(0, 4)) await mine(f.m.market.connect(c).challenge(taskId));
    expect(await f.m.market.MAX_PENDING_GAMES()).toBe(4n);
    await expectRevert(f, () => f.m.market.connect(challengers[4]!).challenge(taskId), 'MarketGamesFull', [taskId, 4n]);

    // The slots stay taken past the window's end; the first game to end frees one and restarts the window.
    const originalEnd = (await f.m.market.getTask(taskId)).deadline;
    await increaseTime(f.provider, 900);
    const freed = await mine(f.m.testGame!.decide(taskId, 0, GameOutcome.ProviderWon));
    const at = BigInt((await f.provider.getBlock(freed.blockNumber))!.timestamp);
    const extended = freed.logs.map((l) => f.m.market.interface.parseLog(l)).find((e) => e?.name === 'ChallengeWindowExtended');
    expect([extended?.args.taskId, extended?.args.windowEnd]).toEqual([taskId, at + window]);
    expect((await f.m.market.getTask(taskId)).deadline).toBe(at + window);
    expect(at + window).toBeGreaterThan(originalEnd);
    await mine(f.m.market.connect(challengers[4]!).challenge(taskId));

    // Full again: the next game to end extends again; one ending with a slot already free does not.
    const freedAgain = await mine(f.m.testGame!.decide(taskId, 4, GameOutcome.ProviderWon));
    expect(freedAgain.logs.some((l) => f.m.market.interface.parseLog(l)?.name === 'ChallengeWindowExtended')).toBe(true);
    const end = (await f.m.market.getTask(taskId)).deadline;
    const notFull = await mine(f.m.testGame!.decide(taskId, 1, GameOutcome.ProviderWon));
    expect(notFull.logs.some((l) => f.m.market.interface.parseLog(l)?.name === 'ChallengeWindowExtended')).toBe(false);
    expect((await f.m.market.getTask(taskId)).deadline).toBe(end);
    for (const i of [2, 3]) await mine(f.m.testGame!.decide(taskId, i, GameOutcome.ProviderWon));
    await expectRevert(f, () => f.m.market.finalize(taskId), 'MarketChallengeWindowOpen', [taskId, end]);
    await increaseTime(f.provider, Number(end - (await now(f.provider))));
    await mine(f.m.market.finalize(taskId));
  });
});
