#!/usr/bin/env bash
# One command to a running chain: installs what is missing, builds the release node, and starts
# the 3-validator local network of zombienet/local-3.toml on loopback (session keys of Alice,
# Bob and Charlie inserted by the node's --alice/--bob/--charlie flags). Ctrl-C stops every node.
#
#   ./scripts/run-local.sh [--network zombienet/local-3.toml] [--port-offset N]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$VERITY_ROOT/scripts/setup.sh"
"$VERITY_ROOT/scripts/build.sh"
exec python3 "$VERITY_ROOT/scripts/localnet.py" --binary "$VERITY_NODE_BIN" "$@"
