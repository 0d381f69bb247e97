// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Arithmetic without a jump on its operands.
/// @notice Where an operand comes from the block's time, a branch makes the gas of a successful call
///         depend on when it lands, and a wallet's exact estimate from one block runs out of gas in the
///         next. These take the same path, and so the same gas, whatever the values.
library Branchless {
    function max(uint256 a, uint256 b) internal pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := xor(a, mul(xor(a, b), gt(b, a)))
        }
    }
}
