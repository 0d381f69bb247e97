// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ITaskConsumer, TaskResult} from "../interfaces/ITaskConsumer.sol";
import {DisputeSubject, GameOutcome, IDisputeArbiter, IDisputeGameFactory} from "../interfaces/IDisputeGame.sol";
import {TensorRoot} from "./TensorRoot.sol";
import {Branchless} from "../utils/Branchless.sol";

/// @title The task market.
/// @notice Lifecycle: Open -> Claimed -> Committed -> Finalized | Refuted, or Open/Claimed -> Expired.
///         Funds it holds: bounty + model fee of every Open/Claimed/Committed task, the bond of every
///         pending challenge, the unpaid part of every refuted task's slash, and every credit not yet
///         withdrawn. Collateral stays in Staking, locked.
///
///         Several challenges of one task each get their own game, at most MAX_PENDING_GAMES at once. The
///         first game a challenger wins refutes the task: the provider is slashed once and the requester
///         refunded. Every winning challenger, first or not, earns the same reward, the slash's challenger
///         share divided by MAX_PENDING_GAMES; what no winner takes goes to the treasury once the last game
///         is over. So the order in which games end, which the defender controls, decides nothing: a cheater
///         that answers an honest game with a quick loss to its own sock-puppet takes back one reward, not
///         the honest challenger's (docs/security.md, finding 1).
///
///         Payments are credited, then withdrawn (`withdraw`), except a requester's refund on expiry: a
///         token transfer that reverts for one party must never stop a game's end or a settlement.
contract TaskMarket is ITaskMarket, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice The most steps a task may run: a generation of 8,191 tokens after a 1-token prompt (docs/dnn-spec.md section 10).
    uint256 public constant MAX_STEPS = 8192;
    uint256 public constant MIN_CHALLENGE_WINDOW = 60;
    /// @notice The least time a provider has between its claim and the deadline: a requester cannot set a
    ///         deadline that makes a claim a trap for the collateral (docs/security.md, finding 3).
    uint256 public constant MIN_COMMIT_PERIOD = 60;
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    uint256 public constant MAX_CALLBACK_GAS = 1_000_000;
    /// @notice The most games one task may have pending at once. It bounds what a defender must play in
    ///         parallel, and the number of winners a refuted task's slash is divided among.
    uint256 public constant MAX_PENDING_GAMES = 4;
    /// @notice The part of the task's bounty plus collateral a challenger adds to the bond floor: what
    ///         a challenge holds up (bps). See `challengeBondOf`.
    uint256 public constant BOND_RISK_BPS = 500;
    uint256 private constant BPS = 10_000;
    /// @dev Gas finalize needs after the callback returns (event, return), on top of the 1/64 the EVM keeps back.
    uint256 private constant CALLBACK_RESERVE = 10_000;

    IERC20 private immutable _token;
    IStaking private immutable _staking;
    IModelRegistry private immutable _registry;

    address private _disputeFactory;
    uint96 private _challengeBond;
    uint256 private _taskCount;
    mapping(uint256 => Task) private _tasks;
    mapping(uint256 => mapping(uint256 => Challenge)) private _challenges;
    /// @dev What each account was ever credited and has withdrawn; it may withdraw the difference.
    mapping(address => CreditAccount) private _credits;
    /// @dev Per refuted task: each winner's reward and what of the challengers' share is still unpaid.
    mapping(uint256 => SlashPool) private _slashPools;

    /// @dev Two running totals instead of one balance: the slot never returns to zero after an account's
    ///      first credit, so a later credit (every finalize) rewrites a non-zero slot (5k gas, not 20k).
    ///      uint128 holds 2^32 payments of the largest uint96 amount.
    struct CreditAccount {
        uint128 credited;
        uint128 withdrawn;
    }

    struct SlashPool {
        uint128 reward;
        uint128 left;
    }

    constructor(IERC20 token_, IStaking staking_, IModelRegistry registry_, address admin, address disputeFactory_, uint96 challengeBond_) {
        if (address(token_) == address(0) || address(staking_) == address(0) || address(registry_) == address(0) || admin == address(0)) {
            revert MarketZeroAddress();
        }
        _token = token_;
        _staking = staking_;
        _registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _setDisputeFactory(disputeFactory_);
        _setChallengeBond(challengeBond_);
    }

    // ---- requester ----

    /// @inheritdoc ITaskMarket
    function createTask(TaskRequest calldata request) external nonReentrant whenNotPaused returns (uint256) {
        return _createTask(request);
    }

    /// @inheritdoc ITaskMarket
    function createTaskWithPermit(TaskRequest calldata request, uint256 permitValue, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        whenNotPaused
        returns (uint256)
    {
        // Anyone who sees the permit in the mempool can submit it first; the allowance is then already
        // there, so a failed permit is ignored and the transfer below decides.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), permitValue, permitDeadline, v, r, s) {} catch {}
        return _createTask(request);
    }

    /// @inheritdoc ITaskMarket
    function expire(uint256 taskId) external nonReentrant {
        Task storage t = _tasks[taskId];
        TaskStatus status = t.status;
        if (status != TaskStatus.Open && status != TaskStatus.Claimed) _revertWrongStatus(taskId, status, TaskStatus.Claimed);
        if (block.timestamp <= t.deadline) revert MarketDeadlineNotReached(taskId, t.deadline);
        address requester = t.requester;
        address provider = t.provider;
        uint256 bounty = t.bounty;
        uint256 refund = bounty + t.fee;
        uint256 slashed = status == TaskStatus.Claimed ? t.collateral : 0;
        _setStatus(t, TaskStatus.Expired);
        emit TaskExpired(taskId, provider, refund, slashed);
        if (slashed != 0) {
            // The requester waited in vain and is compensated, but by no more than the bounty it offered: a
            // no-show must never pay a requester more than serving would have cost it (finding 3).
            uint256 share = _staking.slash(provider, slashed, address(this));
            uint256 compensation = share < bounty ? share : bounty;
            refund += compensation;
            if (share > compensation) _credit(_staking.treasury(), taskId, share - compensation);
        }
        // The one push payment: only the requester's own money, so a transfer that reverts harms nobody else.
        _token.safeTransfer(requester, refund);
    }

    // ---- provider ----

    /// @inheritdoc ITaskMarket
    function claim(uint256 taskId) external nonReentrant whenNotPaused {
        Task storage t = _tasks[taskId];
        _requireStatus(taskId, t.status, TaskStatus.Open);
        uint256 deadline = t.deadline;
        if (block.timestamp > deadline) revert MarketTaskExpired(taskId, deadline);
        if (block.timestamp + MIN_COMMIT_PERIOD > deadline) revert MarketCommitPeriodTooShort(taskId, deadline, block.timestamp + MIN_COMMIT_PERIOD);
        t.provider = msg.sender;
        _setStatus(t, TaskStatus.Claimed);
        emit TaskClaimed(taskId, msg.sender);
        _staking.lock(msg.sender, t.collateral);
    }

    /// @inheritdoc ITaskMarket
    function commit(uint256 taskId, bytes32 outputRoot, bytes32 graphStateRoot, bytes calldata output) external {
        Task storage t = _tasks[taskId];
        _requireStatus(taskId, t.status, TaskStatus.Claimed);
        if (msg.sender != t.provider) revert MarketNotProvider(taskId, msg.sender, t.provider);
        if (block.timestamp > t.deadline) revert MarketTaskExpired(taskId, t.deadline);
        if (outputRoot == bytes32(0)) revert MarketZeroRoot("outputRoot");
        if (graphStateRoot == bytes32(0)) revert MarketZeroRoot("graphStateRoot");
        // Users read the answer from these bytes, challengers check the root: they must be one thing (finding 2).
        bytes32 bytesRoot = TensorRoot.compute(output);
        if (bytesRoot != outputRoot) revert MarketOutputRootMismatch(taskId, outputRoot, bytesRoot);
        t.outputRoot = outputRoot;
        t.graphStateRoot = graphStateRoot;
        uint40 windowEnd = uint40(block.timestamp + t.challengeWindow);
        t.deadline = windowEnd;
        _setStatus(t, TaskStatus.Committed);
        emit TaskCommitted(taskId, outputRoot, graphStateRoot, output, windowEnd);
    }

    /// @inheritdoc ITaskMarket
    function finalize(uint256 taskId) external nonReentrant {
        Task storage t = _tasks[taskId];
        _requireStatus(taskId, t.status, TaskStatus.Committed);
        if (block.timestamp < t.deadline) revert MarketChallengeWindowOpen(taskId, t.deadline);
        if (t.pendingGames != 0) revert MarketGamesPending(taskId, t.pendingGames);
        (address provider, uint256 collateral, uint256 bounty, uint256 fee) = (t.provider, t.collateral, t.bounty, t.fee);
        _setStatus(t, TaskStatus.Finalized);
        emit TaskFinalized(taskId, provider, bounty, fee);
        _staking.unlock(provider, collateral);
        _credit(provider, taskId, bounty);
        if (fee > 0) {
            (address modelOwner,,) = _registry.modelTerms(t.modelId);
            _credit(modelOwner, taskId, fee);
        }
        address consumer = t.consumer;
        if (consumer != address(0)) _callConsumer(taskId, t, consumer);
    }

    // ---- challengers and games ----

    /// @inheritdoc ITaskMarket
    function challenge(uint256 taskId) external nonReentrant returns (uint256 challengeIndex) {
        Task storage t = _tasks[taskId];
        _requireStatus(taskId, t.status, TaskStatus.Committed);
        if (block.timestamp >= t.deadline) revert MarketChallengeWindowClosed(taskId, t.deadline);
        address provider = t.provider;
        if (msg.sender == provider) revert MarketSelfChallenge(taskId, provider);
        if (!_staking.isStaked(msg.sender)) revert MarketChallengerNotStaked(msg.sender);
        IDisputeGameFactory factory = IDisputeGameFactory(_disputeFactory);
        if (address(factory) == address(0)) revert MarketNoDisputeFactory();
        if (t.pendingGames >= MAX_PENDING_GAMES) revert MarketGamesFull(taskId, MAX_PENDING_GAMES);
        uint256 bond = _bondOf(t);
        challengeIndex = t.challengeCount;
        if (challengeIndex == type(uint16).max) revert MarketTooManyChallenges(taskId);

        Challenge storage c = _challenges[taskId][challengeIndex];
        // Recorded before the factory call so a misbehaving factory sees consistent state.
        unchecked {
            // Safe: challengeIndex < 2^16 - 1 and pendingGames <= challengeCount.
            t.challengeCount = uint16(challengeIndex + 1);
            t.pendingGames += 1;
        }
        c.challenger = msg.sender;
        c.bond = SafeCast.toUint96(bond);
        c.status = ChallengeStatus.Pending;
        _pull(msg.sender, bond);
        address game = factory.createGame(
            DisputeSubject({
                taskId: taskId,
                challengeIndex: challengeIndex,
                provider: provider,
                challenger: msg.sender,
                modelId: t.modelId,
                inputRoot: t.inputRoot,
                outputRoot: t.outputRoot,
                graphStateRoot: t.graphStateRoot,
                steps: t.steps
            })
        );
        if (game == address(0)) revert MarketNoGameCreated(taskId, challengeIndex);
        c.game = game;
        emit TaskChallenged(taskId, challengeIndex, msg.sender, game, bond);
    }

    /// @inheritdoc IDisputeArbiter
    function resolveChallenge(uint256 taskId, uint256 challengeIndex, GameOutcome outcome) external nonReentrant {
        Challenge storage c = _challenges[taskId][challengeIndex];
        ChallengeStatus cs = c.status;
        if (cs == ChallengeStatus.None) revert MarketChallengeUnknown(taskId, challengeIndex);
        if (msg.sender != c.game) revert MarketNotChallengeGame(taskId, challengeIndex, msg.sender, c.game);
        if (cs != ChallengeStatus.Pending) revert MarketChallengeResolved(taskId, challengeIndex);
        if (outcome == GameOutcome.Undecided) revert MarketUndecidedOutcome(taskId, challengeIndex);

        Task storage t = _tasks[taskId];
        uint256 pending = t.pendingGames;
        unchecked {
            // Safe: this challenge was pending, so pendingGames >= 1.
            t.pendingGames = uint16(pending - 1);
        }
        (address challenger, uint256 bond) = (c.challenger, c.bond);
        // Games open only on Committed tasks, which leave that status only by refutation while games are
        // pending (finalize needs none): so the task is Committed or Refuted here.
        bool stillCommitted = t.status == TaskStatus.Committed;
        if (outcome == GameOutcome.ChallengerWon) {
            _setChallengeStatus(taskId, challengeIndex, c, ChallengeStatus.ChallengerWon);
            if (stillCommitted) _refute(taskId, challengeIndex, t);
            // Every winner earns the same, first or last (finding 1): at most MAX_PENDING_GAMES games were
            // pending when the task was refuted, and none can open after, so the pool always covers it.
            SlashPool storage pool = _slashPools[taskId];
            uint128 reward = pool.reward;
            unchecked {
                // Safe: reward * MAX_PENDING_GAMES <= the pool's start, and at most that many winners.
                pool.left -= reward;
            }
            emit ChallengeRewarded(taskId, challengeIndex, challenger, reward);
            _credit(challenger, taskId, bond + reward);
        } else {
            _setChallengeStatus(taskId, challengeIndex, c, ChallengeStatus.ProviderWon);
            // A provider already proven wrong earns nothing from other games: the whole bond goes to the treasury.
            _forfeitBond(taskId, bond, stillCommitted ? t.provider : address(0));
            // While every slot was taken, nobody else could challenge: whoever was shut out gets a whole window
            // from now (finding 4). The time enters without a branch, so the move's gas estimate holds later.
            if (stillCommitted && pending == MAX_PENDING_GAMES) {
                uint40 windowEnd = uint40(Branchless.max(t.deadline, block.timestamp + t.challengeWindow));
                t.deadline = windowEnd;
                emit ChallengeWindowExtended(taskId, windowEnd);
            }
        }
        if (pending == 1 && t.status == TaskStatus.Refuted) _closeSlashPool(taskId);
    }

    // ---- everyone ----

    /// @inheritdoc ITaskMarket
    function withdraw(address to) external nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert MarketZeroAddress();
        CreditAccount storage a = _credits[msg.sender];
        (uint128 credited, uint128 withdrawn) = (a.credited, a.withdrawn);
        amount = credited - withdrawn;
        if (amount == 0) revert MarketNothingToWithdraw(msg.sender);
        a.withdrawn = credited;
        emit CreditWithdrawn(msg.sender, to, amount);
        _token.safeTransfer(to, amount);
    }

    // ---- governance ----

    /// @inheritdoc ITaskMarket
    function setChallengeBond(uint96 bond) external onlyRole(GOVERNOR_ROLE) {
        _setChallengeBond(bond);
    }

    /// @inheritdoc ITaskMarket
    function setDisputeFactory(address factory) external onlyRole(GOVERNOR_ROLE) {
        if (factory == address(0)) revert MarketZeroAddress();
        _setDisputeFactory(factory);
    }

    /// @inheritdoc ITaskMarket
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc ITaskMarket
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---- views ----

    /// @inheritdoc ITaskMarket
    function getTask(uint256 taskId) external view returns (Task memory task) {
        task = _tasks[taskId];
        if (task.status == TaskStatus.None) revert MarketTaskUnknown(taskId);
    }

    /// @inheritdoc ITaskMarket
    function getChallenge(uint256 taskId, uint256 challengeIndex) external view returns (Challenge memory c) {
        c = _challenges[taskId][challengeIndex];
        if (c.status == ChallengeStatus.None) revert MarketChallengeUnknown(taskId, challengeIndex);
    }

    /// @inheritdoc ITaskMarket
    function taskCount() external view returns (uint256) {
        return _taskCount;
    }

    /// @inheritdoc ITaskMarket
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc ITaskMarket
    function staking() external view returns (address) {
        return address(_staking);
    }

    /// @inheritdoc ITaskMarket
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc ITaskMarket
    function disputeFactory() external view returns (address) {
        return _disputeFactory;
    }

    /// @inheritdoc ITaskMarket
    function challengeBond() external view returns (uint96) {
        return _challengeBond;
    }

    /// @inheritdoc ITaskMarket
    function challengeBondOf(uint256 taskId) external view returns (uint256) {
        Task storage t = _tasks[taskId];
        if (t.status == TaskStatus.None) revert MarketTaskUnknown(taskId);
        return _bondOf(t);
    }

    /// @inheritdoc ITaskMarket
    function creditOf(address account) external view returns (uint256) {
        CreditAccount storage a = _credits[account];
        return a.credited - a.withdrawn;
    }

    /// @inheritdoc ITaskMarket
    function creditTotalsOf(address account) external view returns (uint256 credited, uint256 withdrawn) {
        CreditAccount storage a = _credits[account];
        return (a.credited, a.withdrawn);
    }

    /// @inheritdoc ITaskMarket
    function slashPoolOf(uint256 taskId) external view returns (uint256 reward, uint256 left) {
        SlashPool storage pool = _slashPools[taskId];
        return (pool.reward, pool.left);
    }

    // ---- internals ----

    function _createTask(TaskRequest calldata r) private returns (uint256 taskId) {
        if (r.bounty == 0) revert MarketZeroAmount("bounty");
        if (r.collateral == 0) revert MarketZeroAmount("collateral");
        if (r.inputRoot == bytes32(0)) revert MarketZeroRoot("inputRoot");
        if (r.deadline < block.timestamp + MIN_COMMIT_PERIOD) revert MarketDeadlineTooSoon(r.deadline, block.timestamp + MIN_COMMIT_PERIOD);
        // A task nobody could dispute must not be accepted (finding 7).
        if (_disputeFactory == address(0)) revert MarketNoDisputeFactory();
        if (r.steps == 0 || r.steps > MAX_STEPS) revert MarketStepsOutOfRange(r.steps, MAX_STEPS);
        if (r.challengeWindow < MIN_CHALLENGE_WINDOW || r.challengeWindow > MAX_CHALLENGE_WINDOW) {
            revert MarketChallengeWindowOutOfRange(r.challengeWindow, MIN_CHALLENGE_WINDOW, MAX_CHALLENGE_WINDOW);
        }
        // A gas limit without a consumer, or a consumer given no gas, is a mistake worth refusing.
        if (r.callbackGasLimit > MAX_CALLBACK_GAS || (r.consumer == address(0)) != (r.callbackGasLimit == 0)) {
            revert MarketCallbackGasOutOfRange(r.callbackGasLimit, MAX_CALLBACK_GAS);
        }
        (address owner, uint88 fee, bool active) = _registry.modelTerms(r.modelId);
        if (owner == address(0)) revert MarketModelUnknown(r.modelId);
        if (!active) revert MarketModelInactive(r.modelId);
        if (fee > r.maxModelFee) revert MarketModelFeeTooHigh(r.modelId, fee, r.maxModelFee);

        unchecked {
            // Safe: one id per transaction never reaches 2^256.
            taskId = ++_taskCount;
        }
        Task storage t = _tasks[taskId];
        t.requester = msg.sender;
        t.bounty = r.bounty;
        t.collateral = r.collateral;
        if (r.consumer != address(0)) t.consumer = r.consumer;
        t.fee = fee;
        t.modelId = r.modelId;
        t.deadline = r.deadline;
        t.challengeWindow = r.challengeWindow;
        t.callbackGasLimit = r.callbackGasLimit;
        t.steps = r.steps;
        t.inputRoot = r.inputRoot;
        _setStatus(t, TaskStatus.Open);
        _emitTaskCreated(taskId, r, fee);
        _pull(msg.sender, uint256(r.bounty) + fee);
    }

    /// @dev Its own frame: twelve event fields do not fit beside `_createTask`'s locals on the stack.
    function _emitTaskCreated(uint256 taskId, TaskRequest calldata r, uint256 fee) private {
        emit TaskCreated(
            taskId, msg.sender, r.modelId, r.inputRoot, r.inputCid, r.bounty, fee, r.deadline, r.collateral, r.challengeWindow, r.consumer, r.steps
        );
    }

    /// @dev Slashes the whole collateral into the task's pool, from which every winning game is paid the
    ///      same reward, and credits the requester's refund.
    function _refute(uint256 taskId, uint256 challengeIndex, Task storage t) private {
        (address requester, address provider, uint256 collateral) = (t.requester, t.provider, t.collateral);
        uint256 refund = uint256(t.bounty) + t.fee;
        _setStatus(t, TaskStatus.Refuted);
        emit TaskRefuted(taskId, challengeIndex, collateral);
        uint256 share = _staking.slash(provider, collateral, address(this));
        // Safe casts: the collateral is a uint96.
        _slashPools[taskId] = SlashPool({reward: uint128(share / MAX_PENDING_GAMES), left: uint128(share)});
        // Credited, not sent: a requester whose transfer reverts must not stop the game from ending.
        _credit(requester, taskId, refund);
    }

    /// @dev Once the last game of a refuted task is over, what no winner took (and the rounding) is the treasury's.
    function _closeSlashPool(uint256 taskId) private {
        SlashPool storage pool = _slashPools[taskId];
        uint256 left = pool.left;
        if (left == 0) return;
        pool.left = 0;
        _credit(_staking.treasury(), taskId, left);
    }

    /// @dev Splits a lost bond between `provider` and the treasury by the staking's protocol share;
    ///      `provider` zero sends it all to the treasury.
    function _forfeitBond(uint256 taskId, uint256 bond, address provider) private {
        uint256 providerShare = provider == address(0) ? 0 : bond - (bond * _staking.protocolShareBps()) / BPS;
        if (providerShare > 0) _credit(provider, taskId, providerShare);
        if (bond > providerShare) _credit(_staking.treasury(), taskId, bond - providerShare);
    }

    /// @dev The bond a challenge of `t` takes: the floor, which covers the defender's gas in a whole game,
    ///      plus BOND_RISK_BPS of what the challenge holds up, so that delaying a large task costs in proportion.
    function _bondOf(Task storage t) private view returns (uint256) {
        return uint256(_challengeBond) + ((uint256(t.bounty) + t.collateral) * BOND_RISK_BPS) / BPS;
    }

    function _credit(address account, uint256 taskId, uint256 amount) private {
        CreditAccount storage a = _credits[account];
        a.credited = SafeCast.toUint128(a.credited + amount);
        emit Credited(account, taskId, amount);
    }

    /// @dev Takes `amount` from `from` and refuses a token that delivers less: the escrow's accounting
    ///      assumes every unit it is owed arrived (fee-on-transfer tokens, docs/security.md finding 6).
    function _pull(address from, uint256 amount) private {
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(from, address(this), amount);
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert MarketTokenShortDelivery(amount, received);
    }

    /// @dev The callback gets exactly `callbackGasLimit` or finalize reverts: otherwise a caller could
    ///      starve it on purpose. Return data is never copied, so a consumer cannot bomb it.
    function _callConsumer(uint256 taskId, Task storage t, address consumer) private {
        uint256 gasLimit = t.callbackGasLimit;
        bytes memory data = abi.encodeCall(ITaskConsumer.onTaskResult, (_resultOf(taskId, t)));
        uint256 needed = gasLimit + gasLimit / 63 + CALLBACK_RESERVE;
        if (gasleft() < needed) revert MarketCallbackGasShort(taskId, gasleft(), needed);
        bool success;
        assembly ("memory-safe") {
            success := call(gasLimit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
        emit ConsumerCalled(taskId, consumer, success);
    }

    /// @dev Its own frame: the nine fields do not fit beside `_callConsumer`'s locals on the stack.
    function _resultOf(uint256 taskId, Task storage t) private view returns (TaskResult memory) {
        return TaskResult({
            taskId: taskId,
            modelId: t.modelId,
            inputRoot: t.inputRoot,
            outputRoot: t.outputRoot,
            requester: t.requester,
            provider: t.provider,
            bounty: t.bounty,
            collateral: t.collateral,
            challengeWindow: t.challengeWindow
        });
    }

    function _setStatus(Task storage t, TaskStatus status) private {
        t.status = status;
    }

    function _setChallengeStatus(uint256 taskId, uint256 challengeIndex, Challenge storage c, ChallengeStatus status) private {
        c.status = status;
        emit ChallengeResolved(taskId, challengeIndex, status);
    }

    function _setChallengeBond(uint96 bond) private {
        if (bond == 0) revert MarketZeroAmount("challengeBond");
        _challengeBond = bond;
        emit ChallengeBondSet(bond);
    }

    function _setDisputeFactory(address factory) private {
        _disputeFactory = factory;
        emit DisputeFactorySet(factory);
    }

    function _requireStatus(uint256 taskId, TaskStatus status, TaskStatus expected) private pure {
        if (status != expected) _revertWrongStatus(taskId, status, expected);
    }

    function _revertWrongStatus(uint256 taskId, TaskStatus status, TaskStatus expected) private pure {
        if (status == TaskStatus.None) revert MarketTaskUnknown(taskId);
        revert MarketWrongStatus(taskId, status, expected);
    }
}
