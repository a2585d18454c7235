"""End to end: Solidity contracts compiled by npm solc (contracts/out) call the inference
precompile on the running network. The lending example asks the credit model through the
precompile, paying the fee from its own balance; when the validators' quorum finalizes the
score, the chain calls the contract back and it decides the loan; the score must equal Python
onnxruntime's (through the f32 <-> fixed-point conversions of VerityTensor.sol). Callbacks that
revert, run out of gas or re-enter never block finalization. Bad inputs revert."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
from Crypto.Hash import keccak
from substrateinterface import Keypair

from verity import chain
from conftest import ROOT

FEE = 1_000_000_000
UNIT = 10**12
WEIGHT = {"ref_time": 200_000_000_000, "proof_size": 4_000_000}
DEPOSIT_LIMIT = 100 * UNIT


def selector(signature: str) -> bytes:
    return keccak.new(digest_bits=256, data=signature.encode()).digest()[:4]


def word(value: int) -> bytes:
    return (value % 2**256).to_bytes(32, "big")


def encode_int_array(values: list[int]) -> bytes:
    return word(len(values)) + b"".join(word(v) for v in values)


def artifact(name: str) -> dict:
    return json.loads((ROOT / "contracts" / "out" / f"{name}.json").read_text())


def deploy(substrate, signer: Keypair, name: str, constructor_args: bytes, value: int) -> str:
    code = bytes.fromhex(artifact(name)["bytecode"][2:]) + constructor_args
    receipt = chain.submit(substrate, signer, "Revive", "instantiate_with_code", {
        "value": value, "weight_limit": WEIGHT, "storage_deposit_limit": DEPOSIT_LIMIT,
        "code": "0x" + code.hex(), "data": "0x", "salt": None})
    for event in receipt.triggered_events:
        v = event.value
        if v["module_id"] == "Revive" and v["event_id"] == "Instantiated":
            return v["attributes"]["contract"]
    raise AssertionError(f"no Instantiated event for {name}")


def contract_account(substrate, contract: str) -> str:
    """The SS58 account of a contract that pallet-revive created (its 20 bytes, then twelve
    0xEE bytes: the runtime's `AccountId32Mapper` for accounts without an original id)."""
    return substrate.ss58_encode(bytes.fromhex(contract[2:]) + b"\xee" * 12)


def call(substrate, signer: Keypair, contract: str, data: bytes):
    return chain.submit(substrate, signer, "Revive", "call", {
        "dest": contract, "value": 0, "weight_limit": WEIGHT, "storage_deposit_limit": DEPOSIT_LIMIT,
        "data": "0x" + data.hex()})


def logs(receipt, contract: str, signature: str) -> list[tuple[list[bytes], bytes]]:
    return events_logs(receipt.triggered_events, contract, signature)


def callback_outcomes(events) -> dict[int, bool]:
    return {e.value["attributes"]["request_id"]: e.value["attributes"]["success"] for e in events
            if e.value["module_id"] == "Inference" and e.value["event_id"] == "CallbackDelivered"}


def events_logs(events, contract: str, signature: str) -> list[tuple[list[bytes], bytes]]:
    topic = keccak.new(digest_bits=256, data=signature.encode()).digest()
    found = []
    for event in events:
        v = event.value
        if v["module_id"] == "Revive" and v["event_id"] == "ContractEmitted" and v["attributes"]["contract"] == contract:
            topics = [chain.to_bytes(t) for t in v["attributes"]["topics"]]
            if topics and topics[0] == topic:
                found.append((topics, chain.to_bytes(v["attributes"]["data"])))
    return found


def signed(b: bytes) -> int:
    value = int.from_bytes(b, "big")
    return value - 2**256 if value >= 2**255 else value


@pytest.fixture(scope="module")
def credit_model(network, models):
    substrate = chain.connect(network.nodes[0].ws_url)
    model = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "linear.onnx", FEE)
    return substrate, model


def test_lending_contract_requests_and_settles_through_the_precompile(credit_model, models):
    substrate, model = credit_model
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    lending = deploy(substrate, alice, "CreditLending",
                     bytes.fromhex(model[2:]) + word(0) + word(FEE), value=10 * UNIT)
    print(f"[contract] CreditLending at {lending}")
    # 1.5, -0.25, 3.0, 0.42 (6 decimals): approved; -1 for every feature: a negative score,
    # whose sign reaches the contract through VerityTensor, rejected.
    session = ort.InferenceSession(str(models / "linear.onnx"), providers=["CPUExecutionProvider"])
    decisions = []
    for features in ([1_500_000, -250_000, 3_000_000, 420_000], [-1_000_000] * 4):
        apply_data = selector("applyForLoan(int256[],uint256)") + word(64) + word(1000) + encode_int_array(features)
        receipt = call(substrate, bob, lending, apply_data)
        applied = logs(receipt, lending, "Applied(uint64,address,uint256)")
        assert applied, "no Applied event"
        request_id = int.from_bytes(applied[0][0][1], "big")
        request = substrate.query("Inference", "Requests", [request_id]).value
        print(f"[contract] request {request_id} made by the contract's account {request['requester']}")
        assert request["requester"] == contract_account(substrate, lending)

        result = chain.wait_result(substrate, request_id)
        block_events = substrate.get_events(substrate.get_block_hash(result["attested_at"]))
        decided = events_logs(block_events, lending, "Decided(uint64,address,bool,int256)")
        assert decided, "the callback did not decide the loan in the finalization block"
        assert callback_outcomes(block_events).get(request_id) is True
        approved = int.from_bytes(decided[0][1][:32], "big") == 1
        score = signed(decided[0][1][32:64])

        x = np.array([[f / 1e6 for f in features]], dtype=np.float32)
        expected = float(session.run(None, {"x": x})[0][0][0])
        stored = chain.vtns.decode(chain.to_bytes(result["output"]))["y"][0][0]
        print(f"[contract] score on chain {score / 1e6}, stored output {stored}, onnxruntime {expected}; approved {approved}")
        assert abs(score / 1e6 - expected) < 1e-4
        assert approved == (score >= 0)
        # Already decided by the callback: settling again reverts.
        with pytest.raises(RuntimeError, match="ContractReverted"):
            call(substrate, bob, lending, selector("settle(uint64)") + word(request_id))
        decisions.append(approved)
    assert decisions == [True, False]


def test_precompile_rejects_bad_requests(credit_model):
    substrate, model = credit_model
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    lending = deploy(substrate, alice, "CreditLending", bytes.fromhex(model[2:]) + word(0) + word(FEE), value=10 * UNIT)
    first = chain.best_number(substrate) + 1
    # Three features where the model wants four: InputTensorShape inside the precompile.
    bad = selector("applyForLoan(int256[],uint256)") + word(64) + word(1) + encode_int_array([1, 2, 3])
    with pytest.raises(RuntimeError, match="ContractReverted"):
        call(substrate, bob, lending, bad)
    # An unknown model and a fee below the model's: the precompile reverts.
    contracts = [lending]
    for model_id, fee in (("0x" + "77" * 32, FEE), (model, FEE - 1)):
        other = deploy(substrate, alice, "CreditLending", bytes.fromhex(model_id[2:]) + word(0) + word(fee), value=10 * UNIT)
        contracts.append(other)
        with pytest.raises(RuntimeError, match="ContractReverted"):
            call(substrate, bob, other, selector("applyForLoan(int256[],uint256)") + word(64) + word(1)
                 + encode_int_array([1, 2, 3, 4]))
    # Called directly: an unknown selector and malformed ABI data fail; a valid view succeeds.
    precompile = "0x000000000000000000000000000000000a010000"
    for data in (bytes.fromhex("deadbeef"), selector("getModel(bytes32)") + b"\x01" * 5,
                 selector("requestStatus(uint64)")):
        with pytest.raises(RuntimeError):
            call(substrate, bob, precompile, data)
    call(substrate, bob, precompile, selector("getModel(bytes32)") + bytes.fromhex(model[2:]))
    call(substrate, bob, precompile, selector("requestStatus(uint64)") + word(0))
    # Settling an application that never existed reverts.
    with pytest.raises(RuntimeError, match="ContractReverted"):
        call(substrate, bob, lending, selector("settle(uint64)") + word(10**9))
    # None of the refused calls made a request: no request of these blocks is by one of these
    # contracts (what they asked for, not a global counter of a chain other tests use).
    scan = chain.Scan(substrate, first, chain.best_number(substrate))
    mine = {contract_account(substrate, c) for c in contracts}
    # (The accounts are right: each holds the 10 UNIT it was deployed with.)
    assert all(substrate.query("System", "Account", [a]).value["data"]["free"] >= 10 * UNIT for a in mine)
    assert not [rid for rid in scan.requested if scan.requester[rid] in mine], scan.requested


def test_failing_and_reentrant_callbacks_never_block_the_attestation(credit_model, models):
    substrate, model = credit_model
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    probe = deploy(substrate, alice, "CallbackProbe", bytes.fromhex(model[2:]), value=20 * UNIT)
    sample = (models / "linear.input.vtns").read_bytes()
    ask = selector("ask(bytes,uint256,uint8,uint64)")

    def ask_data(mode: int, ref_time: int) -> bytes:
        padded = sample + b"\0" * (-len(sample) % 32)
        return ask + word(128) + word(FEE) + word(mode) + word(ref_time) + word(len(sample)) + padded

    # Above the chain's callback limit (50 ms): refused by the precompile.
    with pytest.raises(RuntimeError, match="ContractReverted"):
        call(substrate, bob, probe, ask_data(0, 60_000_000_000))

    ids = {}
    for mode, ref_time in ((0, 5_000_000_000), (1, 5_000_000_000), (2, 1_000_000_000), (3, 20_000_000_000)):
        receipt = call(substrate, bob, probe, ask_data(mode, ref_time))
        requested = logs(receipt, probe, "Requested(uint64,uint8)")
        ids[mode] = int.from_bytes(requested[0][0][1], "big")
    outcomes, nested = {}, []
    for mode, rid in ids.items():
        result = chain.wait_result(substrate, rid)
        events = substrate.get_events(substrate.get_block_hash(result["attested_at"]))
        outcomes.update(callback_outcomes(events))
        nested += events_logs(events, probe, "Nested(uint64,uint64)")
        assert substrate.query("Inference", "Results", [rid]).value is not None
        print(f"[callback] mode {mode} request {rid}: finalized #{result['attested_at']}, callback ok {outcomes.get(rid)}")
    assert outcomes[ids[0]] is True
    assert outcomes[ids[1]] is False, "a reverting callback was reported as successful"
    assert outcomes[ids[2]] is False, "a callback out of gas was reported as successful"
    assert outcomes[ids[3]] is True
    # Re-entry: the callback made a new request through the precompile, which finalizes too.
    assert nested, "the re-entrant callback did not request again"
    child = int.from_bytes(nested[0][0][2], "big")
    chain.assert_settled(substrate, child, chain.wait_result(substrate, child))
    # Every request of the probe ended with its fee paid out and refunded, none left pending.
    for rid in ids.values():
        chain.assert_settled(substrate, rid, substrate.query("Inference", "Results", [rid]).value)
