#!/usr/bin/env python3
"""Generates the test and demo ONNX models, their inputs and reference outputs.

Every model is built with the `onnx` helper API from fixed seeds, so the files are reproducible.
For each model NAME it writes, into the output folder:
  NAME.onnx            the model
  NAME.input.vtns      a sample input (Verity tensor format)
  NAME.expected.vtns   Python onnxruntime's output for that input (the reference)
  NAME.INPUT.npy/.pb   each input as NumPy and ONNX TensorProto files
  NAME.json            spec: inputs, outputs (name, dtype, shape; -1 = dynamic), tolerance
Usage: gen_models.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from verity import vtns

OPSET = [helper.make_opsetid("", 17)]
ONNX_TO_SPEC = {TensorProto.FLOAT: "f32", TensorProto.DOUBLE: "f64", TensorProto.INT32: "i32",
                TensorProto.INT64: "i64", TensorProto.UINT8: "u8", TensorProto.BOOL: "bool",
                TensorProto.FLOAT16: "f16", TensorProto.BFLOAT16: "bf16", TensorProto.INT8: "i8",
                TensorProto.INT16: "i16", TensorProto.UINT16: "u16", TensorProto.UINT32: "u32",
                TensorProto.UINT64: "u64", TensorProto.STRING: "string"}
FLOATS = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16)
# Agreement tolerance of float outputs: 1e-5 absolute + 1e-5 relative (in billionths).
FLOAT_TOLERANCE = {"abs_e9": 10_000, "rel_e9": 10_000}


def value_info(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return numpy_helper.from_array(array, name)


def linear(rng):
    """y = x W + b: a linear regression over 4 features."""
    w = rng.normal(size=(4, 1)).astype(np.float32)
    b = rng.normal(size=(1,)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])],
        "linear", [value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [value_info("y", TensorProto.FLOAT, ["batch", 1])], [init("W", w), init("b", b)])
    return graph, {"x": rng.normal(size=(1, 4)).astype(np.float32)}


def mlp(rng):
    """A 16-32-3 MLP classifier with softmax probabilities."""
    w1 = rng.normal(scale=0.3, size=(16, 32)).astype(np.float32)
    b1 = rng.normal(scale=0.1, size=(32,)).astype(np.float32)
    w2 = rng.normal(scale=0.3, size=(32, 3)).astype(np.float32)
    b2 = rng.normal(scale=0.1, size=(3,)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "W1", "b1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W2", "b2"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["probs"], axis=1)]
    graph = helper.make_graph(nodes, "mlp", [value_info("x", TensorProto.FLOAT, ["batch", 16])],
                              [value_info("probs", TensorProto.FLOAT, ["batch", 3])],
                              [init("W1", w1), init("b1", b1), init("W2", w2), init("b2", b2)])
    return graph, {"x": rng.normal(size=(1, 16)).astype(np.float32)}


def cnn(rng):
    """Conv(1->4, 3x3) + ReLU + global average pool + dense(4->2) on 1x1x8x8 images."""
    k = rng.normal(scale=0.5, size=(4, 1, 3, 3)).astype(np.float32)
    kb = rng.normal(scale=0.1, size=(4,)).astype(np.float32)
    w = rng.normal(scale=0.5, size=(4, 2)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["image", "K", "Kb"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("GlobalAveragePool", ["r"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]), helper.make_node("MatMul", ["f", "W"], ["scores"])]
    graph = helper.make_graph(nodes, "cnn", [value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [value_info("scores", TensorProto.FLOAT, [1, 2])],
                              [init("K", k), init("Kb", kb), init("W", w)])
    return graph, {"image": rng.normal(size=(1, 1, 8, 8)).astype(np.float32)}


def argmax(rng):
    """An integer-output classifier: the index of the largest of 5 linear scores (int64)."""
    w = rng.normal(size=(8, 5)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["s"]),
             helper.make_node("ArgMax", ["s"], ["label"], axis=1, keepdims=0)]
    graph = helper.make_graph(nodes, "argmax", [value_info("x", TensorProto.FLOAT, ["batch", 8])],
                              [value_info("label", TensorProto.INT64, ["batch"])], [init("W", w)])
    return graph, {"x": rng.normal(size=(1, 8)).astype(np.float32)}


def two_io(rng):
    """Two inputs, two outputs: sum = a + b (f32) and count = (a > b) summed per row (i64)."""
    nodes = [helper.make_node("Add", ["a", "b"], ["sum"]), helper.make_node("Greater", ["a", "b"], ["gt"]),
             helper.make_node("Cast", ["gt"], ["gt64"], to=TensorProto.INT64),
             helper.make_node("ReduceSum", ["gt64", "axes"], ["count"], keepdims=0)]
    graph = helper.make_graph(nodes, "two_io",
                              [value_info("a", TensorProto.FLOAT, [1, 6]), value_info("b", TensorProto.FLOAT, [1, 6])],
                              [value_info("sum", TensorProto.FLOAT, [1, 6]), value_info("count", TensorProto.INT64, [1])],
                              [init("axes", np.array([1], dtype=np.int64))])
    return graph, {"a": rng.normal(size=(1, 6)).astype(np.float32), "b": rng.normal(size=(1, 6)).astype(np.float32)}


def heavy(rng, width=256, depth=48, batch=16):
    """A deliberately slow chain of `depth` width x width MatMul + Tanh layers (timeouts and
    benchmarks): about 2 * depth * width^2 FLOPs per row."""
    nodes, inits, prev = [], [], "x"
    for i in range(depth):
        w = (rng.normal(size=(width, width)) / np.sqrt(width)).astype(np.float32)
        inits.append(init(f"W{i}", w))
        nodes += [helper.make_node("MatMul", [prev, f"W{i}"], [f"m{i}"]), helper.make_node("Tanh", [f"m{i}"], [f"t{i}"])]
        prev = f"t{i}"
    nodes.append(helper.make_node("Identity", [prev], ["y"]))
    graph = helper.make_graph(nodes, f"heavy{depth}", [value_info("x", TensorProto.FLOAT, ["batch", width])],
                              [value_info("y", TensorProto.FLOAT, ["batch", width])], inits)
    return graph, {"x": rng.normal(size=(batch, width)).astype(np.float32)}


def heavy8(rng):
    """The heavy chain with 8 layers (a mid-size model for benchmarks)."""
    return heavy(rng, depth=8)


def heavy32(rng):
    """The heavy chain on a batch of 32 rows: a run of more than 1 ms (engine benchmark)."""
    return heavy(rng, batch=32)


def wide(rng, features=8192, hidden=104):
    """A dense layer over 8192 features (a 32 KiB float input) into 104 hidden units, ReLU, then
    8 scores: 3.4 MB of weights, so its upload takes four 1 MiB chunks."""
    w1 = (rng.normal(size=(features, hidden)) / np.sqrt(features)).astype(np.float32)
    w2 = rng.normal(scale=0.3, size=(hidden, 8)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "W2"], ["scores"])]
    graph = helper.make_graph(nodes, "wide", [value_info("x", TensorProto.FLOAT, [1, features])],
                              [value_info("scores", TensorProto.FLOAT, [1, 8])], [init("W1", w1), init("W2", w2)])
    return graph, {"x": rng.normal(size=(1, features)).astype(np.float32)}


def convbn(rng):
    """Conv(3->8, 3x3) + BatchNormalization on 1x3x16x16 images. ONNX Runtime's basic graph
    optimisations fold the normalization into the convolution's weights, so validators with
    graph optimisation off compute other last bits (about 1.5e-5 on outputs up to 41): the
    suite's example of validators that differ (tests/e2e/test_faults.py)."""
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=(8,)).astype(np.float32)
    scale = rng.uniform(0.5, 2.0, size=(8,)).astype(np.float32)
    shift = rng.normal(size=(8,)).astype(np.float32)
    mean = rng.normal(size=(8,)).astype(np.float32)
    var = rng.uniform(0.1, 3.0, size=(8,)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["image", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "shift", "mean", "var"], ["features"],
                              epsilon=1e-5)]
    graph = helper.make_graph(nodes, "convbn", [value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [value_info("features", TensorProto.FLOAT, [1, 8, 16, 16])],
                              [init("W", w), init("B", b), init("scale", scale), init("shift", shift),
                               init("mean", mean), init("var", var)])
    return graph, {"image": rng.normal(size=(1, 3, 16, 16)).astype(np.float32)}


# New models go last: each model's seed is its position.
def dtypes(rng):
    """Every element type but f64 (which contracts cannot take) in and out: the floats doubled
    (Add), the integers and bools through Identity, the strings through Identity."""
    import ml_dtypes
    types = {"f32": (TensorProto.FLOAT, np.float32), "f16": (TensorProto.FLOAT16, np.float16),
             "bf16": (TensorProto.BFLOAT16, ml_dtypes.bfloat16), "i64": (TensorProto.INT64, np.int64),
             "i32": (TensorProto.INT32, np.int32), "i16": (TensorProto.INT16, np.int16),
             "i8": (TensorProto.INT8, np.int8), "u64": (TensorProto.UINT64, np.uint64),
             "u32": (TensorProto.UINT32, np.uint32), "u16": (TensorProto.UINT16, np.uint16),
             "u8": (TensorProto.UINT8, np.uint8), "bool": (TensorProto.BOOL, np.bool_),
             "string": (TensorProto.STRING, object)}
    nodes, inputs, outputs, values = [], [], [], {}
    for name, (elem, numpy_type) in types.items():
        x, y = f"x_{name}", f"y_{name}"
        if name == "string":
            # (StringNormalizer would need the machine's locales; the skl2onnx classifier of
            # scripts/real_models.py computes string labels.)
            nodes.append(helper.make_node("Identity", [x], [y]))
            values[x] = np.array(["verity", "héllo wörld", ""], dtype=object)
        elif elem in FLOATS:
            # f32 through Cast: Add has no bfloat16 kernel on ONNX Runtime's CPU.
            nodes += [helper.make_node("Cast", [x], [f"{x}_32"], to=TensorProto.FLOAT),
                      helper.make_node("Add", [f"{x}_32", f"{x}_32"], [f"{y}_32"]),
                      helper.make_node("Cast", [f"{y}_32"], [y], to=elem)]
            values[x] = rng.normal(size=3).astype(numpy_type)
        elif name == "bool":
            nodes.append(helper.make_node("Not", [x], [y]))
            values[x] = np.array([True, False, True])
        else:
            nodes.append(helper.make_node("Identity", [x], [y]))
            info = np.iinfo(numpy_type)
            values[x] = np.array([info.min, info.max, 7], dtype=numpy_type)
        inputs.append(value_info(x, elem, [3]))
        outputs.append(value_info(y, elem, [3]))
    return helper.make_graph(nodes, "dtypes", inputs, outputs), values


def dtypes_reference(inputs):
    """The outputs of `dtypes`, computed here: Python's onnxruntime takes no bfloat16 NumPy
    array. Every step is exact (doubling a float, Identity, Not), so this is what any correct
    run gives."""
    out = {}
    for x, value in inputs.items():
        y = "y_" + x[2:]
        if value.dtype == object or value.dtype.kind in "iu":
            out[y] = value
        elif value.dtype == np.bool_:
            out[y] = ~value
        else:
            out[y] = (value.astype(np.float32) * 2).astype(value.dtype)
    return out


dtypes.reference = dtypes_reference


MODELS = {"linear": linear, "mlp": mlp, "cnn": cnn, "argmax": argmax, "two_io": two_io, "heavy": heavy,
          "heavy8": heavy8, "heavy32": heavy32, "wide": wide, "convbn": convbn, "dtypes": dtypes}

# File a hostile model with relative external data points at (engine tests create it).
PROBE_FILE = "verity-probe.bin"


def external_data_model(location):
    """Outputs an initializer whose 16 bytes ONNX Runtime would read from `location`."""
    secret = numpy_helper.from_array(np.zeros(16, dtype=np.uint8), "secret")
    secret.ClearField("raw_data")
    secret.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "16")):
        entry = secret.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([helper.make_node("Identity", ["secret"], ["leak"])], "leak",
                              [value_info("x", TensorProto.FLOAT, [1])],
                              [value_info("leak", TensorProto.UINT8, [16])], [secret])
    return helper.make_model(graph, opset_imports=OPSET)


def hostile_models(out_dir: Path) -> None:
    """Models a hostile owner could register (hostile/NAME.onnx); the validators' engine must
    refuse each before ONNX Runtime reads it. Also opset_max.onnx: the newest IR and ai.onnx
    opset the pinned ONNX Runtime supports, which the screen must let through."""
    hostile = out_dir / "hostile"
    hostile.mkdir(exist_ok=True)
    files = {
        "external_relative": external_data_model(PROBE_FILE),
        "external_absolute": external_data_model("/etc/hostname"),
        "external_parent": external_data_model("../" + PROBE_FILE),
    }
    evil = helper.make_graph([helper.make_node("Evil", ["x"], ["y"], domain="com.example")], "evil",
                             [value_info("x", TensorProto.FLOAT, [1])], [value_info("y", TensorProto.FLOAT, [1])])
    files["unknown_domain"] = helper.make_model(evil, opset_imports=OPSET + [helper.make_opsetid("com.example", 1)])
    relu = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu",
                             [value_info("x", TensorProto.FLOAT, [1])], [value_info("y", TensorProto.FLOAT, [1])])
    newest = helper.make_model(relu, opset_imports=[helper.make_opsetid("", 26)])
    newest.ir_version = 13
    files["opset_max"] = newest
    # Resource attacks, for the isolated workers: an allocation sized by the input (`shape` of
    # [50000, 50000] asks for 10 GB), one MatMul of two n x n matrices built inside the model
    # (a single operator that runs for seconds), and a Loop of 10^12 iterations.
    n = helper.make_tensor_value_info
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    bomb = helper.make_graph(
        [helper.make_node("ConstantOfShape", ["shape"], ["big"], value=one),
         helper.make_node("ReduceSum", ["big"], ["total"], keepdims=0)],
        "memory_bomb", [n("shape", TensorProto.INT64, [2])], [n("total", TensorProto.FLOAT, [])])
    files["memory_bomb"] = helper.make_model(bomb, opset_imports=OPSET)
    square = helper.make_graph(
        [helper.make_node("Concat", ["size", "size"], ["shape"], axis=0),
         helper.make_node("ConstantOfShape", ["shape"], ["a"], value=one),
         helper.make_node("MatMul", ["a", "a"], ["p"]),
         helper.make_node("ReduceSum", ["p"], ["total"], keepdims=0)],
        "huge_matmul", [n("size", TensorProto.INT64, [1])], [n("total", TensorProto.FLOAT, [])])
    files["huge_matmul"] = helper.make_model(square, opset_imports=OPSET)
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["acc_in", "step"], ["acc_out"])],
        "body", [n("i", TensorProto.INT64, []), n("cond_in", TensorProto.BOOL, []), n("acc_in", TensorProto.FLOAT, [1])],
        [n("cond_out", TensorProto.BOOL, []), n("acc_out", TensorProto.FLOAT, [1])],
        [helper.make_tensor("step", TensorProto.FLOAT, [1], [1.0])])
    endless = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "x"], ["acc"], body=body)],
        "endless_loop", [n("x", TensorProto.FLOAT, [1])], [n("acc", TensorProto.FLOAT, [1])],
        [helper.make_tensor("trips", TensorProto.INT64, [], [10**12]), helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    files["endless_loop"] = helper.make_model(endless, opset_imports=OPSET)
    for name, model in files.items():
        model.ir_version = model.ir_version if name == "opset_max" else 8
        (hostile / f"{name}.onnx").write_bytes(model.SerializeToString(deterministic=True))
        if name in ("memory_bomb", "huge_matmul", "endless_loop", "external_relative"):  # registrable
            spec = {"inputs": spec_of(model.graph.input), "outputs": spec_of(model.graph.output),
                    "tolerance": FLOAT_TOLERANCE}
            (hostile / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
    linear_bytes = (out_dir / "linear.onnx").read_bytes()
    (hostile / "truncated.onnx").write_bytes(linear_bytes[: len(linear_bytes) // 2])
    (hostile / "random.onnx").write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())


def spec_of(values):
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        out.append({"name": v.name, "dtype": ONNX_TO_SPEC[t.elem_type], "shape": dims})
    return out


def main() -> int:
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "target/models")
    out_dir.mkdir(parents=True, exist_ok=True)
    for seed, (name, build) in enumerate(MODELS.items()):
        rng = np.random.default_rng(1000 + seed)
        graph, inputs = build(rng)
        model = helper.make_model(graph, opset_imports=OPSET, producer_name="verity-gen-models")
        model.ir_version = 8
        onnx.checker.check_model(model)
        data = model.SerializeToString(deterministic=True)
        (out_dir / f"{name}.onnx").write_bytes(data)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        out_names = [o.name for o in session.get_outputs()]
        if hasattr(build, "reference"):
            outputs = [build.reference(inputs)[n] for n in out_names]
        else:
            outputs = session.run(None, inputs)
        (out_dir / f"{name}.input.vtns").write_bytes(vtns.encode(inputs))
        (out_dir / f"{name}.expected.vtns").write_bytes(vtns.encode(dict(zip(out_names, outputs))))
        for input_name, array in inputs.items():
            if array.dtype.name != "bfloat16":  # NumPy has no such type of its own
                np.save(out_dir / f"{name}.{input_name}.npy", array.astype(str) if array.dtype == object else array)
            proto = numpy_helper.from_array(array, input_name)
            (out_dir / f"{name}.{input_name}.pb").write_bytes(proto.SerializeToString())
        floats = any(o.type.tensor_type.elem_type in FLOATS for o in graph.output)
        spec = {"inputs": spec_of(graph.input), "outputs": spec_of(graph.output),
                "tolerance": FLOAT_TOLERANCE if floats else {"abs_e9": 0, "rel_e9": 0}}
        (out_dir / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
        print(f"[gen_models] {name}: {len(data)} bytes -> {out_dir / (name + '.onnx')}", file=sys.stderr)
    hostile_models(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
