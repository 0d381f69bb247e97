// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {GameOutcome} from "../interfaces/IDisputeGame.sol";

/// @title The multi-phase dispute game (docs/dispute-spec.md): graph dissection, phase link, VM
///        dissection, one on-chain step.
/// @notice The provider claims, the challenger points at the claim it refutes; chess clocks per party.
interface IMultiPhaseDispute {
    /// @notice Where a game stands; the mover of each phase is fixed (spec section 1).
    enum Phase {
        None,
        Open,
        GraphBisect,
        GraphChoose,
        Link,
        VmBisect,
        VmChoose,
        Step,
        Resolved
    }

    /// @notice The graph facts whose hash is the registry's graph commitment (spec section 3).
    struct GraphFacts {
        bytes32 specHash;
        uint32 nodeCount;
        uint32 outputSlot;
        uint64 weightsSize;
        bytes32 nodesRoot;
    }

    /// @notice One input region of a node's start state and where its root comes from (spec section 3).
    struct InputRef {
        /// @notice 0: a slot of this step (index 0: the task input; k: this step's node k); 1: a constant
        ///         in the weights blob; 2: the state the previous step wrote (node k of step t − 1; the task
        ///         input at step 0); 3: a tensor carried from the previous step (node k of step t − 1; zero
        ///         bytes at step 0).
        uint8 source;
        /// @notice The node (1-based within a step) or slot 0, or the byte offset in the weights blob.
        uint32 index;
        uint32 addr;
        uint32 size;
    }

    /// @notice A node's committed start-state layout; `keccak256(abi.encode(record))` is its leaf in `nodesRoot`.
    struct NodeRecord {
        bytes32 paramsRoot;
        uint32 paramsSize;
        uint32 outputAddress;
        uint32 outputSize;
        InputRef[] inputs;
    }

    /// @notice The provider's phase link for the disputed node (spec section 5).
    struct LinkProof {
        bytes32 outputRoot;
        bytes32[] slotSiblings;
        NodeRecord node;
        bytes32[] nodeSiblings;
        bytes32[] inputRoots;
        bytes32[][] inputSiblings;
        bytes32 imageRoot28;
        uint64 stepBound;
        bytes endState;
        bytes32[] outputSiblings;
    }

    /// @notice Everything a player reads to compute its next move.
    struct GameView {
        uint256 taskId;
        uint256 challengeIndex;
        address provider;
        address challenger;
        uint32 modelId;
        Phase phase;
        GameOutcome outcome;
        /// @notice How many times the model's nodes run (the task's steps); packed beside the fields
        ///         `createGame` writes anyway, so recording it costs no storage slot of its own.
        uint32 steps;
        uint64 providerClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        /// @notice Nodes of the whole game's graph: the model's nodes times `steps`.
        uint32 nodeCount;
        /// @notice The model's nodes (one step).
        uint32 stepNodes;
        uint32 node;
        uint64 lo;
        uint64 hi;
        bytes32 loValue;
        bytes32 hiValue;
        bytes32 pointsHash;
        bytes32 inputRoot;
        bytes32 outputRoot;
        bytes32 graphStateRoot;
        bytes32 nodesRoot;
        uint64 weightsSize;
    }

    /// @notice Only the market opens games.
    error DisputeNotMarket(address caller, address market);
    /// @notice The verifier reports a VM version this game does not know.
    error DisputeVerifierVersion(uint256 version, uint256 expected);
    /// @notice The clock is outside [MIN_CLOCK_SECONDS, MAX_CLOCK_SECONDS].
    error DisputeClockOutOfRange(uint256 clockSeconds, uint256 min, uint256 max);
    /// @notice No game has this id.
    error DisputeGameUnknown(uint256 gameId);
    /// @notice The move does not belong to the game's current phase.
    error DisputeWrongPhase(uint256 gameId, Phase phase);
    /// @notice The caller is not the party to move.
    error DisputeNotYourTurn(uint256 gameId, address caller, address mover);
    /// @notice The mover's clock ran out; the game can only end by `timeout`.
    error DisputeClockExpired(uint256 gameId, address mover, uint256 elapsed, uint256 clock);
    /// @notice `timeout` was called while the mover still has time.
    error DisputeClockRunning(uint256 gameId, address mover, uint256 remaining);
    /// @notice The graph facts do not hash to the registered graph commitment.
    error DisputeGraphCommitmentMismatch(uint256 gameId, bytes32 computed, bytes32 registered);
    /// @notice The graph facts are out of range (no nodes, output slot outside 1..N, weights size not a power of two >= 32,
    ///         or the model's nodes times the task's steps past 2^32 − 1).
    error DisputeGraphFactsInvalid(uint32 nodeCount, uint32 outputSlot, uint64 weightsSize);
    /// @notice A proof has the wrong number of siblings.
    error DisputeProofLengthInvalid(string proof, uint256 length, uint256 expected);
    /// @notice A Merkle proof does not lead to the expected root.
    error DisputeProofInvalid(string proof, uint256 index);
    /// @notice `bisect` or `choose` got the wrong number of values.
    error DisputePointCountInvalid(uint256 given, uint256 expected);
    /// @notice `choose` repeated values other than those the provider posted.
    error DisputePointsMismatch(uint256 gameId, bytes32 given, bytes32 stored);
    /// @notice The chosen sub-segment does not exist.
    error DisputeSegmentOutOfRange(uint256 segment, uint256 count);
    /// @notice An input reads a slot at or after the disputed node, or has an unknown source.
    error DisputeInputInvalid(uint256 input, uint8 source, uint32 index);
    /// @notice Input roots or proofs are not one per input.
    error DisputeInputCountInvalid(uint256 inputs, uint256 roots, uint256 proofs);
    /// @notice A memory region is not a power of two >= 32, not aligned, or overlaps the previous one.
    error DisputeRegionInvalid(uint256 addr, uint256 size);
    /// @notice The step bound is not a power of two in 1..2^40.
    error DisputeStepBoundInvalid(uint64 stepBound);
    /// @notice The claimed end state is not EXITED with code 0 within the step bound, or not 173 bytes.
    error DisputeEndStateInvalid(uint256 length, uint8 status, uint32 exitCode, uint64 step);
    /// @notice The step's pre-state is not the agreed state.
    error DisputePreStateMismatch(uint256 gameId, bytes32 given, bytes32 agreed);

    event GameCreated(uint256 indexed gameId, uint256 indexed taskId, uint256 indexed challengeIndex, address provider, address challenger);
    event GameOpened(uint256 indexed gameId, uint32 nodeCount, uint32 outputSlot, bytes32 graphState0);
    event Bisected(uint256 indexed gameId, Phase phase, uint64 lo, uint64 hi, bytes32[] claims);
    event SegmentChosen(uint256 indexed gameId, Phase phase, uint256 segment, uint64 lo, uint64 hi);
    event NodeLinked(uint256 indexed gameId, uint32 node, bytes32 startStateHash, bytes32 endStateHash, uint64 stepBound);
    event StepVerified(uint256 indexed gameId, uint64 step, bytes32 postStateHash, bytes32 claimed);
    event GameTimedOut(uint256 indexed gameId, address loser);
    event GameResolved(uint256 indexed gameId, GameOutcome outcome);

    /// @notice Provider's first move: the graph facts and a proof of the output slot.
    /// @param gameId The game.
    /// @param facts Preimage of the registry's graph commitment.
    /// @param outputSiblings Slot proof of `outputRoot` at `facts.outputSlot` under `graphStateRoot`.
    function open(uint256 gameId, GraphFacts calldata facts, bytes32[] calldata outputSiblings) external;

    /// @notice Provider's claims at the current segment's inner points (spec section 2).
    /// @param gameId The game.
    /// @param values `min(16, hi - lo) - 1` graph-state roots or VM state hashes, in point order.
    function bisect(uint256 gameId, bytes32[] calldata values) external;

    /// @notice Challenger names the sub-segment whose end it disputes.
    /// @param gameId The game.
    /// @param segment Sub-segment index in `0 .. count-1`.
    /// @param values The provider's values of the last `bisect`, repeated.
    function choose(uint256 gameId, uint256 segment, bytes32[] calldata values) external;

    /// @notice Provider's phase link for the disputed node (spec section 5).
    function link(uint256 gameId, LinkProof calldata proof) external;

    /// @notice Anyone: the one step of the last VM segment; decides the game.
    /// @param state The agreed pre-state encoding (173 bytes).
    /// @param proofs The step's Merkle proofs (vm-spec section 4).
    function step(uint256 gameId, bytes calldata state, bytes calldata proofs) external;

    /// @notice Anyone: ends a game whose party to move ran out of time; the other party wins.
    function timeout(uint256 gameId) external;

    /// @notice The game's full state.
    function getGame(uint256 gameId) external view returns (GameView memory);

    /// @notice The game opened for one challenge (0 if none).
    function gameIdOf(uint256 taskId, uint256 challengeIndex) external view returns (uint256);

    /// @notice How many games were opened (the highest id).
    function gameCount() external view returns (uint256);
}
