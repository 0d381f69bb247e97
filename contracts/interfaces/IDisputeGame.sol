// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Everything a dispute game needs to referee one challenge of one committed result.
/// @dev The model's graph-spec hash, weights root and VM image root are read by the game from the
///      market's model registry (`ITaskMarket.registry()`), keyed by `modelId`, so they are never
///      copied into every challenge.
struct DisputeSubject {
    /// @notice The task whose committed result is disputed.
    uint256 taskId;
    /// @notice The challenge's index within the task (0, 1, ...): one game per challenge.
    uint256 challengeIndex;
    /// @notice The provider defending its commitment.
    address provider;
    /// @notice The staked party that posted the bond.
    address challenger;
    /// @notice The registry id of the model the task runs.
    uint32 modelId;
    /// @notice Merkle root of the task input (graph state slot 0).
    bytes32 inputRoot;
    /// @notice Merkle root of the output tensor the provider committed.
    bytes32 outputRoot;
    /// @notice Merkle root of the graph state (slot array) after the last node, as committed.
    bytes32 graphStateRoot;
    /// @notice How many times the model's nodes run (1, or a generation's steps): the game's graph is that many steps.
    uint32 steps;
}

/// @notice The result of a finished game.
enum GameOutcome {
    Undecided,
    ProviderWon,
    ChallengerWon
}

/// @title The market's view of the dispute side: a factory that opens one game per challenge.
/// @notice The market calls `createGame` inside `challenge`; the returned game contract is then the only
///         address allowed to settle that challenge through `IDisputeArbiter.resolveChallenge`, exactly once.
///         A game must not settle synchronously from inside `createGame` (the market is mid-call and its
///         reentrancy guard rejects it); it settles in a later transaction.
interface IDisputeGameFactory {
    /// @notice Opens the game for one challenge. Only the market calls this.
    /// @param subject The task, challenge, parties and committed roots under dispute.
    /// @return game The contract that will call `resolveChallenge(subject.taskId, subject.challengeIndex, outcome)`.
    function createGame(DisputeSubject calldata subject) external returns (address game);
}

/// @title The market side a game reports to.
interface IDisputeArbiter {
    /// @notice Settles one challenge with the outcome of its game. Only the game opened for it may call,
    ///         and only once. The loser is slashed (provider) or forfeits its bond (challenger).
    /// @param taskId The disputed task.
    /// @param challengeIndex The challenge's index within the task.
    /// @param outcome `ProviderWon` or `ChallengerWon`.
    function resolveChallenge(uint256 taskId, uint256 challengeIndex, GameOutcome outcome) external;
}
