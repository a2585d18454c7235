#!/usr/bin/env python3
"""Puts a demo model on a running local network and shows one request end to end.

Registers the `mlp` classifier of scripts/gen_models.py (16 inputs -> 3 class probabilities) as
Alice, asks for inference as Bob, waits for the validators' quorum result and prints it with
its provenance. Run by scripts/run-local.sh once the network is up; safe to run again (the model
is registered once).

Usage: demo.py WS_URL MODELS_DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

from substrateinterface import Keypair

from verity import chain

FEE = 3_000_000_000  # 0.003 VRT


def main() -> int:
    url, models = sys.argv[1], Path(sys.argv[2])
    substrate = chain.connect(url)
    alice, bob = Keypair.create_from_uri("//Alice"), Keypair.create_from_uri("//Bob")
    print("[demo] registering the demo model (mlp.onnx) as Alice ...", flush=True)
    model_id = chain.register_model(substrate, alice, models / "mlp.onnx", FEE)
    print(f"[demo] model {model_id} is active (fee {FEE / 1e12} VRT)", flush=True)
    input_file = models / "mlp.input.vtns"
    request_id, block = chain.request(substrate, bob, model_id, input_file.read_bytes(), FEE)
    print(f"[demo] Bob requested inference: request {request_id} in block #{block}; waiting ...", flush=True)
    result = chain.wait_result(substrate, request_id)
    output = chain.vtns.decode(chain.to_bytes(result["output"]))
    attesters = chain.unwrap(result["attesters"])
    print(f"[demo] finalized in block #{result['attested_at']} by {len(attesters)} validators: "
          f"probs = {output['probs'].round(5).tolist()}", flush=True)
    print(f"[demo] re-check it yourself: verity verify --request {request_id} --reexecute "
          f"--rpc {url.replace('ws://', 'http://')}", flush=True)
    print(f"[demo] call it again: requestInference({model_id}, <tensors in docs/tensor-format.md>, "
          f"{FEE}, None) from any funded account, e.g. in polkadot.js Apps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
