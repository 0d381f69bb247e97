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

    /// @notice Z[0] = 0, Z[i+1] = keccak256(Z[i] ‖ Z[i]) for i < 27, concatenated; read from code instead of
    ///         rehashed on every move (a wrong one fails every phase link of test/dispute, whose roots come from shared/vm).
    bytes internal constant ZERO_HASHES =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5"
        hex"b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30"
        hex"21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85"
        hex"e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344"
        hex"0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d"
        hex"887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968"
        hex"ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83"
        hex"9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af"
        hex"cefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0"
        hex"f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5"
        hex"f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892"
        hex"3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c"
        hex"c1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb"
        hex"5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc"
        hex"da7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2"
        hex"2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f"
        hex"e1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a"
        hex"5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0"
        hex"b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0"
        hex"c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2"
        hex"f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9"
        hex"5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377"
        hex"4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652"
        hex"cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef"
        hex"0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d"
        hex"b8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0"
        hex"838c5655cb21c6cb83313b5a631175dff4963772cce9108188b34ac87c81c41e";

    /// @notice The zero hashes Z[0..27] as a memory array.
    function zeroHashes() internal pure returns (bytes32[28] memory z) {
        bytes memory all = ZERO_HASHES;
        assembly ("memory-safe") {
            mcopy(z, add(all, 0x20), 896)
        }
    }

    /// @notice The root reached from `node` at position `index` of its level through `siblings`.
    function fold(bytes32 node, uint256 index, bytes32[] calldata siblings) internal pure returns (bytes32) {
        // Safe: i < siblings.length, a calldata length.
        unchecked {
            for (uint256 i = 0; i < siblings.length; ++i) {
                bytes32 sibling = siblings[i];
                node = (index >> i) & 1 == 1 ? hashPair(sibling, node) : hashPair(node, sibling);
            }
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
        if (regions.length == 0) return zeroHashes()[TREE_DEPTH];
        return _root(regions, 0, regions.length, TREE_DEPTH, zeroHashes());
    }

    /// @dev Root of the node at `level` holding r[i..j) (j > i) and zeros elsewhere. Only nodes where
    ///      the regions part ways cost a call: the levels in between are folds with zero siblings.
    function _root(Region[] memory r, uint256 i, uint256 j, uint256 level, bytes32[28] memory z) private pure returns (bytes32) {
        uint256 first = r[i].addr;
        if (j == i + 1) return _foldUp(r[i].root, r[i].level, first, level, z);
        // Sorted and disjoint: the highest bit where the first and last region differ splits them all.
        uint256 bit = _msb(first ^ r[j - 1].addr);
        uint256 k = i + 1;
        while ((r[k].addr >> bit) & 1 == 0) ++k;
        // The node whose children part at `bit` sits at level bit - 4 (its size is 2^(bit + 1) bytes).
        uint256 split = bit - 4;
        bytes32 node = hashPair(_root(r, i, k, split - 1, z), _root(r, k, j, split - 1, z));
        return _foldUp(node, split, first, level, z);
    }

    /// @dev Folds `node` (at `from`, containing address `addr`) up to `to` with zero siblings.
    function _foldUp(bytes32 node, uint256 from, uint256 addr, uint256 to, bytes32[28] memory z) private pure returns (bytes32) {
        // Safe: to <= TREE_DEPTH, so l + 5 and the index into z stay tiny.
        unchecked {
            for (uint256 l = from; l < to; ++l) {
                bytes32 sibling;
                assembly ("memory-safe") {
                    sibling := mload(add(z, shl(5, l)))
                }
                node = (addr >> (l + 5)) & 1 == 1 ? hashPair(sibling, node) : hashPair(node, sibling);
            }
        }
        return node;
    }

    /// @dev Index of the highest set bit of x > 0.
    function _msb(uint256 x) private pure returns (uint256 n) {
        // Addresses are 32-bit: a binary search over 16, 8, 4, 2, 1.
        for (uint256 step = 16; step > 0; step >>= 1) {
            if (x >> step != 0) {
                x >>= step;
                n += step;
            }
        }
    }
}
