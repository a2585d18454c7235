"""Every ONNX tensor element type the Verity format carries (f32, f64, i32, i64, u8, bool, f16,
bf16, i8, i16, u16, u32, u64, string), against what we did not write:

- ONNX's own operator test cases (`onnx.backend.test.case.node`, generated in-process from the
  installed onnx package) whose tensors use a type beyond the first six and that Python's
  onnxruntime passes, run through `verity-node inference run` from ONNX TensorProto files: the
  outputs must be ONNX's expected ones (exactly for integers, bools and strings);
- the `dtypes` test model (every type but f64 in and out) registered and requested on the shared
  network through the SDK: the agreed result is the exact expected output, bf16 and strings
  included."""
from __future__ import annotations

import subprocess
import warnings

import numpy as np
import pytest
from onnx import TensorProto, numpy_helper

import verity
from conftest import node_binary
from verity import vtns

NEW_TYPES = {TensorProto.FLOAT16: "f16", TensorProto.BFLOAT16: "bf16", TensorProto.INT8: "i8",
             TensorProto.INT16: "i16", TensorProto.UINT16: "u16", TensorProto.UINT32: "u32",
             TensorProto.UINT64: "u64", TensorProto.STRING: "string"}
# The operator domains the validators' screen lets through (engine/src/screen.rs).
SCREENED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}
OLD_TYPES = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT32, TensorProto.INT64, TensorProto.UINT8,
             TensorProto.BOOL}


def same(got: np.ndarray, want: np.ndarray) -> bool:
    want = np.asarray(want)
    if got.shape != want.shape:
        return False
    if want.dtype == object or want.dtype.kind in "iub":
        return bool(np.array_equal(got.astype(want.dtype), want))
    # f16 results of ONNX's numpy reference: 1e-3 as ONNX's own runner allows.
    return bool(np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3, atol=1e-3, equal_nan=True))


def onnx_cases():
    """ONNX's operator cases with a new type that Python's onnxruntime gets right."""
    import onnxruntime
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    for case in cases:
        values = list(case.model.graph.input) + list(case.model.graph.output)
        if not case.data_sets or not all(v.type.HasField("tensor_type") for v in values):
            continue
        types = {v.type.tensor_type.elem_type for v in values}
        if not types & set(NEW_TYPES) or not types <= set(NEW_TYPES) | OLD_TYPES:
            continue
        if any(o.domain not in SCREENED_DOMAINS for o in case.model.opset_import):
            continue  # the validators' screen refuses it (a preview domain), whatever its types
        inputs, expected = case.data_sets[0]
        try:
            session = onnxruntime.InferenceSession(case.model.SerializeToString(), options,
                                                   providers=["CPUExecutionProvider"])
            got = session.run(None, dict(zip([i.name for i in session.get_inputs()], inputs)))
        except Exception:  # a kernel this onnxruntime lacks, a locale this machine lacks, bf16 in numpy
            continue
        if all(same(g, e) for g, e in zip(got, expected)):
            yield case, types


def test_onnx_operator_cases_of_every_new_type_give_onnxs_expected_outputs(tmp_path):
    covered, ran = set(), 0
    for case, types in onnx_cases():
        folder = tmp_path / case.name
        folder.mkdir()
        (folder / "model.onnx").write_bytes(case.model.SerializeToString())
        inputs, expected = case.data_sets[0]
        args = [str(node_binary()), "inference", "run", "--model", str(folder / "model.onnx"),
                "--output-dir", str(folder / "out")]
        for spec, value in zip(case.model.graph.input, inputs):
            pb = folder / f"{spec.name}.pb"
            pb.write_bytes(numpy_helper.from_array(np.asarray(value), spec.name).SerializeToString())
            args += ["--input", f"{spec.name}={pb}"]
        run = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, (case.name, run.stderr)
        outputs = vtns.decode((folder / "out/outputs.vtns").read_bytes())
        names = [o.name for o in case.model.graph.output]
        assert list(outputs) == names, case.name
        for name, want in zip(names, expected):
            assert same(outputs[name], want), (case.name, name, outputs[name], want)
        covered |= {NEW_TYPES[t] for t in types if t in NEW_TYPES}
        ran += 1
    print(f"{ran} ONNX operator cases ran; types covered: {sorted(covered)}")
    # Every new type but bf16 (numpy has none, so neither ONNX's cases nor onnxruntime's Python
    # API feed one: the `dtypes` model below covers it) is in a case that ran.
    assert covered >= set(NEW_TYPES.values()) - {"bf16"}, covered
    assert ran >= 100, ran


@pytest.fixture(scope="module")
def client(network):
    with verity.Client(network.nodes[0].rpc_url, suri="//Ferdie") as c:
        yield c


def test_every_type_travels_through_the_chain_and_agrees_exactly(client, models):
    model_id = client.register(models / "dtypes.onnx", fee=1_170_000_000, abs_tol=1e-5, rel_tol=1e-5)
    view = client.model(model_id)
    assert [s["dtype"] for s in view["inputs"]] == [
        "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u64", "u32", "u16", "u8", "bool", "string"], view["inputs"]
    inputs = vtns.decode((models / "dtypes.input.vtns").read_bytes())
    expected = vtns.decode((models / "dtypes.expected.vtns").read_bytes())
    result = client.infer(model_id, inputs)
    assert list(result.outputs) == list(expected)
    for name, want in expected.items():
        got = result.outputs[name]
        assert got.dtype == want.dtype and got.shape == want.shape, (name, got, want)
        # Doubling, Identity and Not are exact: every validator's output is the reference's.
        assert np.array_equal(got.astype(object) if want.dtype == object else got, want), (name, got, want)
    assert result.outputs["y_string"].tolist() == ["verity", "héllo wörld", ""]
    # The probe ran the model on zeros and empty strings: the model is active, its profile set.
    assert view["status"] == "active" and view["profile"] is not None, view
