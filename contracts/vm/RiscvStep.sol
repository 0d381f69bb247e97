// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IRiscvStep} from "./IRiscvStep.sol";

/// @title RiscvStep
/// @notice One-step verifier of the opml RV32IM VM: (pre-state, proofs) -> post-state, byte for byte
///         as fixed by docs/vm-spec.md. Pure: it reads no storage, so any contract (the dispute
///         game) can call it and anyone can re-run it off-chain with eth_call.
///
///         State encoding (STATE_SIZE = 173 bytes, all integers big-endian):
///
///         | offset | size | field      | meaning                                        |
///         |-------:|-----:|------------|------------------------------------------------|
///         |      0 |   32 | memRoot    | Merkle root of the 2^32-byte memory            |
///         |     32 |    4 | pc         | program counter                                |
///         |     36 |    8 | step       | steps executed so far (uint64)                 |
///         |     44 |    1 | status     | 0 running, 1..6 halted (STATUS_* below)        |
///         |     45 |    4 | exitCode   | written only by the exit syscall               |
///         |     49 |  124 | x1..x31    | register xi at 49 + 4*(i-1); x0 is not stored  |
///
///         Witness: proofs = fetchProof ‖ dataProof, each leaf (32 bytes) ‖ zeroMask (4 bytes) ‖
///         the siblings that are not zero hashes (leaf level first); the data proof carries only
///         the levels below where its path joins the fetch path. Both checked against memRoot.
/// @dev Line-by-line mirror of shared/vm/step.ts (with state.ts for the encoding): the same sections in the same order, the same function names. Every
///      32-bit value is carried as a uint256 holding its unsigned word; where TypeScript holds a
///      signed number (immediates, s32), Solidity holds the same 32 bits and reinterprets them
///      with s32. Results may leave 32 bits only on their way into writeReg, whose u32 is the
///      TypeScript `>>> 0`.
contract RiscvStep is IRiscvStep {
    // ============================================================================================
    // 1. State layout
    // ============================================================================================

    /// @inheritdoc IRiscvStep
    uint256 public constant override VM_VERSION = 1;
    /// @inheritdoc IRiscvStep
    uint256 public constant override STATE_SIZE = 173;

    uint256 private constant OFFSET_MEM_ROOT = 0;
    uint256 private constant OFFSET_PC = 32;
    uint256 private constant OFFSET_STEP = 36;
    uint256 private constant OFFSET_STATUS = 44;
    uint256 private constant OFFSET_EXIT_CODE = 45;
    uint256 private constant OFFSET_REGS = 49;

    uint256 private constant STATUS_RUNNING = 0;
    uint256 private constant STATUS_EXITED = 1;
    uint256 private constant STATUS_ILLEGAL_INSTRUCTION = 2;
    uint256 private constant STATUS_MISALIGNED_FETCH = 3;
    uint256 private constant STATUS_MISALIGNED_LOAD = 4;
    uint256 private constant STATUS_MISALIGNED_STORE = 5;
    uint256 private constant STATUS_BAD_SYSCALL = 6;
    uint256 private constant MAX_STATUS = STATUS_BAD_SYSCALL;

    uint256 private constant LEAF_SIZE = 32;
    uint256 private constant LEAF_SHIFT = 5;
    uint256 private constant TREE_DEPTH = 27;
    /// @dev A proof's zeroMask: big-endian uint32, bit i set when sibling i is Z[i] and omitted.
    uint256 private constant PROOF_MASK_SIZE = 4;
    /// @dev A proof starts with leaf ‖ zeroMask; the siblings it carries follow.
    uint256 private constant PROOF_HEADER_SIZE = LEAF_SIZE + PROOF_MASK_SIZE;

    /// @dev The fetch proof starts `proofs`; the data proof starts where the fetch proof ends.
    uint256 private constant FETCH_PROOF_OFFSET = 0;

    uint256 private constant MASK_64 = 0xffffffffffffffff;

    /// @dev The decoded state; regs[0] stays 0 (x0 is hard-wired and not encoded).
    struct State {
        bytes32 memRoot;
        uint256 pc;
        uint256 step;
        uint256 status;
        uint256 exitCode;
        uint256[32] regs;
    }

    /// @dev Big-endian unsigned field of `size` bytes at `offset` of a calldata byte string.
    function readField(bytes calldata encoded, uint256 offset, uint256 size) private pure returns (uint256 value) {
        // Why assembly: one calldataload per field, no slice copy. Safe: callers pass fixed offsets
        // inside an encoding whose length they checked, and calldataload past the end reads zeros.
        assembly ("memory-safe") {
            value := shr(sub(256, shl(3, size)), calldataload(add(encoded.offset, offset)))
        }
    }

    /// @dev Writes `value` (which fits `size` bytes) big-endian at `offset` of a zeroed byte string.
    function writeField(bytes memory encoded, uint256 offset, uint256 size, uint256 value) private pure {
        // Why assembly: a masked word write instead of a byte loop. Safe: the target bytes are still
        // zero (fresh `new bytes`), so OR-ing sets exactly them; the other 32 - size bytes of the
        // word, inside or past the array, are OR-ed with zeros and keep their contents.
        assembly ("memory-safe") {
            let ptr := add(add(encoded, 32), offset)
            mstore(ptr, or(mload(ptr), shl(sub(256, shl(3, size)), value)))
        }
    }

    function decodeState(bytes calldata encoded) private pure returns (State memory state) {
        if (encoded.length != STATE_SIZE) revert VMStateLengthInvalid(encoded.length);
        state.status = readField(encoded, OFFSET_STATUS, 1);
        if (state.status > MAX_STATUS) revert VMStatusInvalid(uint8(state.status));
        state.memRoot = bytes32(readField(encoded, OFFSET_MEM_ROOT, 32));
        state.pc = readField(encoded, OFFSET_PC, 4);
        state.step = readField(encoded, OFFSET_STEP, 8);
        state.exitCode = readField(encoded, OFFSET_EXIT_CODE, 4);
        uint256[32] memory regs = state.regs;
        // Why assembly: the 31 registers are half of a step's fixed cost; a Solidity loop with
        // bounds checks and a call per field costs ten times this one. Safe: reads stay inside the
        // length-checked encoding (x31 ends at byte 172), writes go to regs[1..31] of a
        // uint256[32] that `regs` points at.
        assembly ("memory-safe") {
            let from := add(encoded.offset, OFFSET_REGS)
            for { let i := 1 } lt(i, 32) { i := add(i, 1) } {
                mstore(add(regs, shl(5, i)), shr(224, calldataload(add(from, shl(2, sub(i, 1))))))
            }
        }
    }

    function encodeState(State memory state) private pure returns (bytes memory encoded) {
        encoded = new bytes(STATE_SIZE);
        writeField(encoded, OFFSET_MEM_ROOT, 32, uint256(state.memRoot));
        writeField(encoded, OFFSET_PC, 4, state.pc);
        writeField(encoded, OFFSET_STEP, 8, state.step);
        writeField(encoded, OFFSET_STATUS, 1, state.status);
        writeField(encoded, OFFSET_EXIT_CODE, 4, state.exitCode);
        uint256[32] memory regs = state.regs;
        // Why assembly: as in decodeState. Safe: every register holds a value below 2^32 (decoded
        // from 4 bytes, or written through writeReg's u32), and the bytes are written in increasing
        // order, each OR-ed into a word whose bytes from there on are still zero, so every write
        // sets exactly its 4 bytes; the last word reaches past the 173 bytes only with zeros.
        assembly ("memory-safe") {
            let to := add(add(encoded, 32), OFFSET_REGS)
            for { let i := 1 } lt(i, 32) { i := add(i, 1) } {
                let ptr := add(to, shl(2, sub(i, 1)))
                mstore(ptr, or(mload(ptr), shl(224, mload(add(regs, shl(5, i))))))
            }
        }
    }

    /// @inheritdoc IRiscvStep
    function step(bytes calldata state, bytes calldata proofs) external pure returns (bytes32 postStateHash) {
        return keccak256(encodeState(runStep(state, proofs)));
    }

    /// @inheritdoc IRiscvStep
    function stepState(bytes calldata state, bytes calldata proofs) external pure returns (bytes memory postState) {
        return encodeState(runStep(state, proofs));
    }

    /// @dev step.ts `step` up to the encoding both external functions share.
    function runStep(bytes calldata preState, bytes calldata proofs) private pure returns (State memory state) {
        state = decodeState(preState);
        if (state.status != STATUS_RUNNING) return state;
        executeInstruction(state, proofs);
        // The encoding holds a uint64 step count: it wraps like BigInt.asUintN(64, ...) in state.ts.
        state.step = (state.step + 1) & MASK_64;
    }

    /// @dev The only register writer: x0 stays 0, and the value is reduced to 32 bits.
    function writeReg(State memory state, uint256 rd, uint256 value) private pure {
        if (rd != 0) state.regs[rd] = u32(value);
    }

    // ============================================================================================
    // 2. 32-bit helpers
    // ============================================================================================

    uint256 private constant MASK_32 = 0xffffffff;

    /// @dev Reduces modulo 2^32, the width of every register, address and immediate.
    function u32(uint256 x) private pure returns (uint256) {
        return x & MASK_32;
    }

    /// @dev Two's-complement value of a 32-bit word.
    function s32(uint256 x) private pure returns (int256) {
        return int256(int32(uint32(u32(x))));
    }

    /// @dev Sign-extends the low `bits` bits of x to a 32-bit word.
    function signExtend(uint256 x, uint256 bits) private pure returns (uint256) {
        uint256 low = x & ((1 << bits) - 1);
        return low >> (bits - 1) == 0 ? low : u32(low | ~((1 << bits) - 1));
    }

    /// @dev High 32 bits of the unsigned 64-bit product (exact: both operands are below 2^32).
    function mulhu(uint256 a, uint256 b) private pure returns (uint256) {
        return (a * b) >> 32;
    }

    /// @dev High 32 bits of signed × signed; the int256 product of two int32 is exact.
    function mulh(uint256 a, uint256 b) private pure returns (uint256) {
        return u32(uint256((s32(a) * s32(b)) >> 32));
    }

    /// @dev High 32 bits of signed a × unsigned b; the int256 product is exact.
    function mulhsu(uint256 a, uint256 b) private pure returns (uint256) {
        return u32(uint256((s32(a) * int256(b)) >> 32));
    }

    function mul(uint256 a, uint256 b) private pure returns (uint256) {
        return u32(a * b);
    }

    /// @dev Signed division rounding towards zero (Solidity's `/` on int256), as RISC-V does.
    function div(uint256 a, uint256 b) private pure returns (uint256) {
        if (b == 0) return MASK_32;
        if (a == 0x80000000 && b == MASK_32) return 0x80000000;
        return u32(uint256(s32(a) / s32(b)));
    }

    function divu(uint256 a, uint256 b) private pure returns (uint256) {
        if (b == 0) return MASK_32;
        return a / b;
    }

    /// @dev Signed remainder with the dividend's sign (Solidity's `%` on int256), as RISC-V does.
    function rem(uint256 a, uint256 b) private pure returns (uint256) {
        if (b == 0) return a;
        if (a == 0x80000000 && b == MASK_32) return 0;
        return u32(uint256(s32(a) % s32(b)));
    }

    function remu(uint256 a, uint256 b) private pure returns (uint256) {
        if (b == 0) return a;
        return a % b;
    }

    // ============================================================================================
    // 3. Decode
    // ============================================================================================

    uint256 private constant OPCODE_LUI = 0x37;
    uint256 private constant OPCODE_AUIPC = 0x17;
    uint256 private constant OPCODE_JAL = 0x6f;
    uint256 private constant OPCODE_JALR = 0x67;
    uint256 private constant OPCODE_BRANCH = 0x63;
    uint256 private constant OPCODE_LOAD = 0x03;
    uint256 private constant OPCODE_STORE = 0x23;
    uint256 private constant OPCODE_OP_IMM = 0x13;
    uint256 private constant OPCODE_OP = 0x33;
    uint256 private constant OPCODE_MISC_MEM = 0x0f;
    uint256 private constant OPCODE_SYSTEM = 0x73;
    /// @dev The only legal SYSTEM word.
    uint256 private constant ECALL_WORD = 0x00000073;

    function opcodeOf(uint256 w) private pure returns (uint256) {
        return w & 0x7f;
    }

    function rdOf(uint256 w) private pure returns (uint256) {
        return (w >> 7) & 31;
    }

    function funct3Of(uint256 w) private pure returns (uint256) {
        return (w >> 12) & 7;
    }

    function rs1Of(uint256 w) private pure returns (uint256) {
        return (w >> 15) & 31;
    }

    function rs2Of(uint256 w) private pure returns (uint256) {
        return (w >> 20) & 31;
    }

    function funct7Of(uint256 w) private pure returns (uint256) {
        return w >> 25;
    }

    function immI(uint256 w) private pure returns (uint256) {
        return signExtend(w >> 20, 12);
    }

    function immS(uint256 w) private pure returns (uint256) {
        return signExtend(((w >> 25) << 5) | ((w >> 7) & 31), 12);
    }

    function immB(uint256 w) private pure returns (uint256) {
        return signExtend(
            ((w >> 31) << 12) | (((w >> 7) & 1) << 11) | (((w >> 25) & 0x3f) << 5) | (((w >> 8) & 0xf) << 1), 13
        );
    }

    function immU(uint256 w) private pure returns (uint256) {
        return w & 0xfffff000;
    }

    function immJ(uint256 w) private pure returns (uint256) {
        return signExtend(
            ((w >> 31) << 20) | (((w >> 12) & 0xff) << 12) | (((w >> 20) & 1) << 11) | (((w >> 21) & 0x3ff) << 1), 21
        );
    }

    // ============================================================================================
    // 4. Memory
    // ============================================================================================

    /// @dev step.ts `LeafPath`: the leaf, all 27 siblings (zero hashes expanded), the path's own
    ///      node at every level (nodes[0] the leaf, nodes[27] the root), and where the next proof
    ///      starts in `proofs`.
    struct LeafPath {
        bytes32 leaf;
        bytes32[27] siblings;
        bytes32[28] nodes;
        uint256 end;
    }

    /// @dev Levels whose siblings the data proof carries itself: below the highest level where the
    ///      leaf indexes of pc and the data address differ (that level's sibling is the fetch
    ///      path's own node, and above it both paths share their siblings). None in one leaf.
    function dataProofLevels(uint256 pc, uint256 addr) private pure returns (uint256 levels) {
        uint256 diverging = (pc >> LEAF_SHIFT) ^ (addr >> LEAF_SHIFT);
        if (diverging == 0) return 0;
        // Why unchecked: diverging < 2^27, so levels stays below 27 and levels + 1 cannot overflow.
        unchecked {
            while (diverging >> (levels + 1) != 0) ++levels;
        }
    }

    /// @dev Number of set bits (mask < 2^27 here).
    function popcount(uint256 mask) private pure returns (uint256 count) {
        // Why unchecked: mask != 0 in the loop, so mask - 1 does not underflow; count <= 256.
        unchecked {
            for (; mask != 0; ++count) mask &= mask - 1;
        }
    }

    /// @dev Z[0..26] of docs/vm-spec.md section 3 (Z[i+1] = keccak256(Z[i] ‖ Z[i])), 32 bytes each:
    ///      read from code instead of hashed per step. Every level of it is exercised by the tests'
    ///      sparse witnesses, whose omitted siblings only verify with the right Z[i].
    bytes private constant ZERO_HASHES =
        hex"0000000000000000000000000000000000000000000000000000000000000000" // Z[0]
        hex"ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5" // Z[1]
        hex"b4c11951957c6f8f642c4af61cd6b24640fec6dc7fc607ee8206a99e92410d30" // Z[2]
        hex"21ddb9a356815c3fac1026b6dec5df3124afbadb485c9ba5a3e3398a04b7ba85" // Z[3]
        hex"e58769b32a1beaf1ea27375a44095a0d1fb664ce2dd358e7fcbfb78c26a19344" // Z[4]
        hex"0eb01ebfc9ed27500cd4dfc979272d1f0913cc9f66540d7e8005811109e1cf2d" // Z[5]
        hex"887c22bd8750d34016ac3c66b5ff102dacdd73f6b014e710b51e8022af9a1968" // Z[6]
        hex"ffd70157e48063fc33c97a050f7f640233bf646cc98d9524c6b92bcf3ab56f83" // Z[7]
        hex"9867cc5f7f196b93bae1e27e6320742445d290f2263827498b54fec539f756af" // Z[8]
        hex"cefad4e508c098b9a7e1d8feb19955fb02ba9675585078710969d3440f5054e0" // Z[9]
        hex"f9dc3e7fe016e050eff260334f18a5d4fe391d82092319f5964f2e2eb7c1c3a5" // Z[10]
        hex"f8b13a49e282f609c317a833fb8d976d11517c571d1221a265d25af778ecf892" // Z[11]
        hex"3490c6ceeb450aecdc82e28293031d10c7d73bf85e57bf041a97360aa2c5d99c" // Z[12]
        hex"c1df82d9c4b87413eae2ef048f94b4d3554cea73d92b0f7af96e0271c691e2bb" // Z[13]
        hex"5c67add7c6caf302256adedf7ab114da0acfe870d449a3a489f781d659e8becc" // Z[14]
        hex"da7bce9f4e8618b6bd2f4132ce798cdc7a60e7e1460a7299e3c6342a579626d2" // Z[15]
        hex"2733e50f526ec2fa19a22b31e8ed50f23cd1fdf94c9154ed3a7609a2f1ff981f" // Z[16]
        hex"e1d3b5c807b281e4683cc6d6315cf95b9ade8641defcb32372f1c126e398ef7a" // Z[17]
        hex"5a2dce0a8a7f68bb74560f8f71837c2c2ebbcbf7fffb42ae1896f13f7c7479a0" // Z[18]
        hex"b46a28b6f55540f89444f63de0378e3d121be09e06cc9ded1c20e65876d36aa0" // Z[19]
        hex"c65e9645644786b620e2dd2ad648ddfcbf4a7e5b1a3a4ecfe7f64667a3f0b7e2" // Z[20]
        hex"f4418588ed35a2458cffeb39b93d26f18d2ab13bdce6aee58e7b99359ec2dfd9" // Z[21]
        hex"5a9c16dc00d6ef18b7933a6f8dc65ccb55667138776f7dea101070dc8796e377" // Z[22]
        hex"4df84f40ae0c8229d0d6069e5c8f39a7c299677a09d367fc7b05e3bc380ee652" // Z[23]
        hex"cdc72595f74c7b1043d0e1ffbab734648c838dfb0527d971b602bc216c9619ef" // Z[24]
        hex"0abf5ac974a1ed57f4050aa510dd9c74f508277b39d7973bb2dfccc5eeb0618d" // Z[25]
        hex"b8cd74046ff337f0a7bf2c8e03e10f642c1886798d71806ab1e888d9e5ee87d0"; // Z[26]

    /// @dev No level: readProof found no zero-hash sibling spelled out.
    uint256 private constant NO_LEVEL = type(uint256).max;

    /// @dev Reads the proof at `offset`: leaf ‖ zeroMask ‖ the siblings of levels [0, levels) whose
    ///      mask bit is clear, into `siblings` (levels from `levels` up keep what the caller put
    ///      there). Checks, in this order: the header is there, the mask marks no level at or above
    ///      `levels`, the siblings are there, no carried sibling is a zero hash.
    function readProof(bytes calldata proofs, uint256 offset, uint256 levels, bytes32[27] memory siblings)
        private
        pure
        returns (bytes32 leaf, uint256 end)
    {
        uint256 header = offset + PROOF_HEADER_SIZE;
        if (proofs.length < header) revert VMProofTooShort(header, proofs.length);
        leaf = bytes32(readField(proofs, offset, LEAF_SIZE));
        uint256 mask = readField(proofs, offset + LEAF_SIZE, PROOF_MASK_SIZE);
        if (mask >> levels != 0) revert VMProofMaskInvalid(uint32(mask));
        // mask < 2^levels here, so levels - popcount(mask) is the number of carried siblings.
        end = header + LEAF_SIZE * (levels - popcount(mask));
        if (proofs.length < end) revert VMProofTooShort(end, proofs.length);
        uint256 zeroLevel = NO_LEVEL;
        bytes memory zeros = ZERO_HASHES;
        // Why assembly: one pass per level without bounds checks, reading siblings straight from
        // calldata. Safe: levels <= 27, so every write is word i < 27 of the bytes32[27] and every
        // read of `zeros` is Z[i] inside its 27 words; calldata reads stay below `end`, checked above.
        assembly ("memory-safe") {
            let at := add(proofs.offset, header)
            for { let i := 0 } lt(i, levels) { i := add(i, 1) } {
                let zero := mload(add(add(zeros, 0x20), shl(5, i)))
                let sibling := zero
                if iszero(and(shr(i, mask), 1)) {
                    sibling := calldataload(at)
                    at := add(at, LEAF_SIZE)
                    if eq(sibling, zero) {
                        zeroLevel := i
                        break
                    }
                }
                mstore(add(siblings, shl(5, i)), sibling)
            }
        }
        if (zeroLevel != NO_LEVEL) revert VMProofZeroSiblingPresent(zeroLevel);
    }

    /// @dev The nodes on the path from `leaf` at the leaf index of `addr` up to the root, into
    ///      `nodes` (filled by the caller's array: returning a memory array would allocate one).
    function pathNodes(bytes32 leaf, uint256 addr, bytes32[27] memory siblings, bytes32[28] memory nodes)
        private
        pure
    {
        nodes[0] = leaf;
        // Why assembly: 27 hashes over memory arrays without bounds checks or temporary copies.
        // Safe: i < 27, so siblings[i] (word i of a bytes32[27]) and nodes[i + 1] (word i + 1 of a
        // bytes32[28]) are inside their arrays; the hash input uses only scratch space 0x00..0x3f.
        assembly ("memory-safe") {
            let node := leaf
            let index := shr(LEAF_SHIFT, addr)
            for { let i := 0 } lt(i, TREE_DEPTH) { i := add(i, 1) } {
                // Bit i of the leaf index: 1 when node is the right child at this level.
                let isRight := and(shr(i, index), 1)
                mstore(shl(5, isRight), node)
                mstore(shl(5, xor(isRight, 1)), mload(add(siblings, shl(5, i))))
                node := keccak256(0x00, 0x40)
                mstore(add(nodes, shl(5, add(i, 1))), node)
            }
        }
    }

    /// @dev The path of the leaf holding `addr`, read from the proof at `offset` (carrying `levels`
    ///      levels on top of `path.siblings`) into `path`, and checked against `root`. The fetch
    ///      proof sits at offset 0, the data proof after it; the error says which.
    function readLeaf(
        bytes calldata proofs,
        uint256 offset,
        uint256 addr,
        bytes32 root,
        uint256 levels,
        LeafPath memory path
    ) private pure {
        (path.leaf, path.end) = readProof(proofs, offset, levels, path.siblings);
        pathNodes(path.leaf, addr, path.siblings, path.nodes);
        if (path.nodes[TREE_DEPTH] != root) {
            if (offset == FETCH_PROOF_OFFSET) revert VMFetchProofInvalid(uint32(addr));
            revert VMDataProofInvalid(uint32(addr));
        }
    }

    /// @dev The memory root after replacing the (already verified) leaf of `path` at `addr` with
    ///      `leaf`; the path's nodes are overwritten (it is not used afterwards).
    function writeLeaf(LeafPath memory path, uint256 addr, bytes32 leaf) private pure returns (bytes32) {
        pathNodes(leaf, addr, path.siblings, path.nodes);
        return path.nodes[TREE_DEPTH];
    }

    /// @dev Little-endian value of the `size` bytes at `addr` inside its leaf (byte o of the leaf
    ///      is address 32k + o, and the leaf's first byte is the most significant of the bytes32).
    function leafGet(bytes32 leaf, uint256 addr, uint256 size) private pure returns (uint256 value) {
        uint256 o = addr & (LEAF_SIZE - 1);
        for (uint256 i = size; i > 0; --i) {
            value = (value << 8) | uint8(leaf[o + i - 1]);
        }
    }

    /// @dev The leaf with the `size` bytes at `addr` replaced by `value`, least significant first.
    function leafSet(bytes32 leaf, uint256 addr, uint256 size, uint256 value) private pure returns (bytes32) {
        uint256 o = addr & (LEAF_SIZE - 1);
        for (uint256 i = 0; i < size; ++i) {
            uint256 shift = 8 * (LEAF_SIZE - 1 - (o + i));
            leaf = bytes32((uint256(leaf) & ~(uint256(0xff) << shift)) | (((value >> (8 * i)) & 0xff) << shift));
        }
        return leaf;
    }

    /// @dev The path of the leaf holding pc; the proof carries all 27 levels.
    function fetchInstruction(State memory state, bytes calldata proofs) private pure returns (LeafPath memory path) {
        readLeaf(proofs, FETCH_PROOF_OFFSET, state.pc, state.memRoot, TREE_DEPTH, path);
    }

    /// @dev Turns the fetch path into the path of the data leaf holding `addr`, read from the proof
    ///      right after the fetch proof (the fetch path is not used afterwards): it keeps the
    ///      siblings above the level where the two paths join, takes the fetch path's own node at
    ///      that level as the sibling there, and reads the levels below.
    function readDataLeaf(State memory state, bytes calldata proofs, LeafPath memory path, uint256 addr)
        private
        pure
    {
        uint256 levels = dataProofLevels(state.pc, addr);
        if (state.pc >> LEAF_SHIFT != addr >> LEAF_SHIFT) path.siblings[levels] = path.nodes[levels];
        readLeaf(proofs, path.end, addr, state.memRoot, levels, path);
    }

    // ============================================================================================
    // 5. Syscalls
    // ============================================================================================

    uint256 private constant SYSCALL_EXIT = 93;
    uint256 private constant SYSCALL_WRITE = 64;
    uint256 private constant REG_A0 = 10;
    uint256 private constant REG_A2 = 12;
    uint256 private constant REG_A7 = 17;

    function handleEcall(State memory state) private pure {
        uint256 number = state.regs[REG_A7];
        if (number == SYSCALL_EXIT) {
            state.status = STATUS_EXITED;
            state.exitCode = state.regs[REG_A0];
            return;
        }
        if (number == SYSCALL_WRITE) {
            // The bytes are not part of the state: a write only reports its length as written.
            writeReg(state, REG_A0, state.regs[REG_A2]);
            state.pc = u32(state.pc + 4);
            return;
        }
        halt(state, STATUS_BAD_SYSCALL);
    }

    // ============================================================================================
    // 6. Execute
    // ============================================================================================

    function executeInstruction(State memory state, bytes calldata proofs) private pure {
        if (state.pc % 4 != 0) return halt(state, STATUS_MISALIGNED_FETCH);
        LeafPath memory path = fetchInstruction(state, proofs);
        uint256 w = leafGet(path.leaf, state.pc, 4);
        uint256 opcode = opcodeOf(w);
        if (opcode == OPCODE_LUI) {
            writeReg(state, rdOf(w), immU(w));
            return advance(state);
        }
        if (opcode == OPCODE_AUIPC) {
            writeReg(state, rdOf(w), state.pc + immU(w));
            return advance(state);
        }
        if (opcode == OPCODE_JAL || opcode == OPCODE_JALR) return executeJump(state, w);
        if (opcode == OPCODE_BRANCH) return executeBranch(state, w);
        if (opcode == OPCODE_LOAD) return executeLoad(state, proofs, path, w);
        if (opcode == OPCODE_STORE) return executeStore(state, proofs, path, w);
        if (opcode == OPCODE_OP_IMM) return executeOpImm(state, w);
        if (opcode == OPCODE_OP) return funct7Of(w) == 0x01 ? executeMulDiv(state, w) : executeOp(state, w);
        if (opcode == OPCODE_MISC_MEM) {
            // FENCE and FENCE.I order nothing in a single-hart machine without caches.
            if (funct3Of(w) > 1) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
            return advance(state);
        }
        if (opcode == OPCODE_SYSTEM) {
            if (w != ECALL_WORD) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
            return handleEcall(state);
        }
        halt(state, STATUS_ILLEGAL_INSTRUCTION);
    }

    function advance(State memory state) private pure {
        state.pc = u32(state.pc + 4);
    }

    function executeOpImm(State memory state, uint256 w) private pure {
        uint256 a = state.regs[rs1Of(w)];
        uint256 imm = immI(w);
        uint256 shamt = rs2Of(w);
        uint256 f3 = funct3Of(w);
        uint256 value;
        if (f3 == 0) {
            value = a + imm;
        } else if (f3 == 1) {
            if (funct7Of(w) != 0) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
            value = a << shamt;
        } else if (f3 == 2) {
            value = s32(a) < s32(imm) ? 1 : 0;
        } else if (f3 == 3) {
            value = a < imm ? 1 : 0;
        } else if (f3 == 4) {
            value = a ^ imm;
        } else if (f3 == 5) {
            if (funct7Of(w) == 0) value = a >> shamt;
            else if (funct7Of(w) == 0x20) value = uint256(s32(a) >> shamt);
            else return halt(state, STATUS_ILLEGAL_INSTRUCTION);
        } else if (f3 == 6) {
            value = a | imm;
        } else {
            value = a & imm;
        }
        writeReg(state, rdOf(w), value);
        advance(state);
    }

    function executeOp(State memory state, uint256 w) private pure {
        uint256 a = state.regs[rs1Of(w)];
        uint256 b = state.regs[rs2Of(w)];
        uint256 f3 = funct3Of(w);
        uint256 f7 = funct7Of(w);
        uint256 value;
        if (f7 == 0x20) {
            // Why unchecked: a, b < 2^32, so a - b wraps modulo 2^256 at worst, and writeReg's
            // u32 turns that into a - b modulo 2^32, as RV32 SUB requires.
            if (f3 == 0) {
                unchecked {
                    value = a - b;
                }
            } else if (f3 == 5) {
                value = uint256(s32(a) >> (b & 31));
            } else {
                return halt(state, STATUS_ILLEGAL_INSTRUCTION);
            }
        } else if (f7 == 0) {
            if (f3 == 0) value = a + b;
            else if (f3 == 1) value = a << (b & 31);
            else if (f3 == 2) value = s32(a) < s32(b) ? 1 : 0;
            else if (f3 == 3) value = a < b ? 1 : 0;
            else if (f3 == 4) value = a ^ b;
            else if (f3 == 5) value = a >> (b & 31);
            else if (f3 == 6) value = a | b;
            else value = a & b;
        } else {
            return halt(state, STATUS_ILLEGAL_INSTRUCTION);
        }
        writeReg(state, rdOf(w), value);
        advance(state);
    }

    function executeMulDiv(State memory state, uint256 w) private pure {
        uint256 a = state.regs[rs1Of(w)];
        uint256 b = state.regs[rs2Of(w)];
        uint256 f3 = funct3Of(w);
        uint256 value;
        if (f3 == 0) value = mul(a, b);
        else if (f3 == 1) value = mulh(a, b);
        else if (f3 == 2) value = mulhsu(a, b);
        else if (f3 == 3) value = mulhu(a, b);
        else if (f3 == 4) value = div(a, b);
        else if (f3 == 5) value = divu(a, b);
        else if (f3 == 6) value = rem(a, b);
        else value = remu(a, b);
        writeReg(state, rdOf(w), value);
        advance(state);
    }

    function branchTaken(uint256 f3, uint256 a, uint256 b) private pure returns (bool) {
        if (f3 == 0) return a == b;
        if (f3 == 1) return a != b;
        if (f3 == 4) return s32(a) < s32(b);
        if (f3 == 5) return s32(a) >= s32(b);
        if (f3 == 6) return a < b;
        return a >= b;
    }

    function executeBranch(State memory state, uint256 w) private pure {
        uint256 f3 = funct3Of(w);
        if (f3 == 2 || f3 == 3) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
        if (!branchTaken(f3, state.regs[rs1Of(w)], state.regs[rs2Of(w)])) return advance(state);
        uint256 target = u32(state.pc + immB(w));
        if (target % 4 != 0) return halt(state, STATUS_MISALIGNED_FETCH);
        state.pc = target;
    }

    /// @dev Access width in bytes per load funct3, byte f3 of the constant (0 = illegal): 1 2 4 0 1 2 0 0.
    uint256 private constant LOAD_SIZE = 0x0000020100040201;
    /// @dev Access width in bytes per store funct3, byte f3 of the constant (0 = illegal): 1 2 4 0 0 0 0 0.
    uint256 private constant STORE_SIZE = 0x0000000000040201;

    function executeLoad(State memory state, bytes calldata proofs, LeafPath memory path, uint256 w)
        private
        pure
    {
        uint256 f3 = funct3Of(w);
        uint256 size = (LOAD_SIZE >> (8 * f3)) & 0xff;
        if (size == 0) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
        uint256 addr = u32(state.regs[rs1Of(w)] + immI(w));
        if (addr % size != 0) return halt(state, STATUS_MISALIGNED_LOAD);
        readDataLeaf(state, proofs, path, addr);
        uint256 raw = leafGet(path.leaf, addr, size);
        // funct3 bit 2 marks the zero-extending forms (LBU, LHU).
        writeReg(state, rdOf(w), f3 & 4 != 0 ? raw : signExtend(raw, size * 8));
        advance(state);
    }

    function executeStore(State memory state, bytes calldata proofs, LeafPath memory path, uint256 w)
        private
        pure
    {
        uint256 size = (STORE_SIZE >> (8 * funct3Of(w))) & 0xff;
        if (size == 0) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
        uint256 addr = u32(state.regs[rs1Of(w)] + immS(w));
        if (addr % size != 0) return halt(state, STATUS_MISALIGNED_STORE);
        readDataLeaf(state, proofs, path, addr);
        bytes32 leaf = leafSet(path.leaf, addr, size, state.regs[rs2Of(w)]);
        state.memRoot = writeLeaf(path, addr, leaf);
        advance(state);
    }

    function executeJump(State memory state, uint256 w) private pure {
        uint256 target;
        if (opcodeOf(w) == OPCODE_JAL) {
            target = u32(state.pc + immJ(w));
        } else {
            if (funct3Of(w) != 0) return halt(state, STATUS_ILLEGAL_INSTRUCTION);
            target = u32(state.regs[rs1Of(w)] + immI(w)) & ~uint256(1);
        }
        if (target % 4 != 0) return halt(state, STATUS_MISALIGNED_FETCH);
        writeReg(state, rdOf(w), state.pc + 4);
        state.pc = target;
    }

    /// @dev A fault: only the status changes (runStep counts the step), like a precise trap.
    function halt(State memory state, uint256 status) private pure {
        state.status = status;
    }
}
