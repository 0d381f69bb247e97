// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskConsumer, TaskResult} from "../interfaces/ITaskConsumer.sol";

/// @title An example consumer: keeps the final results that meet its security policy, per task.
/// @notice Deploy with the market's address and a policy, and name this contract as a task's
///         `consumer`; once the task is finalized the market calls `onTaskResult`. Only the market may
///         deliver, but anyone can create a task that names this consumer, with a one-minute window,
///         1 wei of collateral and their own provider: the policy decides which results are worth
///         keeping (docs/security.md, finding 5). A result outside it is not stored and
///         `ResultRejected` says why; it never blocks the provider's payment.
contract ResultConsumer is ITaskConsumer {
    struct Result {
        uint32 modelId;
        uint64 receivedAt;
        bytes32 inputRoot;
        bytes32 outputRoot;
        address provider;
        uint256 collateral;
    }

    /// @notice What a result must have had at stake to be kept.
    struct Policy {
        /// @notice The shortest challenge window accepted, in seconds.
        uint256 minChallengeWindow;
        /// @notice The least collateral the provider must have risked.
        uint256 minCollateral;
        /// @notice When non-zero, the only requester whose tasks are accepted (this consumer's user).
        address requester;
    }

    /// @notice Why a delivered result was not stored.
    enum Rejection {
        ModelNotAllowed,
        WindowTooShort,
        CollateralTooLow,
        OtherRequester
    }

    /// @notice Someone other than the market tried to deliver a result.
    error ResultConsumerNotMarket(address caller, address market);
    /// @notice The market address given at deployment is zero.
    error ResultConsumerZeroMarket();
    /// @notice No model was allowed at deployment.
    error ResultConsumerNoModels();

    /// @notice A final result was stored.
    event ResultStored(uint256 indexed taskId, uint32 indexed modelId, bytes32 inputRoot, bytes32 outputRoot);
    /// @notice A final result fell outside the policy and was not stored.
    event ResultRejected(uint256 indexed taskId, Rejection reason);

    /// @notice The only caller `onTaskResult` accepts.
    address public immutable market;
    uint256 public immutable minChallengeWindow;
    uint256 public immutable minCollateral;
    /// @notice Zero: any requester.
    address public immutable requester;

    mapping(uint32 modelId => bool) public modelAllowed;
    mapping(uint256 taskId => Result) private _results;
    uint256 private _resultCount;

    constructor(address market_, Policy memory policy, uint32[] memory models) {
        if (market_ == address(0)) revert ResultConsumerZeroMarket();
        if (models.length == 0) revert ResultConsumerNoModels();
        market = market_;
        minChallengeWindow = policy.minChallengeWindow;
        minCollateral = policy.minCollateral;
        requester = policy.requester;
        for (uint256 i = 0; i < models.length; ++i) modelAllowed[models[i]] = true;
    }

    /// @inheritdoc ITaskConsumer
    function onTaskResult(TaskResult calldata r) external {
        if (msg.sender != market) revert ResultConsumerNotMarket(msg.sender, market);
        if (!modelAllowed[r.modelId]) return _reject(r.taskId, Rejection.ModelNotAllowed);
        if (r.challengeWindow < minChallengeWindow) return _reject(r.taskId, Rejection.WindowTooShort);
        if (r.collateral < minCollateral) return _reject(r.taskId, Rejection.CollateralTooLow);
        if (requester != address(0) && r.requester != requester) return _reject(r.taskId, Rejection.OtherRequester);
        _results[r.taskId] = Result({
            modelId: r.modelId,
            receivedAt: uint64(block.timestamp),
            inputRoot: r.inputRoot,
            outputRoot: r.outputRoot,
            provider: r.provider,
            collateral: r.collateral
        });
        _resultCount += 1;
        emit ResultStored(r.taskId, r.modelId, r.inputRoot, r.outputRoot);
    }

    /// @notice The stored result of `taskId`; `receivedAt` is zero when none was kept.
    function resultOf(uint256 taskId) external view returns (Result memory) {
        return _results[taskId];
    }

    /// @notice How many results were kept.
    function resultCount() external view returns (uint256) {
        return _resultCount;
    }

    function _reject(uint256 taskId, Rejection reason) private {
        emit ResultRejected(taskId, reason);
    }
}
