// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRiscvStep
/// @notice The on-chain one-step verifier of the opml RV32IM VM (docs/vm-spec.md): a pure function
///         from a pre-state encoding and its Merkle proofs to the post-state. The dispute game
///         calls `step` once, on the single instruction two parties disagree about.
interface IRiscvStep {
    /// @notice The state encoding is not exactly STATE_SIZE (173) bytes long.
    /// @param length The length that was given.
    error VMStateLengthInvalid(uint256 length);

    /// @notice The state's status byte is not one of the defined statuses (0..6).
    /// @param status The status byte that was given.
    error VMStatusInvalid(uint8 status);

    /// @notice The step needs more proof bytes than were given.
    /// @param needed Bytes the step reads, as far as the zeroMasks read so far tell.
    /// @param given Length of the `proofs` argument.
    error VMProofTooShort(uint256 needed, uint256 given);

    /// @notice A proof's zeroMask marks a level the proof does not carry (bits 27..31, or for the
    ///         data proof any level from where its path joins the fetch path).
    /// @param mask The zeroMask as given.
    error VMProofMaskInvalid(uint32 mask);

    /// @notice A proof carries a sibling equal to its level's zero hash; the canonical form omits it.
    /// @param level Tree level of that sibling (0 = leaf level).
    error VMProofZeroSiblingPresent(uint256 level);

    /// @notice The fetch proof does not lead from its leaf to the pre-state memory root.
    /// @param pc The program counter whose leaf the proof was meant for.
    error VMFetchProofInvalid(uint32 pc);

    /// @notice The data proof does not lead from its leaf to the pre-state memory root.
    /// @param addr The effective address of the load or store.
    error VMDataProofInvalid(uint32 addr);

    /// @notice Version of the VM semantics; off-chain players refuse verifiers reporting another.
    function VM_VERSION() external view returns (uint256);

    /// @notice Length in bytes of a state encoding (173).
    function STATE_SIZE() external view returns (uint256);

    /// @notice Executes one instruction of the VM and returns the hash of the successor state.
    /// @param state The pre-state encoding (STATE_SIZE bytes, layout in docs/vm-spec.md section 2).
    /// @param proofs fetchProof ‖ dataProof in the compressed form of docs/vm-spec.md section 4, as many
    ///        as the step needs; extra bytes are ignored.
    /// @return postStateHash keccak256 of the post-state encoding.
    function step(bytes calldata state, bytes calldata proofs) external pure returns (bytes32 postStateHash);

    /// @notice Same step as `step`, returning the post-state encoding itself (for tests and tooling).
    /// @param state The pre-state encoding (STATE_SIZE bytes).
    /// @param proofs fetchProof ‖ dataProof (docs/vm-spec.md section 4), as many as the step needs.
    /// @return postState The post-state encoding (STATE_SIZE bytes).
    function stepState(bytes calldata state, bytes calldata proofs) external pure returns (bytes memory postState);
}
