// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A token with the two habits of real tokens the market must survive: its owner can turn on a fee
///        burnt from every transfer (fee-on-transfer tokens), and can block an address from sending or
///        receiving (USDC-style blocklists). For the tests of docs/security.md finding 6.
contract HostileToken is ERC20 {
    error HostileTokenBlocked(address account);

    address public immutable owner;
    uint256 public feeBps;
    mapping(address => bool) public blocked;

    constructor(uint256 feeBps_) ERC20("Hostile Token", "HOST") {
        owner = msg.sender;
        feeBps = feeBps_;
        _mint(msg.sender, 1_000_000 ether);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "owner only");
        _;
    }

    function setFee(uint256 feeBps_) external onlyOwner {
        feeBps = feeBps_;
    }

    function setBlocked(address account, bool isBlocked) external onlyOwner {
        blocked[account] = isBlocked;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert HostileTokenBlocked(from);
        if (blocked[to]) revert HostileTokenBlocked(to);
        if (from == address(0) || to == address(0) || feeBps == 0) return super._update(from, to, value);
        uint256 fee = (value * feeBps) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
