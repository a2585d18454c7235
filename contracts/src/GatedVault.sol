// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "../../precompiles/inference/IInference.sol";
import "./VerityTensor.sol";

/// @title A vault whose withdrawals a classifier must allow
/// @notice A user asks to withdraw with an input for a classification model (e.g. a fraud
/// classifier whose output `class` is an i64); the withdrawal executes only if the validators'
/// agreed class is `allowedClass`. Any input encoding works: callers pass Verity-format bytes
/// (built off chain, or with VerityTensor).
contract GatedVault {
    IInference private constant INFERENCE = IInference(INFERENCE_ADDRESS);

    bytes32 public immutable model;
    int64 public immutable allowedClass;
    mapping(uint64 => address) public requester;
    mapping(uint64 => bool) public executed;
    mapping(address => uint256) public allowance;

    event Requested(uint64 indexed requestId, address indexed who);
    event Executed(uint64 indexed requestId, address indexed who, int64 class, bool allowed);

    constructor(bytes32 model_, int64 allowedClass_) payable {
        model = model_;
        allowedClass = allowedClass_;
    }

    function requestWithdrawal(bytes calldata input, uint256 maxFee) external returns (uint64 requestId) {
        requestId = INFERENCE.requestInference(model, input, maxFee, 0);
        requester[requestId] = msg.sender;
        emit Requested(requestId, msg.sender);
    }

    /// @notice Reads the agreed class (first element of the first output tensor, an i64).
    function execute(uint64 requestId) external returns (bool allowed) {
        address who = requester[requestId];
        require(who != address(0) && !executed[requestId], "unknown or done");
        (bytes memory output,,,) = INFERENCE.getResult(requestId);
        int64 class = VerityTensor.readI64(output, 0, 0);
        allowed = class == allowedClass;
        executed[requestId] = true;
        if (allowed) allowance[who] += 1;
        emit Executed(requestId, who, class, allowed);
    }
}
