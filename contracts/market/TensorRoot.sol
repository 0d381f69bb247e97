// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The tensor-root rule of docs/dnn-spec.md section 3, on-chain.
/// @notice The bytes zero-padded to max(32, the next power of two), 32-byte leaves taken raw, parents
///         keccak256(left ‖ right): the root a provider commits as `outputRoot`, so `commit` can refuse
///         output bytes that are not the ones the root (and so the dispute game) speaks for.
library TensorRoot {
    function compute(bytes calldata data) internal pure returns (bytes32 root) {
        uint256 n = data.length;
        uint256 leaves = 1;
        // Safe: n is a calldata length, far below 2^250.
        unchecked {
            while (leaves * 32 < n) leaves <<= 1;
        }
        assembly ("memory-safe") {
            let level := mload(0x40)
            let size := mul(leaves, 32)
            // The padded tensor: calldata bytes, then zeros up to the tree's width.
            calldatacopy(level, data.offset, n)
            calldatacopy(add(level, n), calldatasize(), sub(size, n))
            // Pairs hash in place, halving the level until one node is left.
            for { let width := leaves } gt(width, 1) { width := shr(1, width) } {
                for { let i := 0 } lt(i, shr(1, width)) { i := add(i, 1) } {
                    mstore(add(level, mul(i, 32)), keccak256(add(level, mul(i, 64)), 64))
                }
            }
            root := mload(level)
        }
    }
}
