// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Provider and challenger stake: bonding, unbonding with a delay, per-task collateral locks, slashing.
interface IStaking {
    /// @notice The amount is zero.
    error StakingZeroAmount();
    /// @notice The amount does not fit the 96-bit accounting.
    error StakingAmountTooLarge(uint256 amount);
    /// @notice Unbonding more than the free (unlocked) stake.
    error StakingInsufficientFreeStake(address staker, uint256 requested, uint256 free);
    /// @notice Locking collateral beyond the free stake, or for a staker below the minimum stake.
    error StakingInsufficientStake(address staker, uint256 required, uint256 free);
    /// @notice Withdrawing before the unbonding delay has passed.
    error StakingUnbondingNotReady(address staker, uint256 readyAt, uint256 now_);
    /// @notice Withdrawing with nothing unbonding.
    error StakingNothingUnbonding(address staker);
    /// @notice Unlocking or slashing more than is locked.
    error StakingInsufficientLocked(address staker, uint256 requested, uint256 locked);
    /// @notice A protocol share above 100 %.
    error StakingShareOutOfRange(uint256 bps);
    /// @notice An unbonding delay above the maximum.
    error StakingDelayOutOfRange(uint256 delay, uint256 max);
    /// @notice The zero address where an account is needed.
    error StakingZeroAddress();
    /// @notice No protocol share waits to be sent to the treasury.
    error StakingNothingOwed();
    /// @notice The token delivered less than was transferred (a fee-on-transfer or rebasing token).
    error StakingTokenShortDelivery(uint256 expected, uint256 received);

    event Staked(address indexed staker, uint256 amount, uint256 staked);
    event UnbondingRequested(address indexed staker, uint256 amount, uint256 unbonding, uint256 readyAt);
    event Withdrawn(address indexed staker, uint256 amount);
    event CollateralLocked(address indexed staker, uint256 amount, uint256 locked);
    event CollateralUnlocked(address indexed staker, uint256 amount, uint256 locked);
    event Slashed(address indexed staker, uint256 amount, address indexed beneficiary, uint256 beneficiaryShare, uint256 protocolShare);
    event TreasurySet(address treasury);
    event ProtocolShareSet(uint256 bps);
    event UnbondingDelaySet(uint256 delay);
    event MinStakeSet(uint256 minStake);
    event ProtocolShareCollected(address indexed treasury, uint256 amount);

    /// @notice Adds `amount` of the market token (pulled from the caller) to the caller's stake.
    function stake(uint256 amount) external;

    /// @notice Moves `amount` of free stake to unbonding, withdrawable `unbondingDelay` after this
    ///         request; earlier requests keep their own ready times.
    function requestUnbond(uint256 amount) external;

    /// @notice Pays out the caller's oldest unbonding request once its delay has passed (one request
    ///         per call; call again for the next).
    function withdraw() external;

    /// @notice Locks `amount` of `staker`'s free stake as task collateral. Market only.
    function lock(address staker, uint256 amount) external;

    /// @notice Releases `amount` of `staker`'s locked collateral. Market only.
    function unlock(address staker, uint256 amount) external;

    /// @notice Takes `amount` of `staker`'s locked collateral and splits it between `beneficiary` (sent) and
    ///         the treasury (owed, see `collectProtocolShare`) by `protocolShareBps`. Dispute side (the market
    ///         acting on a game outcome) only.
    /// @return beneficiaryShare What `beneficiary` received.
    function slash(address staker, uint256 amount, address beneficiary) external returns (uint256 beneficiaryShare);

    /// @notice Sends the protocol's owed share of slashes to the treasury. Anyone may call.
    /// @return amount What was sent.
    function collectProtocolShare() external returns (uint256 amount);

    /// @notice Sets where the protocol's share of slashed funds goes. Governor only.
    function setTreasury(address treasury) external;

    /// @notice Sets the protocol's share of slashed funds and forfeited bonds, in basis points. Governor only.
    function setProtocolShareBps(uint16 bps) external;

    /// @notice Sets the unbonding delay in seconds. Governor only.
    function setUnbondingDelay(uint32 delay) external;

    /// @notice Sets the stake below which an account may neither claim nor challenge. Governor only.
    function setMinStake(uint96 minStake) external;

    /// @notice The staking token.
    function token() external view returns (address);

    /// @notice Stake (locked collateral included, unbonding excluded) of `staker`.
    function stakeOf(address staker) external view returns (uint256);

    /// @notice Collateral of `staker` locked in tasks.
    function lockedOf(address staker) external view returns (uint256);

    /// @notice The amount unbonding and when all of it is withdrawable.
    function unbondingOf(address staker) external view returns (uint256 amount, uint256 readyAt);

    /// @notice What repeated `withdraw` calls would pay `staker` now (its due requests, oldest first).
    function withdrawableOf(address staker) external view returns (uint256);

    /// @notice True when `staker` holds at least the minimum stake (and a non-zero one).
    function isStaked(address staker) external view returns (bool);

    /// @notice Where the protocol's share goes.
    function treasury() external view returns (address);

    /// @notice The protocol's share of slashes not yet sent to the treasury.
    function protocolShareOwed() external view returns (uint256);

    /// @notice The protocol's share of slashed funds and forfeited bonds, in basis points.
    function protocolShareBps() external view returns (uint16);
}
