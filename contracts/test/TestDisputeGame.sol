// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DisputeSubject, GameOutcome, IDisputeArbiter, IDisputeGameFactory} from "../interfaces/IDisputeGame.sol";

/// @title A dispute game for tests and the local demo: it records each subject and lets anyone decide it.
/// @notice Stands in for the multi-phase bisection game; it exercises the market's side of the interface
///         (one game per challenge, a callback per game) without playing the game. Anyone can decide its
///         games, so it deploys only on the local chain ids (anvil and hardhat: 31337, ganache: 1337).
contract TestDisputeGame is IDisputeGameFactory {
    /// @notice Only the market may open games.
    error TestGameNotMarket(address caller, address market);
    /// @notice No game was opened for this challenge.
    error TestGameUnknown(uint256 taskId, uint256 challengeIndex);
    /// @notice This chain is not a local one.
    error TestGameNotLocalChain(uint256 chainId);

    event GameCreated(uint256 indexed taskId, uint256 indexed challengeIndex, address provider, address challenger);

    IDisputeArbiter public immutable market;
    mapping(uint256 => mapping(uint256 => DisputeSubject)) private _subjects;

    constructor(IDisputeArbiter market_) {
        if (block.chainid != 31337 && block.chainid != 1337) revert TestGameNotLocalChain(block.chainid);
        market = market_;
    }

    /// @inheritdoc IDisputeGameFactory
    function createGame(DisputeSubject calldata subject) external returns (address) {
        if (msg.sender != address(market)) revert TestGameNotMarket(msg.sender, address(market));
        _subjects[subject.taskId][subject.challengeIndex] = subject;
        emit GameCreated(subject.taskId, subject.challengeIndex, subject.provider, subject.challenger);
        return address(this);
    }

    /// @notice Ends the game for one challenge with `outcome`, reporting it to the market.
    function decide(uint256 taskId, uint256 challengeIndex, GameOutcome outcome) external {
        if (_subjects[taskId][challengeIndex].challenger == address(0)) revert TestGameUnknown(taskId, challengeIndex);
        market.resolveChallenge(taskId, challengeIndex, outcome);
    }

    /// @notice The subject the market handed over for one challenge.
    function subjectOf(uint256 taskId, uint256 challengeIndex) external view returns (DisputeSubject memory) {
        return _subjects[taskId][challengeIndex];
    }
}
