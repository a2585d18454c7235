"""End to end: hosted models (issue 14, item 4) on the 3-validator network. The model file stays
off chain, served by an HTTP server on loopback (the network's nodes run with
`--allow-private-model-hosts`); each validator's node fetches it for the readiness probe, checking
size and hash while streaming.

1. A model of more than 100 MiB (a random float matrix of which it reads one row: large, cheap to
   run) is registered with `verity.Client.register(path, urls=[...])`: each validator fetches it
   once, keeps it in its model folder, the probe passes, and a request's output equals Python
   onnxruntime's; `verity verify --reexecute` fetches the file too, from loopback only when
   allowed (`--allow-private-model-hosts`).
   The CLI registers one as well (`verity register --url`), and refuses a `file://` URL.
2. A server that serves other bytes of the right length: no node keeps them, the probe fails with
   `ModelUnavailable`, and the nodes' logs say the bytes do not hash to the model's code hash."""
from __future__ import annotations

import http.server
import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import verity
from verity import chain
from verity.client import VerityError

SIGNER = "//Dave"
FEE = 1_310_000_000


def matrix_model(path: Path, mib: int, seed: int) -> Path:
    """y = x + W[0]: W is a random float32 matrix of `mib` MiB, of which the model reads one row."""
    rows = mib * 1024 * 1024 // 16
    weights = np.random.default_rng(seed).standard_normal((rows, 4), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["W", "row"], ["w0"], axis=0), helper.make_node("Add", ["x", "w0"], ["y"])],
        "hosted",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(weights, "W"), numpy_helper.from_array(np.array([0], dtype=np.int64), "row")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


class Server:
    """A threaded HTTP server on loopback serving `routes` ({path: file}); counts GETs per path."""

    def __init__(self, routes: dict[str, Path]):
        self.gets: dict[str, int] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                server.gets[self.path] = server.gets.get(self.path, 0) + 1
                file = routes.get(self.path)
                if file is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(file.stat().st_size))
                self.end_headers()
                with file.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        self.wfile.write(chunk)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def client(network):
    with verity.Client(network.nodes[0].rpc_url, suri=SIGNER) as c:
        yield c


def verity_cli(*args: str, tmp: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """The `verity` CLI with its own temporary folder (where re-execution keeps fetched files)."""
    run = subprocess.run([str(chain.verity_binary()), *args], capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "TMPDIR": str(tmp)})
    print(f"$ verity {' '.join(args)}\n{run.stdout}{run.stderr}")
    return run


def test_a_hosted_model_of_100_mib_is_fetched_probed_and_answers(client, network, tmp_path):
    path = matrix_model(tmp_path / "big.onnx", 101, seed=1)
    size = path.stat().st_size
    assert size > 100 * 1024 * 1024
    server = Server({"/big.onnx": path})
    try:
        started = time.monotonic()
        # The first URL is missing: every node falls back to the second.
        model_id = client.register(path, fee=FEE, urls=[server.url("/missing.onnx"), server.url("/big.onnx")],
                                   wait_secs=300)
        seconds = time.monotonic() - started
        print(f"[hosted] {size / 2**20:.1f} MiB model: registered, fetched by {len(network.nodes)} validators "
              f"and probed in {seconds:.1f} s; GETs {server.gets}")
        assert client.model(model_id)["status"] == "active"
        assert client.hosted_urls(model_id) == [server.url("/missing.onnx"), server.url("/big.onnx")]
        # Each validator fetched it once and keeps it under its hash.
        assert server.gets == {"/missing.onnx": len(network.nodes), "/big.onnx": len(network.nodes)}
        name = chain.blake2_256(path.read_bytes()).hex() + ".onnx"
        for node in network.nodes:
            kept = node.base_path / "models" / name
            assert kept.is_file() and kept.stat().st_size == size, (node.name, kept)
            assert not list((node.base_path / "models").glob("*.part")), node.name
        # Requests run like any model's, from each node's copy.
        x = np.array([[1.0, -2.0, 3.5, 0.25]], dtype=np.float32)
        result = client.infer(model_id, {"x": x}, final=True)
        want = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        np.testing.assert_allclose(result.outputs["y"], want, atol=1e-6)
        assert server.gets["/big.onnx"] == len(network.nodes), "a request fetched the model again"

        # Anyone re-executes the result: the CLI fetches the file from the model's URLs, but
        # only from public addresses unless told otherwise (the owner chose the URLs).
        rpc = network.nodes[1].rpc_url
        verify = ("verify", "--request", str(result.request_id), "--reexecute", "--rpc", rpc)
        refused = verity_cli(*verify, tmp=tmp_path)
        assert refused.returncode != 0 and "not a public address" in refused.stderr, refused.stderr
        checked = verity_cli(*verify, "--allow-private-model-hosts", tmp=tmp_path)
        assert checked.returncode == 0, checked.stderr
        assert "agrees with the result" in checked.stdout and "verified" in checked.stdout, checked.stdout
        assert server.gets["/big.onnx"] == len(network.nodes) + 1
    finally:
        server.close()


def test_the_cli_registers_a_hosted_model(network, tmp_path):
    path = matrix_model(tmp_path / "small.onnx", 2, seed=3)
    server = Server({"/small.onnx": path})
    rpc = network.nodes[0].rpc_url
    try:
        args = ("register", "--model", str(path), "--suri", SIGNER, "--fee", str(FEE + 1), "--rpc", rpc)
        # Refused before anything is sent: the chain takes http(s) URLs only.
        bad = verity_cli(*args, "--url", "file:///etc/passwd", tmp=tmp_path)
        assert bad.returncode != 0 and "http:// and https:// URLs" in bad.stderr, bad.stderr
        done = verity_cli(*args, "--url", server.url("/small.onnx"), tmp=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "registered as a hosted model" in done.stdout and "probe (request" in done.stdout, done.stdout
        assert server.gets == {"/small.onnx": len(network.nodes)}
    finally:
        server.close()


def test_a_server_serving_other_bytes_gets_the_model_rejected(client, network, tmp_path):
    path = matrix_model(tmp_path / "model.onnx", 2, seed=2)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the weights: still a valid model, another hash
    wrong = tmp_path / "wrong.onnx"
    wrong.write_bytes(bytes(data))
    server = Server({"/model.onnx": wrong})
    try:
        with pytest.raises(VerityError) as caught:
            client.register(path, fee=FEE, urls=[server.url("/model.onnx")], wait_secs=120)
    finally:
        server.close()
    assert caught.value.status == "rejected" and caught.value.reason == "ModelUnavailable", caught.value
    print(f"[hosted] wrong bytes: {caught.value}")
    name = chain.blake2_256(path.read_bytes()).hex() + ".onnx"
    for node in network.nodes:
        assert not (node.base_path / "models" / name).exists(), node.name
        assert not list((node.base_path / "models").glob("*.part")), node.name
    logs = [network.workdir.joinpath(f"{node.name}.log").read_text(errors="replace") for node in network.nodes]
    assert sum("not to the model's code hash" in log for log in logs) >= 2, "the nodes' logs do not say why"
