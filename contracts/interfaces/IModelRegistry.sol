// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Registered models: owner, content roots and CIDs, activity, per-inference fee.
interface IModelRegistry {
    /// @notice What an owner registers.
    struct ModelSpec {
        /// @notice The dispute graph commitment (docs/dispute-spec.md section 3):
        ///         keccak256(specHash ‖ uint32 N ‖ uint32 outputSlot ‖ uint64 weightsSize ‖ nodesRoot),
        ///         computed off-chain by graphCommitment(dnnDisputeGraph(model, kernelElf)). The dispute
        ///         game's `open` recomputes it from the provider's graph facts and refuses a mismatch,
        ///         so a model registered with anything else (e.g. keccak256 of the spec alone) cannot be disputed.
        bytes32 graphSpecHash;
        /// @notice Merkle root of the weights blob (docs/vm-spec.md tree); the phase link checks weight inputs against it.
        bytes32 weightsRoot;
        /// @notice Initial VM memory root of the guest kernel ELF; the phase link checks each node's image against it.
        bytes32 vmImageRoot;
        string graphCid;
        string weightsCid;
        string vmImageCid;
        /// @notice Paid to the owner for every finalized inference.
        uint88 fee;
    }

    /// @notice No model has this id.
    error RegistryModelUnknown(uint32 modelId);
    /// @notice The caller does not own the model.
    error RegistryNotModelOwner(uint32 modelId, address caller, address owner);
    /// @notice The model is already deactivated.
    error RegistryModelInactive(uint32 modelId);
    /// @notice A required root is zero.
    error RegistryZeroRoot(string field);
    /// @notice A required CID is empty.
    error RegistryEmptyCid(string field);

    event ModelRegistered(
        uint32 indexed modelId,
        address indexed owner,
        bytes32 graphSpecHash,
        bytes32 weightsRoot,
        bytes32 vmImageRoot,
        string graphCid,
        string weightsCid,
        string vmImageCid,
        uint256 fee
    );
    event ModelDeactivated(uint32 indexed modelId);
    event ModelFeeSet(uint32 indexed modelId, uint256 fee);

    /// @notice Registers a model owned by the caller.
    /// @return modelId Its id (sequential from 1).
    function registerModel(ModelSpec calldata spec) external returns (uint32 modelId);

    /// @notice Stops new tasks for the model. Owner only; tasks already created run to the end.
    function deactivateModel(uint32 modelId) external;

    /// @notice Changes the per-inference fee for tasks created from now on. Owner only.
    function setModelFee(uint32 modelId, uint88 fee) external;

    /// @notice The model's owner, fee and whether it accepts new tasks; all zero for an unknown id
    ///         (so the market reads one slot and names the problem itself).
    function modelTerms(uint32 modelId) external view returns (address owner, uint88 fee, bool active);

    /// @notice The model's content roots; reverts for an unknown id.
    function modelRoots(uint32 modelId) external view returns (bytes32 graphSpecHash, bytes32 weightsRoot, bytes32 vmImageRoot);

    /// @notice The model's CIDs; reverts for an unknown id.
    function modelCids(uint32 modelId) external view returns (string memory graphCid, string memory weightsCid, string memory vmImageCid);

    /// @notice How many models were registered (the highest id).
    function modelCount() external view returns (uint32);
}
