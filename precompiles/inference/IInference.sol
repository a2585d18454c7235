// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @dev The inference precompile of a Verity chain.
address constant INFERENCE_ADDRESS = 0x000000000000000000000000000000000a010000;

/// @title Verifiable ONNX inference from contracts
/// @notice Ask the validators to run a registered ONNX model; a quorum of them must agree on
/// the output before the chain stores it. Inputs and outputs are tensors in the Verity tensor
/// format (docs/tensor-format.md; `contracts/src/VerityTensor.sol` builds and reads them).
/// Errors revert with the pallet's error name, e.g. "UnknownModel", "InputTensorShape",
/// "FeeAboveMax", "TooManyPendingRequests". Requests must be direct calls: through DELEGATECALL
/// they revert with "DelegateCallDenied" (the fee would be held from the delegating contract's
/// caller).
interface IInference {
    /// @notice Requests inference. The model's fee is held from the caller's balance (a
    /// contract pays from its own balance) until the result is attested (paid to the
    /// validators) or the request expires (refunded).
    /// @param model blake2-256 hash of the model's ONNX bytes
    /// @param input encoded input tensors
    /// @param maxFee most the caller accepts to pay, in the chain's native units
    /// @param timeout blocks the validators have (0: the chain's default; otherwise at least 2,
    /// else "TimeoutTooShort")
    /// @return requestId the new request's id
    function requestInference(bytes32 model, bytes calldata input, uint256 maxFee, uint32 timeout)
        external
        returns (uint64 requestId);

    /// @notice Like `requestInference`, and when the result is attested the chain calls the
    /// caller's `onInferenceResult` (see `IInferenceConsumer`) with up to the given weight,
    /// which the caller pays now, as gas, on top of this call; when the request ends, the fee of
    /// the weight the callback did not use goes back to the transaction's signer (see
    /// docs/pallet-inference.md, "Callbacks"). The callback runs as the contract
    /// itself (`msg.sender == address(this)`), which a contract able to call itself (a generic
    /// `execute`) could fake: inherit `contracts/src/InferenceConsumer.sol`, which accepts only
    /// the chain's outcome of the contract's own requests, once. If it reverts or runs out of
    /// its weight, its effects are rolled back and the result stays readable with `getResult`.
    /// Reverts with "CallbackTooHeavy" above `maxCallbackWeight()`.
    function requestInferenceWithCallback(
        bytes32 model,
        bytes calldata input,
        uint256 maxFee,
        uint32 timeout,
        uint64 callbackRefTime,
        uint64 callbackProofSize
    ) external returns (uint64 requestId);

    /// @notice The most weight a callback may be given (ref time in picoseconds, proof bytes).
    function maxCallbackWeight() external view returns (uint64 refTime, uint64 proofSize);

    /// @notice 0 unknown (never made, or pruned after retention), 1 pending, 2 attested,
    /// 3 expired (no quorum; refunded), 4 failed (a quorum of validators reported the same
    /// failure to run the model on this input; the fee paid them).
    function requestStatus(uint64 requestId) external view returns (uint8 status);

    /// @notice The attested result: the output tensors, the blake2-256 of the output, the
    /// number of validators that attested it and the block in which it was attested.
    /// Reverts with "NoResult" unless the request is attested.
    function getResult(uint64 requestId)
        external
        view
        returns (bytes memory output, bytes32 outputHash, uint32 attesters, uint32 attestedAt);

    /// @notice How the committee agreed on an attested result: the validators whose outputs
    /// agreed (and were paid), those whose revealed outputs disagreed before the quorum was
    /// reached (each got a strike), the size of the request's committee, the quorum it needed,
    /// and how far apart the agreeing outputs were: the largest absolute difference between an
    /// element of the stored output and the same element of another attester's, times 1e9
    /// (0: identical; always 0 for integer, bool and string outputs). A contract can require
    /// more than the quorum (e.g. `attesters == committee`) or a closer agreement than the
    /// model's tolerance before acting. Reverts with "NoResult" unless the request is attested.
    function getAgreement(uint64 requestId)
        external
        view
        returns (uint32 attesters, uint32 dissenters, uint32 committee, uint32 quorum, uint64 maxDifferenceE9);
    /// @notice A model: whether it takes requests (registered, uploaded, not retired), its fee
    /// per request and its number of inputs and outputs. Reverts with "UnknownModel".
    function getModel(bytes32 model)
        external
        view
        returns (bool active, uint256 fee, uint32 inputs, uint32 outputs);

    /// @notice The rules a model's results are held to: its owner (the 32-byte account that
    /// registered it), its status (0 uploading, 1 active, 2 retired, 3 suspended, 4 probing:
    /// the committee runs its readiness probe, 5 rejected: its probe failed), the tolerance
    /// results must agree within (absolute and relative, times 1e9) and its fee. A contract that
    /// pins a model can check them before each request. Reverts with "UnknownModel".
    function modelRules(bytes32 model)
        external
        view
        returns (bytes32 owner, uint8 status, uint64 toleranceAbsE9, uint64 toleranceRelE9, uint256 fee);

    /// @notice What a request with `inputBytes` bytes of input to `model` pays now: the model's
    /// fee, or the fee floor (per committee member and byte of input and largest output) when
    /// that is higher. Pass at least this as `maxFee`. Reverts with "UnknownModel" (or
    /// "NoExecutors" when no validator runs models).
    function quote(bytes32 model, uint32 inputBytes) external view returns (uint256 fee);

    /// @notice Like `requestInferenceWithCallback` (no callback when both callback weights are
    /// 0), demanding more than the model's defaults, enforced by the chain: at least
    /// `minAttesters` agreeing validators (0: the chain's quorum; `type(uint32).max`: the whole
    /// committee; otherwise at most the committee's size, else "MoreAttestersThanCommittee"),
    /// and agreement within `toleranceAbsE9` and `toleranceRelE9` (times 1e9, each at most the
    /// model's, see `modelRules`, else "ToleranceLooserThanModel"; `type(uint64).max` in both
    /// keeps the model's). Without such agreement by the deadline the request expires (its
    /// callback, if any, is told with `onInferenceExpired`); `getAgreement` shows the quorum
    /// the request needed.
    function requestInferenceWithRules(
        bytes32 model,
        bytes calldata input,
        uint256 maxFee,
        uint32 timeout,
        uint64 callbackRefTime,
        uint64 callbackProofSize,
        uint32 minAttesters,
        uint64 toleranceAbsE9,
        uint64 toleranceRelE9
    ) external returns (uint64 requestId);
}

/// @notice What a contract implements to be called back with its results.
interface IInferenceConsumer {
    function onInferenceResult(uint64 requestId, bytes calldata output) external;

    /// @notice The request ended without a result because a quorum of validators reported the
    /// same failure (`requestStatus` = 4); the fee paid them. `kind`: 0 model refused, 1 input
    /// refused, 2 output too large, 3 output off the model's spec, 4 time limit, 5 memory
    /// limit, 6 run failed, 7 worker died. Same rules as `onInferenceResult` (runs as the
    /// contract itself, within the prepaid weight, rolled back if it reverts).
    function onInferenceFailure(uint64 requestId, uint8 kind) external;
    /// @notice The request expired without a result (`requestStatus` = 3): `reason` 0, no
    /// quorum by its deadline; 1, every committee member answered and no quorum agrees. Its fee
    /// was refunded but the share of the members that committed to an answer. Delivered in a
    /// block after the expiry, as soon as one has the prepaid weight to spare; same rules as
    /// `onInferenceResult`. Every request made with a callback ends with exactly one of the
    /// three callbacks, unless the chain drops the expiry's (its queue full, or the request
    /// pruned before a block had room: event `ExpiryCallbackDropped`); `InferenceConsumer`'s
    /// `settleExpired` lets anyone report the expiry then.
    function onInferenceExpired(uint64 requestId, uint8 reason) external;
}
