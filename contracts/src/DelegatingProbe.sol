// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "../../precompiles/inference/IInference.sol";

/// @title Test fixture: a contract that tries to spend its caller's balance
/// @notice Used by runtime/tests/contracts.rs. `delegateRequest` DELEGATECALLs the precompile's
/// `requestInference`, in which the caller seen by the precompile would be whoever called this
/// contract; the chain must refuse it. It returns whether the delegate call succeeded and what it
/// returned (or its revert data), so the test can read the refusal.
contract DelegatingProbe {
    function delegateRequest(bytes32 model, bytes calldata input, uint256 maxFee)
        external
        returns (bool ok, bytes memory data)
    {
        (ok, data) = INFERENCE_ADDRESS.delegatecall(
            abi.encodeCall(IInference.requestInference, (model, input, maxFee, 0))
        );
    }

    /// The same request as a direct call: the contract itself is the requester and pays.
    function directRequest(bytes32 model, bytes calldata input, uint256 maxFee) external returns (uint64) {
        return IInference(INFERENCE_ADDRESS).requestInference(model, input, maxFee, 0);
    }
}
