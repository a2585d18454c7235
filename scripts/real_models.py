#!/usr/bin/env python3
"""The real-model corpus: ONNX models this project did not design (docs/real-models.md).

Converted at run time by third-party converters from models trained here on synthetic data:
  skl_forest   scikit-learn RandomForestClassifier (credit-risk style, 8 features) via skl2onnx
  skl_logreg   scikit-learn Pipeline(StandardScaler, LogisticRegression) via skl2onnx
  lgbm         LightGBM classifier via onnxmltools
Taken as shipped inside PyPI wheels (downloaded with `pip download --no-deps`, cached):
  magika       Google's file-type classifier (magika 1.0.3; int32 input, 214 classes)
  ocr_det      PaddleOCR v4 text detector, a DBNet CNN (rapidocr-onnxruntime 1.4.4)
  silero_vad   Silero voice activity detector (silero-vad 6.2.3; If subgraphs, int64 scalar input,
               recurrent state in and out)
Exported by `torch.onnx.export` from standard architectures with random weights, once, by
scripts/export_torch_models.py (the torch wheel weighs gigabytes), committed in tests/models/:
  torch_squeezenet  torchvision's SqueezeNet 1.1 CNN (1000 classes)
  torch_encoder     a 2-layer nn.TransformerEncoder text classifier (int64 token ids)

For each model NAME it writes into OUT_DIR: NAME.onnx, one NAME.INPUT.npy per input (in the
model's order, listed in NAME.inputs), NAME.input.vtns, and NAME.expected.vtns (Python
onnxruntime's output, one thread, the reference).
Usage: real_models.py OUT_DIR [--wheels DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from verity import vtns

WHEELS = {  # name: (pip requirement, file inside the wheel)
    "magika": ("magika==1.0.3", "magika/models/standard_v3_3/model.onnx"),
    "ocr_det": ("rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"),
    "ocr_rec": ("rapidocr-onnxruntime==1.4.4", "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"),
    "ocr_cls": ("rapidocr-onnxruntime==1.4.4",
                "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    "silero_vad": ("silero-vad==6.2.3", "silero_vad/data/silero_vad.onnx"),
}


# name: file in the repository (committed outputs of scripts/export_torch_models.py)
COMMITTED = {
    "torch_squeezenet": "tests/models/torch_squeezenet.onnx",
    "torch_encoder": "tests/models/torch_encoder.onnx",
}
ROOT = Path(__file__).resolve().parent.parent


def credit_data(rng, n=400):
    """A synthetic loan book: 8 features (income, debt ratio, age, ...) and a default label."""
    x = rng.normal(size=(n, 8)).astype(np.float32)
    score = 1.5 * x[:, 0] - 2.0 * x[:, 1] + 0.5 * x[:, 2] * x[:, 3] + rng.normal(scale=0.5, size=n)
    return x, (score > 0).astype(np.int64)


def converted(rng) -> dict[str, bytes]:
    from lightgbm import LGBMClassifier
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = credit_data(rng)
    # zipmap=False: probabilities as a tensor, not a sequence of maps (which the chain refuses).
    forest = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(x, y)
    logreg = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    lgbm = LGBMClassifier(n_estimators=30, num_leaves=15, random_state=0, verbose=-1).fit(x, y)
    # Classes named by strings, as scikit-learn users often have them: the label output is a
    # string tensor (ONNX STRING), computed by ai.onnx.ml operators.
    grades = np.array(["decline", "review", "approve"])[np.digitize(x[:, 0] - x[:, 1], [-0.5, 0.5])]
    grader = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, grades)
    return {
        "skl_grades": to_onnx(grader, x[:1], options={"zipmap": False},
                              target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString(),
        "skl_forest": to_onnx(forest, x[:1], options={id(forest): {"zipmap": False}},
                              target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString(),
        "skl_logreg": to_onnx(logreg, x[:1], options={"zipmap": False},
                              target_opset={"": 17, "ai.onnx.ml": 3}).SerializeToString(),
        "lgbm": convert_lightgbm(lgbm, initial_types=[("x", MlFloat([None, 8]))], zipmap=False,
                                 target_opset=15).SerializeToString(),
    }


def from_wheel(name: str, wheels: Path) -> bytes:
    requirement, member = WHEELS[name]
    wheels.mkdir(parents=True, exist_ok=True)
    stem = requirement.split("==")[0].replace("-", "_")
    found = sorted(wheels.glob(f"{stem}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), requirement],
                       check=True)
        found = sorted(wheels.glob(f"{stem}-*.whl"))
    with zipfile.ZipFile(found[-1]) as wheel:
        return wheel.read(member)


def inputs_for(name: str, rng) -> dict[str, np.ndarray]:
    if name in ("skl_forest", "skl_logreg", "skl_grades"):  # a batch of 4 applicants
        return {"X": credit_data(np.random.default_rng(99), n=4)[0]}
    if name == "lgbm":  # onnxmltools declares its label output as [1]: one applicant per request
        return {"x": credit_data(np.random.default_rng(99), n=1)[0]}
    if name == "magika":  # bytes of a small "file", padded with 256 as magika does
        data = np.full((1, 2048), 256, dtype=np.int32)
        text = b"#!/usr/bin/env python3\nimport sys\nprint('hello', sys.argv)\n" * 4
        data[0, :len(text)] = np.frombuffer(text, dtype=np.uint8)
        return {"bytes": data}
    if name == "ocr_det":  # a 64x64 RGB image (sides multiple of 32; fits the chain's 64 KiB)
        return {"x": rng.random((1, 3, 64, 64), dtype=np.float32)}
    if name == "ocr_rec":  # a 48x288 text line, normalised to [-1, 1] as rapidocr does: 166 KB in,
        # 36 steps x 6625 character probabilities out (954 KB, under the chain's 1 MiB)
        return {"x": (rng.random((1, 3, 48, 288), dtype=np.float32) - 0.5) / 0.5}
    if name == "ocr_cls":  # a 48x192 text line (110 KB): upright or upside down
        return {"x": (rng.random((1, 3, 48, 192), dtype=np.float32) - 0.5) / 0.5}
    if name == "silero_vad":  # 512 samples of 16 kHz audio, zero state
        return {"input": (0.1 * rng.standard_normal((1, 512))).astype(np.float32),
                "state": np.zeros((2, 1, 128), dtype=np.float32), "sr": np.array(16000, dtype=np.int64)}
    if name == "torch_squeezenet":  # a 64x64 RGB image, normalised as torchvision's transforms do
        return {"image": ((rng.random((1, 3, 64, 64)) - 0.45) / 0.225).astype(np.float32)}
    if name == "torch_encoder":  # two sentences of 16 token ids
        return {"tokens": rng.integers(0, 1000, size=(2, 16), dtype=np.int64)}
    raise KeyError(name)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--wheels", type=Path,
                        default=Path(os.environ.get("VERITY_CACHE", Path.home() / ".cache/verity")) / "wheels")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    models = converted(rng)
    for name in WHEELS:
        models[name] = from_wheel(name, args.wheels)
    for name, path in COMMITTED.items():
        models[name] = (ROOT / path).read_bytes()
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    for name, data in models.items():
        (args.out_dir / f"{name}.onnx").write_bytes(data)
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        inputs = inputs_for(name, rng)
        order = [i.name for i in session.get_inputs()]
        assert sorted(order) == sorted(inputs), (name, order)
        inputs = {k: inputs[k] for k in order}
        outputs = session.run(None, inputs)
        (args.out_dir / f"{name}.input.vtns").write_bytes(vtns.encode(inputs))
        (args.out_dir / f"{name}.expected.vtns").write_bytes(
            vtns.encode(dict(zip([o.name for o in session.get_outputs()], outputs))))
        for input_name, array in inputs.items():
            np.save(args.out_dir / f"{name}.{input_name}.npy", array)
        (args.out_dir / f"{name}.inputs").write_text("\n".join(order) + "\n")
        print(f"[real_models] {name}: {len(data)} bytes, inputs {order}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
