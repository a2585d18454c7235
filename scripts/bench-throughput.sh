#!/usr/bin/env bash
# Request-pipeline throughput on the 3-validator local network (results in docs/benchmarks.md).
# Usage: scripts/bench-throughput.sh [LOAD ...]
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
"$VERITY_ROOT/scripts/setup.sh"
"$VERITY_ROOT/scripts/build.sh"
models="$CARGO_TARGET_DIR/models"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/gen_models.py" "$models"
exec "$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/bench_throughput.py" "$models" "$@"
