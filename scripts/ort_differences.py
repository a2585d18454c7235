#!/usr/bin/env python3
"""How far apart ONNX Runtime builds and settings put the outputs of the test models.

Validators run ONNX Runtime 1.31.1 with basic graph optimisations (`Level1`) and one thread
(engine/src/engine.rs). Other validators may run another release, or a build whose kernels fuse
differently; a model's tolerance must cover that. For every model of scripts/gen_models.py and
scripts/real_models.py (their sample inputs), this prints the largest absolute and relative
difference of each variant from the validators' configuration:

- `release X`: another onnxruntime release (a wheel unpacked with `pip install --target DIR`);
- `unoptimized`: graph optimisations off (what `verity-node --fault-unoptimized-graph` runs);
- `all optimizations`: `ORT_ENABLE_ALL` (layout changes and CPU-specific fusions);
- `4 threads`: four intra-op threads instead of one.

Usage:
  ort_differences.py MODELS_DIR REAL_MODELS_DIR [--other-release SITE_DIR]
(scripts/test.sh leaves the folders at $CARGO_TARGET_DIR/models and .../real-models). Results
are recorded in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = ("validators", "unoptimized", "all optimizations", "4 threads")


def model_inputs(folder: Path, name: str, session) -> dict | None:
    """The sample input of a model: `<name>.<input>.npy` files."""
    feeds = {}
    for i in session.get_inputs():
        path = folder / f"{name}.{i.name}.npy"
        if not path.is_file():
            return None
        feeds[i.name] = np.load(path)
    return feeds


def run_all(folders: list[Path], variants: tuple[str, ...]) -> dict:
    """{variant: {model: [outputs]}} with the onnxruntime this interpreter imports."""
    import onnxruntime as ort
    results: dict = {"version": ort.__version__}
    for variant in variants:
        results[variant] = {}
        for folder in folders:
            for model in sorted(folder.glob("*.onnx")):
                options = ort.SessionOptions()
                options.intra_op_num_threads = 4 if variant == "4 threads" else 1
                options.inter_op_num_threads = 1
                options.graph_optimization_level = {
                    "unoptimized": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                    "all optimizations": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                }.get(variant, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
                session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                feeds = model_inputs(folder, model.stem, session)
                if feeds is not None:
                    results[variant][model.stem] = [np.asarray(o) for o in session.run(None, feeds)]
    return results


def difference(a: list, b: list) -> tuple[float, float]:
    worst_abs = worst_rel = 0.0
    for x, y in zip(a, b):
        if x.dtype.kind != "f":
            worst_abs = max(worst_abs, float(np.count_nonzero(x != y)))
            continue
        d = np.abs(x.astype(np.float64) - y.astype(np.float64))
        if d.size:
            worst_abs = max(worst_abs, float(d.max()))
            worst_rel = max(worst_rel, float((d / np.maximum(np.abs(x.astype(np.float64)), 1e-30)).max()))
    return worst_abs, worst_rel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--other-release", type=Path, help="site folder of another onnxruntime wheel")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:  # the child run under another release
        args.dump.write_bytes(pickle.dumps(run_all(args.folders, ("validators",))))
        return
    base = run_all(args.folders, VARIANTS)
    columns = [(v, base[v]) for v in VARIANTS[1:]]
    if args.other_release:
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / "other.pkl"
            env = dict(os.environ, PYTHONPATH=str(args.other_release))
            subprocess.run([sys.executable, __file__, *map(str, args.folders), "--dump", str(dump)],
                           env=env, check=True)
            other = pickle.loads(dump.read_bytes())
        columns.insert(0, (f"release {other['version']}", other["validators"]))
    print(f"difference from onnxruntime {base['version']}, basic optimisations, 1 thread "
          f"(largest |a-b| / largest |a-b|/|a|; integer outputs: elements that differ)")
    print("| model | " + " | ".join(name for name, _ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for model, outputs in base["validators"].items():
        cells = []
        for _, results in columns:
            a, r = difference(outputs, results[model])
            cells.append("0" if a == 0 else f"{a:.2g} / {r:.2g}")
        print(f"| {model} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
