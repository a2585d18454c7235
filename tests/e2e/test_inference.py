"""End to end: register a real ONNX model on the 3-validator network, request inference from an
account, and get a result that the validators' off-chain workers computed with ONNX Runtime and
a quorum agreed on; then re-check it independently with `verity verify --reexecute`."""
from __future__ import annotations

import subprocess

import numpy as np
from substrateinterface import Keypair

from verity import chain
from conftest import node_binary

FEE = 3_000_000_000  # 0.003 VRT


def test_request_is_attested_with_the_models_output(network, models):
    substrate = chain.connect(network.nodes[0].ws_url)
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    model_id = chain.register_model(substrate, alice, models / "mlp.onnx", FEE)
    info = substrate.query("Inference", "Models", [model_id]).value
    assert info["status"] == "Active"

    request_id, requested_at = chain.request(substrate, bob, model_id, (models / "mlp.input.vtns").read_bytes(), FEE)
    result = chain.wait_result(substrate, request_id)
    attested_at = result["attested_at"]
    print(f"request {request_id}: included in #{requested_at}, result finalized in #{attested_at} "
          f"({attested_at - requested_at} block(s) later), attested by {len(chain.unwrap(result['attesters']))}")

    output = chain.vtns.decode(chain.to_bytes(result["output"]))
    expected = chain.vtns.decode((models / "mlp.expected.vtns").read_bytes())
    assert list(output) == list(expected)
    np.testing.assert_allclose(output["probs"], expected["probs"], rtol=1e-5, atol=1e-5)
    assert len(chain.unwrap(result["attesters"])) >= 2, result
    assert chain.unwrap(result["dissenters"]) == []
    assert chain.to_bytes(result["input_hash"]) == chain.blake2_256((models / "mlp.input.vtns").read_bytes())
    # The fee went to the attesters (the rest refunded); nothing of it is left in escrow.
    chain.assert_settled(substrate, request_id, result)

    # Anyone can re-execute it against the finalized state, with the validators' engine.
    chain.wait_finalized(substrate, attested_at)
    url = network.nodes[1].rpc_url
    verify = chain.verity("verify", "--request", str(request_id), "--reexecute", "--rpc", url)
    print(verify.stdout, verify.stderr)
    assert verify.returncode == 0, verify.stderr
    assert "local re-execution of model" in verify.stdout and "agrees with the result" in verify.stdout
    assert "verified" in verify.stdout

    # A request without a finalized result cannot be verified: non-zero exit, clear reason.
    missing = chain.verity("verify", "--request", "999999", "--rpc", url)
    assert missing.returncode != 0
    assert "no finalized result for request 999999" in missing.stderr, missing.stderr


def test_inference_run_cli_matches_reference(models, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [str(node_binary()), "inference", "run", "--model", str(models / "two_io.onnx"),
         "--input", str(models / "two_io.a.npy"), "--input", f"b={models / 'two_io.b.pb'}", "--output-dir", str(out)],
        capture_output=True, text=True, timeout=120)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr
    expected = chain.vtns.decode((models / "two_io.expected.vtns").read_bytes())
    np.testing.assert_allclose(np.load(out / "sum.npy"), expected["sum"], rtol=1e-6)
    assert np.array_equal(np.load(out / "count.npy"), expected["count"])
    assert (out / "sum.pb").is_file() and (out / "outputs.vtns").is_file()


def test_bad_input_is_refused_with_a_precise_error(network, models):
    substrate = chain.connect(network.nodes[0].ws_url)
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    model_id = chain.register_model(substrate, alice, models / "linear.onnx", FEE)
    wrong = chain.vtns.encode({"x": np.zeros((1, 5), dtype=np.float32)})
    try:
        chain.request(substrate, bob, model_id, wrong, FEE)
    except RuntimeError as err:
        assert "InputTensorShape" in str(err), err
    else:
        raise AssertionError("a wrong input shape was accepted")
