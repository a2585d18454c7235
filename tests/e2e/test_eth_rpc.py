"""End to end with Ethereum tooling: ethers (npm) talks only to the eth-rpc endpoint of the
running network. It deploys the CreditLending example, applies for a loan and listens for the
`Decided` event the chain's callback emits (eth_getLogs polling and an eth_subscribe WebSocket
subscription); the decision must rest on the validators' finalized result, which must equal
Python onnxruntime's score."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import onnxruntime as ort
from substrateinterface import Keypair

from verity import chain, localnet
from conftest import ROOT

FEE = 1_000_000_000


def test_ethers_deploys_requests_and_hears_the_callback_event(network, eth_rpc, models):
    substrate = chain.connect(network.nodes[0].ws_url)
    model = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "linear.onnx", FEE)
    run = subprocess.run(
        ["node", str(ROOT / "tests/e2e/js/ethers_lending.mjs"), eth_rpc.url,
         str(ROOT / "contracts/out/CreditLending.json"), model, str(FEE)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    print(run.stderr)
    assert run.returncode == 0, f"ethers script failed:\n{run.stdout}\n{run.stderr}"
    state = json.loads(run.stdout.strip().splitlines()[-1])
    request_id = int(state["requestId"])
    print(f"[ethers] {state}")

    # The request on chain was made by the contract (its account is its address + 0xEE * 12).
    request = substrate.query("Inference", "Requests", [request_id]).value
    contract_account = substrate.ss58_encode(bytes.fromhex(state["address"][2:]) + b"\xee" * 12)
    assert request["requester"] == contract_account
    assert request["status"] == "Attested"
    assert state["lastRequest"] == state["requestId"]

    # The chain's callback decided the loan in the block that finalized the result.
    result = substrate.query("Inference", "Results", [request_id]).value
    assert state["appliedBlock"] < result["attested_at"] <= state["decidedAtBlock"]
    events = substrate.get_events(substrate.get_block_hash(result["attested_at"]))
    delivered = [e.value["attributes"] for e in events
                 if e.value["module_id"] == "Inference" and e.value["event_id"] == "CallbackDelivered"]
    assert [(d["request_id"], d["success"]) for d in delivered] == [(request_id, True)]
    session = ort.InferenceSession(str(models / "linear.onnx"), providers=["CPUExecutionProvider"])
    x = np.array([[1.5, -0.25, 3.0, 0.42]], dtype=np.float32)
    expected = float(session.run(None, {"x": x})[0][0][0])
    score = int(state["score"]) / 1e6
    print(f"[ethers] request {request_id}: applied #{state['appliedBlock']}, finalized and decided #{result['attested_at']}, "
          f"score {score}, onnxruntime {expected}, approved {state['approved']}")
    assert abs(score - expected) < 1e-4
    assert state["approved"] == (score >= 0)

    # The callback's `Decided` log, as ethers heard it (eth_getLogs polling, eth_subscribe) and
    # queried it: in the attestation block, with the contract's state, in a synthetic transaction
    # (the validators' answer extrinsic) whose receipt lists it; no signed transaction exists.
    event = state["event"]
    assert state["settled"]
    assert event["blockNumber"] == result["attested_at"]
    assert event["blockHash"] == localnet.rpc(eth_rpc.url, "eth_getBlockByNumber", [hex(result["attested_at"]), False])["hash"]
    assert (event["approved"], event["score"], event["borrower"]) == (state["approved"], state["score"], state["borrower"])
    assert state["polled"] == state["subscribed"] == {"blockNumber": event["blockNumber"],
                                                     "transactionHash": event["transactionHash"]}
    receipt = state["receiptOfCallback"]
    assert (receipt["hash"], receipt["blockNumber"], receipt["status"]) == (event["transactionHash"], event["blockNumber"], 1)
    assert receipt["to"].lower() == state["address"].lower()
    assert [log["transactionHash"] for log in receipt["logs"]] == [event["transactionHash"]] * len(receipt["logs"])
    assert any(log["address"].lower() == state["address"].lower() for log in receipt["logs"])
    assert state["transactionOfCallback"] is None

