// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "./InferenceConsumer.sol";

/// @title Test fixture: a consumer whose callback behaves as told
/// @notice Used by tests/e2e/test_contracts.py to check that callbacks that revert, run out of
/// gas or re-enter the precompile never block finalization. Modes: 0 records the result,
/// 1 reverts, 2 loops until its weight is gone, 3 requests inference again from the callback.
/// Like a wallet it also has a generic `execute`, through which anyone can make it call itself:
/// `InferenceConsumer` must still refuse fake callbacks (runtime/tests/contracts.rs).
contract CallbackProbe is InferenceConsumer {

    bytes32 public immutable model;
    mapping(uint64 => uint8) public mode;
    mapping(uint64 => bytes) public received;
    uint64 public lastNested;
    uint256 public spin;
    bytes private nestedInput;

    event Requested(uint64 indexed requestId, uint8 mode);
    event Received(uint64 indexed requestId, uint256 outputLength);
    event Nested(uint64 indexed parent, uint64 indexed child);

    constructor(bytes32 model_) payable {
        model = model_;
    }

    function ask(bytes calldata input, uint256 maxFee, uint8 mode_, uint64 refTime) external returns (uint64 id) {
        id = _requestInference(model, input, maxFee, 0, refTime, 262_144);
        mode[id] = mode_;
        if (mode_ == 3) nestedInput = input;
        emit Requested(id, mode_);
    }

    /// Calls `target` with `data` (as a wallet would), bubbling up its revert.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    /// Modes 1 (revert) and 2 (spin until the weight is gone), for every kind of callback.
    function _misbehave(uint64 requestId) private {
        uint8 m = mode[requestId];
        if (m == 1) revert("probe reverts");
        if (m == 2) {
            while (true) spin++;
        }
    }

    function _onResult(uint64 requestId, bytes calldata output) internal override {
        _misbehave(requestId);
        uint8 m = mode[requestId];
        received[requestId] = output;
        emit Received(requestId, output.length);
        if (m == 3) {
            (, uint256 fee,,) = INFERENCE.getModel(model);
            uint64 child = INFERENCE.requestInference(model, nestedInput, fee, 0);
            lastNested = child;
            emit Nested(requestId, child);
        }
    }

    /// Agreed failures: records the kind + 1 (0 means none); modes 1 and 2 apply as above.
    mapping(uint64 => uint8) public failedWith;

    function _onFailure(uint64 requestId, uint8 kind) internal override {
        _misbehave(requestId);
        failedWith[requestId] = kind + 1;
    }

    /// Expiries: records the reason + 1 (0 means none); modes 1 and 2 apply as above.
    mapping(uint64 => uint8) public expiredWith;

    function _onExpiry(uint64 requestId, uint8 reason) internal override {
        _misbehave(requestId);
        expiredWith[requestId] = reason + 1;
    }

    receive() external payable {}
}
