#!/usr/bin/env bash
# Engine overhead benchmark (issues 8, 12): (a) engine path in process, (b) direct ort, (w) the
# validators' path through a worker process, (c) Python onnxruntime, same model, input and
# settings, measured in one run. Results: docs/benchmarks.md.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
models="$CARGO_TARGET_DIR/models"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/gen_models.py" "$models" 2>/dev/null
cd "$VERITY_ROOT"
cargo build --locked --release -q -p verity-engine --bins
cargo run --locked --release -q -p verity-engine --example overhead -- "$models" "$@"
"$VERITY_VENV/bin/python" "$VERITY_ROOT/scripts/bench_engine_python.py" "$models" "$@"
