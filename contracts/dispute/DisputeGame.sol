// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Branchless} from "../utils/Branchless.sol";
import {DisputeSubject, GameOutcome, IDisputeArbiter, IDisputeGameFactory} from "../interfaces/IDisputeGame.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ITaskMarket} from "../interfaces/ITaskMarket.sol";
import {IRiscvStep} from "../vm/IRiscvStep.sol";
import {IMultiPhaseDispute} from "./IMultiPhaseDispute.sol";
import {DisputeMerkle} from "./DisputeMerkle.sol";

/// @title The multi-phase dispute game and its factory (docs/dispute-spec.md).
/// @notice One contract holds every game; the market opens one per challenge through `createGame`
///         and this contract reports each outcome back through `resolveChallenge`, once.
contract DisputeGame is IDisputeGameFactory, IMultiPhaseDispute {
    using DisputeMerkle for bytes32;

    uint256 public constant DISPUTE_VERSION = 1;
    uint256 public constant VM_VERSION = 1;
    uint256 public constant DISSECTION_ARITY = 16;
    uint64 public constant MAX_STEP_BOUND = uint64(1) << 40;
    /// @notice `_start` of guest/link.ld: where every node's VM run starts.
    uint32 public constant GUEST_ENTRY = 0x00010000;
    uint32 public constant NODE_PARAMS_ADDR = 0x10000000;
    /// @notice The guest image occupies the aligned region [0, 2^28): tree level 23.
    uint256 private constant IMAGE_LEVEL = 23;
    uint256 private constant STATE_SIZE = 173;
    uint8 private constant STATUS_EXITED = 1;

    /// @notice Bounds on each side's clock: a zero or tiny clock decides games by who can get a
    ///         transaction in first; the deploy script's own bounds are the same (finding 7).
    uint256 public constant MIN_CLOCK_SECONDS = 60;
    uint256 public constant MAX_CLOCK_SECONDS = 30 days;

    IDisputeArbiter public immutable market;
    IRiscvStep public immutable verifier;
    uint64 public immutable clockSeconds;
    /// @notice What a party has left at least after each of its moves: a quarter of its clock. As in
    ///         the OP fault-dispute game, one that plays late is not left seconds for its next move,
    ///         so stuffing blocks near the end of a clock cannot decide a game (docs/security.md, finding 4).
    uint64 public immutable clockExtension;

    GameView[] private _games;
    mapping(uint256 taskId => mapping(uint256 challengeIndex => uint256 gameId)) private _gameIds;

    constructor(IDisputeArbiter market_, IRiscvStep verifier_, uint64 clockSeconds_) {
        uint256 version = verifier_.VM_VERSION();
        if (version != VM_VERSION) revert DisputeVerifierVersion(version, VM_VERSION);
        if (clockSeconds_ < MIN_CLOCK_SECONDS || clockSeconds_ > MAX_CLOCK_SECONDS) {
            revert DisputeClockOutOfRange(clockSeconds_, MIN_CLOCK_SECONDS, MAX_CLOCK_SECONDS);
        }
        market = market_;
        verifier = verifier_;
        clockSeconds = clockSeconds_;
        clockExtension = clockSeconds_ / 4;
        _games.push(); // ids start at 1: 0 means "no game"
    }

    // Factory

    /// @inheritdoc IDisputeGameFactory
    function createGame(DisputeSubject calldata subject) external returns (address) {
        if (msg.sender != address(market)) revert DisputeNotMarket(msg.sender, address(market));
        uint256 gameId = _games.length;
        GameView storage g = _games.push();
        g.taskId = subject.taskId;
        g.challengeIndex = subject.challengeIndex;
        g.provider = subject.provider;
        g.challenger = subject.challenger;
        g.modelId = subject.modelId;
        g.inputRoot = subject.inputRoot;
        g.outputRoot = subject.outputRoot;
        g.graphStateRoot = subject.graphStateRoot;
        g.steps = subject.steps == 0 ? 1 : subject.steps;
        g.providerClock = clockSeconds;
        g.challengerClock = clockSeconds;
        g.lastMoveAt = uint64(block.timestamp);
        g.phase = Phase.Open;
        _gameIds[subject.taskId][subject.challengeIndex] = gameId;
        emit GameCreated(gameId, subject.taskId, subject.challengeIndex, subject.provider, subject.challenger);
        return address(this);
    }

    // Moves

    /// @inheritdoc IMultiPhaseDispute
    function open(uint256 gameId, GraphFacts calldata facts, bytes32[] calldata outputSiblings) external {
        GameView storage g = _moveBy(gameId, Phase.Open);
        (bytes32 registered,,) = _registry().modelRoots(g.modelId);
        bytes32 computed = keccak256(abi.encodePacked(facts.specHash, facts.nodeCount, facts.outputSlot, facts.weightsSize, facts.nodesRoot));
        if (computed != registered) revert DisputeGraphCommitmentMismatch(gameId, computed, registered);
        (, bool pow2) = DisputeMerkle.exactLog2(facts.weightsSize);
        // The game's graph is the model's nodes run `steps` times; the output is the last step's.
        uint256 total = uint256(facts.nodeCount) * g.steps;
        if (facts.nodeCount == 0 || facts.outputSlot == 0 || facts.outputSlot > facts.nodeCount || !pow2 || facts.weightsSize < 32 || total > type(uint32).max) {
            revert DisputeGraphFactsInvalid(facts.nodeCount, facts.outputSlot, facts.weightsSize);
        }
        uint256 outputSlot = total - facts.nodeCount + facts.outputSlot;
        uint256 depth = DisputeMerkle.ceilLog2(total + 1);
        _requireLength("output slot", outputSiblings.length, depth);
        if (g.outputRoot.fold(outputSlot, outputSiblings) != g.graphStateRoot) revert DisputeProofInvalid("output slot", outputSlot);

        bytes32 graphState0 = g.inputRoot;
        bytes32[28] memory z = DisputeMerkle.zeroHashes();
        for (uint256 i = 0; i < depth; ++i) graphState0 = DisputeMerkle.hashPair(graphState0, z[i]);
        g.nodeCount = uint32(total);
        g.stepNodes = facts.nodeCount;
        g.nodesRoot = facts.nodesRoot;
        g.weightsSize = facts.weightsSize;
        g.lo = 0;
        g.hi = uint64(total);
        g.loValue = graphState0;
        g.hiValue = g.graphStateRoot;
        emit GameOpened(gameId, uint32(total), uint32(outputSlot), graphState0);
        _enterSegment(g, Phase.GraphBisect, Phase.Link);
    }

    /// @inheritdoc IMultiPhaseDispute
    function bisect(uint256 gameId, bytes32[] calldata values) external {
        GameView storage g = _gameOf(gameId);
        Phase phase = g.phase;
        if (phase != Phase.GraphBisect && phase != Phase.VmBisect) revert DisputeWrongPhase(gameId, phase);
        _charge(gameId, g, g.provider);
        uint256 expected = _segmentCount(g) - 1;
        if (values.length != expected) revert DisputePointCountInvalid(values.length, expected);
        g.pointsHash = keccak256(abi.encodePacked(values));
        g.phase = Phase(uint8(phase) + 1);
        emit Bisected(gameId, phase, g.lo, g.hi, values);
    }

    /// @inheritdoc IMultiPhaseDispute
    function choose(uint256 gameId, uint256 segment, bytes32[] calldata values) external {
        GameView storage g = _gameOf(gameId);
        Phase phase = g.phase;
        if (phase != Phase.GraphChoose && phase != Phase.VmChoose) revert DisputeWrongPhase(gameId, phase);
        _charge(gameId, g, g.challenger);
        uint256 count = _segmentCount(g);
        if (values.length != count - 1) revert DisputePointCountInvalid(values.length, count - 1);
        bytes32 given = keccak256(abi.encodePacked(values));
        if (given != g.pointsHash) revert DisputePointsMismatch(gameId, given, g.pointsHash);
        if (segment >= count) revert DisputeSegmentOutOfRange(segment, count);

        uint64 lo = g.lo;
        uint64 span = g.hi - lo;
        if (segment > 0) g.loValue = values[segment - 1];
        if (segment < count - 1) g.hiValue = values[segment];
        // Safe: segment + 1 <= count <= span, so both points lie in [lo, hi] and fit in 64 bits.
        g.lo = lo + uint64((uint256(span) * segment) / count);
        g.hi = lo + uint64((uint256(span) * (segment + 1)) / count);
        g.pointsHash = bytes32(0);
        emit SegmentChosen(gameId, phase, segment, g.lo, g.hi);
        if (phase == Phase.GraphChoose) _enterSegment(g, Phase.GraphBisect, Phase.Link);
        else _enterSegment(g, Phase.VmBisect, Phase.Step);
    }

    /// @inheritdoc IMultiPhaseDispute
    function link(uint256 gameId, LinkProof calldata proof) external {
        GameView storage g = _moveBy(gameId, Phase.Link);
        uint32 node = uint32(g.hi);
        uint256 depth = DisputeMerkle.ceilLog2(uint256(g.nodeCount) + 1);
        bytes32 graphBefore = g.loValue;

        _requireLength("node slot", proof.slotSiblings.length, depth);
        if (bytes32(0).fold(node, proof.slotSiblings) != graphBefore) revert DisputeProofInvalid("node slot before", node);
        if (proof.outputRoot.fold(node, proof.slotSiblings) != g.hiValue) revert DisputeProofInvalid("node slot after", node);

        // Slot `node` is node `node − step × stepNodes` of step `step`: its record is that node's, one of the model's.
        _requireLength("node record", proof.nodeSiblings.length, DisputeMerkle.ceilLog2(g.stepNodes));
        bytes32 leaf = keccak256(abi.encode(proof.node));
        if (leaf.fold((node - 1) % g.stepNodes, proof.nodeSiblings) != g.nodesRoot) revert DisputeProofInvalid("node record", node);

        (, bytes32 weightsRoot, bytes32 vmImageRoot) = _registry().modelRoots(g.modelId);
        bytes32 startHash = _startStateHash(g, proof, node, weightsRoot, vmImageRoot);
        bytes32 endHash = _endStateHash(proof);

        g.node = node;
        g.lo = 0;
        g.hi = proof.stepBound;
        g.loValue = startHash;
        g.hiValue = endHash;
        emit NodeLinked(gameId, node, startHash, endHash, proof.stepBound);
        _enterSegment(g, Phase.VmBisect, Phase.Step);
    }

    /// @inheritdoc IMultiPhaseDispute
    function step(uint256 gameId, bytes calldata state, bytes calldata proofs) external {
        GameView storage g = _gameOf(gameId);
        if (g.phase != Phase.Step) revert DisputeWrongPhase(gameId, g.phase);
        _requireTime(gameId, g, g.challenger);
        bytes32 given = keccak256(state);
        if (given != g.loValue) revert DisputePreStateMismatch(gameId, given, g.loValue);
        bytes32 post = verifier.step(state, proofs);
        emit StepVerified(gameId, g.lo, post, g.hiValue);
        _resolve(gameId, g, post == g.hiValue ? GameOutcome.ProviderWon : GameOutcome.ChallengerWon);
    }

    /// @inheritdoc IMultiPhaseDispute
    function timeout(uint256 gameId) external {
        GameView storage g = _gameOf(gameId);
        Phase phase = g.phase;
        if (phase == Phase.Resolved) revert DisputeWrongPhase(gameId, phase);
        bool providerMoves = _providerMoves(phase);
        address mover = providerMoves ? g.provider : g.challenger;
        uint256 clock = providerMoves ? g.providerClock : g.challengerClock;
        uint256 elapsed = block.timestamp - g.lastMoveAt;
        if (elapsed <= clock) revert DisputeClockRunning(gameId, mover, clock - elapsed);
        emit GameTimedOut(gameId, mover);
        _resolve(gameId, g, providerMoves ? GameOutcome.ChallengerWon : GameOutcome.ProviderWon);
    }

    // Views

    /// @inheritdoc IMultiPhaseDispute
    function getGame(uint256 gameId) external view returns (GameView memory) {
        return _gameOf(gameId);
    }

    /// @inheritdoc IMultiPhaseDispute
    function gameIdOf(uint256 taskId, uint256 challengeIndex) external view returns (uint256) {
        return _gameIds[taskId][challengeIndex];
    }

    /// @inheritdoc IMultiPhaseDispute
    function gameCount() external view returns (uint256) {
        return _games.length - 1;
    }

    // Phase link

    function _startStateHash(GameView storage g, LinkProof calldata proof, uint32 node, bytes32 weightsRoot, bytes32 vmImageRoot)
        private
        view
        returns (bytes32)
    {
        NodeRecord calldata rec = proof.node;
        uint256 n = rec.inputs.length;
        if (proof.inputRoots.length != n || proof.inputSiblings.length != n) {
            revert DisputeInputCountInvalid(n, proof.inputRoots.length, proof.inputSiblings.length);
        }
        _checkImage(proof.imageRoot28, vmImageRoot);
        DisputeMerkle.Region[] memory regions = new DisputeMerkle.Region[](n + 2);
        regions[0] = DisputeMerkle.Region(0, IMAGE_LEVEL, proof.imageRoot28);
        regions[1] = _region(NODE_PARAMS_ADDR, rec.paramsSize, rec.paramsRoot);
        uint256 end = uint256(NODE_PARAMS_ADDR) + rec.paramsSize;
        for (uint256 i = 0; i < n; ++i) {
            DisputeMerkle.Region memory r = _inputRegion(g, proof, i, node, weightsRoot);
            if (r.addr < end) revert DisputeRegionInvalid(r.addr, rec.inputs[i].size);
            regions[i + 2] = r;
            end = r.addr + rec.inputs[i].size;
        }
        bytes32 memRoot = DisputeMerkle.memoryRoot(regions);
        // State encoding (vm-spec section 2): memRoot, pc, then 137 zero bytes (step, status, exit code, registers).
        return keccak256(abi.encodePacked(memRoot, GUEST_ENTRY, new bytes(STATE_SIZE - 36)));
    }

    /// @dev The image root of the registry covers all memory; the game needs its [0, 2^28) subtree.
    function _checkImage(bytes32 imageRoot28, bytes32 vmImageRoot) private pure {
        bytes32 image = imageRoot28;
        bytes32[28] memory z = DisputeMerkle.zeroHashes();
        for (uint256 l = IMAGE_LEVEL; l < DisputeMerkle.TREE_DEPTH; ++l) image = DisputeMerkle.hashPair(image, z[l]);
        if (image != vmImageRoot) revert DisputeProofInvalid("image", 0);
    }

    /// @dev Input `i`'s region, its root proven in the agreed graph state (slot) or the weights blob.
    function _inputRegion(GameView storage g, LinkProof calldata proof, uint256 i, uint32 node, bytes32 weightsRoot)
        private
        view
        returns (DisputeMerkle.Region memory)
    {
        InputRef calldata input = proof.node.inputs[i];
        bytes32 root = proof.inputRoots[i];
        bytes32[] calldata siblings = proof.inputSiblings[i];
        if (input.source == 1) {
            (uint256 sizeLog, bool ok) = DisputeMerkle.exactLog2(input.size);
            (uint256 blobLog,) = DisputeMerkle.exactLog2(g.weightsSize);
            if (!ok || sizeLog < 5 || sizeLog > blobLog || input.index % input.size != 0 || uint256(input.index) + input.size > g.weightsSize) {
                revert DisputeInputInvalid(i, input.source, input.index);
            }
            _requireLength("weight", siblings.length, blobLog - sizeLog);
            if (root.fold(input.index >> sizeLog, siblings) != weightsRoot) revert DisputeProofInvalid("weight", i);
        } else {
            (bool zero, uint256 slot) = _slotOf(g, input, i, node);
            if (zero) {
                // A carried tensor starts as zero bytes: its root is the zero hash of its size.
                (uint256 sizeLog, bool ok) = DisputeMerkle.exactLog2(input.size);
                if (!ok || sizeLog < 5 || sizeLog > DisputeMerkle.TREE_DEPTH + 5) revert DisputeInputInvalid(i, input.source, input.index);
                _requireLength("carried input", siblings.length, 0);
                if (root != DisputeMerkle.zeroHashes()[sizeLog - 5]) revert DisputeProofInvalid("carried input", i);
            } else {
                _requireLength("input slot", siblings.length, DisputeMerkle.ceilLog2(uint256(g.nodeCount) + 1));
                if (root.fold(slot, siblings) != g.loValue) revert DisputeProofInvalid("input slot", i);
            }
        }
        return _region(input.addr, input.size, root);
    }

    /**
     * @dev The graph-state slot a slot-kind input of node `node` reads (spec section 3), or `zero` for a
     *      carried tensor at step 0. Sources: 0 the task input or an earlier node of this step, 2 the
     *      previous step's state (the task input at step 0), 3 a tensor carried from the previous step.
     */
    function _slotOf(GameView storage g, InputRef calldata input, uint256 i, uint32 node) private view returns (bool zero, uint256 slot) {
        uint256 n = g.stepNodes;
        uint256 stepBase = ((node - 1) / n) * n; // slots of the steps before this one
        if (input.source == 0) {
            if (input.index >= node - stepBase) revert DisputeInputInvalid(i, input.source, input.index);
            return (false, input.index == 0 ? 0 : stepBase + input.index);
        }
        if ((input.source != 2 && input.source != 3) || input.index == 0 || input.index > n) revert DisputeInputInvalid(i, input.source, input.index);
        if (stepBase == 0) return (input.source == 3, 0);
        return (false, stepBase - n + input.index);
    }

    function _region(uint256 addr, uint256 size, bytes32 root) private pure returns (DisputeMerkle.Region memory) {
        (uint256 sizeLog, bool ok) = DisputeMerkle.exactLog2(size);
        if (!ok || sizeLog < 5 || addr % size != 0 || addr + size > (uint256(1) << 32)) revert DisputeRegionInvalid(addr, size);
        return DisputeMerkle.Region(addr, sizeLog - 5, root);
    }

    function _endStateHash(LinkProof calldata proof) private pure returns (bytes32) {
        (, bool pow2) = DisputeMerkle.exactLog2(proof.stepBound);
        if (!pow2 || proof.stepBound > MAX_STEP_BOUND) revert DisputeStepBoundInvalid(proof.stepBound);
        bytes calldata s = proof.endState;
        if (s.length != STATE_SIZE) revert DisputeEndStateInvalid(s.length, 0, 0, 0);
        bytes32 memRoot = bytes32(s[0:32]);
        uint64 stepCount = uint64(bytes8(s[36:44]));
        uint8 status = uint8(s[44]);
        uint32 exitCode = uint32(bytes4(s[45:49]));
        if (status != STATUS_EXITED || exitCode != 0 || stepCount > proof.stepBound) {
            revert DisputeEndStateInvalid(s.length, status, exitCode, stepCount);
        }
        DisputeMerkle.Region memory out = _region(proof.node.outputAddress, proof.node.outputSize, proof.outputRoot);
        _requireLength("output region", proof.outputSiblings.length, DisputeMerkle.TREE_DEPTH - out.level);
        if (out.root.fold(out.addr >> (out.level + 5), proof.outputSiblings) != memRoot) revert DisputeProofInvalid("output region", out.addr);
        return keccak256(s);
    }

    // Turns, clocks, segments

    function _gameOf(uint256 gameId) private view returns (GameView storage g) {
        if (gameId == 0 || gameId >= _games.length) revert DisputeGameUnknown(gameId);
        return _games[gameId];
    }

    function _moveBy(uint256 gameId, Phase phase) private returns (GameView storage g) {
        g = _gameOf(gameId);
        if (g.phase != phase) revert DisputeWrongPhase(gameId, g.phase);
        _charge(gameId, g, _providerMoves(phase) ? g.provider : g.challenger);
    }

    /// @dev Only the mover may move; its clock pays for the time since the last move.
    function _charge(uint256 gameId, GameView storage g, address mover) private {
        if (msg.sender != mover) revert DisputeNotYourTurn(gameId, msg.sender, mover);
        uint64 elapsed = _requireTime(gameId, g, mover);
        bool byProvider = mover == g.provider;
        uint256 left;
        // Safe: _requireTime checked elapsed <= the mover's clock.
        unchecked {
            left = (byProvider ? g.providerClock : g.challengerClock) - elapsed;
        }
        left = Branchless.max(left, clockExtension);
        if (byProvider) g.providerClock = uint64(left);
        else g.challengerClock = uint64(left);
        g.lastMoveAt = uint64(block.timestamp);
    }

    function _requireTime(uint256 gameId, GameView storage g, address mover) private view returns (uint64 elapsed) {
        elapsed = uint64(block.timestamp) - g.lastMoveAt;
        uint64 clock = mover == g.provider ? g.providerClock : g.challengerClock;
        if (elapsed > clock) revert DisputeClockExpired(gameId, mover, elapsed, clock);
    }

    function _providerMoves(Phase phase) private pure returns (bool) {
        return phase == Phase.Open || phase == Phase.GraphBisect || phase == Phase.Link || phase == Phase.VmBisect;
    }

    function _segmentCount(GameView storage g) private view returns (uint256) {
        uint256 span = g.hi - g.lo;
        return span < DISSECTION_ARITY ? span : DISSECTION_ARITY;
    }

    /// @dev A segment of one node goes to the phase link, of one step to the step; longer ones are bisected.
    function _enterSegment(GameView storage g, Phase bisectPhase, Phase donePhase) private {
        g.phase = g.hi - g.lo == 1 ? donePhase : bisectPhase;
    }

    function _requireLength(string memory proof, uint256 length, uint256 expected) private pure {
        if (length != expected) revert DisputeProofLengthInvalid(proof, length, expected);
    }

    function _resolve(uint256 gameId, GameView storage g, GameOutcome outcome) private {
        g.phase = Phase.Resolved;
        g.outcome = outcome;
        emit GameResolved(gameId, outcome);
        market.resolveChallenge(g.taskId, g.challengeIndex, outcome);
    }

    function _registry() private view returns (IModelRegistry) {
        return IModelRegistry(ITaskMarket(address(market)).registry());
    }
}
