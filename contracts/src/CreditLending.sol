// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "./InferenceConsumer.sol";
import "./VerityTensor.sol";

/// @title A lender that asks a credit-scoring model before approving a loan
/// @notice A borrower applies with four fixed-point features (6 decimals); the contract asks
/// the chain's validators to run the credit model and pays the fee from its own balance. When
/// the result is finalized the chain calls `onInferenceResult` and the loan is decided: approved
/// when the score is at least `minScore`. The score comes from a quorum of validators, not from
/// the borrower. Should the callback fail, anyone can `settle` from the stored result.
/// Callbacks go through `InferenceConsumer`, which refuses fakes and replays.
contract CreditLending is InferenceConsumer {
    /// Weight prepaid for the callback: 5 ms, 256 KiB of proof (reading the result back in
    /// `InferenceConsumer` is charged for the largest output, 64 KiB).
    uint64 private constant CALLBACK_REF_TIME = 5_000_000_000;
    uint64 private constant CALLBACK_PROOF_SIZE = 262_144;

    struct Application {
        address borrower;
        uint256 amount;
        bool settled;
        bool approved;
        int256 score;
    }

    bytes32 public immutable model;
    int256 public immutable minScore;
    uint256 public immutable maxFee;
    mapping(uint64 => Application) public applications;
    uint64 public lastRequest;

    event Applied(uint64 indexed requestId, address indexed borrower, uint256 amount);
    event Decided(uint64 indexed requestId, address indexed borrower, bool approved, int256 score);
    event Refused(uint64 indexed requestId, address indexed borrower, uint8 failureKind);

    constructor(bytes32 model_, int256 minScore_, uint256 maxFee_) payable {
        model = model_;
        minScore = minScore_;
        maxFee = maxFee_;
    }

    /// @param features four values with 6 decimals (e.g. 1500000 = 1.5)
    function applyForLoan(int256[] calldata features, uint256 amount) external returns (uint64 requestId) {
        bytes memory input = VerityTensor.f32Row("x", features, 6);
        requestId = _requestInference(model, input, maxFee, 0, CALLBACK_REF_TIME, CALLBACK_PROOF_SIZE);
        applications[requestId] = Application(msg.sender, amount, false, false, 0);
        lastRequest = requestId;
        emit Applied(requestId, msg.sender, amount);
    }

    /// The finalized score, delivered by the chain.
    function _onResult(uint64 requestId, bytes calldata output) internal override {
        _decide(requestId, output);
    }

    /// The model could not score the application (an agreed failure): it is refused, without
    /// a score, so that the borrower is not left waiting.
    function _onFailure(uint64 requestId, uint8 kind) internal override {
        Application storage a = applications[requestId];
        require(a.borrower != address(0), "unknown application");
        require(!a.settled, "already settled");
        a.settled = true;
        emit Refused(requestId, a.borrower, kind);
    }

    /// @notice Decides an application from its stored result (if the callback did not).
    function settle(uint64 requestId) external returns (bool approved) {
        (bytes memory output,,,) = INFERENCE.getResult(requestId);
        return _decide(requestId, output);
    }

    function _decide(uint64 requestId, bytes memory output) private returns (bool approved) {
        Application storage a = applications[requestId];
        require(a.borrower != address(0), "unknown application");
        require(!a.settled, "already settled");
        int256 score = VerityTensor.readF32(output, 0, 0, 6);
        approved = score >= minScore;
        a.settled = true;
        a.approved = approved;
        a.score = score;
        emit Decided(requestId, a.borrower, approved, score);
    }

    receive() external payable {}
}
