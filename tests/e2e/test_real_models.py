"""End to end: the real-model corpus (scripts/real_models.py, docs/real-models.md), models this
project did not design (scikit-learn and LightGBM models through skl2onnx and onnxmltools, and
models shipped inside PyPI wheels: magika, PaddleOCR's detector, Silero VAD), each registered with
`verity register`, requested with `verity request` from .npy files, and its on-chain output
compared with Python onnxruntime's (`skl_grades` outputs its class names as a string tensor)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from substrateinterface import Keypair

from verity import chain
from verity.chain import verity
from conftest import ROOT

CORPUS = ["skl_forest", "skl_logreg", "lgbm", "magika", "ocr_det", "silero_vad", "skl_grades",
          "torch_squeezenet", "torch_encoder", "ocr_rec", "ocr_cls"]
# One account per group of models, so that the uploads run side by side (an account with two
# models registers them one after the other; the 11 MB recogniser has an account of its own).
ACCOUNTS = ["//Alice", "//Bob", "//Dave", "//Dave", "//Eve", "//Ferdie", "//Ferdie", "//Alice", "//Bob",
            "//Charlie", "//Eve"]
FEE = 1_000_000_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    given = os.environ.get("VERITY_REAL_MODELS")
    if given and all((Path(given) / f"{name}.onnx").is_file() for name in CORPUS):
        return Path(given)
    out = tmp_path_factory.mktemp("real-models")
    subprocess.run([sys.executable, str(ROOT / "scripts/real_models.py"), str(out)], check=True)
    return out


def file_stem(output: str) -> str:
    """The CLI's file name for an output (`tensor_files::output_file_stem`): names come from the
    model (PaddleOCR's classifier answers `save_infer_model/scale_0.tmp_1`)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", output)
    return "_" + stem if not stem or stem.startswith(".") else stem


def npy_args(flag: str, name: str, corpus: Path) -> list[str]:
    files = [f"{input_name}={corpus / f'{name}.{input_name}.npy'}"
             for input_name in (corpus / f"{name}.inputs").read_text().split()]
    return [arg for f in files for arg in (flag, f)]


def register_and_request(name: str, suri: str, url: str, corpus: Path, out: Path) -> tuple[str, int]:
    """Registers `name` and requests it once; returns (model id, request id)."""
    # The readiness probe runs on the same (representative) input: zeros with dynamic
    # dimensions at 1 are no valid input for some of these (an audio chunk of one sample).
    reg = verity("register", "--model", str(corpus / f"{name}.onnx"), "--fee", str(FEE), "--suri", suri,
                 *npy_args("--probe-input", name, corpus), "--rpc", url, timeout=600)
    assert reg.returncode == 0, f"{name}: {reg.stderr}"
    model_id = chain.cli_model_id(reg.stdout)
    assert f"model {model_id} is active" in reg.stdout, name
    assert "probe (request " in reg.stdout, reg.stdout
    req = verity("request", "--model", model_id, *npy_args("--input", name, corpus), "--suri", suri,
                 "--output-dir", str(out), "--rpc", url)
    assert req.returncode == 0, f"{name}: {req.stderr}"
    found = re.search(r"request (\d+) in block", req.stdout)
    assert found, req.stdout
    return model_id, int(found.group(1))


@pytest.fixture(scope="module")
def registered(network, corpus, tmp_path_factory) -> tuple[dict[str, tuple[str, int]], Path]:
    """Every corpus model registered and requested once through the CLI: ({name: (model id,
    request id)}, the folder of each request's outputs)."""
    url = network.nodes[0].rpc_url
    out = tmp_path_factory.mktemp("real-outputs")
    by_account: dict[str, list[str]] = {}
    for name, suri in zip(CORPUS, ACCOUNTS):
        by_account.setdefault(suri, []).append(name)

    def run_all(suri: str, names: list[str]) -> dict[str, tuple[str, int]]:
        return {name: register_and_request(name, suri, url, corpus, out / name) for name in names}

    done: dict[str, tuple[str, int]] = {}
    with ThreadPoolExecutor(len(by_account)) as pool:
        for future in [pool.submit(run_all, suri, names) for suri, names in by_account.items()]:
            done.update(future.result())
    return done, out


def test_real_models_through_the_cli_match_onnxruntime(registered, corpus):
    _, out = registered
    for name in CORPUS:
        expected = chain.vtns.decode((corpus / f"{name}.expected.vtns").read_bytes())
        assert expected, name
        for output, want in expected.items():
            got = np.load(out / name / f"{file_stem(output)}.npy")
            if want.dtype == object:  # strings: NumPy's fixed-width `<U` in a .npy file
                assert got.dtype.kind == "U", (name, output, got.dtype)
                got = got.astype(object)
            assert got.dtype == want.dtype and got.shape == want.shape, (name, output)
            if np.issubdtype(want.dtype, np.floating):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name}.{output}")
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{name}.{output}")


def test_a_1_mib_output_goes_on_chain_once(network, registered, corpus):
    """PaddleOCR's recogniser takes a 166 KB image and answers 954 KB of character
    probabilities (both over the former 64 KiB limits): the bytes went on chain in one member's
    reveal, the other members named them by hash (`Reveal::SameOutput`), and the result holds
    them whole."""
    ids, _ = registered
    _, request_id = ids["ocr_rec"]
    substrate = chain.connect(network.nodes[0].ws_url)
    request = substrate.query("Inference", "Requests", [request_id]).value
    result = substrate.query("Inference", "Results", [request_id]).value
    assert request["status"] == "Attested"
    output = chain.to_bytes(result["output"])
    assert len(output) > 900_000
    got = chain.vtns.decode(output)
    for name, want in chain.vtns.decode((corpus / "ocr_rec.expected.vtns").read_bytes()).items():
        np.testing.assert_allclose(got[name], want, rtol=1e-5, atol=1e-6)
    # Every member's revealed result, with the size of the transaction that carried it.
    reveals = chain.reveal_sizes(substrate, request_id, request["drawn_at"], result["attested_at"])
    assert len(reveals) >= len(result["attesters"]) >= 2, reveals
    print(f"[ocr_rec] output {len(output)} bytes; reveals (block, validator, transaction bytes): {reveals}")
    carrying = [r for r in reveals if r[2] >= len(output)]
    assert len(carrying) == 1, reveals
    # The others named it by hash: their transactions are far smaller than the output (they
    # may carry other requests' small outputs).
    assert all(r[2] < len(output) // 4 for r in reveals if r not in carrying), reveals


def test_an_output_over_1_mib_is_an_agreed_failure(network, registered, tmp_path):
    """A wider text line (48x320) makes the recogniser answer 1,060,000 bytes, over the chain's
    1 MiB: the committee agrees on `OutputTooLarge` and `verity request` says so."""
    ids, _ = registered
    model_id, _ = ids["ocr_rec"]
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((1, 3, 48, 320), dtype=np.float32))
    req = verity("request", "--model", model_id, "--input", f"x={wide}", "--suri", "//Charlie",
                 "--rpc", network.nodes[1].rpc_url)
    assert req.returncode != 0
    assert "OutputTooLarge" in req.stderr + req.stdout, (req.stdout, req.stderr)


def test_an_input_over_1_mib_is_refused_before_sending_and_by_the_chain(network, registered, tmp_path):
    """A 48x2048 text line is 1.18 MB encoded: `verity request` refuses it before sending,
    naming the limit; sent anyway, the chain fails it with `InputTooLarge` (a decodable pallet
    error; a bounded argument made it an undecodable transaction before)."""
    ids, _ = registered
    model_id, _ = ids["ocr_rec"]
    image = np.zeros((1, 3, 48, 2048), dtype=np.float32)
    big = tmp_path / "big.npy"
    np.save(big, image)
    url = network.nodes[1].rpc_url
    req = verity("request", "--model", model_id, "--input", f"x={big}", "--suri", "//Charlie", "--rpc", url)
    assert req.returncode != 0
    assert "MaxInputBytes" in req.stderr and "1048576" in req.stderr, req.stderr
    substrate = chain.connect(network.nodes[1].ws_url)
    encoded = chain.vtns.encode({"x": image})
    assert len(encoded) > substrate.get_constant("Inference", "MaxInputBytes").value
    with pytest.raises(RuntimeError, match="InputTooLarge"):
        chain.request(substrate, Keypair.create_from_uri("//Charlie"), model_id, encoded, 10**15)
