"""End to end: the Python SDK (`verity.Client`, python/src/verity/client.py) against the
3-validator network, used the way onnxruntime is: register an ONNX file, infer with numpy arrays,
compare with Python onnxruntime; then the provenance: the receipt, verified against another
node, and tampered receipts refused. Bad inputs are refused before any transaction; a rejected
model and a failed request raise `VerityError` with the chain's reason."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from substrateinterface import Keypair

import verity
from verity import chain, vtns
from verity import receipt as receipts
from verity.client import VerityError
from conftest import export_chain_spec

# The owner and requester of this file's models. Its fee is no other test's, so every model
# here is a new registration (the id pins the fee) that the SDK really uploads.
SIGNER = "//Bob"
FEE = 1_230_000_000
TOL = {"abs_tol": 1e-5, "rel_tol": 1e-5}  # the test models' .json tolerance


def ort_outputs(path: Path, inputs: dict) -> dict[str, np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, inputs)))


def assert_matches(got: dict, want: dict, abs_tol: float, rel_tol: float) -> None:
    assert list(got) == list(want), (list(got), list(want))  # the model's output order
    for name, value in want.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape, (name, got[name], value)
        if np.issubdtype(value.dtype, np.floating):
            np.testing.assert_allclose(got[name], value, atol=abs_tol, rtol=rel_tol, err_msg=name)
        else:
            np.testing.assert_array_equal(got[name], value, err_msg=name)


def nonce(client) -> int:
    return client.substrate.get_account_nonce(client.keypair.ss58_address)


@pytest.fixture(scope="module")
def client(network):
    # An http:// URL, as the CLI takes: the SDK talks to the same port over WebSocket.
    with verity.Client(network.nodes[0].rpc_url, suri=SIGNER) as c:
        yield c


@pytest.fixture(scope="module")
def cnn(client, models):
    """The CNN registered through the SDK: (model id, path, progress calls)."""
    path, progress = models / "cnn.onnx", []
    model_id = client.register(path, fee=FEE, **TOL, progress=lambda done, total: progress.append((done, total)))
    return model_id, path, progress


@pytest.fixture(scope="module")
def cnn_run(client, cnn, models):
    """One request of the CNN on a numpy image, waited for until final: (inputs, Inference)."""
    inputs = {"image": np.load(models / "cnn.image.npy")}
    return inputs, client.infer(cnn[0], inputs, final=True)


def test_importing_verity_stays_cheap():
    run = subprocess.run([sys.executable, "-c", "import sys, verity, verity.localnet; "
                          "print(sorted(m for m in ('numpy', 'substrateinterface', 'verity.client') if m in sys.modules))"],
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout


def test_register_uploads_the_model_and_waits_for_its_probe(client, cnn, network):
    model_id, path, progress = cnn
    size = path.stat().st_size
    # The specs read from the file with ONNX Runtime (as `verity register` reads them) give the
    # id of the model's .json: the SDK registers what the CLI would.
    assert model_id == chain.model_file_id(Keypair.create_from_uri(SIGNER), path, FEE)
    assert model_id == client.model_id(path, fee=FEE, **TOL)
    assert progress == [(size, size)]  # one chunk
    model = client.model(model_id)
    assert model["status"] == "active" and model["profile"] is not None, model
    assert model["owner"] == client.keypair.ss58_address and model["fee"] == str(FEE)
    assert model["codeHash"] == "0x" + chain.blake2_256(path.read_bytes()).hex() and model["uploaded"] == size
    assert (model["toleranceAbsE9"], model["toleranceRelE9"]) == (10_000, 10_000)
    assert model["inputs"] == [{"name": "image", "dtype": "f32", "shape": [1, 1, 8, 8]}]
    # Identical builds agree to the bit on the probe: no spread, nothing to warn about.
    profile = model["profile"]
    assert (profile["spreadAbsE9"], profile["spreadRelE9"], profile["dissenters"]) == (0, 0, 0), profile
    assert verity.client.spread_warning(model) is None
    # Registering it again sends nothing (another node, same chain).
    before = nonce(client)
    with verity.Client(network.nodes[1].ws_url, suri=SIGNER) as other:
        assert other.register(path, fee=FEE, **TOL) == model_id
    assert nonce(client) == before
    # Reads need no signer; writes do.
    reader = verity.Client(network.nodes[1].ws_url)
    assert reader.model(model_id)["id"] == model_id
    assert reader.model("0x" + "ab" * 32) is None
    with pytest.raises(VerityError, match="no signer"):
        reader.register(path, fee=FEE)
    reader.close()


def test_infer_returns_onnxruntimes_outputs_with_their_provenance(client, cnn, cnn_run):
    model_id, path, _ = cnn
    inputs, run = cnn_run
    assert_matches(run.outputs, ort_outputs(path, inputs), 1e-5, 1e-5)
    assert run["scores"] is run.outputs["scores"]
    result = client.result(run.request_id)
    assert run.raw == result
    assert run.model == model_id and run.block == result["attestedAt"]
    assert run.input_hash == "0x" + chain.blake2_256(vtns.encode(inputs)).hex() == result["inputHash"]
    assert run.output_hash == "0x" + chain.blake2_256(bytes.fromhex(result["output"][2:])).hex()
    assert run.attesters == [a["account"] for a in result["attesters"]] and len(run.attesters) >= 2
    assert run.dissenters == [d["account"] for d in result["dissenters"]]
    # How far apart the validators' outputs were: within the model's tolerance (the same
    # ONNX Runtime on one machine gives identical outputs, 0).
    assert run.max_difference == result["maxDifferenceE9"] / 1e9 and 0 <= run.max_difference <= 1e-5 + 1e-5 * 10
    request = client.request(run.request_id)
    assert request["status"] == "attested" and request["requester"] == client.keypair.ss58_address
    # final=True returned once GRANDPA finalized the result's block.
    assert run.final and client.finalized_number() >= run.block


def test_receipt_verifies_against_another_node_and_tampering_is_refused(client, cnn_run, network, tmp_path):
    _, run = cnn_run
    receipt = client.receipt(run.request_id)
    assert receipt["result"]["requestId"] == run.request_id and receipt["result"]["model"] == run.model
    assert receipt["result"]["outputHash"] == run.output_hash and receipt["blockNumber"] >= run.block
    assert receipt["proof"], "a receipt carries its storage proof"
    trusted = network.nodes[2]
    assert client.verify(receipt, trusted.rpc_url, reexecute=True) is True
    # A ws:// URL and a receipt file do as well.
    (tmp_path / "receipt.json").write_text(json.dumps(receipt))
    assert client.verify(tmp_path / "receipt.json", trusted.ws_url) is True
    # Against nothing but the chain spec (the receipt's GRANDPA justification).
    spec = export_chain_spec(network.chain, tmp_path / "spec.json")
    assert client.verify(receipt, chain_spec=spec) is True
    with pytest.raises(VerityError, match="exactly one"):
        client.verify(receipt)

    # The SDK's pure-Python check (verity.receipt, used above against a trusted node) and the
    # CLI's agree: both accept the receipt and refuse every tamper below (nine).
    assert client.verify(receipt, trusted.rpc_url, cli=True) is True

    def refused(mutate) -> str:
        bad = json.loads(json.dumps(receipt))
        mutate(bad)
        reasons = []
        for cli in (False, True):
            with pytest.raises(VerityError) as caught:
                client.verify(bad, trusted.rpc_url, cli=cli)
            assert "FAIL" in caught.value.reason, caught.value.reason
            reasons.append(str(caught.value))
        print(f"[receipt] refused: python {reasons[0]!r}; cli {reasons[1]!r}")
        return reasons[0]

    def flip_output(r):
        out = bytearray.fromhex(r["result"]["output"][2:])
        out[-1] ^= 1
        r["result"]["output"] = "0x" + out.hex()

    def flip_proof_node(r):  # one byte of the node that holds the value
        node = bytearray.fromhex(r["proof"][-1][2:])
        node[len(node) // 2] ^= 0x40
        r["proof"][-1] = "0x" + node.hex()

    def other_block(r):  # a header of the attacker's, hashed right: not the trusted chain's
        header = bytearray.fromhex(r["header"][2:])
        header[-1] ^= 1
        r["header"] = "0x" + header.hex()
        r["blockHash"] = "0x" + chain.blake2_256(bytes(header)).hex()

    def other_request(r):  # the proof of this result, claimed for another request
        r["result"]["requestId"] += 1
        r["storageKey"] = "0x" + receipts.result_storage_key(r["result"]["requestId"]).hex()

    assert "output" in refused(flip_output)
    assert "attesters" in refused(lambda r: r["result"]["attesters"].pop())
    assert "hash" in refused(lambda r: r.update(blockHash="0x" + "11" * 32))
    assert "proof" in refused(flip_proof_node)
    assert "proof" in refused(lambda r: r["proof"].pop(0))
    assert "not canonical" in refused(other_block)
    assert "difference" in refused(lambda r: r["result"].update(maxDifferenceE9=r["result"]["maxDifferenceE9"] + 1))
    assert "storage key" in refused(lambda r: r["result"].update(requestId=r["result"]["requestId"] + 1))
    assert "proof" in refused(other_request) or "no result" in refused(other_request)


def test_bad_inputs_are_refused_before_any_transaction(client, cnn, models):
    model_id = cnn[0]
    image = np.load(models / "cnn.image.npy")
    before = nonce(client)
    cases = [
        ({"img": image}, r"'img' is not an input .* its inputs are image"),
        ({}, r"'image' is missing"),
        ({"image": image, "extra": image}, r"'extra' is not an input"),
        ({"image": image.astype(np.float64)}, r"'image' is float64, .* takes f32"),
        ({"image": image.astype(np.int32)}, r"'image' is int32"),
        ({"image": image[..., :4]}, r"'image' has shape \[1, 1, 8, 4\], .* takes \[1, 1, 8, 8\]"),
        ({"image": image[0]}, r"'image' has shape \[1, 8, 8\]"),
        ({"image": [["not a number"]]}, r"'image' holds"),
    ]
    for inputs, message in cases:
        with pytest.raises(VerityError, match=message):
            client.infer(model_id, inputs)
    assert nonce(client) == before, "a refused input sent a transaction"


def test_register_resumes_an_unfinished_upload(client, models):
    path = models / "wide.onnx"
    size = path.stat().st_size
    assert size > 3 * chain.CHUNK
    model_id = chain.start_upload(client.substrate, client.keypair, path, FEE, chunks=1)
    assert client.model(model_id)["uploaded"] == chain.CHUNK
    progress = []
    assert client.register(path, fee=FEE, **TOL, progress=lambda done, total: progress.append(done)) == model_id
    # It went on from the chain's second chunk, to the end.
    assert progress == [2 * chain.CHUNK, 3 * chain.CHUNK, size], progress
    model = client.model(model_id)
    assert model["status"] == "active" and model["uploaded"] == size


def test_a_probe_spread_beyond_the_tolerance_warns():
    model = {"id": "0xab", "toleranceAbsE9": 10_000, "toleranceRelE9": 1_000,
             "profile": {"spreadAbsE9": 5_000, "spreadRelE9": 500, "dissenters": 0}}
    assert verity.client.spread_warning(model) is None
    model["profile"]["dissenters"] = 1
    with pytest.warns(verity.client.ToleranceWarning, match="1 dissenter"):
        assert "beyond its tolerance" in verity.client.spread_warning(model)
    model["profile"] = {"spreadAbsE9": 20_000, "spreadRelE9": 2_000, "dissenters": 0}
    with pytest.warns(verity.client.ToleranceWarning, match="2e-05 abs"):
        verity.client.spread_warning(model)
    model["profile"]["spreadRelE9"] = 1_000  # within the relative part: may still agree
    assert verity.client.spread_warning(model) is None


def test_a_request_demands_every_validator_and_a_tighter_tolerance(client, cnn, cnn_run):
    """`request_inference_with_rules`: the chain needs all three validators to agree, within a
    tolerance ten times tighter than the model's; what the chain cannot meet is refused."""
    inputs, _ = cnn_run
    run = client.infer(cnn[0], inputs, min_attesters=chain.UNANIMITY, tolerance=(TOL["abs_tol"] / 10, 0))
    request = client.request(run.request_id)
    assert request["quorum"] == 3 == len(request["committee"]), request
    assert request["minAttesters"] == chain.UNANIMITY
    assert (request["toleranceAbsE9"], request["toleranceRelE9"]) == (round(TOL["abs_tol"] / 10 * 1e9), 0)
    assert len(run.attesters) == 3 and run.max_difference <= TOL["abs_tol"] / 10
    with pytest.raises(VerityError, match="MoreAttestersThanCommittee"):
        client.infer(cnn[0], inputs, min_attesters=4)
    with pytest.raises(VerityError, match="ToleranceLooserThanModel"):
        client.infer(cnn[0], inputs, tolerance=(TOL["abs_tol"] * 10, 0))


def test_a_rejected_model_and_a_failed_request_raise_with_the_chains_reason(client, models):
    bomb = models / "hostile" / "memory_bomb.onnx"  # ConstantOfShape: 10 GB for this shape
    huge = {"shape": np.array([50_000, 50_000], np.int64)}
    # Probed on the huge shape: the validators' workers run out of memory, the model is rejected.
    with pytest.raises(VerityError) as caught:
        client.register(bomb, fee=FEE + 1, **TOL, probe_inputs=huge)
    assert caught.value.status == "rejected" and caught.value.reason in ("OutOfMemory", "WorkerDied"), caught.value
    assert "rejected" in str(caught.value)
    # Probed on zeros it is active, and a request on the huge shape fails by agreement.
    model_id = client.register(bomb, fee=FEE, **TOL)
    with pytest.raises(VerityError) as caught:
        client.infer(model_id, huge, timeout=chain.blocks(client.substrate, 30))
    assert caught.value.status == "failed" and caught.value.reason in ("OutOfMemory", "WorkerDied"), caught.value
    assert "failed" in str(caught.value)


def real_models() -> Path | None:
    given = Path(os.environ.get("VERITY_REAL_MODELS", Path.home() / ".cache/verity/target/real-models"))
    return given if (given / "silero_vad.onnx").is_file() else None


@pytest.mark.skipif(real_models() is None, reason="no real-model corpus (scripts/real_models.py; VERITY_REAL_MODELS)")
def test_a_real_third_party_model_through_the_sdk_matches_onnxruntime(client, network):
    """Silero VAD (a PyTorch export shipped in a PyPI wheel): three inputs, one a scalar, with
    dynamic dimensions; probed on its representative input, as zeros with dimensions at 1 are
    no valid audio chunk."""
    corpus = real_models()
    path = corpus / "silero_vad.onnx"
    inputs = {name: np.load(corpus / f"silero_vad.{name}.npy") for name in (corpus / "silero_vad.inputs").read_text().split()}
    assert inputs["sr"].shape == ()
    model_id = client.register(path, fee=FEE, probe_inputs=inputs)  # default tolerance: 1e-5, 1e-6
    model = client.model(model_id)
    assert model["status"] == "active"
    # The probe ran on the input given.
    probe = model["profile"]["requestId"]
    assert client.rpc("inference_getRequestInput", [probe]) == "0x" + vtns.encode(inputs).hex()
    run = client.infer(model_id, inputs)
    assert_matches(run.outputs, ort_outputs(path, inputs), 1e-5, 1e-6)
    network.check_alive()
