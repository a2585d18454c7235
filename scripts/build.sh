#!/usr/bin/env bash
# Builds the release node (and with it the runtime Wasm blob) and the `verity` client into
# $CARGO_TARGET_DIR.
# Incremental: a second run with no change takes seconds. Usage: scripts/build.sh [cargo args]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wasm_build_env
cd "$VERITY_ROOT"
log "building verity-node (release) into $CARGO_TARGET_DIR${WASM_BUILD_TOOLCHAIN:+ (runtime with toolchain $WASM_BUILD_TOOLCHAIN)}"
start=$(date +%s)
cargo build --locked --release -p verity-node -p verity-client "$@"
log "built $VERITY_NODE_BIN in $(( $(date +%s) - start ))s"
