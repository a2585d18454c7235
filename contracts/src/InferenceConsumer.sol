// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "../../precompiles/inference/IInference.sol";

/// @title Base of contracts that the chain calls back with inference results
/// @notice The chain delivers an outcome by calling the requesting contract as itself
/// (`msg.sender == address(this)`). That alone proves nothing: a contract with a generic
/// `execute(target, data)` (wallets, vaults, batchers) can be made to call itself with any
/// arguments. This base accepts a callback only
/// - from the contract itself,
/// - for a request this contract made with `_requestInference` and was not yet told about,
/// - once the chain has concluded it that way (`requestStatus`: 2 attested, 3 expired, 4 failed),
/// - for a result, with exactly the attested output (read back through the precompile),
/// and then calls `_onResult`, `_onExpiry` or `_onFailure`: every request ends with one. (An
/// expiry's callback is delivered in a later block with spare weight; should the chain drop it
/// (its queue full, or pruned first) or should it revert, anyone can `settleExpired`.) Replays, fakes and callbacks for other
/// contracts' requests revert. (Should a delivery revert, its bookkeeping is rolled back with
/// it: the attested outcome can then be delivered again by anyone, as `getResult` can be read.)
abstract contract InferenceConsumer is IInferenceConsumer {
    IInference internal constant INFERENCE = IInference(INFERENCE_ADDRESS);

    /// Requests this contract made and has not been told the outcome of.
    mapping(uint64 => bool) private awaiting;

    /// The `reason` `_onExpiry` gets from `settleExpired` (the chain gives 0 or 1).
    uint8 internal constant EXPIRY_REPORTED = 2;

    /// Requests inference with a callback of `refTime` / `proofSize` weight (see
    /// `IInference.requestInferenceWithCallback`), paid from this contract's balance.
    function _requestInference(
        bytes32 model,
        bytes memory input,
        uint256 maxFee,
        uint32 timeout,
        uint64 refTime,
        uint64 proofSize
    ) internal returns (uint64 requestId) {
        requestId = INFERENCE.requestInferenceWithCallback(model, input, maxFee, timeout, refTime, proofSize);
        awaiting[requestId] = true;
    }

    /// @notice Whether this contract still waits for the outcome of `requestId`.
    function isAwaiting(uint64 requestId) public view returns (bool) {
        return awaiting[requestId];
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint64 requestId, bytes calldata output) external {
        _accept(requestId, 2);
        (bytes memory attested,,,) = INFERENCE.getResult(requestId);
        require(keccak256(attested) == keccak256(output), "InferenceConsumer: not the attested output");
        _onResult(requestId, output);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceFailure(uint64 requestId, uint8 kind) external {
        _accept(requestId, 4);
        _onFailure(requestId, kind);
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceExpired(uint64 requestId, uint8 reason) external {
        _accept(requestId, 3);
        _onExpiry(requestId, reason);
    }

    /// @notice Reports the expiry of a request of this contract that the chain's callback did
    /// not (it was dropped, or reverted): anyone may call it once the request's status is
    /// expired; `_onExpiry` then gets reason `EXPIRY_REPORTED`.
    function settleExpired(uint64 requestId) external {
        require(awaiting[requestId], "InferenceConsumer: not awaiting this request");
        require(INFERENCE.requestStatus(requestId) == 3, "InferenceConsumer: not concluded so");
        delete awaiting[requestId];
        _onExpiry(requestId, EXPIRY_REPORTED);
    }

    function _accept(uint64 requestId, uint8 status) private {
        require(msg.sender == address(this), "InferenceConsumer: only the chain calls back");
        require(awaiting[requestId], "InferenceConsumer: not awaiting this request");
        require(INFERENCE.requestStatus(requestId) == status, "InferenceConsumer: not concluded so");
        delete awaiting[requestId];
    }

    /// The attested output of a request this contract made (checked by the base).
    function _onResult(uint64 requestId, bytes calldata output) internal virtual;

    /// A quorum of validators reported failure `kind` for a request this contract made.
    function _onFailure(uint64 requestId, uint8 kind) internal virtual;

    /// A request this contract made expired without a result (`reason`: 0 deadline, 1 no
    /// agreement, 2 reported by `settleExpired`); its fee came back to this contract but the
    /// committed members' share. The expiry is checked (`requestStatus`), the reason is not:
    /// a contract that can be made to call itself could be handed another one after the
    /// chain's own delivery reverted; act on the expiry, not on its reason.
    function _onExpiry(uint64 requestId, uint8 reason) internal virtual;
}
