"""End to end: the `inference_*` RPC methods, provenance receipts with storage proofs, the
`verity` client CLI, and a third-party JavaScript client (@polkadot/api) against the
3-validator network."""
from __future__ import annotations

import http.server
import json
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import websocket  # websocket-client, a dependency of substrate-interface
from substrateinterface import Keypair

from verity import chain, localnet
from verity.chain import verity
from conftest import ROOT, export_chain_spec

FEE = 2_000_000_000


def rpc_error(url: str, method: str, params: list) -> dict:
    """The JSON-RPC error object of a call that must fail."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        reply = json.load(resp)
    assert "error" in reply, f"{method}{params} answered {reply.get('result')!r} instead of an error"
    return reply["error"]


@pytest.fixture(scope="module")
def cnn_request(network, models, tmp_path_factory):
    """The CNN registered and requested through the `verity` CLI: (model id, request id, outputs dir)."""
    url = network.nodes[0].rpc_url
    out = tmp_path_factory.mktemp("cnn-out")
    reg = verity("register", "--model", str(models / "cnn.onnx"), "--fee", str(FEE), "--suri", "//Charlie", "--rpc", url)
    assert reg.returncode == 0, reg.stderr
    model_id = chain.cli_model_id(reg.stdout)
    assert f"model {model_id} is active" in reg.stdout
    assert "MiB (100%)" in reg.stdout  # the progress bar reached the end
    req = verity("request", "--model", model_id, "--input", str(models / "cnn.image.npy"),
                 "--suri", "//Dave", "--output-dir", str(out), "--rpc", url, "--final")
    assert req.returncode == 0, req.stderr
    request_id = int(req.stdout.split("request ", 1)[1].split(" ", 1)[0])
    assert "attested" in req.stdout
    # --final: the command returned only once GRANDPA made the result's block final.
    result = localnet.rpc(url, "inference_getResult", [request_id])
    assert f"result block #{result['attestedAt']} is final (GRANDPA" in req.stdout
    head = localnet.rpc(url, "chain_getHeader", [localnet.rpc(url, "chain_getFinalizedHead")])
    assert int(head["number"], 16) >= result["attestedAt"]
    return model_id, request_id, out


def test_cli_registers_requests_and_writes_the_models_output(network, cnn_request, models):
    _, _, out = cnn_request
    expected = chain.vtns.decode((models / "cnn.expected.vtns").read_bytes())
    for name, value in expected.items():
        np.testing.assert_allclose(np.load(out / f"{name}.npy"), value, rtol=1e-5, atol=1e-5)
    # Registering the same file again is a no-op, not an error.
    again = verity("register", "--model", str(models / "cnn.onnx"), "--fee", str(FEE), "--suri", "//Charlie",
                   "--rpc", network.nodes[1].rpc_url)
    assert again.returncode == 0, again.stderr
    assert "already registered (active)" in again.stdout
    # A node that cannot be reached is an error, never "not registered".
    port = localnet.free_port()
    unreachable = verity("register", "--model", str(models / "cnn.onnx"), "--suri", "//Charlie",
                         "--rpc", f"http://127.0.0.1:{port}")
    assert unreachable.returncode != 0 and "registered" not in unreachable.stdout
    # (It failed at the RPC call, not before it, e.g. while screening the model.)
    assert f"127.0.0.1:{port}" in unreachable.stderr, unreachable.stderr


def test_cli_resumes_a_multi_chunk_upload_and_sends_a_32_kib_input(network, models, tmp_path):
    """A model of 3.4 MB (four 1 MiB chunks) whose upload stopped after its first chunk is
    finished by `verity register`, and a 32 KiB input goes through `verity request`: both send
    extrinsics far above the 1027 bytes from which the old hex encoding corrupted them."""
    url, path = network.nodes[1].rpc_url, models / "wide.onnx"
    assert path.stat().st_size >= 3 * chain.CHUNK
    substrate = chain.connect(network.nodes[1].ws_url)
    model_id = chain.start_upload(substrate, Keypair.create_from_uri("//Ferdie"), path, FEE, chunks=1)
    # The same owner, fee, specs (read from the file) and tolerance (wide.json's): the same id.
    reg = verity("register", "--model", str(path), "--fee", str(FEE), "--abs-tol", "1e-5", "--rel-tol", "1e-5",
                 "--suri", "//Ferdie", "--rpc", url, timeout=600)
    assert reg.returncode == 0, reg.stderr
    assert f"resuming the upload at byte {chain.CHUNK}" in reg.stdout
    # Active means the chain hashed the uploaded bytes and found the file's blake2-256.
    assert f"model {model_id} is active" in reg.stdout
    assert localnet.rpc(url, "inference_getModel", [model_id])["size"] == path.stat().st_size

    npy = models / "wide.x.npy"
    assert npy.stat().st_size >= 32 * 1024
    out = tmp_path / "out"
    req = verity("request", "--model", model_id, "--input", str(npy), "--suri", "//Ferdie",
                 "--output-dir", str(out), "--rpc", url)
    assert req.returncode == 0, req.stderr
    expected = chain.vtns.decode((models / "wide.expected.vtns").read_bytes())
    np.testing.assert_allclose(np.load(out / "scores.npy"), expected["scores"], rtol=1e-5, atol=1e-5)


def test_cli_requests_demand_what_the_chain_can_meet(network, cnn_request, models):
    """`verity request --min-attesters/--tolerance`: a demand above the committee is refused by
    the chain with its error's name; a tolerance looser than the model's, before sending."""
    model_id, _, _ = cnn_request
    url = network.nodes[0].rpc_url
    base = ("request", "--model", model_id, "--input", str(models / "cnn.image.npy"), "--suri", "//Dave",
            "--rpc", url)
    many = verity(*base, "--min-attesters", "4")
    assert many.returncode != 0 and "MoreAttestersThanCommittee" in many.stderr, many.stderr
    loose = verity(*base, "--tolerance", "1", "0")
    assert loose.returncode != 0 and "looser than the model's" in loose.stderr, loose.stderr
    bad = verity(*base, "--min-attesters", "most")
    assert bad.returncode != 0 and "`all`" in bad.stderr, bad.stderr


def test_receipts_verify_and_tampering_is_caught(network, cnn_request, tmp_path):
    model_id, request_id, _ = cnn_request
    substrate = chain.connect(network.nodes[0].ws_url)
    result = chain.wait_result(substrate, request_id)
    chain.wait_finalized(substrate, result["attested_at"])

    url, other = network.nodes[0].rpc_url, network.nodes[2].rpc_url
    receipt_file = tmp_path / "receipt.json"
    got = verity("receipt", "--request", str(request_id), "--out", str(receipt_file), "--rpc", url)
    assert got.returncode == 0, got.stderr
    receipt = json.loads(receipt_file.read_text())
    assert receipt["result"]["model"] == model_id
    assert receipt["result"]["requestId"] == request_id
    assert receipt["blockNumber"] >= result["attested_at"]
    assert receipt["proof"], "a receipt carries its storage proof"

    # Valid: checked against another node's finality, and re-executed locally.
    ok = verity("verify", "--receipt", str(receipt_file), "--trusted-rpc", other, "--reexecute")
    assert ok.returncode == 0, ok.stderr
    assert "verified" in ok.stdout and "local re-execution" in ok.stdout

    def rejected(mutate, reason: str) -> None:
        bad = json.loads(receipt_file.read_text())
        mutate(bad)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        run = verity("verify", "--receipt", str(path), "--trusted-rpc", other)
        assert run.returncode != 0, f"a receipt with {reason} verified"
        return run.stderr

    def flip_output(r):
        out = bytearray.fromhex(r["result"]["output"][2:])
        out[-1] ^= 1
        r["result"]["output"] = "0x" + out.hex()

    def flip_proof(r):
        node = bytearray.fromhex(r["proof"][-1][2:])
        node[len(node) // 2] ^= 0xFF
        r["proof"][-1] = "0x" + node.hex()

    assert "output" in rejected(flip_output, "a tampered output")
    assert "proof" in rejected(flip_proof, "a tampered proof") or "result" in rejected(flip_proof, "a tampered proof")
    assert "attesters" in rejected(lambda r: r["result"]["attesters"].pop(), "a removed attester")
    assert "hash" in rejected(lambda r: r.update(blockHash="0x" + "11" * 32), "a wrong block hash")

    # The node only proves against finalized blocks. GRANDPA votes for the best block: it may
    # finalize that block between the two calls (a receipt then), so try again until a refusal.
    deadline = time.time() + 60
    while True:
        best = localnet.rpc(url, "chain_getBlockHash", [])
        fin = localnet.rpc(url, "chain_getHeader", [localnet.rpc(url, "chain_getFinalizedHead")])["number"]
        best_number = int(localnet.rpc(url, "chain_getHeader", [best])["number"], 16)
        if best_number > int(fin, 16):
            try:
                err = rpc_error(url, "inference_getReceipt", [request_id, best])
            except AssertionError:  # it answered a receipt: only right if finalized meanwhile
                now = localnet.rpc(url, "chain_getHeader", [localnet.rpc(url, "chain_getFinalizedHead")])["number"]
                assert int(now, 16) >= best_number, f"a receipt against #{best_number}, above the finalized #{now}"
                assert time.time() < deadline, "never saw a best block above the finalized one refused"
                continue
            assert err["code"] == 4001 and "not finalized" in err["message"], err
            break
        assert time.time() < deadline, "best block never got ahead of the finalized one"
        time.sleep(0.3)


def test_receipts_verify_offline_against_the_chain_spec(network, cnn_request, tmp_path):
    """A receipt carries the GRANDPA justification of its block (or of a descendant, with the
    headers in between) and the authority-set changes since genesis: `verity verify
    --chain-spec` checks it with no RPC at all, and refuses forged or short justifications,
    another chain's spec, a missing proof of finality and a tampered result, each with its reason."""
    _, request_id, _ = cnn_request
    substrate = chain.connect(network.nodes[0].ws_url)
    result = chain.wait_result(substrate, request_id)
    chain.wait_finalized(substrate, result["attested_at"])
    url = network.nodes[1].rpc_url
    receipt_file = tmp_path / "receipt.json"
    got = verity("receipt", "--request", str(request_id), "--out", str(receipt_file), "--rpc", url)
    assert got.returncode == 0, got.stderr
    receipt = json.loads(receipt_file.read_text())
    finality = receipt["finality"]
    assert finality["genesisHash"] == localnet.rpc(url, "chain_getBlockHash", [0])
    assert finality["setChanges"] == [], "the authority set of this network never changed"

    def spec_of(name: str) -> Path:
        return export_chain_spec(name, tmp_path / f"{name}.json")

    spec = spec_of(network.chain)
    # Nothing listens on the discard port: a verification that made any RPC call would fail.
    offline = ("--chain-spec", str(spec), "--rpc", "http://127.0.0.1:9")
    ok = verity("verify", "--receipt", str(receipt_file), *offline)
    assert ok.returncode == 0, ok.stderr
    assert "GRANDPA justification of block" in ok.stdout and "verified" in ok.stdout, ok.stdout
    assert "3 GRANDPA authorities" in ok.stdout, ok.stdout
    # This network's authorities are development keys, whose secrets are public: said loudly.
    assert "development keys of Alice, Bob, Charlie" in ok.stderr, ok.stderr

    def refused(mutate, *args: str) -> str:
        bad = json.loads(receipt_file.read_text())
        mutate(bad)
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(bad))
        run = verity("verify", "--receipt", str(path), *(args or offline))
        assert run.returncode != 0, f"{mutate.__name__} verified"
        return run.stderr

    # SCALE layout of a justification: round (8), target hash (32) and number (4), the number of
    # precommits (compact, 1 byte below 64), then each: target (36), signature (64), id (32).
    PRECOMMITS, EACH = 8 + 32 + 4, 36 + 64 + 32

    def justification(r) -> bytearray:
        return bytearray.fromhex(r["finality"]["justification"][2:])

    def forge_signature(r):
        j = justification(r)
        j[PRECOMMITS + 1 + 36] ^= 1
        r["finality"]["justification"] = "0x" + j.hex()

    def drop_a_precommit(r):
        j = justification(r)
        count = j[PRECOMMITS] >> 2
        assert count == 3, f"{count} precommits"
        j[PRECOMMITS] = (count - 1) << 2
        start = PRECOMMITS + 1 + (count - 1) * EACH
        del j[start:start + EACH]
        r["finality"]["justification"] = "0x" + j.hex()

    def flip_output(r):
        out = bytearray.fromhex(r["result"]["output"][2:])
        out[-1] ^= 1
        r["result"]["output"] = "0x" + out.hex()

    def no_finality(r):
        del r["finality"]

    def unchanged(r):
        pass

    assert "signature" in refused(forge_signature)
    assert "invalid commit" in refused(drop_a_precommit), "two of three precommits are not a quorum"
    assert "output" in refused(flip_output)
    assert "no finality evidence" in refused(no_finality)
    other = refused(unchanged, "--chain-spec", str(spec_of("dev")), "--rpc", "http://127.0.0.1:9")
    assert "genesis" in other and finality["genesisHash"] in other, other


class LyingNode:
    """An RPC endpoint on loopback that forwards to a real node but answers every
    `inference_getReceipt` with the receipt of `served` (a node serving what was not asked)."""

    def __init__(self, upstream: str, served: int):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if call["method"] == "inference_getReceipt":
                    call["params"] = [served]
                req = urllib.request.Request(upstream, json.dumps(call).encode(), {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    body = resp.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_verify_refuses_a_receipt_for_another_request(network, cnn_request):
    _, request_id, _ = cnn_request
    substrate = chain.connect(network.nodes[0].ws_url)
    chain.wait_finalized(substrate, chain.wait_result(substrate, request_id)["attested_at"])
    liar = LyingNode(network.nodes[0].rpc_url, request_id)
    try:
        trusted = network.nodes[2].rpc_url
        honest = verity("verify", "--request", str(request_id), "--rpc", liar.url, "--trusted-rpc", trusted)
        assert honest.returncode == 0, honest.stderr  # the proxy itself is transparent
        assert "warning" not in honest.stderr
        other = verity("verify", "--request", str(request_id + 1000), "--rpc", liar.url, "--trusted-rpc", trusted)
        assert other.returncode != 0, "a receipt for another request verified"
        assert f"served a receipt for request {request_id} when asked for {request_id + 1000}" in other.stderr
        alone = verity("verify", "--request", str(request_id), "--rpc", trusted)
        assert alone.returncode == 0 and "warning" in alone.stderr
    finally:
        liar.close()


def test_rpc_methods_and_their_errors(network, cnn_request, models):
    model_id, request_id, _ = cnn_request
    url = network.nodes[1].rpc_url

    model = localnet.rpc(url, "inference_getModel", [model_id])
    assert model["id"] == model_id and model["status"] == "active"
    # The id pins the bytes (by their hash) with the owner and the rules.
    assert model["codeHash"] == "0x" + chain.blake2_256((models / "cnn.onnx").read_bytes()).hex()
    assert model["inputs"][0]["dtype"] == "f32" and model["fee"] == str(FEE)
    page = localnet.rpc(url, "inference_listModels", [0, 100])
    assert model_id in [m["id"] for m in page["models"]]
    assert page["pageSize"] == 100
    one = localnet.rpc(url, "inference_listModels", [0, 1])
    assert len(one["models"]) == 1

    request = localnet.rpc(url, "inference_getRequest", [request_id])
    assert request["status"] == "attested" and request["model"] == model_id
    assert request["quorum"] == 2 and len(request["committee"]) == 3
    result = localnet.rpc(url, "inference_getResult", [request_id])
    assert result["requestId"] == request_id and len(result["attesters"]) >= 2
    assert result["outputHash"] == "0x" + chain.blake2_256(bytes.fromhex(result["output"][2:])).hex()
    alice_infr = "0x" + Keypair.create_from_uri("//Alice").public_key.hex()
    # Open work per validator key: in the request's block the request was Alice's to answer
    # (committee of all three); once concluded it is nobody's. Pages start at an id.
    created = localnet.rpc(url, "chain_getBlockHash", [request["createdAt"]])
    assert request_id in localnet.rpc(url, "inference_pendingRequests", [alice_infr, 0, 100, created])
    assert localnet.rpc(url, "inference_pendingRequests", [alice_infr, request_id, 1, created]) == [request_id]
    assert request_id not in localnet.rpc(url, "inference_pendingRequests", [alice_infr, request_id + 1, None, created])
    assert request_id not in localnet.rpc(url, "inference_pendingRequests", [alice_infr])
    assert rpc_error(url, "inference_pendingRequests", [alice_infr, 0, 0])["code"] == 4000
    assert rpc_error(url, "inference_pendingRequests", [alice_infr, 0, 1025])["code"] == 4000
    # The quote for the CNN's input: its fee (the floor for 3 members and its fixed-size output
    # is far below it).
    image = (models / "cnn.input.vtns").read_bytes()
    assert localnet.rpc(url, "inference_quote", [model_id, len(image)]) == str(FEE)
    assert rpc_error(url, "inference_quote", ["0x" + "ab" * 32, 10])["code"] == 4004

    # Historic reads: before the request existed there was no result.
    genesis = localnet.rpc(url, "chain_getBlockHash", [0])
    assert rpc_error(url, "inference_getResult", [request_id, genesis])["code"] == 4004

    # Bad parameters are JSON-RPC errors, never a crash.
    unknown = "0x" + "ab" * 32
    assert rpc_error(url, "inference_getModel", [unknown])["code"] == 4004
    assert rpc_error(url, "inference_getRequest", [10**12])["code"] == 4004
    assert rpc_error(url, "inference_getResult", [10**12])["code"] == 4004
    assert rpc_error(url, "inference_getReceipt", [10**12])["code"] == 4004
    assert rpc_error(url, "inference_getModel", ["0x1234"])["code"] == -32602
    assert rpc_error(url, "inference_getModel", ["not hex"])["code"] == -32602
    assert rpc_error(url, "inference_getRequest", ["seven"])["code"] == -32602
    assert rpc_error(url, "inference_getRequest", [-1])["code"] == -32602
    assert rpc_error(url, "inference_pendingRequests", ["0x00"])["code"] == -32602
    assert rpc_error(url, "inference_listModels", [10_000, 20])["code"] == 4000
    assert rpc_error(url, "inference_listModels", [0, 0])["code"] == 4000
    assert rpc_error(url, "inference_listModels", [0, 101])["code"] == 4000
    assert rpc_error(url, "inference_listModels", [2**32 - 1, 100])["code"] == 4000
    assert rpc_error(url, "inference_getModel", [model_id, unknown])["code"] == 4001
    network.check_alive()


def subscribe(url: str, params: list) -> websocket.WebSocket:
    ws = websocket.create_connection(url, timeout=5)
    ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "inference_subscribeResults", "params": params}))
    reply = json.loads(ws.recv())
    assert "result" in reply, reply
    return ws


def notifications(ws: websocket.WebSocket, seconds: float) -> list[dict]:
    found, deadline = [], time.time() + seconds
    while time.time() < deadline:
        ws.settimeout(max(0.1, deadline - time.time()))
        try:
            message = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            break
        if message.get("method") == "inference_result":
            found.append(message["params"]["result"])
    return found


def test_subscription_pushes_each_result_when_attested_and_when_final(network, models, cnn_request):
    model_id, _, _ = cnn_request
    ws_url = network.nodes[2].ws_url
    matching = subscribe(ws_url, [{"model": model_id}])
    other = subscribe(ws_url, [{"model": "0x" + "cd" * 32}])
    final_only = subscribe(ws_url, [{"stage": "final"}])
    everything = subscribe(ws_url, [])
    for params in ([{"modle": "x"}], [{"stage": "quorum"}]):
        bad = websocket.create_connection(ws_url, timeout=5)
        bad.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "inference_subscribeResults", "params": params}))
        assert json.loads(bad.recv())["error"]["code"] == -32602, params
        bad.close()

    req = verity("request", "--model", model_id, "--input", str(models / "cnn.input.vtns"), "--suri", "//Eve",
                 "--rpc", network.nodes[0].rpc_url)
    assert req.returncode == 0, req.stderr
    request_id = int(req.stdout.split("request ", 1)[1].split(" ", 1)[0])

    got = []
    deadline = time.time() + 90
    while not any(n["requestId"] == request_id and n["stage"] == "final" for n in got) and time.time() < deadline:
        got += notifications(matching, 3)
    pushed = [n for n in got if n["requestId"] == request_id]
    # First when the quorum's block became the best block, then when GRANDPA finalized it.
    assert [n["stage"] for n in pushed] == ["attested", "final"], pushed
    attested, final = pushed
    assert attested["blockHash"] == final["blockHash"]
    header = localnet.rpc(network.nodes[2].rpc_url, "chain_getHeader", [final["blockHash"]])
    assert int(header["number"], 16) == final["attestedAt"]
    stored = localnet.rpc(network.nodes[2].rpc_url, "inference_getResult", [request_id])
    for notice in pushed:
        assert {k: v for k, v in notice.items() if k not in ("stage", "blockHash")} == stored
    stages = [n["stage"] for n in notifications(final_only, 5) + notifications(everything, 5)
              if n["requestId"] == request_id]
    assert stages.count("final") == 2 and stages.count("attested") == 1, stages
    assert not [n for n in notifications(other, 1) if n["requestId"] == request_id]
    for ws in (matching, other, final_only, everything):
        ws.close()


def test_polkadot_js_client_requests_and_reads_a_result(network, models):
    """@polkadot/api, from npm, with no custom type definitions: metadata alone decodes every
    call, event and storage item."""
    substrate = chain.connect(network.nodes[0].ws_url)
    model_id = chain.register_model(substrate, Keypair.create_from_uri("//Alice"), models / "argmax.onnx", FEE)
    run = subprocess.run(
        ["node", str(ROOT / "tests/e2e/js/polkadot_api_request.mjs"), network.nodes[1].ws_url, model_id,
         "0x" + (models / "argmax.input.vtns").read_bytes().hex(), str(FEE)],
        capture_output=True, text=True, timeout=240, cwd=ROOT)
    print(run.stdout, run.stderr)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    expected = (models / "argmax.expected.vtns").read_bytes()
    assert report["output"] == "0x" + expected.hex()
    assert report["rpcResult"]["output"] == report["output"]
    assert report["attesters"] >= 2
