// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";

/// @title Registered models and their terms.
/// @notice Permissionless: anyone registers a model and owns it. The market reads only `modelTerms`
///         (one slot); the dispute game reads the roots.
contract ModelRegistry is IModelRegistry {
    /// @dev Slot 0 is what the market reads per task.
    struct Model {
        address owner;
        uint88 fee;
        bool active;
        bytes32 graphSpecHash;
        bytes32 weightsRoot;
        bytes32 vmImageRoot;
        string graphCid;
        string weightsCid;
        string vmImageCid;
    }

    mapping(uint32 => Model) private _models;
    uint32 private _modelCount;

    /// @inheritdoc IModelRegistry
    function registerModel(ModelSpec calldata spec) external returns (uint32 modelId) {
        if (spec.graphSpecHash == bytes32(0)) revert RegistryZeroRoot("graphSpecHash");
        if (spec.weightsRoot == bytes32(0)) revert RegistryZeroRoot("weightsRoot");
        if (spec.vmImageRoot == bytes32(0)) revert RegistryZeroRoot("vmImageRoot");
        if (bytes(spec.graphCid).length == 0) revert RegistryEmptyCid("graphCid");
        if (bytes(spec.weightsCid).length == 0) revert RegistryEmptyCid("weightsCid");
        if (bytes(spec.vmImageCid).length == 0) revert RegistryEmptyCid("vmImageCid");
        modelId = ++_modelCount;
        _models[modelId] = Model({
            owner: msg.sender,
            fee: spec.fee,
            active: true,
            graphSpecHash: spec.graphSpecHash,
            weightsRoot: spec.weightsRoot,
            vmImageRoot: spec.vmImageRoot,
            graphCid: spec.graphCid,
            weightsCid: spec.weightsCid,
            vmImageCid: spec.vmImageCid
        });
        emit ModelRegistered(
            modelId, msg.sender, spec.graphSpecHash, spec.weightsRoot, spec.vmImageRoot, spec.graphCid, spec.weightsCid, spec.vmImageCid, spec.fee
        );
    }

    /// @inheritdoc IModelRegistry
    function deactivateModel(uint32 modelId) external {
        Model storage m = _ownedModel(modelId);
        if (!m.active) revert RegistryModelInactive(modelId);
        m.active = false;
        emit ModelDeactivated(modelId);
    }

    /// @inheritdoc IModelRegistry
    function setModelFee(uint32 modelId, uint88 fee) external {
        _ownedModel(modelId).fee = fee;
        emit ModelFeeSet(modelId, fee);
    }

    /// @inheritdoc IModelRegistry
    function modelTerms(uint32 modelId) external view returns (address owner, uint88 fee, bool active) {
        Model storage m = _models[modelId];
        return (m.owner, m.fee, m.active);
    }

    /// @inheritdoc IModelRegistry
    function modelRoots(uint32 modelId) external view returns (bytes32, bytes32, bytes32) {
        Model storage m = _knownModel(modelId);
        return (m.graphSpecHash, m.weightsRoot, m.vmImageRoot);
    }

    /// @inheritdoc IModelRegistry
    function modelCids(uint32 modelId) external view returns (string memory, string memory, string memory) {
        Model storage m = _knownModel(modelId);
        return (m.graphCid, m.weightsCid, m.vmImageCid);
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint32) {
        return _modelCount;
    }

    function _knownModel(uint32 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.owner == address(0)) revert RegistryModelUnknown(modelId);
    }

    function _ownedModel(uint32 modelId) private view returns (Model storage m) {
        m = _knownModel(modelId);
        if (m.owner != msg.sender) revert RegistryNotModelOwner(modelId, msg.sender, m.owner);
    }
}
