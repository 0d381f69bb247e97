// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Merkle folds of the VM memory tree rules (vm-spec.md section 3) used by the dispute game.
library DisputeMerkle {
    /// @notice Levels of the memory tree: 2^27 leaves of 32 bytes.
    uint256 internal constant TREE_DEPTH = 27;

    /// @notice An aligned region of memory with a known subtree root.
    struct Region {
        uint256 addr;
        /// @notice Tree level: log2(size) - 5.
        uint256 level;
        bytes32 root;
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice Z[0] = 0, Z[i+1] = keccak256(Z[i] ‖ Z[i]).
    function zeroHashes() internal pure returns (bytes32[28] memory z) {
        for (uint256 i = 0; i < TREE_DEPTH; ++i) z[i + 1] = hashPair(z[i], z[i]);
    }

    /// @notice The root reached from `node` at position `index` of its level through `siblings`.
    function fold(bytes32 node, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32) {
        for (uint256 i = 0; i < siblings.length; ++i) {
            node = (index >> i) & 1 == 1 ? hashPair(siblings[i], node) : hashPair(node, siblings[i]);
        }
        return node;
    }

    /// @notice ceil(log2(x)) for x >= 1.
    function ceilLog2(uint256 x) internal pure returns (uint256 n) {
        while ((uint256(1) << n) < x) ++n;
    }

    /// @notice log2 of a power of two; `ok` false when `x` is not one.
    function exactLog2(uint256 x) internal pure returns (uint256 n, bool ok) {
        if (x == 0 || x & (x - 1) != 0) return (0, false);
        while ((uint256(1) << n) < x) ++n;
        return (n, true);
    }

    /// @notice Root of the whole memory holding `regions` (ascending, aligned, disjoint; checked by the
    ///         caller) and zero everywhere else.
    function memoryRoot(Region[] memory regions) internal pure returns (bytes32) {
        return _root(regions, 0, regions.length, 0, TREE_DEPTH, zeroHashes());
    }

    function _root(Region[] memory r, uint256 i, uint256 j, uint256 addr, uint256 level, bytes32[28] memory z)
        private
        pure
        returns (bytes32)
    {
        if (i == j) return z[level];
        // One region left: fold it up with zero siblings, no recursion per level.
        if (j == i + 1) return _foldAlone(r[i], level, z);
        uint256 mid = addr + (uint256(1) << (level + 4));
        uint256 k = i;
        while (k < j && r[k].addr < mid) ++k;
        if (k == i) return hashPair(z[level - 1], _root(r, i, j, mid, level - 1, z));
        if (k == j) return hashPair(_root(r, i, j, addr, level - 1, z), z[level - 1]);
        return hashPair(_root(r, i, k, addr, level - 1, z), _root(r, k, j, mid, level - 1, z));
    }

    /// @dev The root at `level` of the subtree holding region `g` alone: its siblings are all zero.
    function _foldAlone(Region memory g, uint256 level, bytes32[28] memory z) private pure returns (bytes32 node) {
        node = g.root;
        for (uint256 l = g.level; l < level; ++l) {
            node = (g.addr >> (l + 5)) & 1 == 1 ? hashPair(z[l], node) : hashPair(node, z[l]);
        }
    }
}
