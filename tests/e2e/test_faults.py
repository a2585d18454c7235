"""Fault scenarios on a real 3-validator network (issue 7, first part; issue 13): a validator that
copies the others' answers, a crashed validator, and too few validators for a quorum. Each prints its timeline; nothing is lost: total issuance is
unchanged by requests, and escrow returns to zero."""
from __future__ import annotations

import re
import time

from substrateinterface import Keypair

import chain

FEE = 3_000_000_000


def balances(substrate, who: str) -> tuple[int, int]:
    account = substrate.query("System", "Account", [who]).value
    return account["data"]["free"], account["data"]["reserved"]


def escrow(substrate, who: str) -> int:
    holds = substrate.query("Balances", "Holds", [who]).value or []
    return sum(h["amount"] for h in chain.unwrap(holds) if h["id"] == {"Inference": "RequestEscrow"})


def test_a_copier_is_never_counted_nor_paid(fault_network, models, faulty_binary):
    """Charlie turns lazy: restarted with the fault-injection build and --fault-copy-answers, he
    runs no model and copies, from his transaction pool, the other members' commitments and
    revealed answers under his own key. Commit–reveal makes every copy worthless: the requests
    finalize with Alice and Bob as the only attesters and Charlie is never paid. (Without
    commit–reveal his copied result would land beside the originals and count.)"""
    net = fault_network
    substrate = chain.connect(net.nodes[0].ws_url)
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    charlie = Keypair.create_from_uri("//Charlie").ss58_address
    model = chain.register_model(substrate, alice, models / "mlp.onnx", FEE)
    sample = (models / "mlp.input.vtns").read_bytes()
    net.kill("charlie")
    net.restart("charlie", ["--fault-copy-answers"], binary=faulty_binary)
    charlie_before = substrate.query("System", "Account", [charlie]).value["data"]["free"]
    for _ in range(3):
        rid, at = chain.request(substrate, bob, model, sample, FEE)
        result = chain.wait_result(substrate, rid)
        attesters = {e["account"] for e in chain.unwrap(result["attesters"])}
        print(f"[copier] request {rid}: included #{at}, finalized #{result['attested_at']}, attesters {attesters}")
        assert attesters == {alice.ss58_address, bob.ss58_address}
    log = net.node("charlie").log_path.read_text(errors="replace")
    copies = [line.split("fault injection: ")[1] for line in log.splitlines() if "fault injection: copied" in line]
    print("[copier] " + "\n[copier] ".join(copies[-8:]))
    # Honest validators reveal in batches (`reveal_answers`); the copier re-signs them whole.
    assert any("copied reveals of requests" in c for c in copies), "the copier never saw a revealed answer"
    assert not any("copied reveals" in c and "accepted" in c for c in copies), copies
    assert substrate.query("System", "Account", [charlie]).value["data"]["free"] == charlie_before
    # Charlie returns to honest work for the next scenario.
    net.kill("charlie")
    net.restart("charlie")


def wait_caught_up(substrate, net, name: str) -> int:
    """Waits until a restarted node has peers and has imported the best block Alice sees."""
    url = net.node(name).rpc_url
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        best = substrate.get_block_number(substrate.get_chain_head())
        try:
            theirs = int(chain_rpc(url, "chain_getHeader")["number"], 16)
            peers = chain_rpc(url, "system_health")["peers"]
        except OSError:
            theirs, peers = -1, 0
        if theirs >= best and peers > 0:
            return theirs
        time.sleep(1)
    raise TimeoutError(f"{name} did not catch up within 120 s")


def test_crashed_validator_then_too_few_validators(fault_network, models):
    net = fault_network
    substrate = chain.connect(net.nodes[0].ws_url)
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    model = chain.register_model(substrate, alice, models / "mlp.onnx", FEE)
    sample = (models / "mlp.input.vtns").read_bytes()
    issuance = substrate.query("Balances", "TotalIssuance").value
    fees_before = chain.FEES_PAID["total"]

    # 1. Charlie crashes: Alice and Bob still make the 2-of-3 quorum.
    net.kill("charlie")
    for _ in range(3):
        rid, at = chain.request(substrate, bob, model, sample, FEE)
        result = chain.wait_result(substrate, rid)
        attesters = {e["account"] for e in chain.unwrap(result["attesters"])}
        print(f"[crash] request {rid}: included #{at}, finalized #{result['attested_at']} by {len(attesters)} (charlie down)")
        assert attesters <= {alice.ss58_address, bob.ss58_address}

    # 2. Charlie restarts with its data and keys, catches up and answers requests again.
    net.restart("charlie")
    print(f"[crash] charlie caught up at #{wait_caught_up(substrate, net, 'charlie')}")
    answered = False
    for _ in range(4):
        rid, at = chain.request(substrate, bob, model, sample, FEE)
        chain.wait_result(substrate, rid)
        time.sleep(2)
        # The off-chain worker logs each reveal batch: "revealed answers to [ids] at block N".
        log = net.node("charlie").log_path.read_text(errors="replace")
        if re.search(rf"revealed answers to \[[^\]]*\b{rid}\b[^\]]*\]", log):
            answered = True
            print(f"[crash] charlie answered request {rid} after its restart")
            break
    assert answered, "the restarted validator never answered a request"

    # 3. Two of three validators stop answering (restarted with --no-inference: they still
    #    author and finalize blocks): no quorum, the request expires; Alice, who committed to an
    #    answer (she ran the model), keeps ExpiryFee of the fee, the rest is refunded.
    #    (Killing them instead would leave Alice without peers, and Aura does not author offline.)
    for name in ("bob", "charlie"):
        net.kill(name)
        net.restart(name, ["--no-inference"])
    # Alice's commitment must reach a block before the deadline: wait until the restarted nodes
    # are back in the network (a transaction gossiped to a node that is still starting is only
    # included when Alice authors), and leave the request a few blocks.
    for name in ("bob", "charlie"):
        wait_caught_up(substrate, net, name)
    held_before = escrow(substrate, bob.ss58_address)
    rid, at = chain.request(substrate, alice, model, sample, FEE, timeout=5)
    status = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        request = substrate.query("Inference", "Requests", [rid]).value
        status = request["status"]
        if status != "Pending":
            break
        time.sleep(2)
    assert status == "Expired", status
    refunds = []
    for number in range(at, request["deadline"] + 2):
        events = substrate.get_events(substrate.get_block_hash(number))
        refunds += [(number, e.value["attributes"]) for e in events
                    if e.value["module_id"] == "Inference" and e.value["event_id"] == "RequestExpired"]
    print(f"[too-few] request {rid}: included #{at}, deadline #{request['deadline']}, expiry events {refunds}")
    # Alice alone committed and revealed: no quorum is possible, so the request expires as soon
    # as she revealed (NoAgreement), or at the deadline if her reveal came too late.
    kept = FEE * substrate.get_constant("Inference", "ExpiryFee").value // 1_000_000_000
    assert kept > 0
    # (A block can be seen twice by number while a fork resolves: compare the distinct outcomes.)
    assert {(r["refunded"], r["paid"]) for _, r in refunds if r["request_id"] == rid} == {(FEE - kept, kept)}, refunds
    assert escrow(substrate, alice.ss58_address) == 0
    assert escrow(substrate, bob.ss58_address) == held_before == 0
    assert substrate.query("Inference", "PendingCount").value == 0
    # Transaction fees are burnt; escrow, payouts and refunds only move funds: the issuance
    # drops by exactly the fees of the transactions this test sent.
    issuance_after = substrate.query("Balances", "TotalIssuance").value
    fees = chain.FEES_PAID["total"] - fees_before
    print(f"[too-few] total issuance {issuance} -> {issuance_after}, transaction fees {fees}")
    assert issuance - issuance_after == fees


def chain_rpc(url: str, method: str, params=None):
    from localnet import rpc
    return rpc(url, method, params)
