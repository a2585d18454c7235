"""Five validators on loopback (zombienet/local-5.toml, quorum 4 of 5), one of them byzantine:
Eve runs the fault-injection build and corrupts every output she submits.

1. Normal path under a byzantine validator: batches of requests from many accounts, each with
   its own input, all finalize with the output Python onnxruntime computes; Eve is never an
   attester, and each of her results that arrived in time is recorded as dissent with a strike.
2. Spam: more requests than `MaxPendingRequests` in one go (one `Utility.force_batch` per
   account), from enough funded accounts to reach it (one account has at most
   `MaxPendingPerAccount` pending; one that asks for more is refused with
   `TooManyPendingForAccount`): the bound holds (the excess fails with `TooManyPendingRequests`),
   blocks keep coming at the block time, and every request ends (finalized, or expired: the
   members that ran it keep `ExpiryFee`, the rest is refunded).

In both, nothing is lost: escrow returns to zero and total issuance drops by exactly the
transaction fees paid. Each scenario prints its timeline."""
from __future__ import annotations

import json
import statistics
import time

import numpy as np
import onnxruntime as ort
import pytest
from substrateinterface import Keypair

from verity import chain

FEE = 1_000_000_000
ACCOUNTS = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Ferdie", "//One", "//Two"]


@pytest.fixture(scope="module")
def setup(network5, models):
    substrate = chain.connect(network5.nodes[0].ws_url)
    model = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "linear.onnx", FEE)
    session = ort.InferenceSession(str(models / "linear.onnx"), providers=["CPUExecutionProvider"])
    tolerance = json.loads((models / "linear.json").read_text())["tolerance"]
    return substrate, model, session, tolerance


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise TimeoutError(what)


def escrow_total(substrate, accounts) -> int:
    total = 0
    for kp in accounts:
        holds = substrate.query("Balances", "Holds", [kp.ss58_address]).value or []
        total += sum(h["amount"] for h in chain.unwrap(holds) if h["id"] == {"Inference": "RequestEscrow"})
    return total


def test_requests_are_attested_correctly_with_a_byzantine_validator(network5, setup):
    substrate, model, session, tolerance = setup
    signers = [Keypair.create_from_uri(uri) for uri in ACCOUNTS]
    eve = Keypair.create_from_uri("//Eve").ss58_address
    issuance = substrate.query("Balances", "TotalIssuance").value
    eve_strikes_before = substrate.query("Inference", "Strikes", [eve]).value
    rng = np.random.default_rng(7)
    first = chain.best_number(substrate) + 1
    inputs: dict[int, np.ndarray] = {}
    dissent = 0
    for round_ in range(1, 7):
        xs = [rng.normal(size=(1, 4)).astype(np.float32) for _ in signers]
        start = chain.submit_batch(substrate, [
            (kp, "Inference", "request_inference",
             {"model": model, "input": "0x" + chain.vtns.encode({"x": x}).hex(), "max_fee": FEE, "timeout": None})
            for kp, x in zip(signers, xs)])
        scan = wait_until(lambda: (s := chain.Scan(substrate, start + 1, chain.best_number(substrate)))
                          and len(s.requested) >= len(signers) and s, 60, "requests not included")
        by_requester = {scan.requester[rid]: rid for rid in scan.requested}
        ids = [by_requester[kp.ss58_address] for kp in signers]
        for rid, x in zip(ids, xs):
            inputs[rid] = x
        results = {rid: chain.wait_result(substrate, rid) for rid in ids}
        for rid in ids:
            result = results[rid]
            output = chain.vtns.decode(chain.to_bytes(result["output"]))["y"]
            expected = session.run(None, {"x": inputs[rid]})[0]
            np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)
            attesters = {e["account"] for e in chain.unwrap(result["attesters"])}
            dissenters = {e["account"] for e in chain.unwrap(result["dissenters"])}
            assert eve not in attesters, f"the corrupted result of Eve was counted for request {rid}"
            assert len(attesters) >= 4 and dissenters <= {eve}
            dissent += eve in dissenters
            print(f"[byzantine] round {round_} request {rid}: included #{scan.requested[rid]}, finalized "
                  f"#{result['attested_at']} by {len(attesters)} attesters, eve {'outvoted' if eve in dissenters else 'late'}")
        if round_ >= 2 and dissent > 0:
            break
    assert dissent > 0, "Eve's corrupted results never arrived before finalization"
    strikes = substrate.query("Inference", "Strikes", [eve]).value - eve_strikes_before
    print(f"[byzantine] eve dissented on {dissent} request(s), strikes +{strikes}")
    assert strikes == dissent
    last = chain.best_number(substrate)
    scan = chain.Scan(substrate, first, last)
    assert {who for who, _ in scan.struck} == {eve}
    assert len(scan.struck) == dissent
    # Nothing lost: no escrow left, issuance reduced only by the fees of these requests.
    assert all(substrate.query("Inference", "Requests", [rid]).value["status"] == "Attested" for rid in inputs)
    assert escrow_total(substrate, signers) == 0
    fees = sum(scan.fees.values())
    issuance_after = substrate.query("Balances", "TotalIssuance").value
    print(f"[byzantine] total issuance {issuance} -> {issuance_after}, fees {fees}")
    assert issuance - issuance_after == fees


def test_spam_hits_the_pending_bound_and_keeps_the_block_time(network5, setup):
    substrate, model, _, _ = setup
    bound = substrate.get_constant("Inference", "MaxPendingRequests").value
    per_account = substrate.get_constant("Inference", "MaxPendingPerAccount").value
    per_slot = substrate.get_constant("Inference", "MaxRequestsPerBlock").value
    # Twice the bound and more, in `Utility.force_batch`es of 20. As single transactions the
    # chain took ~100 a block (the authors' time per transaction on 2 cores) and, once the
    # validators answered, their answers took precedence, so the pending set settled where
    # requests came in as fast as results went out (peaks of 889-1014 of 1024; one CI failure
    # at 941). Batches are bounded by block weight instead (~300 requests in the first block);
    # with the 5 validators' answers taking most of each later block, the spam still lands at
    # ~100 a block against ~25 concluded, so it needs to last: 1536 requests in batches of 60
    # peaked at 1024 on one run and 998 on the next (batches of 60 rarely fit beside the
    # answers); 2048 more than the bound in batches of 20 keep landing long after the set is full.
    total = 2 * bound + 1024
    # One account alone cannot fill the pending set: enough accounts, each staying under its cap,
    # funded by the development accounts.
    count = -(-total // (per_account - 4))
    signers = [Keypair.create_from_uri(f"//Spam{i}") for i in range(count)]
    funders = [Keypair.create_from_uri(uri) for uri in ACCOUNTS]
    funding = [(funders[i % len(funders)], "Balances", "transfer_keep_alive",
                {"dest": kp.ss58_address, "value": 1_000 * FEE}) for i, kp in enumerate(signers)]
    chain.submit_batch(substrate, funding)
    wait_until(lambda: all(substrate.query("System", "Account", [kp.ss58_address]).value["data"]["free"] > 0
                           for kp in signers), 60, "the spam accounts were not funded")
    issuance = substrate.query("Balances", "TotalIssuance").value
    sample = "0x" + chain.vtns.encode({"x": np.ones((1, 4), dtype=np.float32)}).hex()
    # Timeouts of at least 4 minutes, so that the pending set is full before anything expires
    # (5 validators on 2 cores conclude ~25 requests a block, so 1024 pending take ~80 s, and
    # the spam lands over ~30 blocks); spread over twice the deadline slots the spam would need
    # (85 share a slot), since the blocks the batches land in shift their deadlines onto each
    # other's.
    first = chain.blocks(substrate, 240)
    timeouts = list(range(first, first + 2 * -(-total // per_slot)))
    assert total / len(timeouts) < per_slot
    requests = [[] for _ in signers]
    for i in range(total):
        requests[i % len(signers)].append(substrate.compose_call(
            call_module="Inference", call_function="request_inference",
            call_params={"model": model, "input": sample, "max_fee": FEE, "timeout": timeouts[i % len(timeouts)]}))
    t0 = time.monotonic()
    batches = [(kp, "Utility", "force_batch", {"calls": calls[i:i + 20]})
               for kp, calls in zip(signers, requests) for i in range(0, len(calls), 20)]
    start = chain.submit_batch(substrate, batches)
    print(f"[spam] {total} requests in {len(batches)} batches from {len(signers)} accounts signed and "
          f"submitted in {time.monotonic() - t0:.1f}s after block #{start}")

    def all_outcomes():
        if chain.best_number(substrate) < start + 3 or substrate.query("Inference", "PendingCount").value:
            return None
        scan = chain.Scan(substrate, start + 1, chain.best_number(substrate))
        done = len(scan.requested) + len(scan.failures) >= total
        return scan if done else None
    scan = wait_until(all_outcomes, 600, "spam requests did not all conclude")
    end = max(scan.timestamps)
    blocks = sorted(scan.timestamps)
    intervals = [scan.timestamps[b] - scan.timestamps[a] for a, b in zip(blocks, blocks[1:])]
    busy = [b for b in blocks if scan.pending[b] > 0]
    print(f"[spam] blocks #{blocks[0]}..#{end}: {len(scan.requested)} accepted, {len(scan.failures)} refused "
          f"({sorted(set(scan.failures))}), {len(scan.finalized)} finalized, {len(scan.expired)} expired")
    print(f"[spam] pending per block: {[scan.pending[b] for b in blocks]}")
    print(f"[spam] block intervals (s): {intervals}")
    per_block = {b: sum(1 for v in scan.finalized.values() if v == b) for b in blocks}
    print(f"[spam] finalized per block: {[per_block[b] for b in blocks]}")

    assert max(scan.pending.values()) <= bound
    assert max(scan.pending.values()) == bound, "the spam never reached the pending bound"
    assert scan.failures and set(scan.failures) == {"TooManyPendingRequests"}
    assert max(sum(1 for r in scan.requester.values() if r == kp.ss58_address) for kp in signers) <= per_account
    assert len(scan.requested) + len(scan.failures) == total
    assert set(scan.finalized) | set(scan.expired) == set(scan.requested)
    assert not set(scan.finalized) & set(scan.expired)
    # Block time: the chain's slots (timestamps are the authors' clocks: a few ms of jitter); at
    # most one missed slot in a row while the chain is under load.
    slot = chain.block_seconds(substrate)
    assert abs(statistics.median(intervals) - slot) < 0.1, intervals
    # Never two missed slots in a row (an interval of 3 slots); one missed slot is 2 slots plus
    # the late author's jitter (4.106 s seen in CI against the former 2 slots + 0.1 s).
    assert max(intervals) < 3 * slot - 0.5, intervals
    assert busy, "no block had pending requests"
    # Nothing lost: escrow back to zero; issuance reduced by exactly the fees (refused
    # requests paid their transaction fee too).
    assert escrow_total(substrate, signers) == 0
    fees = sum(scan.fees.values())
    issuance_after = substrate.query("Balances", "TotalIssuance").value
    print(f"[spam] total issuance {issuance} -> {issuance_after}, fees {fees}")
    assert issuance - issuance_after == fees
    network5.check_alive()


def test_one_account_is_capped_while_others_get_in(network5, setup):
    """An account at `MaxPendingPerAccount` is refused (`TooManyPendingForAccount`) in the same
    blocks in which another account's request is accepted."""
    substrate, model, _, _ = setup
    per_account = substrate.get_constant("Inference", "MaxPendingPerAccount").value
    greedy, other = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    sample = "0x" + chain.vtns.encode({"x": np.ones((1, 4), dtype=np.float32)}).hex()
    # One deadline slot each: slots hold their requests until the deadline, concluded or not, and
    # the spam test (batched, so landing in a few blocks) leaves some slots a minute ahead
    # partly used (with one timeout for all, 17 of these were refused `DeadlineSlotFull`).
    ask = lambda kp, i: (kp, "Inference", "request_inference",
                         {"model": model, "input": sample, "max_fee": FEE, "timeout": 20 + i})
    start = chain.submit_batch(substrate, [ask(greedy, i) for i in range(per_account + 3)]
                               + [ask(other, per_account + 3)])

    def concluded():
        if chain.best_number(substrate) < start + 2 or substrate.query("Inference", "PendingCount").value:
            return None
        scan = chain.Scan(substrate, start + 1, chain.best_number(substrate))
        return scan if len(scan.requested) + len(scan.failures) >= per_account + 4 else None
    scan = wait_until(concluded, 240, "the requests did not all conclude")
    by = lambda kp: [r for r, who in scan.requester.items() if who == kp.ss58_address]
    print(f"[cap] {len(by(greedy))} accepted from one account, refused {scan.failures}, other: {by(other)}")
    assert len(by(greedy)) == per_account
    assert scan.failures == ["TooManyPendingForAccount"] * 3
    assert len(by(other)) == 1
