#!/usr/bin/env python3
"""Python onnxruntime timing with the validators' settings (1 thread, basic graph optimization,
sequential execution): column (c) of the engine overhead benchmark."""
import statistics
import sys
import time
from pathlib import Path

import onnxruntime as ort

from verity import vtns

models = Path(sys.argv[1])
print("model,python_us")
for name in sys.argv[2:] or ["mlp", "heavy8", "heavy", "heavy32"]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(str(models / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
    feed = vtns.decode((models / f"{name}.input.vtns").read_bytes())
    for _ in range(3):
        session.run(None, feed)
    samples, started = [], time.perf_counter()
    while len(samples) < 20 or (time.perf_counter() - started < 3 and len(samples) < 2000):
        t = time.perf_counter()
        session.run(None, feed)
        samples.append(time.perf_counter() - t)
    print(f"{name},{statistics.median(samples) * 1e6:.1f}")
