// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskConsumer} from "../interfaces/ITaskConsumer.sol";

/// @title An example consumer: keeps every final result the market delivers, per task.
/// @notice Deploy with the market's address and name this contract as a task's `consumer`; once the
///         task is finalized the market calls `onTaskResult` and the result is readable here. Only the
///         market may deliver, so a stored result is one the challenge window let stand.
contract ResultConsumer is ITaskConsumer {
    struct Result {
        uint32 modelId;
        uint64 receivedAt;
        bytes32 inputRoot;
        bytes32 outputRoot;
    }

    /// @notice Someone other than the market tried to deliver a result.
    error ResultConsumerNotMarket(address caller, address market);
    /// @notice The market address given at deployment is zero.
    error ResultConsumerZeroMarket();

    /// @notice A final result was stored.
    event ResultStored(uint256 indexed taskId, uint32 indexed modelId, bytes32 inputRoot, bytes32 outputRoot);

    /// @notice The only caller `onTaskResult` accepts.
    address public immutable market;

    mapping(uint256 taskId => Result) private _results;
    uint256 private _resultCount;

    constructor(address market_) {
        if (market_ == address(0)) revert ResultConsumerZeroMarket();
        market = market_;
    }

    /// @inheritdoc ITaskConsumer
    function onTaskResult(uint256 taskId, uint32 modelId, bytes32 inputRoot, bytes32 outputRoot) external {
        _requireMarket();
        _storeResult(taskId, Result({modelId: modelId, receivedAt: uint64(block.timestamp), inputRoot: inputRoot, outputRoot: outputRoot}));
    }

    /// @notice The stored result of `taskId`; `receivedAt` is zero when none arrived.
    function resultOf(uint256 taskId) external view returns (Result memory) {
        return _results[taskId];
    }

    /// @notice How many results were delivered.
    function resultCount() external view returns (uint256) {
        return _resultCount;
    }

    function _requireMarket() private view {
        if (msg.sender != market) revert ResultConsumerNotMarket(msg.sender, market);
    }

    function _storeResult(uint256 taskId, Result memory result) private {
        _results[taskId] = result;
        _resultCount += 1;
        emit ResultStored(taskId, result.modelId, result.inputRoot, result.outputRoot);
    }
}
