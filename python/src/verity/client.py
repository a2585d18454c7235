"""The Verity SDK: run ONNX models on the chain the way you run them with onnxruntime.

    import numpy as np
    import verity

    client = verity.Client("http://127.0.0.1:9944", suri="//Alice")
    model_id = client.register("model.onnx", fee=1_000_000_000)       # upload, readiness probe
    run = client.infer(model_id, {"x": np.ones((1, 4), np.float32)})  # the quorum's result
    run.outputs["y"], run.request_id, run.block, run.attesters        # numpy arrays + provenance
    receipt = client.receipt(run.request_id)                          # result + storage proof
    client.verify(receipt, "http://my-node:9944")                     # checked against my node

`Client` talks to one node over its RPC (substrate-interface over WebSocket; an `http://` URL is
turned into the `ws://` one on the same port, which every node serves) and signs with the key of
`suri` (or a `Keypair`). It sends the same extrinsics as the `verity` CLI (`register_model`,
`upload_model_chunk`, `complete_model_upload`, `request_inference`; README "Calling inference")
and reads with the `inference_*` RPC methods (README "RPC reference"). Everything that goes
wrong, on the chain or before sending, is a `VerityError`.
"""
from __future__ import annotations

import json
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from substrateinterface import Keypair
from substrateinterface.exceptions import SubstrateRequestException

from verity import chain, localnet, vtns
from verity import receipt as receipts

# The chain's bounds on a tensor spec (verity_primitives::tensor).
MAX_TENSORS, MAX_NAME_LEN, MAX_RANK = 16, 64, 8
# The element types a model may take and give, by their name on the chain (and in
# `inference_getModel`): numpy type and ONNX Runtime's name of it.
# NumPy types of the chain's element types (bf16: ml_dtypes.bfloat16, loaded when needed; string:
# object arrays of str, as onnxruntime takes and gives them).
DTYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "u8": np.uint8, "bool": np.bool_,
          "f16": np.float16, "bf16": None, "i8": np.int8, "i16": np.int16, "u16": np.uint16, "u32": np.uint32,
          "u64": np.uint64, "string": object}
ORT_TYPES = {"tensor(float)": "f32", "tensor(double)": "f64", "tensor(int32)": "i32", "tensor(int64)": "i64",
             "tensor(uint8)": "u8", "tensor(bool)": "bool", "tensor(float16)": "f16", "tensor(bfloat16)": "bf16",
             "tensor(int8)": "i8", "tensor(int16)": "i16", "tensor(uint16)": "u16", "tensor(uint32)": "u32",
             "tensor(uint64)": "u64", "tensor(string)": "string"}


def numpy_dtype(dtype: str) -> np.dtype:
    """The NumPy dtype of a chain element type name."""
    if dtype == "bf16":
        import ml_dtypes  # noqa: PLC0415 (only bf16 models need it)
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(DTYPES[dtype])
# JSON-RPC error code of `inference_*` reads of something that does not exist.
NOT_FOUND = 4004


class VerityError(Exception):
    """Anything the SDK or the chain refused or that went wrong: a bad input (named in the
    message), a rejected model, a request that expired or failed (`status` is then "expired"
    or "failed", `reason` the chain's reason), a receipt that does not verify, an RPC error."""

    def __init__(self, message: str, status: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.status, self.reason = status, reason


@dataclass
class Inference:
    """The attested result of one request: its outputs as numpy arrays, in the model's output
    order, and where they come from."""
    outputs: dict[str, np.ndarray]
    request_id: int
    model: str                 # model id (0x hex)
    block: int                 # number of the block in which the quorum attested the result
    attesters: list[str]       # SS58 accounts of the validators that agreed
    dissenters: list[str]      # SS58 accounts of the committee members that answered otherwise
    output_hash: str           # blake2-256 of the encoded outputs (0x hex)
    input_hash: str            # blake2-256 of the encoded inputs (0x hex)
    final: bool = False        # whether GRANDPA had finalized `block` when `infer` returned
    max_difference: float = 0.0  # how far apart the attesters' outputs were (largest element difference)
    raw: dict = field(default_factory=dict, repr=False)  # the `inference_getResult` JSON

    def __getitem__(self, name: str) -> np.ndarray:
        return self.outputs[name]


def ws_url(url: str) -> str:
    """The WebSocket URL of a node's RPC: nodes serve HTTP and WebSocket on one port."""
    for http, ws in (("http://", "ws://"), ("https://", "wss://")):
        if url.startswith(http):
            return ws + url[len(http):]
    return url


def spread_warning(model: dict) -> str | None:
    """Warns (`warnings.warn`, category `ToleranceWarning`) when an active model's readiness probe
    measured validators further apart than its tolerance: a dissenter, or a spread beyond the
    tolerance in both its absolute and relative parts. Returns the message, or None."""
    profile = model.get("profile") or {}
    spread = (profile.get("spreadAbsE9", 0), profile.get("spreadRelE9", 0))
    tol = (model["toleranceAbsE9"], model["toleranceRelE9"])
    if not profile.get("dissenters") and not (spread[0] > tol[0] and spread[1] > tol[1]):
        return None
    message = (f"model {model['id']}: its probe found validators {spread[0] / 1e9:g} abs / {spread[1] / 1e9:g} rel "
               f"apart ({profile.get('dissenters', 0)} dissenter(s)), beyond its tolerance "
               f"{tol[0] / 1e9:g} abs / {tol[1] / 1e9:g} rel: requests may find no quorum")
    warnings.warn(message, ToleranceWarning, stacklevel=3)
    return message


class ToleranceWarning(UserWarning):
    """A model's tolerance is tighter than the spread its readiness probe measured."""


def http_url(url: str) -> str:
    """The HTTP URL of a node's RPC (what the `verity` CLI takes)."""
    for ws, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(ws):
            return http + url[len(ws):]
    return url


def _dims(shape: list) -> str:
    return "[" + ", ".join("?" if d is None or d < 0 else str(d) for d in shape) + "]"


def model_specs(data: bytes) -> tuple[list[dict], list[dict]]:
    """The input and output specs the chain records for an ONNX model, as the `verity` CLI reads
    them: with ONNX Runtime (the validators' engine), dimensions it does not know fixed are
    dynamic (-1). Each spec is {"name", "dtype" (chain name), "shape"}."""
    try:
        import onnxruntime
    except ImportError as e:
        raise VerityError("reading a model's specs needs onnxruntime: pip install onnxruntime "
                          "(or the verity[onnx] extra)") from e
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise VerityError(f"ONNX Runtime refused the model: {e}") from e

    def specs(args, side: str) -> list[dict]:
        out = []
        for a in args:
            if a.type not in ORT_TYPES:
                hint = (" (a scikit-learn classifier converted by skl2onnx outputs a sequence of maps "
                        "unless converted with options={id(model): {'zipmap': False}})"
                        if a.type.startswith(("seq", "map")) else "")
                raise VerityError(f"{side} {a.name}: element type {a.type} is not supported; inputs and "
                                  f"outputs must be tensors of {', '.join(DTYPES)}{hint}")
            shape = [d if isinstance(d, int) and 0 <= d < 2**32 else -1 for d in a.shape]
            if len(a.name.encode()) > MAX_NAME_LEN or len(shape) > MAX_RANK:
                raise VerityError(f"{side} {a.name}: name or rank beyond the chain's bounds "
                                  f"({MAX_NAME_LEN} bytes, rank {MAX_RANK})")
            out.append({"name": a.name, "dtype": ORT_TYPES[a.type], "shape": shape})
        if len(out) > MAX_TENSORS:
            raise VerityError(f"more than {MAX_TENSORS} {side}s")
        return out

    return specs(session.get_inputs(), "input"), specs(session.get_outputs(), "output")


def check_inputs(inputs: Mapping, specs: list[dict], what: str = "the model") -> dict[str, np.ndarray]:
    """`inputs` checked against input `specs` (`inference_getModel`'s, dynamic dimensions None
    or -1) and ordered as they are: every input present and known, its dtype the spec's (numpy
    arrays must have it exactly, as onnxruntime wants; lists and scalars are converted within
    their kind) and its shape of the spec's rank with the fixed dimensions. Raises VerityError
    naming the input."""
    if not isinstance(inputs, Mapping):
        raise VerityError(f"inputs must be a dict of input name -> array, not {type(inputs).__name__}")
    names = [s["name"] for s in specs]
    for name in inputs:
        if name not in names:
            raise VerityError(f"input {name!r} is not an input of {what}; its inputs are {', '.join(names)}")
    checked = {}
    for spec in specs:
        name, dtype = spec["name"], spec["dtype"]
        wanted = numpy_dtype(dtype)
        if name not in inputs:
            raise VerityError(f"input {name!r} is missing ({dtype} {_dims(spec['shape'])})")
        value = inputs[name]
        if dtype == "string":
            array = np.asarray(value, dtype=object)
            if not all(isinstance(v, str) for v in array.reshape(-1)):
                raise VerityError(f"input {name!r}: {what} takes strings")
        elif isinstance(value, np.ndarray):
            if value.dtype.type is not wanted.type:
                raise VerityError(f"input {name!r} is {value.dtype}, {what} takes {dtype} ({wanted}): "
                                  f"pass {name}.astype(np.{wanted})")
            array = value.astype(wanted, copy=False)  # native byte order
        else:
            array = np.asarray(value)
            if not np.can_cast(array.dtype, wanted, casting="same_kind"):
                raise VerityError(f"input {name!r} holds {array.dtype} values, {what} takes {dtype} ({wanted})")
            array = array.astype(wanted)
        shape = [None if d is None or d < 0 else d for d in spec["shape"]]
        if array.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, array.shape)):
            raise VerityError(f"input {name!r} has shape {list(array.shape)}, {what} takes "
                              f"{_dims(spec['shape'])}")
        checked[name] = array
    return checked


class Client:
    """A client of one Verity node. `url`: its RPC (`ws://`, `wss://`, or `http(s)://`, turned
    into the WebSocket URL on the same port). `suri` ("//Alice" on a dev chain) or `keypair`:
    the account that registers models and pays for requests (reads need neither); a `Keypair`
    may also be given as `suri`."""

    def __init__(self, url: str, suri: str | Keypair | None = None, keypair: Keypair | None = None):
        if suri is not None and keypair is not None:
            raise ValueError("give suri or keypair, not both")
        if isinstance(suri, Keypair):
            suri, keypair = None, suri
        self.url = ws_url(url)
        self.keypair = Keypair.create_from_uri(suri) if suri is not None else keypair
        try:
            self.substrate = chain.connect(self.url)
        except Exception as e:
            raise VerityError(f"cannot connect to {self.url}: {e}") from e

    def close(self) -> None:
        self.substrate.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- reads -------------------------------------------------------------------------------

    def rpc(self, method: str, params: list):
        """One JSON-RPC call; a JSON-RPC error is a VerityError (its code in `.reason`)."""
        try:
            reply = self.substrate.rpc_request(method, params)
        except SubstrateRequestException as e:
            # substrate-interface raises JSON-RPC errors, the error object as its argument.
            reply = {"error": e.args[0] if e.args and isinstance(e.args[0], dict) else {"message": str(e)}}
        except Exception as e:
            raise VerityError(f"{method}: {e}") from e
        if "error" in reply:
            error = reply["error"]
            raise VerityError(f"{method}: {error.get('message')} {error.get('data') or ''}".strip(),
                              reason=str(error.get("code")))
        return reply["result"]

    def _read(self, method: str, params: list):
        """`rpc`, with None for "not found"."""
        try:
            return self.rpc(method, params)
        except VerityError as e:
            if e.reason == str(NOT_FOUND):
                return None
            raise

    def model(self, model_id: str, at: str | None = None) -> dict | None:
        """`inference_getModel`: the model's owner, code hash, specs, tolerance, fee, status and
        readiness profile; None if there is no such model."""
        return self._read("inference_getModel", [model_id] + ([at] if at else []))

    def request(self, request_id: int, at: str | None = None) -> dict | None:
        """`inference_getRequest`: requester, model, fee, committee, status ...; None if unknown."""
        return self._read("inference_getRequest", [request_id] + ([at] if at else []))

    def result(self, request_id: int, at: str | None = None) -> dict | None:
        """`inference_getResult`: the attested output (tensor format, hex) and its provenance;
        None while there is none."""
        return self._read("inference_getResult", [request_id] + ([at] if at else []))

    def quote(self, model_id: str, input_bytes: int) -> int | None:
        """`inference_quote`: what a request with that much input pays now (None: the model takes
        no requests now)."""
        fee = self.rpc("inference_quote", [model_id, input_bytes])
        return None if fee is None else int(fee)

    def best_number(self) -> int:
        return chain.best_number(self.substrate)

    def finalized_number(self) -> int:
        return self.substrate.get_block_number(self.substrate.get_chain_finalised_head())

    # ---- registration ------------------------------------------------------------------------

    def _signer(self) -> Keypair:
        if self.keypair is None:
            raise VerityError("this client has no signer: Client(url, suri='//Alice') or keypair=...")
        return self.keypair

    def _submit(self, function: str, params: dict) -> chain.Receipt:
        try:
            return chain.submit(self.substrate, self._signer(), "Inference", function, params, timeout=120)
        except (RuntimeError, TimeoutError, SubstrateRequestException) as e:
            raise VerityError(str(e)) from e

    def _event(self, name: str, key: str, value, first: int, last: int | None = None) -> dict | None:
        """The attributes of the first `Inference.<name>` event with `key` == `value` in blocks
        `first..=last` (default: the best block)."""
        last = self.best_number() if last is None else last
        for number in range(max(first, 0), last + 1):
            for event in self.substrate.get_events(self.substrate.get_block_hash(number)):
                v = event.value
                if v["module_id"] == "Inference" and v["event_id"] == name and v["attributes"].get(key) == value:
                    return v["attributes"]
        return None

    def model_id(self, path: str | Path, fee: int = 1_000_000_000, abs_tol: float = 1e-5,
                 rel_tol: float = 1e-6) -> str:
        """The id that `register` gives this file with these rules, registered or not."""
        data = Path(path).read_bytes()
        inputs, outputs = model_specs(data)
        return self._model_id(data, inputs, outputs, fee, abs_tol, rel_tol)

    def _model_id(self, data: bytes, inputs: list, outputs: list, fee: int, abs_tol: float, rel_tol: float) -> str:
        spec = {"inputs": inputs, "outputs": outputs, "tolerance": tolerance(abs_tol, rel_tol)}
        return chain.derive_model_id(self._signer(), chain.blake2_256(data), spec, fee)

    def register(self, path: str | Path, fee: int = 1_000_000_000, abs_tol: float = 1e-5, rel_tol: float = 1e-6,
                 probe_inputs: Mapping | None = None, wait: bool = True, wait_secs: float = 120,
                 progress: Callable[[int, int], None] | None = None, urls: Sequence[str] | None = None) -> str:
        """Registers the ONNX model at `path` and uploads it (1 MiB chunks) as `verity register`
        does; returns its id (0x hex), which pins the owner (this client's signer), the bytes,
        the specs ONNX Runtime reads from the model, the tolerance and the `fee` each request
        pays. `abs_tol`/`rel_tol`: how far two validators' floating-point outputs may differ
        and still agree.

        Idempotent: an active model is returned as it is, an unfinished upload of the same id
        is resumed where the chain's upload stopped. Completing the upload starts the model's
        readiness probe, run by the validators on `probe_inputs` (a dict like `infer`'s; default
        zeros with dynamic dimensions at 1; a representative input gives a representative run
        budget). With `wait` (default) it returns once the probe passed and the model takes
        requests, and raises VerityError if the model was rejected. `progress(done, total)` is
        called after each chunk.

        With `urls` the model is **hosted** (`register_hosted_model`, up to 2 GiB): nothing is
        uploaded; the file at `path` is read for its hash, size and specs, and the validators'
        nodes fetch it from the URLs (http or https, tried in order; each node checks size and
        hash) before they run the probe. A model no quorum of them can fetch is rejected with
        reason `ModelUnavailable`; the nodes' logs say what each URL did.

        Unlike `verity register`, it does not screen the model for what the validators refuse
        (external data, unknown operator domains, ...) beyond ONNX Runtime loading it: such a
        model is rejected at its probe."""
        self._signer()
        path = Path(path)
        data = path.read_bytes()
        inputs, outputs = model_specs(data)
        tol = tolerance(abs_tol, rel_tol)
        model_id = self._model_id(data, inputs, outputs, fee, abs_tol, rel_tol)
        probe = None
        if probe_inputs is not None:
            probe = vtns.encode(check_inputs(probe_inputs, inputs, f"the model {path.name}"))

        existing = self.model(model_id)
        status = existing["status"] if existing else None
        if status == "active":
            return model_id
        if status == "probing":
            return self._wait_probed(model_id, wait_secs, None) if wait else model_id
        if status not in (None, "uploading"):
            raise VerityError(f"model {model_id} is already registered and {status}: it takes no requests"
                              + ("; remove it with remove_model to release its deposit" if status == "rejected"
                                 else ""), status=status)
        if existing is None and urls:
            receipt = self._submit("register_hosted_model", {
                "code_hash": "0x" + chain.blake2_256(data).hex(), "size": len(data),
                # A BoundedVec goes as a one-element list (see chain.spec_arg).
                "urls": [["0x" + url.encode().hex() for url in urls]],
                "inputs": chain.spec_arg(inputs), "outputs": chain.spec_arg(outputs), "tolerance": tol, "fee": fee,
                "probe_input": None if probe is None else "0x" + probe.hex()})
            self._registered(receipt, model_id)
            if not wait:
                return model_id
            return self._wait_probed(model_id, wait_secs, self.substrate.get_block_number(receipt.block_hash))
        if urls:
            raise VerityError(f"model {model_id} is registered and {status}: it is not a hosted model", status=status)
        if existing is None:
            receipt = self._submit("register_model", {
                "code_hash": "0x" + chain.blake2_256(data).hex(), "size": len(data),
                "inputs": chain.spec_arg(inputs), "outputs": chain.spec_arg(outputs), "tolerance": tol, "fee": fee})
            self._registered(receipt, model_id)
            uploaded = 0
        else:
            uploaded = existing["uploaded"]
        while uploaded < len(data):
            end = min(uploaded + chain.CHUNK, len(data))
            self._submit("upload_model_chunk", {"model": model_id, "chunk": "0x" + data[uploaded:end].hex()})
            uploaded = end
            if progress:
                progress(uploaded, len(data))
        receipt = self._submit("complete_model_upload", {
            "model": model_id, "probe_input": None if probe is None else "0x" + probe.hex()})
        if not any(e.value["module_id"] == "Inference" and e.value["event_id"] == "ModelProbing"
                   for e in receipt.triggered_events):
            raise VerityError(f"the upload of model {model_id} completed but its readiness probe did not start")
        if not wait:
            return model_id
        return self._wait_probed(model_id, wait_secs, self.substrate.get_block_number(receipt.block_hash))

    @staticmethod
    def _registered(receipt, model_id: str) -> None:
        registered = [e.value["attributes"]["model"] for e in receipt.triggered_events
                      if e.value["module_id"] == "Inference" and e.value["event_id"] == "ModelRegistered"]
        if registered != [model_id]:
            raise VerityError(f"the registration landed as {registered}, not as model {model_id}")

    def hosted_urls(self, model_id: str) -> list[str] | None:
        """The URLs of a hosted model (None: not hosted, or no such model)."""
        urls = self.substrate.query("Inference", "HostedModels", [model_id]).value
        return None if urls is None else [chain.to_bytes(u).decode() for u in chain.unwrap(urls)]

    def _wait_probed(self, model_id: str, wait_secs: float, probe_block: int | None) -> str:
        """Waits until the readiness probe of `model_id` ended; raises VerityError unless the
        model is active."""
        deadline = time.monotonic() + wait_secs
        while (model := self.model(model_id)) and model["status"] == "probing":
            if time.monotonic() > deadline:
                raise VerityError(f"the readiness probe of model {model_id} did not end within {wait_secs}s")
            time.sleep(0.5)
        if model is None:
            raise VerityError(f"model {model_id} is gone")
        if model["status"] == "active":
            spread_warning(model)
            return model_id
        reason = None
        if model["status"] == "rejected" and probe_block is not None:
            event = self._event("ModelRejected", "model", model_id, probe_block)
            reason = str(event["kind"]) if event and event["kind"] is not None else None
        raise VerityError(
            f"model {model_id} is {model['status']}"
            + (f": its readiness probe failed ({reason or 'no agreement'}); remove it with remove_model to "
               "release its deposit" if model["status"] == "rejected" else ": it takes no requests"),
            status=model["status"], reason=reason)

    # ---- inference ---------------------------------------------------------------------------

    def max_input_bytes(self) -> int:
        """The largest encoded input the chain takes (its `MaxInputBytes`)."""
        return int(self.substrate.get_constant("Inference", "MaxInputBytes").value)

    def infer(self, model_id: str, inputs: Mapping, max_fee: int | None = None, timeout: int | None = None,
              final: bool = False, wait_secs: float = 300, min_attesters: int = 0,
              tolerance: tuple[float, float] | None = None) -> Inference:
        """Requests inference of `model_id` on `inputs` ({name: numpy array}) and waits for the
        validators' quorum; returns the `Inference` (outputs as numpy arrays and provenance).

        The inputs are checked against the model's input spec before anything is sent
        (VerityError naming the input). `max_fee`: most the request may cost (default
        `inference_quote`, the model's fee or the fee floor for this input). `timeout`: blocks
        the validators have (default the chain's). `final`: also wait until GRANDPA finalized
        the result's block (irreversible), not only until the quorum agreed. A request that
        expires or fails raises VerityError with `status` "expired" or "failed" and the
        chain's `reason`. `wait_secs`: longest wait, in seconds. `min_attesters` (up to the
        committee; `verity.chain.UNANIMITY`: all of it) and `tolerance` ((absolute, relative),
        each at most the model's) demand more than the model's defaults, enforced by the chain:
        without such agreement the request expires."""
        signer = self._signer()
        model = self.model(model_id)
        if model is None:
            raise VerityError(f"no model {model_id}")
        if model["status"] != "active":
            raise VerityError(f"model {model_id} is {model['status']}: it takes no requests", status=model["status"])
        encoded = vtns.encode(check_inputs(inputs, model["inputs"], f"model {model_id[:10]}…"))
        limit = self.max_input_bytes()
        if len(encoded) > limit:
            raise VerityError(f"the input is {len(encoded)} bytes encoded; the chain takes at most {limit} "
                              "(MaxInputBytes): send a smaller tensor (a smaller image, batch or sequence)")
        if max_fee is None:
            max_fee = self.quote(model_id, len(encoded))
            if max_fee is None:
                raise VerityError(f"model {model_id} takes no requests now (or no validators run models)")
        try:
            request_id, created = chain.request(self.substrate, signer, model_id, encoded, max_fee, timeout,
                                                min_attesters, tolerance)
        except (RuntimeError, TimeoutError, ValueError, SubstrateRequestException) as e:
            raise VerityError(str(e)) from e
        started, seen = time.monotonic(), created
        while True:
            head = self.substrate.get_chain_head()
            request = self.request(request_id, head)
            if request is None:
                raise VerityError(f"no request {request_id} (or pruned)")
            status = request["status"]
            if status == "attested":
                break
            if status in ("expired", "failed"):
                last = self.substrate.get_block_number(head)
                if status == "expired":
                    event = self._event("RequestExpired", "request_id", request_id, seen, last)
                    reason = str(event["reason"]) if event and event["reason"] is not None else None
                    message = f"request {request_id} expired without a quorum ({reason}); its fee was refunded"
                else:
                    event = self._event("InferenceFailed", "request_id", request_id, seen, last)
                    reason = str(event["kind"]) if event and event["kind"] is not None else None
                    message = (f"request {request_id} failed: a quorum of validators could not run the model "
                               f"on this input ({reason}); the fee paid them")
                raise VerityError(message, status=status, reason=reason)
            if time.monotonic() - started > wait_secs:
                raise VerityError(f"no result for request {request_id} after {wait_secs}s", status=status)
            time.sleep(0.5)
        result = self.result(request_id, head)
        if result is None:
            raise VerityError(f"request {request_id} is attested but has no result")
        output = bytes.fromhex(result["output"][2:])
        # The node's answer must be about this request and hash to what it says.
        if (result["model"] != model_id or result["inputHash"] != "0x" + chain.blake2_256(encoded).hex()
                or result["outputHash"] != "0x" + chain.blake2_256(output).hex()):
            raise VerityError(f"the node's result of request {request_id} is not the one of this request: {result}")
        if final:
            self.wait_final(request_id, result, max(wait_secs - (time.monotonic() - started), 1))
        decoded = vtns.decode(output)
        order = [s["name"] for s in model["outputs"]]
        outputs = {name: decoded[name] for name in order if name in decoded}
        outputs.update({name: value for name, value in decoded.items() if name not in outputs})
        return Inference(
            outputs=outputs, request_id=request_id, model=result["model"], block=result["attestedAt"],
            attesters=[a["account"] for a in result["attesters"]],
            dissenters=[d["account"] for d in result["dissenters"]],
            output_hash=result["outputHash"], input_hash=result["inputHash"], final=final,
            max_difference=result.get("maxDifferenceE9", 0) / 1e9, raw=result)

    def wait_final(self, request_id: int, result: dict | None = None, wait_secs: float = 120) -> None:
        """Waits until GRANDPA finalized the block of request `request_id`'s result, and checks
        the result is in the final chain (not on a fork that lost)."""
        result = result or self.result(request_id)
        if result is None:
            raise VerityError(f"request {request_id} has no result")
        deadline = time.monotonic() + wait_secs
        while self.finalized_number() < result["attestedAt"]:
            if time.monotonic() > deadline:
                raise VerityError(f"block #{result['attestedAt']} not final after {wait_secs}s")
            time.sleep(0.5)
        at = self.substrate.get_block_hash(result["attestedAt"])
        final = self.result(request_id, at)
        if final is None or final["outputHash"] != result["outputHash"]:
            raise VerityError(f"request {request_id}'s result is not in the final chain")

    # ---- provenance --------------------------------------------------------------------------

    def receipt(self, request_id: int, at: str | None = None, wait_secs: float = 120) -> dict:
        """`inference_getReceipt`: the result with the header of a finalized block and the
        storage proof of `Inference::Results(request_id)` in it (README "RPC reference"). Waits
        up to `wait_secs` for the result's block to be finalized."""
        if at is None:
            self.wait_final(request_id, wait_secs=wait_secs)
        return self.rpc("inference_getReceipt", [request_id] + ([at] if at else []))

    def verify(self, receipt: dict | str | Path, trusted_url: str | None = None, reexecute: bool = False,
               timeout: float = 300, chain_spec: str | Path | None = None, cli: bool = False) -> bool:
        """Verifies a receipt (the dict of `receipt`, or a JSON file): the storage proof leads
        from its header's state root to the receipt's result, and that header's block is final,
        either by the receipt's own GRANDPA justification checked against nothing but the raw
        chain spec `chain_spec` (`verity-node export-chain-spec --chain <chain> --raw`), or by the
        finalized chain of the node at `trusted_url` (your own node, a light client's endpoint).
        `reexecute` also re-runs the model on the request's input locally, under the model's
        tolerance (the model and input are read from `trusted_url`, or this client's node, and
        checked against the proven hashes). Returns True, or raises VerityError with the check
        that failed.

        Against a trusted node, the check is pure Python (`verity.receipt`: header hash, storage
        key, the trie walk of the proof, the decoded result). Against a chain spec, with
        `reexecute`, or with `cli=True`, it runs `verity verify` (the CLI of scripts/build.sh;
        $VERITY_CLIENT_BIN or ~/.cache/verity/target/release/verity), which also checks GRANDPA
        justifications and runs ONNX Runtime."""
        if (trusted_url is None) == (chain_spec is None):
            raise VerityError("give exactly one of trusted_url and chain_spec")
        if trusted_url is not None and not reexecute and not cli:
            url = http_url(trusted_url)
            try:
                data = receipt if isinstance(receipt, dict) else json.loads(Path(receipt).read_text())
                receipts.verify(data, lambda method, params: localnet.rpc(url, method, params, timeout=timeout))
            except receipts.ReceiptError as e:
                raise VerityError(f"the receipt does not verify: {e}", reason=str(e)) from e
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                reason = f"FAIL malformed receipt: {e!r}"
                raise VerityError(f"the receipt does not verify: {reason}", reason=reason) from e
            except (OSError, RuntimeError) as e:  # the trusted node did not answer
                raise VerityError(f"the trusted node {url} did not answer: {e}") from e
            return True
        binary = chain.verity_binary()
        if not binary.is_file():
            raise VerityError(f"{binary} not found: build it with scripts/build.sh or set VERITY_CLIENT_BIN")
        with tempfile.TemporaryDirectory() as tmp:
            if isinstance(receipt, dict):
                file = Path(tmp) / "receipt.json"
                file.write_text(json.dumps(receipt))
            else:
                file = Path(receipt)
            args = [str(binary), "verify", "--receipt", str(file), "--rpc", http_url(trusted_url or self.url)]
            args += ["--trusted-rpc", http_url(trusted_url)] if trusted_url else ["--chain-spec", str(chain_spec)]
            try:
                run = subprocess.run(args + (["--reexecute"] if reexecute else []), capture_output=True,
                                     text=True, timeout=timeout)
            except subprocess.TimeoutExpired as e:
                raise VerityError(f"verity verify did not finish within {timeout}s") from e
        if run.returncode == 0:
            return True
        lines = [line.strip() for line in (run.stderr + "\n" + run.stdout).splitlines() if line.strip()]
        fail = next((line for line in lines if "FAIL" in line), lines[0] if lines else f"exit {run.returncode}")
        raise VerityError(f"the receipt does not verify: {fail.removeprefix('error: ')}", reason=fail)


def tolerance(abs_tol: float, rel_tol: float) -> dict:
    """The chain's tolerance (×1e9, rounded) of `verity register --abs-tol --rel-tol`."""
    try:
        return chain.tolerance_e9(abs_tol, rel_tol)
    except ValueError as e:
        raise VerityError(str(e)) from e
