"""The Hardhat workflow (examples/hardhat): a Hardhat 2 project compiles the repository's
contracts with the npm `solc` package (offline: no compiler download), deploys CreditLending
through eth-rpc and runs a mocha test that requests inference and waits for the chain's
callback to decide the loan. The score must equal Python onnxruntime's."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
from substrateinterface import Keypair

from verity import chain
from conftest import ROOT

# A fee of its own: the model id (owner, code, signature, fee) differs from other tests'.
FEE = 1_700_000_000
EXAMPLE = ROOT / "examples/hardhat"


def test_hardhat_compiles_offline_deploys_and_receives_the_callback(network, eth_rpc, models, tmp_path):
    hardhat = EXAMPLE / "node_modules/.bin/hardhat"
    assert hardhat.is_file(), f"{hardhat} is missing: scripts/setup.sh installs it (npm ci in examples/hardhat)"
    substrate = chain.connect(network.nodes[0].ws_url)
    model = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "linear.onnx", FEE)

    session = ort.InferenceSession(str(models / "linear.onnx"), providers=["CPUExecutionProvider"])
    x = np.array([[1.5, -0.25, 3.0, 0.42]], dtype=np.float32)
    expected = float(session.run(None, {"x": x})[0][0][0])

    # A fresh home: Hardhat's global cache (where it would download compilers) starts empty,
    # and the compile runs from scratch.
    home = tmp_path / "home"
    home.mkdir()
    for generated in ("artifacts", "cache"):
        shutil.rmtree(EXAMPLE / generated, ignore_errors=True)
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true", "NO_COLOR": "1",
           "VERITY_ETH_RPC": eth_rpc.url, "VERITY_MODEL": model, "VERITY_MAX_FEE": str(FEE),
           "VERITY_EXPECTED_SCORE": str(round(expected * 1e6))}
    run = subprocess.run([str(hardhat), "test", "--network", "verity"], cwd=EXAMPLE, env=env,
                         capture_output=True, text=True, timeout=400)
    print(run.stdout)
    print(run.stderr)
    assert run.returncode == 0, f"npx hardhat test failed:\n{run.stdout}\n{run.stderr}"
    # From scratch: contracts/src and the precompile's interface it imports.
    sources = len(list((ROOT / "contracts/src").glob("*.sol"))) + 1
    assert f"Compiled {sources} Solidity files successfully" in run.stdout
    # The lending flow, and VerityTensor's helpers of every element type run by pallet-revive.
    assert "3 passing" in run.stdout and "failing" not in run.stdout

    # Compiled by the npm solc, offline: nothing was downloaded into Hardhat's compilers cache,
    # and the bytecode is the one scripts/compile_contracts.mjs commits.
    downloaded = [p for p in home.rglob("compilers*")]
    assert downloaded == [], f"Hardhat downloaded a compiler: {downloaded}"
    artifact = json.loads((EXAMPLE / "artifacts/contracts/src/CreditLending.sol/CreditLending.json").read_text())
    committed = json.loads((ROOT / "contracts/out/CreditLending.json").read_text())
    assert artifact["bytecode"] == committed["bytecode"]
    build_info = json.loads(next((EXAMPLE / "artifacts/build-info").glob("*.json")).read_text())
    assert build_info["solcLongVersion"].startswith("0.8.37+") and build_info["input"]["settings"]["evmVersion"] == "cancun"
