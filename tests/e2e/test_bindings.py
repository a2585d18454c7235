"""`verity bindings` on every test model and the real-model corpus (third-party tensor names
such as `float_input` or `input.1`, dynamic dimensions, f32/i64/bool tensors): the generated
Solidity libraries compile with the pinned npm solc and the TypeScript with tsc --strict, and a
model with f64 tensors is refused with the reason. No network: this runs the CLI and compilers."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from verity.chain import verity
from conftest import ROOT

CORPUS = ["skl_forest", "skl_logreg", "lgbm", "magika", "ocr_det", "silero_vad", "skl_grades"]


def model_files(models: Path) -> list[Path]:
    files = sorted(models.glob("*.onnx"))
    real = os.environ.get("VERITY_REAL_MODELS")
    if real:
        files += [Path(real) / f"{name}.onnx" for name in CORPUS if (Path(real) / f"{name}.onnx").is_file()]
    return files


def test_bindings_of_every_model_compile(models, tmp_path):
    out = tmp_path / "bindings"
    generated, refused = [], []
    for model in model_files(models):
        # A name per file: the corpus and the test models may share stems.
        name = "".join(part.capitalize() for part in model.stem.replace("-", "_").split("_")) + "Model"
        run = verity("bindings", "--model", str(model), "--name", name, "--out", str(out))
        if run.returncode == 0:
            generated.append(name)
        else:
            assert "f64 tensors have no Solidity helper yet" in run.stderr, run.stderr
            refused.append(name)
    # The corpus's third-party models are among those generated.
    assert {"SklForestModel", "LgbmModel", "SileroVadModel", "LinearModel", "TwoIoModel"} <= set(generated), generated
    assert len(generated) >= 12, generated

    solc = subprocess.run(["node", str(ROOT / "scripts/compile_contracts.mjs"), "--src", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert solc.returncode == 0, solc.stdout + solc.stderr
    assert f"{len(generated) + 1} file(s)" in solc.stdout, solc.stdout

    tsc = subprocess.run([str(ROOT / "node_modules/.bin/tsc"), "--noEmit", "--strict", "--skipLibCheck", "--target", "es2020",
                          *[str(out / f"{name}.ts") for name in generated]],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr


def test_the_lending_examples_library_is_what_the_generator_writes(models, tmp_path):
    """contracts/src/LinearModel.sol, which CreditLending uses, is generated, not hand-edited."""
    run = verity("bindings", "--model", str(models / "linear.onnx"), "--out", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "LinearModel.sol").read_text() == (ROOT / "contracts/src/LinearModel.sol").read_text()
    assert (tmp_path / "VerityTensor.sol").read_text() == (ROOT / "contracts/src/VerityTensor.sol").read_text()


def test_a_broken_library_does_not_compile(tmp_path):
    """The compile step above can fail: a library with a type error is refused."""
    (tmp_path / "VerityTensor.sol").write_text((ROOT / "contracts/src/VerityTensor.sol").read_text())
    (tmp_path / "Bad.sol").write_text('pragma solidity ^0.8.20;\nimport "./VerityTensor.sol";\n'
                                      'library Bad { function f() internal pure returns (bool) { return 1; } }\n')
    solc = subprocess.run(["node", str(ROOT / "scripts/compile_contracts.mjs"), "--src", str(tmp_path)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert solc.returncode != 0 and "TypeError" in solc.stderr, solc.stdout + solc.stderr
