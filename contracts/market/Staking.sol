// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Branchless} from "../utils/Branchless.sol";

/// @title Stake of providers and challengers.
/// @notice Free stake = staked - locked. Locked collateral is always part of the stake, so
///         `locked <= staked` holds by construction: locks need free stake, unbonding takes only
///         free stake, and a slash lowers both by the same amount.
contract Staking is IStaking, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    /// @notice Held by the market: locks and unlocks per-task collateral.
    bytes32 public constant LOCKER_ROLE = keccak256("LOCKER_ROLE");
    /// @notice Held by the dispute side (the market, acting on game outcomes and expiries).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    uint256 public constant BPS = 10_000;
    uint256 public constant MAX_UNBONDING_DELAY = 90 days;

    /// @dev One slot for what lock/unlock touch; the unbonding balance beside it.
    struct Account {
        uint96 staked;
        uint96 locked;
        uint40 unbondingReadyAt;
        uint96 unbonding;
    }

    /// @notice One unbonding request: its amount and when it may be withdrawn.
    struct Tranche {
        uint96 amount;
        uint40 readyAt;
    }

    /// @notice The most requests withdrawableOf adds up.
    uint256 public constant MAX_WITHDRAW_TRANCHES = 64;

    IERC20 private immutable _token;
    mapping(address => Account) private _accounts;
    /// @dev Each staker's requests in order; those before _firstTranche are paid.
    mapping(address => Tranche[]) private _tranches;
    mapping(address => uint256) private _firstTranche;
    address private _treasury;
    /// @dev The protocol's share of slashes not yet sent to the treasury: a slash moves no token to it,
    ///      so a treasury that cannot receive never stops a game from ending (docs/security.md, finding 6).
    uint256 private _protocolShareOwed;
    uint16 private _protocolShareBps;
    uint32 public unbondingDelay;
    uint96 public minStake;

    constructor(IERC20 token_, address admin, address treasury_, uint16 protocolShareBps_, uint32 unbondingDelay_, uint96 minStake_) {
        if (address(token_) == address(0) || admin == address(0)) revert StakingZeroAddress();
        _token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNOR_ROLE, admin);
        _setTreasury(treasury_);
        _setProtocolShareBps(protocolShareBps_);
        _setUnbondingDelay(unbondingDelay_);
        _setMinStake(minStake_);
    }

    // ---- stakers ----

    /// @inheritdoc IStaking
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert StakingZeroAmount();
        Account storage a = _accounts[msg.sender];
        uint96 staked = _toAmount(a.staked + amount);
        a.staked = staked;
        emit Staked(msg.sender, amount, staked);
        uint256 before = _token.balanceOf(address(this));
        _token.safeTransferFrom(msg.sender, address(this), amount);
        // Stake is counted as sent: a token that delivers less (a fee on transfer) would leave it unbacked.
        uint256 received = _token.balanceOf(address(this)) - before;
        if (received != amount) revert StakingTokenShortDelivery(amount, received);
    }

    /// @inheritdoc IStaking
    function requestUnbond(uint256 amount) external {
        uint96 amount96 = _toAmount(amount);
        Account storage a = _accounts[msg.sender];
        uint256 free = a.staked - a.locked;
        if (amount96 > free) revert StakingInsufficientFreeStake(msg.sender, amount, free);
        // Safe: amount96 <= staked - locked <= staked.
        unchecked {
            a.staked -= amount96;
        }
        uint96 unbonding = a.unbonding + amount96;
        uint40 readyAt = uint40(block.timestamp + unbondingDelay);
        a.unbonding = unbonding;
        // The whole balance is ready when its latest-ready request is; a later request never delays
        // an earlier one, which keeps its own tranche (docs/security.md, finding 7).
        a.unbondingReadyAt = uint40(Branchless.max(a.unbondingReadyAt, readyAt));
        _tranches[msg.sender].push(Tranche({amount: amount96, readyAt: readyAt}));
        emit UnbondingRequested(msg.sender, amount, unbonding, readyAt);
    }

    /// @inheritdoc IStaking
    function withdraw() external nonReentrant {
        Account storage a = _accounts[msg.sender];
        if (a.unbonding == 0) revert StakingNothingUnbonding(msg.sender);
        // One request per call: the gas is then the same whichever requests fell due since the
        // caller estimated it (a loop over the due ones would run out of gas when one more had).
        uint256 first = _firstTranche[msg.sender];
        Tranche memory t = _tranches[msg.sender][first];
        if (block.timestamp < t.readyAt) revert StakingUnbondingNotReady(msg.sender, t.readyAt, block.timestamp);
        delete _tranches[msg.sender][first];
        _firstTranche[msg.sender] = first + 1;
        // Safe: the tranche is part of the unbonding balance.
        unchecked {
            a.unbonding -= t.amount;
        }
        if (a.unbonding == 0) a.unbondingReadyAt = 0;
        emit Withdrawn(msg.sender, t.amount);
        _token.safeTransfer(msg.sender, t.amount);
    }

    // ---- market and dispute side ----

    /// @inheritdoc IStaking
    function lock(address staker, uint256 amount) external onlyRole(LOCKER_ROLE) {
        uint96 amount96 = _toAmount(amount);
        Account storage a = _accounts[staker];
        (uint96 staked, uint96 locked) = (a.staked, a.locked);
        uint256 free = staked - locked;
        if (staked < minStake || amount96 > free) revert StakingInsufficientStake(staker, amount, free);
        // Safe: locked + amount96 <= staked.
        unchecked {
            locked += amount96;
        }
        a.locked = locked;
        emit CollateralLocked(staker, amount, locked);
    }

    /// @inheritdoc IStaking
    function unlock(address staker, uint256 amount) external onlyRole(LOCKER_ROLE) {
        Account storage a = _accounts[staker];
        uint96 locked = a.locked;
        if (amount > locked) revert StakingInsufficientLocked(staker, amount, locked);
        // Safe: checked just above.
        unchecked {
            locked -= uint96(amount);
        }
        a.locked = locked;
        emit CollateralUnlocked(staker, amount, locked);
    }

    /// @inheritdoc IStaking
    function slash(address staker, uint256 amount, address beneficiary) external onlyRole(SLASHER_ROLE) nonReentrant returns (uint256 beneficiaryShare) {
        if (beneficiary == address(0)) revert StakingZeroAddress();
        Account storage a = _accounts[staker];
        uint96 locked = a.locked;
        if (amount > locked) revert StakingInsufficientLocked(staker, amount, locked);
        // Safe: amount <= locked <= staked.
        unchecked {
            a.locked = locked - uint96(amount);
            a.staked -= uint96(amount);
        }
        uint256 protocolShare = (amount * _protocolShareBps) / BPS;
        beneficiaryShare = amount - protocolShare;
        _protocolShareOwed += protocolShare;
        emit Slashed(staker, amount, beneficiary, beneficiaryShare, protocolShare);
        if (beneficiaryShare > 0) _token.safeTransfer(beneficiary, beneficiaryShare);
    }

    /// @inheritdoc IStaking
    function collectProtocolShare() external nonReentrant returns (uint256 amount) {
        amount = _protocolShareOwed;
        if (amount == 0) revert StakingNothingOwed();
        _protocolShareOwed = 0;
        address treasury_ = _treasury;
        emit ProtocolShareCollected(treasury_, amount);
        _token.safeTransfer(treasury_, amount);
    }

    // ---- governance ----

    /// @inheritdoc IStaking
    function setTreasury(address treasury_) external onlyRole(GOVERNOR_ROLE) {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IStaking
    function setProtocolShareBps(uint16 bps) external onlyRole(GOVERNOR_ROLE) {
        _setProtocolShareBps(bps);
    }

    /// @inheritdoc IStaking
    function setUnbondingDelay(uint32 delay) external onlyRole(GOVERNOR_ROLE) {
        _setUnbondingDelay(delay);
    }

    /// @inheritdoc IStaking
    function setMinStake(uint96 minStake_) external onlyRole(GOVERNOR_ROLE) {
        _setMinStake(minStake_);
    }

    // ---- views ----

    /// @inheritdoc IStaking
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IStaking
    function stakeOf(address staker) external view returns (uint256) {
        return _accounts[staker].staked;
    }

    /// @inheritdoc IStaking
    function lockedOf(address staker) external view returns (uint256) {
        return _accounts[staker].locked;
    }

    /// @inheritdoc IStaking
    function unbondingOf(address staker) external view returns (uint256 amount, uint256 readyAt) {
        Account storage a = _accounts[staker];
        return (a.unbonding, a.unbondingReadyAt);
    }

    /// @inheritdoc IStaking
    function withdrawableOf(address staker) external view returns (uint256 amount) {
        (amount,) = _matured(staker);
    }

    /// @inheritdoc IStaking
    function isStaked(address staker) external view returns (bool) {
        uint96 staked = _accounts[staker].staked;
        return staked > 0 && staked >= minStake;
    }

    /// @inheritdoc IStaking
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IStaking
    function protocolShareOwed() external view returns (uint256) {
        return _protocolShareOwed;
    }

    /// @inheritdoc IStaking
    function protocolShareBps() external view returns (uint16) {
        return _protocolShareBps;
    }

    // ---- internal writers ----

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert StakingZeroAddress();
        _treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    function _setProtocolShareBps(uint16 bps) private {
        if (bps > BPS) revert StakingShareOutOfRange(bps);
        _protocolShareBps = bps;
        emit ProtocolShareSet(bps);
    }

    function _setUnbondingDelay(uint32 delay) private {
        if (delay > MAX_UNBONDING_DELAY) revert StakingDelayOutOfRange(delay, MAX_UNBONDING_DELAY);
        unbondingDelay = delay;
        emit UnbondingDelaySet(delay);
    }

    function _setMinStake(uint96 minStake_) private {
        minStake = minStake_;
        emit MinStakeSet(minStake_);
    }

    /// @dev The amount of `staker`'s oldest requests that are ready (at most MAX_WITHDRAW_TRANCHES of
    ///      them, in order, up to the first not ready), and the index of the first one left: what
    ///      that many withdraw calls would pay.
    function _matured(address staker) private view returns (uint256 amount, uint256 next) {
        Tranche[] storage tranches = _tranches[staker];
        next = _firstTranche[staker];
        uint256 end = tranches.length;
        if (end > next + MAX_WITHDRAW_TRANCHES) end = next + MAX_WITHDRAW_TRANCHES;
        while (next < end && tranches[next].readyAt <= block.timestamp) {
            amount += tranches[next].amount;
            ++next;
        }
    }

    function _toAmount(uint256 amount) private pure returns (uint96) {
        if (amount == 0) revert StakingZeroAmount();
        if (amount > type(uint96).max) revert StakingAmountTooLarge(amount);
        return uint96(amount);
    }
}
