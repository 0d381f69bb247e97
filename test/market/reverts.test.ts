/**
 * Every way a market call can be refused: each asserts the custom error's name and values, and that
 * no token balance, stake or lock moved.
 */
import { boundOutput } from '../../shared/market/output';
import { ZeroAddress, ZeroHash, type HDNodeWallet } from 'ethers';
import { TaskMarket__factory, type TaskMarket } from '../../build/types';
import { DeployMarketOptionsError, deployMarket } from '../../shared/market/deploy';
import { signPermit } from '../../shared/market/permit';
import { GameOutcome, mine, taskIdOf } from '../../shared/market/tasks';
import { BOND, MIN_STAKE, MODEL_FEE, TOKEN, committedTask, createTask, expectRevert, increaseTime, now, output, request, root, startMarketFixture, type MarketFixture } from './fixture';

const { Open, Claimed, Committed, Finalized, Expired } = { Open: 1n, Claimed: 2n, Committed: 3n, Finalized: 4n, Expired: 6n };
const DAY = 86_400n;

describe('market reverts', () => {
  let f: MarketFixture;
  let requester: HDNodeWallet, provider: HDNodeWallet, challenger: HDNodeWallet, unstaked: HDNodeWallet, smallStaker: HDNodeWallet;
  const any = expect.anything();

  beforeAll(async () => {
    f = await startMarketFixture(5);
    [requester, provider, challenger, unstaked, smallStaker] = f.actors as [HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet, HDNodeWallet];
    await mine(f.m.staking.connect(provider).stake(5_000n * TOKEN));
    await mine(f.m.staking.connect(challenger).stake(1_000n * TOKEN));
    await mine(f.m.staking.connect(smallStaker).stake(MIN_STAKE - 1n));
  });
  afterAll(() => f?.stop());

  describe('createTask', () => {
    const create = async (overrides: Parameters<typeof request>[1]) => f.m.market.connect(requester).createTask(await request(f, overrides));

    it('refuses zero amounts and roots', async () => {
      await expectRevert(f, () => create({ bounty: 0n }), 'MarketZeroAmount', ['bounty']);
      await expectRevert(f, () => create({ collateral: 0n }), 'MarketZeroAmount', ['collateral']);
      await expectRevert(f, () => create({ inputRoot: ZeroHash }), 'MarketZeroRoot', ['inputRoot']);
    });

    it('refuses a deadline that is not in the future', async () => {
      const deadline = await now(f.provider);
      await expectRevert(f, () => create({ deadline }), 'MarketDeadlineTooSoon', [deadline, any]);
    });

    it('refuses a challenge window outside its bounds', async () => {
      await expectRevert(f, () => create({ challengeWindow: 59n }), 'MarketChallengeWindowOutOfRange', [59n, 60n, 30n * DAY]);
      await expectRevert(f, () => create({ challengeWindow: 30n * DAY + 1n }), 'MarketChallengeWindowOutOfRange', [30n * DAY + 1n, 60n, 30n * DAY]);
    });

    it('refuses 0 steps and more than MAX_STEPS, and records the steps it accepts', async () => {
      await expectRevert(f, () => create({ steps: 0n }), 'MarketStepsOutOfRange', [0n, 8192n]);
      await expectRevert(f, () => create({ steps: 8193n }), 'MarketStepsOutOfRange', [8193n, 8192n]);
      const receipt = await mine(create({ steps: 8192n }));
      const event = receipt.logs.map((l) => f.m.market.interface.parseLog(l)).find((e) => e?.name === 'TaskCreated')!;
      expect(event.args.steps).toBe(8192n);
      expect((await f.m.market.getTask(event.args.taskId)).steps).toBe(8192n);
    });

    it('refuses a callback gas limit that is too high, missing, or without a consumer', async () => {
      const consumer = f.modelOwner.address;
      await expectRevert(f, () => create({ consumer, callbackGasLimit: 1_000_001n }), 'MarketCallbackGasOutOfRange', [1_000_001n, 1_000_000n]);
      await expectRevert(f, () => create({ consumer, callbackGasLimit: 0n }), 'MarketCallbackGasOutOfRange', [0n, 1_000_000n]);
      await expectRevert(f, () => create({ callbackGasLimit: 5_000n }), 'MarketCallbackGasOutOfRange', [5_000n, 1_000_000n]);
    });

    it('refuses unknown and inactive models, and a fee above the requester\'s maximum', async () => {
      await expectRevert(f, () => create({ modelId: 999n }), 'MarketModelUnknown', [999n]);
      const r = await mine(
        f.m.registry.connect(f.modelOwner).registerModel({
          graphSpecHash: root('g'),
          weightsRoot: root('w'),
          vmImageRoot: root('v'),
          graphCid: 'g',
          weightsCid: 'w',
          vmImageCid: 'v',
          fee: 0n,
        }),
      );
      const inactive = f.m.registry.interface.parseLog(r.logs[0]!)!.args.modelId as bigint;
      await mine(f.m.registry.connect(f.modelOwner).deactivateModel(inactive));
      await expectRevert(f, () => create({ modelId: inactive }), 'MarketModelInactive', [inactive]);
      await expectRevert(f, () => create({ maxModelFee: MODEL_FEE - 1n }), 'MarketModelFeeTooHigh', [f.modelId, MODEL_FEE, MODEL_FEE - 1n]);
    });

    it('refuses a requester without allowance, and a permit signed for less', async () => {
      const poor = f.modelOwner;
      await expectRevert(f, async () => f.m.market.connect(poor).createTask(await request(f)), 'ERC20InsufficientAllowance', [f.addresses.market, 0n, 50n * TOKEN + MODEL_FEE]);
      await mine(f.m.token.connect(f.admin).mint(poor.address, 100n * TOKEN));
      const deadline = (await now(f.provider)) + 600n;
      const permit = await signPermit(f.m.token, poor, f.addresses.market, TOKEN, deadline);
      await expectRevert(
        f,
        async () => f.m.market.connect(poor).createTaskWithPermit(await request(f), 100n * TOKEN, permit.deadline, permit.v, permit.r, permit.s),
        'ERC20InsufficientAllowance',
        [f.addresses.market, 0n, 50n * TOKEN + MODEL_FEE],
      );
    });

    it('refuses new tasks and claims while paused', async () => {
      const taskId = await createTask(f, requester);
      await mine(f.m.market.connect(f.admin).pause());
      await expectRevert(f, () => create({}), 'EnforcedPause', []);
      await expectRevert(f, () => f.m.market.connect(provider).claim(taskId), 'EnforcedPause', []);
      await mine(f.m.market.connect(f.admin).unpause());
    });
  });

  describe('claim and commit', () => {
    it('refuses unknown tasks, double claims and late claims', async () => {
      await expectRevert(f, () => f.m.market.connect(provider).claim(999n), 'MarketTaskUnknown', [999n]);
      const taskId = await createTask(f, requester);
      await mine(f.m.market.connect(provider).claim(taskId));
      await expectRevert(f, () => f.m.market.connect(challenger).claim(taskId), 'MarketWrongStatus', [taskId, Claimed, Open]);
      const deadline = (await now(f.provider)) + 100n;
      const late = await createTask(f, requester, { deadline });
      await increaseTime(f.provider, 41);
      await expectRevert(f, () => f.m.market.connect(provider).claim(late), 'MarketCommitPeriodTooShort', [late, deadline, any]);
      await increaseTime(f.provider, 60);
      await expectRevert(f, () => f.m.market.connect(provider).claim(late), 'MarketTaskExpired', [late, deadline]);
    });

    it('refuses providers without enough free stake', async () => {
      const taskId = await createTask(f, requester, { collateral: 10n * TOKEN });
      await expectRevert(f, () => f.m.market.connect(unstaked).claim(taskId), 'StakingInsufficientStake', [unstaked.address, 10n * TOKEN, 0n]);
      await expectRevert(f, () => f.m.market.connect(smallStaker).claim(taskId), 'StakingInsufficientStake', [smallStaker.address, 10n * TOKEN, MIN_STAKE - 1n]);
      const big = await createTask(f, requester, { collateral: 9_000n * TOKEN });
      const free = (await f.m.staking.stakeOf(provider.address)) - (await f.m.staking.lockedOf(provider.address));
      await expectRevert(f, () => f.m.market.connect(provider).claim(big), 'StakingInsufficientStake', [provider.address, 9_000n * TOKEN, free]);
    });

    it('refuses commits by others, before a claim, twice, late, or with zero roots', async () => {
      const open = await createTask(f, requester);
      await expectRevert(f, () => f.m.market.connect(provider).commit(open, root('o'), root('s'), '0x'), 'MarketWrongStatus', [open, Open, Claimed]);
      const deadline = (await now(f.provider)) + 1_000n;
      const taskId = await createTask(f, requester, { deadline });
      await mine(f.m.market.connect(provider).claim(taskId));
      await expectRevert(f, () => f.m.market.connect(challenger).commit(taskId, root('o'), root('s'), '0x'), 'MarketNotProvider', [taskId, challenger.address, provider.address]);
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, ZeroHash, root('s'), '0x'), 'MarketZeroRoot', ['outputRoot']);
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, root('o'), ZeroHash, '0x'), 'MarketZeroRoot', ['graphStateRoot']);
      // Finding 2: bytes that are not the committed root's are refused, whatever the roots.
      const out = output('o');
      const forged = output('forged');
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, out.root, root('s'), forged.bytes), 'MarketOutputRootMismatch', [taskId, out.root, forged.root]);
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, out.root, root('s'), '0x'), 'MarketOutputRootMismatch', [taskId, out.root, ZeroHash]);
      // Clients apply the same rule before they show any output bytes.
      expect(boundOutput(forged.bytes, out.root)).toBeNull();
      expect(boundOutput(out.bytes, out.root)).toBe(out.bytes);
      const oneLeaf = output('one', 10);
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, oneLeaf.root, root('s'), oneLeaf.bytes + '01'), 'MarketOutputRootMismatch', [taskId, oneLeaf.root, any]);
      await increaseTime(f.provider, 1_001);
      await expectRevert(f, () => f.m.market.connect(provider).commit(taskId, root('o'), root('s'), '0x'), 'MarketTaskExpired', [taskId, deadline]);
      const done = await committedTask(f, requester, provider);
      await expectRevert(f, () => f.m.market.connect(provider).commit(done, root('o'), root('s'), '0x'), 'MarketWrongStatus', [done, Committed, Claimed]);
    });
  });

  describe('challenges and games', () => {
    it('refuses challenges of uncommitted tasks, by the provider, by the unstaked, and after the window', async () => {
      const claimed = await createTask(f, requester);
      await mine(f.m.market.connect(provider).claim(claimed));
      await expectRevert(f, () => f.m.market.connect(challenger).challenge(claimed), 'MarketWrongStatus', [claimed, Claimed, Committed]);
      const taskId = await committedTask(f, requester, provider);
      await expectRevert(f, () => f.m.market.connect(provider).challenge(taskId), 'MarketSelfChallenge', [taskId, provider.address]);
      await expectRevert(f, () => f.m.market.connect(unstaked).challenge(taskId), 'MarketChallengerNotStaked', [unstaked.address]);
      await expectRevert(f, () => f.m.market.connect(smallStaker).challenge(taskId), 'MarketChallengerNotStaked', [smallStaker.address]);
      const windowEnd = (await f.m.market.getTask(taskId)).deadline;
      await increaseTime(f.provider, 600);
      await expectRevert(f, () => f.m.market.connect(challenger).challenge(taskId), 'MarketChallengeWindowClosed', [taskId, windowEnd]);
    });

    it('takes no task while no dispute factory is set: nobody could dispute it (finding 7)', async () => {
      const bare: TaskMarket = await new TaskMarket__factory(f.admin).deploy(await f.m.token.getAddress(), f.addresses.staking, await f.m.registry.getAddress(), f.admin.address, ZeroAddress, BOND);
      await bare.waitForDeployment();
      await mine(f.m.token.connect(requester).approve(await bare.getAddress(), 2n ** 256n - 1n));
      const r = await request(f);
      await expectRevert(f, () => bare.connect(requester).createTask(r), 'MarketNoDisputeFactory', []);
      expect(await bare.taskCount()).toBe(0n);
    });

    it('accepts outcomes only from the challenge\'s own game, once, and decided', async () => {
      const taskId = await committedTask(f, requester, provider);
      await mine(f.m.market.connect(challenger).challenge(taskId));
      await expectRevert(f, () => f.m.market.connect(challenger).resolveChallenge(taskId, 5n, GameOutcome.ChallengerWon), 'MarketChallengeUnknown', [taskId, 5n]);
      await expectRevert(f, () => f.m.market.connect(challenger).resolveChallenge(taskId, 0n, GameOutcome.ChallengerWon), 'MarketNotChallengeGame', [taskId, 0n, challenger.address, f.addresses.game]);
      await expectRevert(f, () => f.m.testGame!.decide(taskId, 0n, GameOutcome.Undecided), 'MarketUndecidedOutcome', [taskId, 0n]);
      await expectRevert(f, () => f.m.testGame!.decide(taskId, 1n, GameOutcome.ProviderWon), 'TestGameUnknown', [taskId, 1n]);
      const windowEnd = (await f.m.market.getTask(taskId)).deadline;
      await expectRevert(f, () => f.m.market.finalize(taskId), 'MarketChallengeWindowOpen', [taskId, windowEnd]);
      await increaseTime(f.provider, 600);
      await expectRevert(f, () => f.m.market.finalize(taskId), 'MarketGamesPending', [taskId, 1n]);
      await mine(f.m.testGame!.decide(taskId, 0n, GameOutcome.ProviderWon));
      await expectRevert(f, () => f.m.testGame!.decide(taskId, 0n, GameOutcome.ChallengerWon), 'MarketChallengeResolved', [taskId, 0n]);
      await expectRevert(f, () => f.m.testGame!.connect(challenger).createGame({ taskId, challengeIndex: 9n, provider: provider.address, challenger: challenger.address, modelId: 1n, inputRoot: root('i'), outputRoot: root('o'), graphStateRoot: root('s'), steps: 1n }), 'TestGameNotMarket', [challenger.address, f.addresses.market]);
    });
  });

  describe('finalize and expire', () => {
    it('refuses finalizing unknown, uncommitted or settled tasks', async () => {
      await expectRevert(f, () => f.m.market.finalize(999n), 'MarketTaskUnknown', [999n]);
      const claimed = await createTask(f, requester);
      await mine(f.m.market.connect(provider).claim(claimed));
      await expectRevert(f, () => f.m.market.finalize(claimed), 'MarketWrongStatus', [claimed, Claimed, Committed]);
      const taskId = await committedTask(f, requester, provider);
      await increaseTime(f.provider, 600);
      await mine(f.m.market.finalize(taskId));
      await expectRevert(f, () => f.m.market.finalize(taskId), 'MarketWrongStatus', [taskId, Finalized, Committed]);
    });

    it('refuses a finalize that would starve the consumer callback', async () => {
      const taskId = await committedTask(f, requester, provider, { consumer: f.modelOwner.address, callbackGasLimit: 1_000_000n });
      await increaseTime(f.provider, 600);
      await expectRevert(f, () => f.m.market.finalize.staticCall(taskId, { gasLimit: 300_000n }), 'MarketCallbackGasShort', [taskId, any, 1_000_000n + 1_000_000n / 63n + 10_000n]);
      await mine(f.m.market.finalize(taskId));
    });

    it('refuses expiring before the deadline, committed tasks, or twice', async () => {
      const deadline = (await now(f.provider)) + 1_000n;
      const taskId = await createTask(f, requester, { deadline });
      await expectRevert(f, () => f.m.market.expire(taskId), 'MarketDeadlineNotReached', [taskId, deadline]);
      await increaseTime(f.provider, 1_001);
      await mine(f.m.market.expire(taskId));
      await expectRevert(f, () => f.m.market.expire(taskId), 'MarketWrongStatus', [taskId, Expired, Claimed]);
      const committed = await committedTask(f, requester, provider);
      await expectRevert(f, () => f.m.market.expire(committed), 'MarketWrongStatus', [committed, Committed, Claimed]);
    });
  });

  describe('governance and views', () => {
    it('refuses bad parameters and callers without the role', async () => {
      const governor = await f.m.market.GOVERNOR_ROLE();
      await expectRevert(f, () => f.m.market.connect(f.admin).setChallengeBond(0n), 'MarketZeroAmount', ['challengeBond']);
      await expectRevert(f, () => f.m.market.connect(f.admin).setDisputeFactory(ZeroAddress), 'MarketZeroAddress', []);
      await expectRevert(f, () => f.m.market.connect(requester).setChallengeBond(1n), 'AccessControlUnauthorizedAccount', [requester.address, governor]);
      await expectRevert(f, () => f.m.market.connect(requester).pause(), 'AccessControlUnauthorizedAccount', [requester.address, await f.m.market.PAUSER_ROLE()]);
      await expectRevert(f, () => f.m.staking.connect(f.admin).setProtocolShareBps(10_001), 'StakingShareOutOfRange', [10_001n]);
      await expectRevert(f, () => f.m.staking.connect(f.admin).setUnbondingDelay(90 * 86_400 + 1), 'StakingDelayOutOfRange', [90n * DAY + 1n, 90n * DAY]);
      await expectRevert(f, () => f.m.staking.connect(f.admin).setTreasury(ZeroAddress), 'StakingZeroAddress', []);
      await expectRevert(f, () => f.m.staking.connect(requester).setMinStake(0n), 'AccessControlUnauthorizedAccount', [requester.address, await f.m.staking.GOVERNOR_ROLE()]);
      await expectRevert(f, () => f.m.token.connect(requester).mint(requester.address, 1n), 'AccessControlUnauthorizedAccount', [requester.address, await f.m.token.MINTER_ROLE()]);
    });

    it('names unknown tasks and challenges in views', async () => {
      await expectRevert(f, () => f.m.market.getTask(999n), 'MarketTaskUnknown', [999n]);
      await expectRevert(f, () => f.m.market.getChallenge(1n, 7n), 'MarketChallengeUnknown', [1n, 7n]);
    });

    it('refuses invalid deploy options before sending anything', async () => {
      const nonce = await f.provider.getTransactionCount(f.admin.address);
      await expect(deployMarket(f.admin, { protocolShareBps: 10_001 })).rejects.toBeInstanceOf(DeployMarketOptionsError);
      await expect(deployMarket(f.admin, { token: '0x1234' })).rejects.toThrow(/token: not a 20-byte hex address/);
      await expect(deployMarket(f.admin, { testDisputeGame: true, disputeFactory: f.addresses.game })).rejects.toThrow(/either disputeFactory or testDisputeGame/);
      await expect(deployMarket(f.admin, { challengeBond: 0n })).rejects.toThrow(/challengeBond: must be positive/);
      expect(await f.provider.getTransactionCount(f.admin.address)).toBe(nonce);
    });
  });

  describe('staking', () => {
    it('refuses zero and oversized amounts', async () => {
      await expectRevert(f, () => f.m.staking.connect(provider).stake(0n), 'StakingZeroAmount', []);
      await expectRevert(f, () => f.m.staking.connect(provider).requestUnbond(0n), 'StakingZeroAmount', []);
      await expectRevert(f, () => f.m.staking.connect(provider).stake(2n ** 96n), 'StakingAmountTooLarge', [2n ** 96n + (await f.m.staking.stakeOf(provider.address))]);
    });

    it('refuses unbonding locked stake, withdrawing early or with nothing unbonding', async () => {
      const staker = smallStaker;
      await mine(f.m.staking.connect(staker).stake(1n));
      const taskId = await createTask(f, requester, { collateral: 40n * TOKEN });
      await mine(f.m.market.connect(staker).claim(taskId));
      await expectRevert(f, () => f.m.staking.connect(staker).requestUnbond(70n * TOKEN), 'StakingInsufficientFreeStake', [staker.address, 70n * TOKEN, 60n * TOKEN]);
      await expectRevert(f, () => f.m.staking.connect(staker).withdraw(), 'StakingNothingUnbonding', [staker.address]);
      const r = await mine(f.m.staking.connect(staker).requestUnbond(10n * TOKEN));
      const readyAt = BigInt((await f.provider.getBlock(r.blockNumber))!.timestamp) + 86_400n;
      await expectRevert(f, () => f.m.staking.connect(staker).withdraw(), 'StakingUnbondingNotReady', [staker.address, readyAt, any]);
    });

    it('lets only the market lock, unlock and slash, within the locked amount', async () => {
      const [locker, slasher] = [await f.m.staking.LOCKER_ROLE(), await f.m.staking.SLASHER_ROLE()];
      await expectRevert(f, () => f.m.staking.connect(requester).lock(provider.address, 1n), 'AccessControlUnauthorizedAccount', [requester.address, locker]);
      await expectRevert(f, () => f.m.staking.connect(requester).unlock(provider.address, 1n), 'AccessControlUnauthorizedAccount', [requester.address, locker]);
      await expectRevert(f, () => f.m.staking.connect(requester).slash(provider.address, 1n, requester.address), 'AccessControlUnauthorizedAccount', [requester.address, slasher]);
      const gov = f.admin;
      await mine(f.m.staking.connect(gov).grantRole(locker, gov.address));
      await mine(f.m.staking.connect(gov).grantRole(slasher, gov.address));
      const locked = await f.m.staking.lockedOf(challenger.address);
      await expectRevert(f, () => f.m.staking.connect(gov).unlock(challenger.address, locked + 1n), 'StakingInsufficientLocked', [challenger.address, locked + 1n, locked]);
      await expectRevert(f, () => f.m.staking.connect(gov).slash(challenger.address, locked + 1n, gov.address), 'StakingInsufficientLocked', [challenger.address, locked + 1n, locked]);
      await expectRevert(f, () => f.m.staking.connect(gov).slash(challenger.address, 0n, ZeroAddress), 'StakingZeroAddress', []);
      await mine(f.m.staking.connect(gov).renounceRole(locker, gov.address));
      await mine(f.m.staking.connect(gov).renounceRole(slasher, gov.address));
    });
  });

  describe('registry', () => {
    const spec = { graphSpecHash: root('g'), weightsRoot: root('w'), vmImageRoot: root('v'), graphCid: 'g', weightsCid: 'w', vmImageCid: 'v', fee: 0n };

    it('refuses zero roots and empty CIDs', async () => {
      for (const field of ['graphSpecHash', 'weightsRoot', 'vmImageRoot'] as const) {
        await expectRevert(f, () => f.m.registry.connect(f.modelOwner).registerModel({ ...spec, [field]: ZeroHash }), 'RegistryZeroRoot', [field]);
      }
      for (const field of ['graphCid', 'weightsCid', 'vmImageCid'] as const) {
        await expectRevert(f, () => f.m.registry.connect(f.modelOwner).registerModel({ ...spec, [field]: '' }), 'RegistryEmptyCid', [field]);
      }
    });

    it('lets only the owner change a model, names unknown ids, and deactivates once', async () => {
      await expectRevert(f, () => f.m.registry.connect(requester).setModelFee(f.modelId, 0n), 'RegistryNotModelOwner', [f.modelId, requester.address, f.modelOwner.address]);
      await expectRevert(f, () => f.m.registry.connect(requester).deactivateModel(f.modelId), 'RegistryNotModelOwner', [f.modelId, requester.address, f.modelOwner.address]);
      await expectRevert(f, () => f.m.registry.modelRoots(999n), 'RegistryModelUnknown', [999n]);
      await expectRevert(f, () => f.m.registry.modelCids(999n), 'RegistryModelUnknown', [999n]);
      await expectRevert(f, () => f.m.registry.connect(f.modelOwner).setModelFee(999n, 1n), 'RegistryModelUnknown', [999n]);
      const r = await mine(f.m.registry.connect(f.modelOwner).registerModel(spec));
      const id = f.m.registry.interface.parseLog(r.logs[0]!)!.args.modelId as bigint;
      await mine(f.m.registry.connect(f.modelOwner).deactivateModel(id));
      await expectRevert(f, () => f.m.registry.connect(f.modelOwner).deactivateModel(id), 'RegistryModelInactive', [id]);
    });
  });
});
