"""End to end: hostile models on the shared 3-validator network. Validators run models in worker
processes with a memory cap and a time limit (verity_engine::worker): a memory bomb (10 GB asked
for by one ConstantOfShape) and one MatMul that runs for many seconds, requested together with
a normal request, stop no node, cost no node memory, and the normal request still gets its
result in the usual 1-2 blocks."""
from __future__ import annotations

import time

import numpy as np
from substrateinterface import Keypair

import chain

FEE = 1_000_000_000
# What a node may hold in memory (VmRSS); it never runs a model itself, so a memory bomb run
# in-process (10 GB) would be far above it.
NODE_RSS_LIMIT = 1 << 30


def rss(pid: int) -> int:
    status = open(f"/proc/{pid}/status").read()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) * 1024


def registered(substrate, owner, path) -> tuple[str, int]:
    """A model's id and its fee on chain (another test may have registered it with another)."""
    model_id = chain.register_model(substrate, owner, path, FEE)
    return model_id, substrate.query("Inference", "Models", [model_id]).value["fee"]


def test_hostile_models_never_stop_a_validator(network, models):
    substrate = chain.connect(network.nodes[0].ws_url)
    owner, user = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Eve")
    bomb, bomb_fee = registered(substrate, owner, models / "hostile" / "memory_bomb.onnx")
    matmul, matmul_fee = registered(substrate, owner, models / "hostile" / "huge_matmul.onnx")
    normal, normal_fee = registered(substrate, owner, models / "mlp.onnx")
    started, first_block = time.monotonic(), chain.best_number(substrate)

    hostile = [
        chain.request(substrate, user, bomb, chain.vtns.encode({"shape": np.array([50_000, 50_000], np.int64)}),
                      bomb_fee, timeout=3)[0],
        chain.request(substrate, user, matmul, chain.vtns.encode({"size": np.array([8000], np.int64)}),
                      matmul_fee, timeout=3)[0],
    ]
    normal_id, requested_at = chain.request(substrate, user, normal, (models / "mlp.input.vtns").read_bytes(), normal_fee)
    result = chain.wait_result(substrate, normal_id)
    assert result["finalized_at"] - requested_at <= 2, "the normal request was delayed"

    # Without agreed failures (not built yet) the hostile requests expire and are refunded.
    deadline = time.monotonic() + 90
    while any(substrate.query("Inference", "Requests", [r]).value["status"] != "Expired" for r in hostile):
        assert time.monotonic() < deadline, "hostile requests did not expire"
        time.sleep(1)
    for r in hostile:
        assert substrate.query("Inference", "Results", [r]).value is None

    network.check_alive()
    for node in network.nodes:
        assert rss(node.process.pid) < NODE_RSS_LIMIT, f"{node.name} holds {rss(node.process.pid)} bytes"
    # The chain kept its 6 s blocks while the workers were failing and being killed.
    blocks = chain.best_number(substrate) - first_block
    assert blocks >= (time.monotonic() - started) / 6 - 2, f"only {blocks} blocks"
    # Every validator met both attacks and reports them as typed failures (the worker was
    # killed at the time limit for the MatMul; the memory cap stopped the bomb).
    for node in network.nodes:
        log = node.log_path.read_text(errors="replace")
        assert f"request {hostile[1]}: Engine(Timeout)" in log, node.name
        assert (f"request {hostile[0]}: Engine(OutOfMemory)" in log
                or f"request {hostile[0]}: Engine(WorkerDied)" in log), node.name
