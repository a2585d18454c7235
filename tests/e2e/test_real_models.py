"""End to end: the real-model corpus (scripts/real_models.py, docs/real-models.md), models this
project did not design (scikit-learn and LightGBM models through skl2onnx and onnxmltools, and
models shipped inside PyPI wheels: magika, PaddleOCR's detector, Silero VAD), each registered with
`verity register`, requested with `verity request` from .npy files, and its on-chain output
compared with Python onnxruntime's (`skl_grades` outputs its class names as a string tensor)."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from verity import chain
from verity.chain import verity
from conftest import ROOT

CORPUS = ["skl_forest", "skl_logreg", "lgbm", "magika", "ocr_det", "silero_vad", "skl_grades",
          "torch_squeezenet", "torch_encoder"]
# One account per group of models, so that the uploads run side by side (an account with two
# models registers them one after the other).
ACCOUNTS = ["//Alice", "//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie", "//Ferdie", "//Alice", "//Bob"]
FEE = 1_000_000_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    given = os.environ.get("VERITY_REAL_MODELS")
    if given and all((Path(given) / f"{name}.onnx").is_file() for name in CORPUS):
        return Path(given)
    out = tmp_path_factory.mktemp("real-models")
    subprocess.run([sys.executable, str(ROOT / "scripts/real_models.py"), str(out)], check=True)
    return out


def register_and_request(name: str, suri: str, url: str, corpus: Path, out: Path) -> tuple[str, str]:
    files = [f"{input_name}={corpus / f'{name}.{input_name}.npy'}"
             for input_name in (corpus / f"{name}.inputs").read_text().split()]
    # The readiness probe runs on the same (representative) input: zeros with dynamic
    # dimensions at 1 are no valid input for some of these (an audio chunk of one sample).
    probe = [arg for f in files for arg in ("--probe-input", f)]
    reg = verity("register", "--model", str(corpus / f"{name}.onnx"), "--fee", str(FEE), "--suri", suri,
                 *probe, "--rpc", url, timeout=600)
    assert reg.returncode == 0, f"{name}: {reg.stderr}"
    model_id = chain.cli_model_id(reg.stdout)
    assert f"model {model_id} is active" in reg.stdout, name
    assert "probe (request " in reg.stdout, reg.stdout
    inputs = [arg for f in files for arg in ("--input", f)]
    req = verity("request", "--model", model_id, *inputs, "--suri", suri, "--output-dir", str(out), "--rpc", url)
    assert req.returncode == 0, f"{name}: {req.stderr}"
    return reg.stdout, req.stdout


def test_real_models_through_the_cli_match_onnxruntime(network, corpus, tmp_path):
    url = network.nodes[0].rpc_url
    by_account: dict[str, list[str]] = {}
    for name, suri in zip(CORPUS, ACCOUNTS):
        by_account.setdefault(suri, []).append(name)

    def run_all(suri: str, names: list[str]) -> None:
        for name in names:
            register_and_request(name, suri, url, corpus, tmp_path / name)

    with ThreadPoolExecutor(len(by_account)) as pool:
        for future in [pool.submit(run_all, suri, names) for suri, names in by_account.items()]:
            future.result()
    for name in CORPUS:
        expected = chain.vtns.decode((corpus / f"{name}.expected.vtns").read_bytes())
        assert expected, name
        for output, want in expected.items():
            got = np.load(tmp_path / name / f"{output}.npy")
            if want.dtype == object:  # strings: NumPy's fixed-width `<U` in a .npy file
                assert got.dtype.kind == "U", (name, output, got.dtype)
                got = got.astype(object)
            assert got.dtype == want.dtype and got.shape == want.shape, (name, output)
            if np.issubdtype(want.dtype, np.floating):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{name}.{output}")
            else:
                np.testing.assert_array_equal(got, want, err_msg=f"{name}.{output}")
