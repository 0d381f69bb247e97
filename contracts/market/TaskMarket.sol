// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ITaskConsumer, TaskResult} from "../interfaces/ITaskConsumer.sol";
import {DisputeSubject, GameOutcome, IDisputeArbiter, IDisputeGameFactory} from "../interfaces/IDisputeGame.sol";
import {TensorRoot} from "./TensorRoot.sol";

/// @title The task market.
/// @notice Lifecycle: Open -> Claimed -> Committed -> Finalized | Refuted, or Open/Claimed -> Expired.
///         Funds it holds: bounty + model fee of every Open/Claimed/Committed task, and the bond of every
///         pending challenge. Collateral stays in Staking, locked.
///
///         Several challenges of one task each get their own game. The first game a challenger wins refutes
///         the task (provider slashed once, requester refunded); games still pending then settle only their
///         own bond. A provider therefore cannot shield a wrong result with a colluding challenger: the sham
///         game only costs the colluder its bond, and every other game keeps the task from finalizing until
///         it is over.
contract TaskMarket is ITaskMarket, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 public constant MIN_CHALLENGE_WINDOW = 60;
    /// @notice The least time a provider has between its claim and the deadline: a requester cannot set a
    ///         deadline that makes a claim a trap for the collateral (docs/security.md, finding 3).
    uint256 public constant MIN_COMMIT_PERIOD = 60;
    uint256 public constant MAX_CHALLENGE_WINDOW = 30 days;
    uint256 public constant MAX_CALLBACK_GAS = 1_000_000;
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
        _token.safeTransfer(requester, refund);
        if (slashed == 0) return;
        // The requester waited in vain and is compensated, but by no more than the bounty it offered: a
        // no-show must never pay a requester more than serving would have cost it (finding 3).
        uint256 share = _staking.slash(provider, slashed, address(this));
        uint256 compensation = share < bounty ? share : bounty;
        _token.safeTransfer(requester, compensation);
        if (share > compensation) _token.safeTransfer(_staking.treasury(), share - compensation);
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
        _token.safeTransfer(provider, bounty);
        if (fee > 0) {
            (address modelOwner,,) = _registry.modelTerms(t.modelId);
            _token.safeTransfer(modelOwner, fee);
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
        (IDisputeGameFactory factory, uint96 bond) = (IDisputeGameFactory(_disputeFactory), _challengeBond);
        if (address(factory) == address(0)) revert MarketNoDisputeFactory();
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
        c.bond = bond;
        c.status = ChallengeStatus.Pending;
        _token.safeTransferFrom(msg.sender, address(this), bond);
        address game = factory.createGame(
            DisputeSubject({
                taskId: taskId,
                challengeIndex: challengeIndex,
                provider: provider,
                challenger: msg.sender,
                modelId: t.modelId,
                inputRoot: t.inputRoot,
                outputRoot: t.outputRoot,
                graphStateRoot: t.graphStateRoot
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
        unchecked {
            // Safe: this challenge was pending, so pendingGames >= 1.
            t.pendingGames -= 1;
        }
        (address challenger, uint256 bond) = (c.challenger, c.bond);
        // Games open only on Committed tasks, which leave that status only by refutation while games are
        // pending (finalize needs none): so the task is Committed or Refuted here.
        bool stillCommitted = t.status == TaskStatus.Committed;
        if (outcome == GameOutcome.ChallengerWon) {
            _setChallengeStatus(taskId, challengeIndex, c, ChallengeStatus.ChallengerWon);
            if (stillCommitted) _refute(taskId, challengeIndex, t, challenger);
            _token.safeTransfer(challenger, bond);
        } else {
            _setChallengeStatus(taskId, challengeIndex, c, ChallengeStatus.ProviderWon);
            // A provider already proven wrong earns nothing from other games: the whole bond goes to the treasury.
            _forfeitBond(bond, stillCommitted ? t.provider : address(0));
        }
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

    // ---- internals ----

    function _createTask(TaskRequest calldata r) private returns (uint256 taskId) {
        if (r.bounty == 0) revert MarketZeroAmount("bounty");
        if (r.collateral == 0) revert MarketZeroAmount("collateral");
        if (r.inputRoot == bytes32(0)) revert MarketZeroRoot("inputRoot");
        if (r.deadline < block.timestamp + MIN_COMMIT_PERIOD) revert MarketDeadlineTooSoon(r.deadline, block.timestamp + MIN_COMMIT_PERIOD);
        // A task nobody could dispute must not be accepted (finding 7).
        if (_disputeFactory == address(0)) revert MarketNoDisputeFactory();
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
        t.inputRoot = r.inputRoot;
        _setStatus(t, TaskStatus.Open);
        _emitTaskCreated(taskId, r, fee);
        _token.safeTransferFrom(msg.sender, address(this), uint256(r.bounty) + fee);
    }

    /// @dev Its own frame: eleven event fields do not fit beside `_createTask`'s locals on the stack.
    function _emitTaskCreated(uint256 taskId, TaskRequest calldata r, uint256 fee) private {
        emit TaskCreated(
            taskId, msg.sender, r.modelId, r.inputRoot, r.inputCid, r.bounty, fee, r.deadline, r.collateral, r.challengeWindow, r.consumer
        );
    }

    function _refute(uint256 taskId, uint256 challengeIndex, Task storage t, address challenger) private {
        (address requester, address provider, uint256 collateral) = (t.requester, t.provider, t.collateral);
        uint256 refund = uint256(t.bounty) + t.fee;
        _setStatus(t, TaskStatus.Refuted);
        emit TaskRefuted(taskId, challengeIndex, collateral);
        _staking.slash(provider, collateral, challenger);
        _token.safeTransfer(requester, refund);
    }

    /// @dev Splits a lost bond between `provider` and the treasury by the staking's protocol share;
    ///      `provider` zero sends it all to the treasury.
    function _forfeitBond(uint256 bond, address provider) private {
        address treasury = _staking.treasury();
        uint256 providerShare = provider == address(0) ? 0 : bond - (bond * _staking.protocolShareBps()) / 10_000;
        if (providerShare > 0) _token.safeTransfer(provider, providerShare);
        if (bond > providerShare) _token.safeTransfer(treasury, bond - providerShare);
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
