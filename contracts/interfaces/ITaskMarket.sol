// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDisputeArbiter} from "./IDisputeGame.sol";

/// @title The task market: bounty escrow, claims, commitments, challenges and settlement.
interface ITaskMarket is IDisputeArbiter {
    enum TaskStatus {
        None,
        Open,
        Claimed,
        Committed,
        Finalized,
        Refuted,
        Expired
    }

    enum ChallengeStatus {
        None,
        Pending,
        ChallengerWon,
        ProviderWon
    }

    /// @notice What a requester asks for.
    struct TaskRequest {
        uint32 modelId;
        /// @notice Merkle root of the input tensor.
        bytes32 inputRoot;
        /// @notice Where the input bytes are (emitted only).
        string inputCid;
        /// @notice Paid to the provider on finalization; escrowed at creation.
        uint96 bounty;
        /// @notice The provider must commit by this time (unix seconds), or the task expires.
        uint40 deadline;
        /// @notice Stake the claiming provider locks for the task.
        uint96 collateral;
        /// @notice Seconds after the commitment during which anyone staked may challenge.
        uint32 challengeWindow;
        /// @notice The most the requester accepts to pay the model owner (guards against a fee change in flight).
        uint88 maxModelFee;
        /// @notice Contract receiving the result after finalization, or zero for none.
        address consumer;
        /// @notice Gas given to the consumer callback (at most MAX_CALLBACK_GAS).
        uint24 callbackGasLimit;
        /// @notice How many times the model's nodes run: 1 for a plain model, prompt length + maxTokens − 1
        ///         for a generation package (docs/dnn-spec.md section 10). The disputed graph is that many steps.
        uint32 steps;
    }

    /// @notice A task as stored: four packed slots plus three roots. Slot 2 (consumer) stays untouched for
    ///         tasks without one; slot 3 holds everything the lifecycle checks and updates together.
    struct Task {
        address requester;
        uint96 bounty;
        address provider;
        uint96 collateral;
        address consumer;
        TaskStatus status;
        uint32 modelId;
        /// @notice Open or Claimed: the commit deadline. From the commitment on: the end of the challenge
        ///         window (the commit deadline no longer matters then, so the two share a field).
        uint40 deadline;
        uint32 challengeWindow;
        /// @notice The model owner's fee, escrowed with the bounty.
        uint88 fee;
        uint24 callbackGasLimit;
        uint16 challengeCount;
        uint16 pendingGames;
        /// @notice Steps of the model's graph the task runs (TaskRequest.steps).
        uint32 steps;
        bytes32 inputRoot;
        bytes32 outputRoot;
        bytes32 graphStateRoot;
    }

    /// @notice A challenge as stored.
    struct Challenge {
        address challenger;
        uint96 bond;
        address game;
        ChallengeStatus status;
    }

    /// @notice No task has this id.
    error MarketTaskUnknown(uint256 taskId);
    /// @notice `steps` is 0 or above MAX_STEPS.
    error MarketStepsOutOfRange(uint256 steps, uint256 max);
    /// @notice The task is not in the status this action needs.
    error MarketWrongStatus(uint256 taskId, TaskStatus status, TaskStatus expected);
    /// @notice An amount is zero.
    error MarketZeroAmount(string field);
    /// @notice The deadline leaves less than the minimum commit period from now (nobody could claim the task safely).
    error MarketDeadlineTooSoon(uint256 deadline, uint256 earliest);
    /// @notice Claiming now would leave less than the minimum commit period before the deadline.
    error MarketCommitPeriodTooShort(uint256 taskId, uint256 deadline, uint256 earliest);
    /// @notice The committed output bytes do not have the committed root (docs/dnn-spec.md section 3).
    error MarketOutputRootMismatch(uint256 taskId, bytes32 outputRoot, bytes32 bytesRoot);
    /// @notice The deadline has passed for claiming or committing.
    error MarketTaskExpired(uint256 taskId, uint256 deadline);
    /// @notice Expiring a task whose deadline has not passed.
    error MarketDeadlineNotReached(uint256 taskId, uint256 deadline);
    /// @notice The challenge window is outside the allowed range.
    error MarketChallengeWindowOutOfRange(uint256 window, uint256 min, uint256 max);
    /// @notice The callback gas limit is above the maximum, or set without a consumer.
    error MarketCallbackGasOutOfRange(uint256 gasLimit, uint256 max);
    /// @notice The model does not exist.
    error MarketModelUnknown(uint32 modelId);
    /// @notice The model accepts no new tasks.
    error MarketModelInactive(uint32 modelId);
    /// @notice The model's fee exceeds what the requester accepts.
    error MarketModelFeeTooHigh(uint32 modelId, uint256 fee, uint256 maxFee);
    /// @notice A root that must be set is zero.
    error MarketZeroRoot(string field);
    /// @notice Someone other than the task's provider commits.
    error MarketNotProvider(uint256 taskId, address caller, address provider);
    /// @notice A challenge after the window closed.
    error MarketChallengeWindowClosed(uint256 taskId, uint256 windowEnd);
    /// @notice Finalizing before the window closed.
    error MarketChallengeWindowOpen(uint256 taskId, uint256 windowEnd);
    /// @notice Finalizing while games are unresolved.
    error MarketGamesPending(uint256 taskId, uint256 pending);
    /// @notice A challenger without the minimum stake.
    error MarketChallengerNotStaked(address challenger);
    /// @notice The provider challenging its own result.
    error MarketSelfChallenge(uint256 taskId, address provider);
    /// @notice No dispute game factory is configured.
    error MarketNoDisputeFactory();
    /// @notice No such challenge.
    error MarketChallengeUnknown(uint256 taskId, uint256 challengeIndex);
    /// @notice The caller is not the game opened for this challenge.
    error MarketNotChallengeGame(uint256 taskId, uint256 challengeIndex, address caller, address game);
    /// @notice The challenge was already resolved.
    error MarketChallengeResolved(uint256 taskId, uint256 challengeIndex);
    /// @notice A game reported no decision.
    error MarketUndecidedOutcome(uint256 taskId, uint256 challengeIndex);
    /// @notice The factory returned the zero address.
    error MarketNoGameCreated(uint256 taskId, uint256 challengeIndex);
    /// @notice Too many challenges on one task for the 16-bit counters.
    error MarketTooManyChallenges(uint256 taskId);
    /// @notice Not enough gas left to give the consumer its full callback gas limit.
    error MarketCallbackGasShort(uint256 taskId, uint256 gasLeft, uint256 needed);
    /// @notice The zero address where an account is needed.
    error MarketZeroAddress();
    /// @notice MAX_PENDING_GAMES games of this task are pending; a slot frees when one ends, and the window
    ///         is then extended by a whole challenge window.
    error MarketGamesFull(uint256 taskId, uint256 maxPending);
    /// @notice The caller has no credit to withdraw.
    error MarketNothingToWithdraw(address account);
    /// @notice The token delivered less than was transferred (a fee-on-transfer or rebasing token): the
    ///         market cannot keep exact escrow with it.
    error MarketTokenShortDelivery(uint256 expected, uint256 received);

    event TaskCreated(
        uint256 indexed taskId,
        address indexed requester,
        uint32 indexed modelId,
        bytes32 inputRoot,
        string inputCid,
        uint256 bounty,
        uint256 fee,
        uint256 deadline,
        uint256 collateral,
        uint256 challengeWindow,
        address consumer,
        uint256 steps
    );
    event TaskClaimed(uint256 indexed taskId, address indexed provider);
    /// @notice `output` holds the output bytes or their CID; only the roots are stored.
    event TaskCommitted(uint256 indexed taskId, bytes32 outputRoot, bytes32 graphStateRoot, bytes output, uint256 windowEnd);
    event TaskChallenged(uint256 indexed taskId, uint256 indexed challengeIndex, address indexed challenger, address game, uint256 bond);
    event ChallengeResolved(uint256 indexed taskId, uint256 indexed challengeIndex, ChallengeStatus status);
    event TaskRefuted(uint256 indexed taskId, uint256 indexed challengeIndex, uint256 slashed);
    event TaskFinalized(uint256 indexed taskId, address indexed provider, uint256 bounty, uint256 fee);
    event TaskExpired(uint256 indexed taskId, address indexed provider, uint256 refund, uint256 slashed);
    event ConsumerCalled(uint256 indexed taskId, address indexed consumer, bool success);
    event ChallengeBondSet(uint256 bond);
    /// @notice `amount` was credited to `account` for task `taskId`; `withdraw` pays it out.
    event Credited(address indexed account, uint256 indexed taskId, uint256 amount);
    event CreditWithdrawn(address indexed account, address indexed to, uint256 amount);
    /// @notice A winning challenger's reward out of the task's slash (its bond comes back on top).
    event ChallengeRewarded(uint256 indexed taskId, uint256 indexed challengeIndex, address indexed challenger, uint256 reward);
    /// @notice The challenge window now ends at `windowEnd`: it was extended after every game slot had been taken.
    event ChallengeWindowExtended(uint256 indexed taskId, uint256 windowEnd);
    event DisputeFactorySet(address factory);

    /// @notice Creates a task, pulling bounty plus model fee from the caller (approval needed).
    /// @return taskId The new task's id (sequential from 1).
    function createTask(TaskRequest calldata request) external returns (uint256 taskId);

    /// @notice Like `createTask`, with an EIP-2612 permit for bounty plus fee in the same transaction.
    function createTaskWithPermit(TaskRequest calldata request, uint256 permitValue, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 taskId);

    /// @notice Claims an open task for the caller, locking the task's collateral from its stake. Refused
    ///         when less than MIN_COMMIT_PERIOD is left before the deadline.
    function claim(uint256 taskId) external;

    /// @notice Commits the claimed task's result and opens the challenge window. Task provider only.
    /// @param output The output tensor's bytes (emitted, not stored); their tensor root must be `outputRoot`.
    function commit(uint256 taskId, bytes32 outputRoot, bytes32 graphStateRoot, bytes calldata output) external;

    /// @notice Challenges a committed result within its window, posting `challengeBondOf(taskId)`; opens a
    ///         game. Refused while MAX_PENDING_GAMES games of the task are pending.
    /// @return challengeIndex The challenge's index within the task.
    function challenge(uint256 taskId) external returns (uint256 challengeIndex);

    /// @notice Credits the provider and model owner, releases collateral and calls the consumer, once the
    ///         window is over and no game is pending. Anyone may call.
    function finalize(uint256 taskId) external;

    /// @notice Refunds the requester of a task not committed by its deadline, slashing the collateral of
    ///         a provider that claimed it: the requester's part is at most the bounty, the rest goes to the
    ///         treasury. Anyone may call.
    function expire(uint256 taskId) external;

    /// @notice Pays the caller's whole credit (earnings, bonds, refunds) to `to`, which may be another
    ///         address when the caller's own cannot receive the token.
    /// @return amount What was paid.
    function withdraw(address to) external returns (uint256 amount);

    /// @notice Sets the bond floor a challenger posts: it should cover the defender's gas in a whole game.
    ///         Governor only.
    function setChallengeBond(uint96 bond) external;

    /// @notice Sets the dispute game factory. Governor only.
    function setDisputeFactory(address factory) external;

    /// @notice Stops new tasks and claims. Pauser only.
    function pause() external;

    /// @notice Resumes new tasks and claims. Pauser only.
    function unpause() external;

    /// @notice A stored task; reverts for an unknown id.
    function getTask(uint256 taskId) external view returns (Task memory);

    /// @notice A stored challenge; reverts for an unknown one.
    function getChallenge(uint256 taskId, uint256 challengeIndex) external view returns (Challenge memory);

    /// @notice How many tasks were created (the highest id).
    function taskCount() external view returns (uint256);

    /// @notice The market currency.
    function token() external view returns (address);

    /// @notice The staking contract.
    function staking() external view returns (address);

    /// @notice The model registry.
    function registry() external view returns (address);

    /// @notice The dispute game factory.
    function disputeFactory() external view returns (address);

    /// @notice The bond floor: every challenge posts at least this.
    function challengeBond() external view returns (uint96);

    /// @notice The bond a challenge of this task posts now: the floor plus BOND_RISK_BPS of its bounty and collateral.
    function challengeBondOf(uint256 taskId) external view returns (uint256);

    /// @notice What `account` may withdraw.
    function creditOf(address account) external view returns (uint256);

    /// @notice Everything ever credited to `account`, and what of it was withdrawn: running totals, so
    ///         `credited` is also the account's lifetime earnings from the market.
    function creditTotalsOf(address account) external view returns (uint256 credited, uint256 withdrawn);

    /// @notice A refuted task's reward per winning challenger, and what of the challengers' share is unpaid
    ///         (zero once its last game is over).
    function slashPoolOf(uint256 taskId) external view returns (uint256 reward, uint256 left);
}
