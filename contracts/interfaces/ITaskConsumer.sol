// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What a consumer learns of a final result: the result, and enough about the task to judge how
///         well it was secured (docs/security.md, finding 5). Anyone can create a task naming any consumer,
///         so a consumer that acts on results must check who asked, who served, and what was at stake.
struct TaskResult {
    uint256 taskId;
    uint32 modelId;
    /// @notice Merkle root of the input.
    bytes32 inputRoot;
    /// @notice Tensor root of the output (the bytes are in the `TaskCommitted` event, bound to this root).
    bytes32 outputRoot;
    address requester;
    address provider;
    uint256 bounty;
    /// @notice What the provider stood to lose had the result been refuted.
    uint256 collateral;
    /// @notice How long anyone could challenge the result, in seconds.
    uint256 challengeWindow;
}

/// @title A contract that receives a task's result once the task is final.
/// @notice Called by the market with a bounded gas limit after the challenge window closed with no
///         pending game; a revert or running out of gas here is recorded but never blocks payment.
interface ITaskConsumer {
    /// @notice Delivers a final result.
    function onTaskResult(TaskResult calldata result) external;
}
