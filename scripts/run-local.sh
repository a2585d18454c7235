#!/usr/bin/env bash
# One command to a running chain: installs what is missing, builds the release node, and starts
# the 3-validator local network of zombienet/local-3.toml on loopback (session keys of Alice,
# Bob and Charlie inserted by the node's --alice/--bob/--charlie flags), then registers a demo
# model (scripts/demo.py) and runs one request through it, and starts the Ethereum JSON-RPC
# adapter (eth-rpc) on http://127.0.0.1:8545 for ethers, viem and cast. Ctrl-C stops everything.
#
#   ./scripts/run-local.sh [--network zombienet/local-3.toml] [--port-offset N]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$VERITY_ROOT/scripts/setup.sh"
"$VERITY_ROOT/scripts/build.sh"
models="$VERITY_CACHE/models"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/gen_models.py" "$models"
exec "$VERITY_VENV/bin/python" -m verity.localnet --binary "$VERITY_NODE_BIN" --eth-rpc "$VERITY_ETH_RPC_BIN" \
	--demo "$VERITY_VENV/bin/python" "$models" "$@"
