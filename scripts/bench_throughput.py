#!/usr/bin/env python3
"""Request latency and pipeline throughput on the 3-validator local network (docs/benchmarks.md).

Starts zombienet/local-3.toml (ports shifted by 20000) and registers the `linear` test model.
Latency under light load: 10 requests, one at a time; for each, the blocks and seconds from the
block that includes the request to the block that finalizes its result, and the seconds until
GRANDPA finalizes that block. Throughput: for each offered load L sends L requests at once
(signed by 8 development accounts) and waits until every one is finalized or expired. Per load it reports the blocks the requests landed in,
finalized results per block (peak and mean over the blocks that finalized any), the latency
from the request's block to its result's block, expiries, and the block intervals.

Usage: scripts/bench_throughput.py MODELS_DIR [LOAD ...]   (default loads 25 50 100 200 400;
       a single 0 measures latency only)
Run through scripts/bench-throughput.sh, which builds the node and the models first."""
from __future__ import annotations

import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from substrateinterface import Keypair

from verity import chain, localnet

FEE = 1_000_000_000
ACCOUNTS = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie", "//One", "//Two"]


def measure(substrate, model: str, load: int) -> dict:
    signers = [Keypair.create_from_uri(u) for u in ACCOUNTS]
    rng = np.random.default_rng(load)
    calls = [(signers[i % len(signers)], "Inference", "request_inference",
              {"model": model, "input": "0x" + chain.vtns.encode({"x": rng.normal(size=(1, 4)).astype(np.float32)}).hex(),
               "max_fee": FEE, "timeout": chain.blocks(substrate, 60) + i % 3}) for i in range(load)]
    start = chain.submit_batch(substrate, calls)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        time.sleep(3)
        best = chain.best_number(substrate)
        if best < start + 2 or substrate.query("Inference", "PendingCount").value:
            continue
        scan = chain.Scan(substrate, start + 1, best)
        if len(scan.requested) + len(scan.failures) >= load:
            break
    else:
        raise TimeoutError(f"load {load}: requests did not conclude")
    blocks = sorted(scan.timestamps)
    commits, reveals = answer_transactions(substrate, blocks)
    per_block = [sum(1 for b in scan.finalized.values() if b == n) for n in blocks]
    busy = [c for c in per_block if c]
    latency = [scan.finalized[r] - scan.requested[r] for r in scan.finalized]
    intervals = [scan.timestamps[b] - scan.timestamps[a] for a, b in zip(blocks, blocks[1:])]
    return {
        "load": load,
        "request_blocks": len(set(scan.requested.values())),
        "finalized": len(scan.finalized),
        "expired": len(scan.expired),
        "refused": len(scan.failures),
        "refused_why": sorted(set(scan.failures)),
        "peak_per_block": max(per_block),
        "mean_per_busy_block": statistics.mean(busy) if busy else 0,
        "latency_median": statistics.median(latency) if latency else None,
        "latency_max": max(latency) if latency else None,
        "interval_max": max(intervals),
        "per_block": per_block,
        "commit_txs": commits,
        "reveal_txs": reveals,
    }


def answer_transactions(substrate, blocks: list[int]) -> tuple[list[int], list[int]]:
    """Per block, how many transactions carried commitments and how many carried reveals
    (an extrinsic counts once, however many answers it holds: grouped by extrinsic index)."""
    commits, reveals = [], []
    for number in blocks:
        committing, revealing = set(), set()
        for event in substrate.get_events(substrate.get_block_hash(number)):
            value = event.value
            if value["module_id"] != "Inference":
                continue
            if value["event_id"] == "AnswerCommitted":
                committing.add(value.get("extrinsic_idx"))
            elif value["event_id"] in ("ResultSubmitted", "FailureSubmitted"):
                revealing.add(value.get("extrinsic_idx"))
        commits.append(len(committing))
        reveals.append(len(revealing))
    return commits, reveals


def latency(substrate, model: str, samples: int = 10) -> list[dict]:
    """One request at a time: result block and GRANDPA finality, in blocks and seconds."""
    alice = Keypair.create_from_uri("//Alice")
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(samples):
        data = chain.vtns.encode({"x": rng.normal(size=(1, 4)).astype(np.float32)})
        request_id, request_block = chain.request(substrate, alice, model, data, FEE)
        # Polled every 0.1 s (chain.wait_result polls every second: with 2 s blocks that would
        # add up to a second to the measured time to finality).
        result_block = chain.wait_result(substrate, request_id, poll=0.1)["attested_at"]
        while True:
            finalized = substrate.get_block_number(substrate.get_chain_finalised_head())
            if finalized >= result_block:
                grandpa_at = time.time()
                break
            time.sleep(0.1)
        start = chain.block_timestamp(substrate, request_block)
        rows.append({
            "blocks": result_block - request_block,
            "seconds": chain.block_timestamp(substrate, result_block) - start,
            "grandpa_seconds": grandpa_at - start,
            "grandpa_blocks_behind": chain.best_number(substrate) - result_block,
        })
    return rows


def main() -> int:
    models = Path(sys.argv[1])
    loads = [int(a) for a in sys.argv[2:] if int(a) > 0] if sys.argv[2:] else [25, 50, 100, 200, 400]
    binary = Path(os.environ.get("VERITY_NODE_BIN", Path.home() / ".cache/verity/target/release/verity-node"))
    # BENCH_NODE_ARGS: extra flags for every node (e.g. "-lbasic-authorship=debug"); BENCH_WORKDIR
    # keeps the nodes' logs there instead of a temporary folder; BENCH_SKIP_LATENCY=1 skips the
    # light-load part; BENCH_SAMPLES: light-load requests (default 10).
    extra = os.environ.get("BENCH_NODE_ARGS", "").split()
    keep = os.environ.get("BENCH_WORKDIR")
    with tempfile.TemporaryDirectory() as temporary:
        work = keep or temporary
        # BENCH_NETWORK: another zombienet file (e.g. zombienet/local-5.toml), default local-3.
        network = Path(os.environ.get("BENCH_NETWORK", localnet.DEFAULT_NETWORK))
        net = localnet.LocalNet(binary, network, workdir=Path(work), port_offset=20000, extra_args=extra)
        net.start()
        try:
            substrate = chain.connect(net.nodes[0].ws_url)
            model = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "linear.onnx", FEE)
            if not os.environ.get("BENCH_SKIP_LATENCY"):
                rows = latency(substrate, model, int(os.environ.get("BENCH_SAMPLES", "10")))
                print(f"| light load, {len(rows)} requests one at a time | median | p95 | max |")
                print("|---|---|---|---|")
                for key, label in [("blocks", "request block → result block, blocks"),
                                   ("seconds", "request block → result block, s (block timestamps)"),
                                   ("grandpa_seconds", "request block → GRANDPA finality of the result, s")]:
                    values = [r[key] for r in rows]
                    p95 = sorted(values)[max(0, math.ceil(0.95 * len(values)) - 1)]
                    print(f"| {label} | {statistics.median(values):g} | {p95:g} | {max(values):g} |")
                print(f"<!-- per request: {rows} -->", flush=True)
            if not loads:
                return 0
            print("| offered load (requests at once) | landed in blocks | finalized | expired | refused "
                  "| peak finalized / block | mean / busy block | latency median (max), blocks | max block interval s |")
            print("|---|---|---|---|---|---|---|---|---|")
            for load in loads:
                r = measure(substrate, model, load)
                print(f"| {r['load']} | {r['request_blocks']} | {r['finalized']} | {r['expired']} | {r['refused']} "
                      f"| {r['peak_per_block']} | {r['mean_per_busy_block']:.1f} | {r['latency_median']} ({r['latency_max']}) "
                      f"| {r['interval_max']:.1f} |", flush=True)
                print(f"<!-- finalized per block: {r['per_block']}; refused: {r['refused_why']} -->", flush=True)
                print(f"<!-- answer transactions per block: commits {r['commit_txs']}, reveals {r['reveal_txs']} -->",
                      flush=True)
        finally:
            net.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
