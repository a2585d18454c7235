"""A small client for Verity's pallet-inference, used by the end-to-end tests and usable by
anyone: substrate-interface (a real third-party Substrate client from PyPI) plus helpers to
register models, make requests and read results and events."""
from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from scalecodec.types import GenericMetadataVersioned
from substrateinterface import Keypair, SubstrateInterface

from verity import vtns  # noqa: F401 (re-exported: callers use chain.vtns)

# Element types in the chain's order (the SCALE index of `DType`).
DTYPE = {"f32": "F32", "f64": "F64", "i32": "I32", "i64": "I64", "u8": "U8", "bool": "Bool", "f16": "F16",
         "bf16": "BF16", "i8": "I8", "i16": "I16", "u16": "U16", "u32": "U32", "u64": "U64", "string": "String"}
CHUNK = 1024 * 1024
# Transaction fees paid through `submit`, so tests can account for every unit of issuance.
FEES_PAID = {"total": 0}


def _module_error(self, module_index, error_index):
    """scalecodec looks module errors up by position; pallets whose errors carry explicit
    indices (pallet-revive's) have gaps, so look the variant up by its index."""
    for module in self.pallets:
        if module["index"] == module_index and module.errors:
            for variant in module.errors:
                if variant.value.get("index") == error_index:
                    return variant
    return None


GenericMetadataVersioned.get_module_error = _module_error


def verity_binary() -> Path:
    """The `verity` CLI that scripts/build.sh builds."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/verity/target"))
    return Path(os.environ.get("VERITY_CLIENT_BIN", target / "release/verity"))


def verity(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs the `verity` CLI; prints the command and what it printed (pytest shows it on failure)."""
    run = subprocess.run([str(verity_binary()), *args], capture_output=True, text=True, timeout=timeout)
    print(f"$ verity {' '.join(args)}\n{run.stdout}{run.stderr}")
    return run


def blake2_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def _compact(n: int) -> bytes:
    """SCALE compact encoding of a length."""
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ValueError("length too large")


def _specs_scale(entries: list[dict]) -> bytes:
    """SCALE of a `TensorSpecs` (name bytes, dtype variant, shape of Fixed(u32) / Dynamic)."""
    out = _compact(len(entries))
    for e in entries:
        name = e["name"].encode()
        out += _compact(len(name)) + name + bytes([list(DTYPE).index(e["dtype"])]) + _compact(len(e["shape"]))
        for d in e["shape"]:
            out += b"\x00" + d.to_bytes(4, "little") if d >= 0 else b"\x01"
    return out


def derive_model_id(owner: Keypair, code_hash: bytes, spec: dict, fee: int) -> str:
    """The id the chain gives `owner`'s model whose ONNX bytes hash to `code_hash`, with the
    specs and tolerance of `spec` (a model's .json) and `fee`: `verity_primitives::model_id`,
    blake2-256 of the SCALE of (context, owner bytes, code hash, inputs, outputs, tolerance, fee)."""
    owner_bytes = bytes(owner.public_key)
    tolerance = spec["tolerance"]
    data = (b"verity/model/v1" + _compact(len(owner_bytes)) + owner_bytes + code_hash
            + _specs_scale(spec["inputs"]) + _specs_scale(spec["outputs"])
            + tolerance["abs_e9"].to_bytes(8, "little") + tolerance["rel_e9"].to_bytes(8, "little")
            + fee.to_bytes(16, "little"))
    return "0x" + blake2_256(data).hex()


def model_file_id(owner: Keypair, model_file: Path, fee: int) -> str:
    """The id of `owner`'s registration of `model_file` (its .json beside it) with `fee`."""
    spec = json.loads(model_file.with_suffix(".json").read_text())
    return derive_model_id(owner, blake2_256(model_file.read_bytes()), spec, fee)


def cli_model_id(register_stdout: str) -> str:
    """The model id `verity register` printed ("..., id 0x...")."""
    import re
    found = re.search(r", id (0x[0-9a-f]{64})", register_stdout)
    assert found, f"no model id in: {register_stdout}"
    return found.group(1)


def connect(url: str) -> SubstrateInterface:
    return SubstrateInterface(url=url, ss58_format=42)


def spec_arg(entries: list[dict]) -> list:
    """A model spec as call argument. scalecodec treats a BoundedVec (a one-field tuple struct)
    as a tuple, so its list goes inside a one-element list."""
    return [[{"name": "0x" + e["name"].encode().hex(), "dtype": DTYPE[e["dtype"]],
              "shape": [[{"Fixed": d} if d >= 0 else "Dynamic" for d in e["shape"]]]} for e in entries]]


def unwrap(value):
    """The list inside a decoded BoundedVec (see spec_arg)."""
    while isinstance(value, list) and len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    return value


@dataclass
class Receipt:
    """What a submitted transaction did (as substrate-interface's ExtrinsicReceipt, without
    decoding whole blocks: its decoder cannot read the validators' authorized transactions,
    a newer extrinsic format)."""
    block_hash: str
    extrinsic_idx: int
    triggered_events: list
    is_success: bool
    error_message: dict | None
    total_fee_amount: int


def submit(substrate: SubstrateInterface, signer: Keypair, module: str, function: str, params: dict,
           timeout: float = 60.0) -> Receipt:
    call = substrate.compose_call(call_module=module, call_function=function, call_params=params)
    xt = substrate.create_signed_extrinsic(call=call, keypair=signer)
    encoded = bytes.fromhex(str(xt.data)[2:])
    tx_hash = blake2_256(encoded)
    start = best_number(substrate)
    reply = substrate.rpc_request("author_submitExtrinsic", ["0x" + encoded.hex()])
    if "error" in reply:
        raise RuntimeError(f"{module}.{function} refused: {reply['error']}")
    deadline, number = time.monotonic() + timeout, start + 1
    while time.monotonic() < deadline:
        while number <= best_number(substrate):
            block_hash = substrate.get_block_hash(number)
            block = substrate.rpc_request("chain_getBlock", [block_hash])["result"]["block"]
            for index, x in enumerate(block["extrinsics"]):
                if blake2_256(bytes.fromhex(x[2:])) != tx_hash:
                    continue
                events = [e for e in substrate.get_events(block_hash) if e.value.get("extrinsic_idx") == index]
                receipt = Receipt(block_hash, index, events, True, None, 0)
                for e in events:
                    v = e.value
                    if v["module_id"] == "TransactionPayment" and v["event_id"] == "TransactionFeePaid":
                        receipt.total_fee_amount += v["attributes"]["actual_fee"] + v["attributes"]["tip"]
                    if v["module_id"] == "System" and v["event_id"] == "ExtrinsicFailed":
                        receipt.is_success = False
                        receipt.error_message = dispatch_error(substrate, v["attributes"]["dispatch_error"])
                FEES_PAID["total"] += receipt.total_fee_amount
                if not receipt.is_success:
                    raise RuntimeError(f"{module}.{function} failed: {receipt.error_message}")
                return receipt
            number += 1
        time.sleep(0.5)
    raise TimeoutError(f"{module}.{function} not included after {timeout}s")


def dispatch_error(substrate: SubstrateInterface, error) -> dict:
    """A decoded DispatchError with the pallet error's name, e.g. {'name': 'ContractReverted'}."""
    if isinstance(error, dict) and "Module" in error:
        index = error["Module"]["index"]
        code = bytes.fromhex(error["Module"]["error"][2:])[0]
        variant = substrate.metadata.get_module_error(index, code)
        return {"type": "Module", "name": variant.name if variant else f"{index}:{code}"}
    return {"type": "Other", "name": str(error)}


def start_upload(substrate: SubstrateInterface, owner: Keypair, model_file: Path, fee: int,
                 chunks: int | None = None) -> str:
    """Registers a model and uploads its first `chunks` chunks (None: all of them), without
    completing the upload; returns its id (0x hash)."""
    data = model_file.read_bytes()
    spec = json.loads(model_file.with_suffix(".json").read_text())
    code_hash = blake2_256(data)
    model_id = derive_model_id(owner, code_hash, spec, fee)
    receipt = submit(substrate, owner, "Inference", "register_model", {
        "code_hash": "0x" + code_hash.hex(), "size": len(data), "inputs": spec_arg(spec["inputs"]),
        "outputs": spec_arg(spec["outputs"]), "tolerance": spec["tolerance"], "fee": fee})
    registered = [e.value["attributes"]["model"] for e in receipt.triggered_events
                  if e.value["module_id"] == "Inference" and e.value["event_id"] == "ModelRegistered"]
    assert registered == [model_id], f"the chain registered {registered}, expected {model_id}"
    for start in list(range(0, len(data), CHUNK))[:chunks]:
        submit(substrate, owner, "Inference", "upload_model_chunk",
               {"model": model_id, "chunk": "0x" + data[start:start + CHUNK].hex()})
    return model_id


def register_model(substrate: SubstrateInterface, owner: Keypair, model_file: Path, fee: int) -> str:
    """Registers, uploads and activates a model (its readiness probe, run by the validators on
    zeros, must pass); returns its id (0x hash)."""
    model_id = model_file_id(owner, model_file, fee)
    info = substrate.query("Inference", "Models", [model_id]).value
    if info is None:
        start_upload(substrate, owner, model_file, fee)
    elif info["status"] == "Uploading":
        # Another test (or an interrupted run) left its upload unfinished: finish it.
        data = model_file.read_bytes()
        for start in range(info["uploaded"], len(data), CHUNK):
            submit(substrate, owner, "Inference", "upload_model_chunk",
                   {"model": model_id, "chunk": "0x" + data[start:start + CHUNK].hex()})
    if info is None or info["status"] == "Uploading":
        submit(substrate, owner, "Inference", "complete_model_upload", {"model": model_id, "probe_input": None})
    wait_probed(substrate, [model_id])
    return model_id


def wait_probed(substrate: SubstrateInterface, model_ids: list[str], timeout: float = 90.0,
                rejected_ok: bool = False) -> dict[str, str]:
    """Waits until each model's readiness probe ended; returns their statuses. Each must be
    active unless `rejected_ok`."""
    deadline, statuses = time.monotonic() + timeout, {}
    for model_id in model_ids:
        while (status := (substrate.query("Inference", "Models", [model_id]).value or {}).get("status")) \
                in (None, "Uploading", "Probing"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"model {model_id} still {status} after {timeout}s")
            time.sleep(1)
        assert status == "Active" or (rejected_ok and status == "Rejected"), f"model {model_id} is {status}"
        statuses[model_id] = status
    return statuses


def register_models_at_once(substrate: SubstrateInterface, owner: Keypair, model_files: list[Path], fee: int,
                            timeout: float = 90.0, rejected_ok: bool = False) -> list[str]:
    """Registers, uploads (one chunk each: files up to 1 MiB) and completes several models with
    one batch of transactions that lands in one or two blocks, then waits for their readiness
    probes (see `wait_probed`); returns their ids. Models already registered are left as they
    are."""
    calls, ids = [], []
    for path in model_files:
        data = path.read_bytes()
        assert len(data) <= CHUNK, f"{path} needs more than one chunk"
        spec = json.loads(path.with_suffix(".json").read_text())
        model_id = derive_model_id(owner, blake2_256(data), spec, fee)
        ids.append(model_id)
        if substrate.query("Inference", "Models", [model_id]).value is None:
            calls += [
                (owner, "Inference", "register_model", {
                    "code_hash": "0x" + blake2_256(data).hex(), "size": len(data), "inputs": spec_arg(spec["inputs"]),
                    "outputs": spec_arg(spec["outputs"]), "tolerance": spec["tolerance"], "fee": fee}),
                (owner, "Inference", "upload_model_chunk", {"model": model_id, "chunk": "0x" + data.hex()}),
                (owner, "Inference", "complete_model_upload", {"model": model_id, "probe_input": None}),
            ]
    submit_batch(substrate, calls)
    wait_probed(substrate, ids, timeout, rejected_ok)
    return ids


#: `min_attesters` that demands every member of the committee (pallet_inference::UNANIMITY).
UNANIMITY = 2**32 - 1


def tolerance_e9(abs_tol: float, rel_tol: float) -> dict:
    """The chain's tolerance (×1e9, rounded as the CLI rounds: halves away from zero) of an
    absolute and a relative tolerance; ValueError outside 0..1e9."""
    scaled = {}
    for key, value, name in (("abs_e9", abs_tol, "abs_tol"), ("rel_e9", rel_tol, "rel_tol")):
        if not (math.isfinite(value) and 0 <= value <= 1e9):
            raise ValueError(f"{name} must be a number from 0 to 1e9")
        scaled[key] = math.floor(value * 1e9 + 0.5)  # Rust's f64::round: halves away from zero
    return scaled


def block_timestamp(substrate: SubstrateInterface, number: int, block_hash: str | None = None) -> float:
    """Block `number`'s timestamp (its author's clock), in seconds."""
    block_hash = block_hash or substrate.get_block_hash(number)
    return substrate.query("Timestamp", "Now", block_hash=block_hash).value / 1000


def block_seconds(substrate: SubstrateInterface) -> float:
    """The chain's block time in seconds (Aura's slot: twice the timestamp's minimum period)."""
    return substrate.get_constant("Timestamp", "MinimumPeriod").value * 2 / 1000


def blocks(substrate: SubstrateInterface, seconds: float) -> int:
    """The number of blocks (at least 1) that last `seconds` on this chain: timeouts are given in
    blocks, and set in time by tests that do not depend on the block time."""
    return max(1, math.ceil(seconds / block_seconds(substrate)))


def request(substrate: SubstrateInterface, requester: Keypair, model_id: str, input_bytes: bytes,
            max_fee: int, timeout: int | None = None, min_attesters: int = 0,
            tolerance: tuple[float, float] | None = None) -> tuple[int, int]:
    """Makes a request; returns (request id, block number of inclusion). `min_attesters` and
    `tolerance` (absolute, relative) demand more than the model's defaults
    (`request_inference_with_rules`)."""
    params = {"model": model_id, "input": "0x" + input_bytes.hex(), "max_fee": max_fee, "timeout": timeout}
    if min_attesters or tolerance is not None:
        params["rules"] = {"min_attesters": min_attesters, "tolerance": None if tolerance is None else
                           tolerance_e9(*tolerance)}
        receipt = submit(substrate, requester, "Inference", "request_inference_with_rules", params)
    else:
        receipt = submit(substrate, requester, "Inference", "request_inference", params)
    for event in receipt.triggered_events:
        value = event.value
        if value["module_id"] == "Inference" and value["event_id"] == "InferenceRequested":
            block = substrate.get_block_number(receipt.block_hash)
            return value["attributes"]["request_id"], block
    raise RuntimeError("no InferenceRequested event")


def wait_result(substrate: SubstrateInterface, request_id: int, timeout: float = 120.0, poll: float = 1.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = substrate.query("Inference", "Results", [request_id]).value
        if result is not None:
            return result
        status = substrate.query("Inference", "Requests", [request_id]).value
        if status is not None and status["status"] == "Expired":
            raise AssertionError(f"request {request_id} expired")
        time.sleep(poll)
    raise TimeoutError(f"request {request_id} not finalized after {timeout}s")


def inference_event(substrate: SubstrateInterface, block: int, name: str, request_id: int) -> dict:
    """The attributes of pallet-inference's event `name` about `request_id` in block `block`."""
    for event in substrate.get_events(substrate.get_block_hash(block)):
        value = event.value
        if (value["module_id"] == "Inference" and value["event_id"] == name
                and value["attributes"].get("request_id") == request_id):
            return value["attributes"]
    raise AssertionError(f"no {name} event for request {request_id} in block #{block}")


def assert_settled(substrate: SubstrateInterface, request_id: int, result: dict) -> dict:
    """An attested request's fee left escrow whole: its `InferenceAttested` event pays the
    attesters and refunds the rest of exactly the fee the request held. Returns the event."""
    request = substrate.query("Inference", "Requests", [request_id]).value
    assert request["status"] == "Attested", request
    event = inference_event(substrate, result["attested_at"], "InferenceAttested", request_id)
    assert event["paid"] > 0 and event["paid"] + event["refunded"] == request["fee"], (event, request)
    assert event["attesters"] == len(unwrap(result["attesters"]))
    assert event["dissenters"] == len(unwrap(result["dissenters"]))
    assert event["output_hash"] == result["output_hash"]
    return event


def wait_finalized(substrate: SubstrateInterface, number: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head = substrate.get_chain_finalised_head()
        if substrate.get_block_number(head) >= number:
            return
        time.sleep(1)
    raise TimeoutError(f"block #{number} not finalized after {timeout}s")


def to_bytes(value) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        # scalecodec gives Vec<u8> as 0x-hex, or as text when the bytes happen to be UTF-8.
        if value.startswith("0x"):
            try:
                return bytes.fromhex(value[2:])
            except ValueError:
                pass
        return value.encode("utf-8")
    return bytes(value)


def submit_batch(substrate: SubstrateInterface, calls: list[tuple[Keypair, str, str, dict]]) -> int:
    """Signs and submits many calls at once, without waiting (nonces counted per signer);
    returns the best block number before submission. Outcomes come from `scan`."""
    start = substrate.get_block_number(substrate.get_chain_head())
    nonces: dict[str, int] = {}
    blobs = []
    for signer, module, function, params in calls:
        if signer.ss58_address not in nonces:
            nonces[signer.ss58_address] = substrate.get_account_nonce(signer.ss58_address)
        call = substrate.compose_call(call_module=module, call_function=function, call_params=params)
        xt = substrate.create_signed_extrinsic(call=call, keypair=signer, nonce=nonces[signer.ss58_address])
        nonces[signer.ss58_address] += 1
        blobs.append(str(xt.data))
    for blob in blobs:
        reply = substrate.rpc_request("author_submitExtrinsic", [blob])
        if "error" in reply:
            raise RuntimeError(f"submission refused: {reply['error']}")
    return start


class Scan:
    """Events of blocks `first..=last` of the best chain, decoded once: requests made, results,
    failures (with the pallet error's name), fees paid and block timestamps."""

    def __init__(self, substrate: SubstrateInterface, first: int, last: int):
        self.requested: dict[int, int] = {}       # request id -> block
        self.requester: dict[int, str] = {}       # request id -> SS58 address
        self.finalized: dict[int, int] = {}       # request id -> block
        self.expired: dict[int, int] = {}         # request id -> block
        self.struck: list[tuple[str, int]] = []   # (validator, request id)
        self.failures: list[str] = []             # error names of failed extrinsics and batch calls
        self.fees: dict[str, int] = {}            # payer -> fees
        self.timestamps: dict[int, float] = {}    # block -> s
        self.pending: dict[int, int] = {}         # block -> PendingCount after it
        for number in range(first, last + 1):
            block_hash = substrate.get_block_hash(number)
            self.timestamps[number] = block_timestamp(substrate, number, block_hash)
            self.pending[number] = substrate.query("Inference", "PendingCount", block_hash=block_hash).value
            for event in substrate.get_events(block_hash):
                v = event.value
                module, name, attrs = v["module_id"], v["event_id"], v["attributes"]
                if module == "Inference" and name == "InferenceRequested":
                    self.requested[attrs["request_id"]] = number
                    self.requester[attrs["request_id"]] = attrs["requester"]
                elif module == "Inference" and name == "InferenceAttested":
                    self.finalized[attrs["request_id"]] = number
                elif module == "Inference" and name == "RequestExpired":
                    self.expired[attrs["request_id"]] = number
                elif module == "Inference" and name == "ValidatorStruck":
                    self.struck.append((attrs["validator"], attrs["request_id"]))
                elif module == "TransactionPayment" and name == "TransactionFeePaid":
                    self.fees[attrs["who"]] = self.fees.get(attrs["who"], 0) + attrs["actual_fee"] + attrs["tip"]
                elif module == "System" and name == "ExtrinsicFailed":
                    self.failures.append(dispatch_error(substrate, attrs["dispatch_error"])["name"])
                elif module == "Utility" and name in ("ItemFailed", "BatchInterrupted"):
                    # A call of a batch failed (`force_batch` goes on, `batch` stops there).
                    self.failures.append(dispatch_error(substrate, attrs["error"])["name"])


def reveal_sizes(substrate: SubstrateInterface, request_id: int, first: int, last: int) -> list[tuple[int, str, int]]:
    """Each revealed result of `request_id` in blocks `first..=last` (a `ResultSubmitted`
    event): (block, validator, encoded size of the extrinsic that revealed it)."""
    found = []
    for number in range(first, last + 1):
        block_hash = substrate.get_block_hash(number)
        extrinsics = substrate.rpc_request("chain_getBlock", [block_hash])["result"]["block"]["extrinsics"]
        for event in substrate.get_events(block_hash):
            v = event.value
            if (v["module_id"] == "Inference" and v["event_id"] == "ResultSubmitted"
                    and v["attributes"]["request_id"] == request_id):
                size = (len(extrinsics[v["extrinsic_idx"]]) - 2) // 2
                found.append((number, v["attributes"]["executor"], size))
    return found


def best_number(substrate: SubstrateInterface) -> int:
    return substrate.get_block_number(substrate.get_chain_head())
