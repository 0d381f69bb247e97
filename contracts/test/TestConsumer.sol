// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITaskConsumer} from "../interfaces/ITaskConsumer.sol";

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

    Mode public mode;
    mapping(uint256 => bytes32) public outputRootOf;

    /// @notice Chooses how the next callbacks behave.
    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @inheritdoc ITaskConsumer
    function onTaskResult(uint256 taskId, uint32 modelId, bytes32 inputRoot, bytes32 outputRoot) external {
        Mode m = mode;
        if (m == Mode.Revert) revert TestConsumerRefused(taskId);
        if (m == Mode.BurnGas) {
            // Spin until the callback's gas limit runs out.
            while (true) {}
        }
        outputRootOf[taskId] = outputRoot;
        emit ResultReceived(taskId, modelId, inputRoot, outputRoot);
    }
}
