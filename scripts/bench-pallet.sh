#!/usr/bin/env bash
# Generates pallets/*/src/weights.rs with the FRAME benchmark CLI (`verity-node benchmark pallet`)
# on the runtime Wasm, from a node built with `--features runtime-benchmarks`.
# That node is a separate ~30-minute build (frame-benchmarking-cli pulls in cumulus/polkadot
# crates); CI never builds it. Usage: scripts/bench-pallet.sh [pallet_inference|pallet_validator_set ...]
# STEPS / REPEAT override the sampling (defaults 20 / 10).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wasm_build_env
cd "$VERITY_ROOT"
# pallet-revive is not benchmarked here; its fixtures (RISC-V contracts) are not needed.
export SKIP_PALLET_REVIVE_FIXTURES=1
# The CLI's own test runtime serves only `benchmark storage`, which this node does not wire.
export SKIP_FRAME_STORAGE_ACCESS_TEST_RUNTIME_WASM_BUILD=1
STEPS="${STEPS:-20}"
REPEAT="${REPEAT:-10}"
pallets=("$@")
[ ${#pallets[@]} -gt 0 ] || pallets=(pallet_inference pallet_validator_set)

bench_bin="$CARGO_TARGET_DIR/release/verity-node-benchmarks"
log "building verity-node with runtime-benchmarks into $CARGO_TARGET_DIR"
# The runtime blob of both builds lands in the same wbuild folder: touching build.rs before
# and after makes each build re-embed the blob of its own feature set.
touch runtime/build.rs
start=$(date +%s)
cargo build --locked --release -p verity-node --features runtime-benchmarks
cp "$CARGO_TARGET_DIR/release/verity-node" "$bench_bin"
touch runtime/build.rs
log "built $bench_bin in $(( $(date +%s) - start ))s (the next scripts/build.sh rebuilds the normal runtime blob)"

for pallet in "${pallets[@]}"; do
	crate="${pallet#pallet_}"
	out="pallets/${crate//_/-}/src/weights.rs"
	[ -f "$out" ] || die "no $out for $pallet"
	log "benchmarking $pallet (steps $STEPS, repeat $REPEAT) -> $out"
	"$bench_bin" benchmark pallet \
		--chain dev \
		--pallet "$pallet" \
		--extrinsic '*' \
		--steps "$STEPS" \
		--repeat "$REPEAT" \
		--wasm-execution compiled \
		--heap-pages 4096 \
		--template scripts/frame-weight-template.hbs \
		--output "$out"
	# The header records the command; name the binary, not this machine's path.
	sed -i "s|^// $bench_bin\$|// verity-node (built with --features runtime-benchmarks)|" "$out"
done
log "done: review the diff of pallets/*/src/weights.rs and record the run in docs/benchmarks.md"
