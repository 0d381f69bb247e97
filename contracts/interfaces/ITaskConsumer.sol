// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title A contract that receives a task's result once the task is final.
/// @notice Called by the market with a bounded gas limit after the challenge window closed with no
///         pending game; a revert or running out of gas here is recorded but never blocks payment.
interface ITaskConsumer {
    /// @notice Delivers a final result.
    /// @param taskId The finalized task.
    /// @param modelId The model it ran.
    /// @param inputRoot Merkle root of the input.
    /// @param outputRoot Merkle root of the output tensor (the output bytes are in the `TaskCommitted` event).
    function onTaskResult(uint256 taskId, uint32 modelId, bytes32 inputRoot, bytes32 outputRoot) external;
}
