#!/usr/bin/env bash
# Builds the release node (and with it the runtime Wasm blob), the `verity` client and the
# Ethereum JSON-RPC adapter `eth-rpc` (vendor/pallet-revive-eth-rpc) into $CARGO_TARGET_DIR, in
# one cargo invocation so that all three share one feature set (scripts/test.sh builds the
# fault-injection node with the same set: only the node crate is rebuilt).
# Incremental: a second run with no change takes seconds. Usage: scripts/build.sh [cargo args]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wasm_build_env
cd "$VERITY_ROOT"
log "building verity-node (release) into $CARGO_TARGET_DIR${WASM_BUILD_TOOLCHAIN:+ (runtime with toolchain $WASM_BUILD_TOOLCHAIN)}"
start=$(date +%s)
cargo build --locked --release $VERITY_BUILD_PACKAGES "$@"
log "built $VERITY_NODE_BIN in $(( $(date +%s) - start ))s"
