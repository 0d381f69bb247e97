/**
 * Pull payments and the tokens the market refuses (docs/security.md, finding 6), on a market whose
 * token can block an address and take a fee on transfer, as real tokens can.
 */
import { type HDNodeWallet } from 'ethers';
import { HostileToken__factory, type HostileToken } from '../../build/types';
import { deployMarket, DeployTokenError } from '../../shared/market/deploy';
import { GameOutcome, mine } from '../../shared/market/tasks';
import { MIN_STAKE, PROTOCOL_BPS, TOKEN, committedTask, createTask, expectRevert, increaseTime, request, startMarketFixture, wealth, type MarketFixture } from './fixture';

describe('payments', () => {
  let f: MarketFixture;
  let hostile: HostileToken;
  let requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet, elsewhere: HDNodeWallet;

  beforeAll(async () => {
    f = await startMarketFixture(4, {}, async (admin) => {
      hostile = await new HostileToken__factory(admin).deploy(0n);
      await hostile.waitForDeployment();
      return { token: await hostile.getAddress() };
    });
    [requester, provider, challenger, elsewhere] = f.actors as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
    for (const a of [provider, challenger]) await mine(f.m.staking.connect(a).stake(1_000n * TOKEN));
  });
  afterAll(() => f?.stop());

  it('ends games and settles tasks whatever a blocked party’s transfers do, and each party withdraws where it likes', async () => {
    // The provider wins a game and the task finalizes while the token blocks the provider and the model owner.
    const won = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(challenger).challenge(won));
    const bond = (await f.m.market.getChallenge(won, 0)).bond;
    await mine(hostile.setBlocked(provider.address, true));
    await mine(hostile.setBlocked(f.modelOwner.address, true));
    const providerB = await f.m.market.creditOf(provider.address);
    await mine(f.m.testGame!.decide(won, 0, GameOutcome.ProviderWon));
    await increaseTime(f.provider, 600);
    await mine(f.m.market.finalize(won));
    const earned = bond - (bond * PROTOCOL_BPS) / 10_000n + 50n * TOKEN;
    expect((await f.m.market.creditOf(provider.address)) - providerB).toBe(earned);

    // A blocked account cannot receive, but it can have its credit paid to another address of its own.
    const refused = await f.m.market.connect(provider).withdraw(provider.address).catch((e: { data?: string }) => e);
    expect(hostile.interface.parseError((refused as { data?: string }).data ?? '0x')?.name).toBe('HostileTokenBlocked');
    const credit = await f.m.market.creditOf(provider.address);
    const elsewhereB = await f.m.token.balanceOf(elsewhere.address);
    const paid = await mine(f.m.market.connect(provider).withdraw(elsewhere.address));
    const event = paid.logs.map((l) => f.m.market.interface.parseLog(l)).find((e) => e?.name === 'CreditWithdrawn')!;
    expect([event.args.account, event.args.to, event.args.amount]).toEqual([provider.address, elsewhere.address, credit]);
    expect((await f.m.token.balanceOf(elsewhere.address)) - elsewhereB).toBe(credit);
    await expectRevert(f, () => f.m.market.connect(provider).withdraw(elsewhere.address), 'MarketNothingToWithdraw', [provider.address]);
    await expectRevert(f, () => f.m.market.connect(provider).withdraw('0x0000000000000000000000000000000000000000'), 'MarketZeroAddress');
    await mine(hostile.setBlocked(provider.address, false));
    await mine(hostile.setBlocked(f.modelOwner.address, false));

    // A refutation while the requester is blocked: the game still ends, the refund waits as a credit.
    const refuted = await committedTask(f, requester, provider);
    await mine(f.m.market.connect(challenger).challenge(refuted));
    await mine(hostile.setBlocked(requester.address, true));
    const requesterB = await wealth(f, requester.address);
    await mine(f.m.testGame!.decide(refuted, 0, GameOutcome.ChallengerWon));
    expect((await wealth(f, requester.address)) - requesterB).toBe(50n * TOKEN + 2n * TOKEN);
    await mine(hostile.setBlocked(requester.address, false));
    await mine(f.m.market.connect(requester).withdraw(requester.address));
    expect(await f.m.market.creditOf(requester.address)).toBe(0n);
  });

  it('lets anyone send the protocol share Staking owes to the treasury', async () => {
    const owed = await f.m.staking.protocolShareOwed();
    expect(owed).toBeGreaterThan(0n);
    const treasuryB = await f.m.token.balanceOf(f.treasury.address);
    const collected = await mine(f.m.staking.connect(elsewhere).collectProtocolShare());
    const event = collected.logs.map((l) => f.m.staking.interface.parseLog(l)).find((e) => e?.name === 'ProtocolShareCollected')!;
    expect([event.args.treasury, event.args.amount]).toEqual([f.treasury.address, owed]);
    expect((await f.m.token.balanceOf(f.treasury.address)) - treasuryB).toBe(owed);
    await expectRevert(f, () => f.m.staking.collectProtocolShare(), 'StakingNothingOwed');
  });

  it('refuses a token that starts taking a fee, before accounting for what did not arrive', async () => {
    const taskId = await committedTask(f, requester, provider);
    const bond = await f.m.market.challengeBondOf(taskId);
    await mine(hostile.setFee(100n)); // 1%
    try {
      const r = await request(f);
      const total = BigInt(r.bounty) + 2n * TOKEN;
      await expectRevert(f, () => f.m.market.connect(requester).createTask(r), 'MarketTokenShortDelivery', [total, total - total / 100n]);
      await expectRevert(f, () => f.m.market.connect(challenger).challenge(taskId), 'MarketTokenShortDelivery', [bond, bond - bond / 100n]);
      await expectRevert(f, () => f.m.staking.connect(requester).stake(MIN_STAKE), 'StakingTokenShortDelivery', [MIN_STAKE, MIN_STAKE - MIN_STAKE / 100n]);
    } finally {
      await mine(hostile.setFee(0n));
    }
    await createTask(f, requester);
  });

  it('refuses a fee-on-transfer token at deploy, with no token moved', async () => {
    const admin = f.admin;
    const taxed = await new HostileToken__factory(admin).deploy(50n);
    await taxed.waitForDeployment();
    const before = await taxed.balanceOf(admin.address);
    const error = await deployMarket(admin, { token: await taxed.getAddress(), treasury: f.treasury.address }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployTokenError);
    expect((error as Error).message).toMatch(/a transfer of 1000000 delivered only 995000: tokens that take a fee on transfer/);
    expect(await taxed.balanceOf(admin.address)).toBe(before);
  });
});
