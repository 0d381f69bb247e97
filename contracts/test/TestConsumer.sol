// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskConsumer, TaskResult} from "../interfaces/ITaskConsumer.sol";

/// @title A result consumer for tests and the demo: records results, or misbehaves on request.
contract TestConsumer is ITaskConsumer {
    enum Mode {
        Record,
        Revert,
        BurnGas
    }

    /// @notice Raised in `Revert` mode.
    error TestConsumerRefused(uint256 taskId);

    event ResultReceived(uint256 indexed taskId, uint32 modelId, bytes32 inputRoot, bytes32 outputRoot);
    /// @notice The rest of what the market delivered: how the result was secured.
    event ResultTerms(uint256 indexed taskId, address requester, address provider, uint256 bounty, uint256 collateral, uint256 challengeWindow);

    Mode public mode;
    mapping(uint256 => bytes32) public outputRootOf;

    /// @notice Chooses how the next callbacks behave.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc ITaskConsumer
    function onTaskResult(TaskResult calldata r) external {
        Mode m = mode;
        if (m == Mode.Revert) revert TestConsumerRefused(r.taskId);
        if (m == Mode.BurnGas) {
            // Spin until the callback's gas limit runs out.
            while (true) {}
        }
        outputRootOf[r.taskId] = r.outputRoot;
        emit ResultReceived(r.taskId, r.modelId, r.inputRoot, r.outputRoot);
        emit ResultTerms(r.taskId, r.requester, r.provider, r.bounty, r.collateral, r.challengeWindow);
    }
}
