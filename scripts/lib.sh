# Shared settings for every Verity script. Source it; it never builds anything by itself.
# Everything heavy lives outside the clone so CI and later sessions build incrementally.
VERITY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export VERITY_CACHE="${VERITY_CACHE:-$HOME/.cache/verity}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$VERITY_CACHE/target}"
export VERITY_VENV="${VERITY_VENV:-$VERITY_CACHE/venv}"
# Pinned ONNX Runtime: must match the C API level `ort` is built against (api-31).
export ONNXRUNTIME_VERSION="${ONNXRUNTIME_VERSION:-1.31.1}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$VERITY_CACHE/onnxruntime/$ONNXRUNTIME_VERSION/libonnxruntime.so.$ONNXRUNTIME_VERSION}"
# Another release (same C API level) that one validator of the end-to-end suite runs: validators
# do not all run the same build, and results must still agree within each model's tolerance.
export ONNXRUNTIME_OTHER_VERSION="${ONNXRUNTIME_OTHER_VERSION:-1.32.0}"
export ORT_OTHER_DYLIB_PATH="${ORT_OTHER_DYLIB_PATH:-$VERITY_CACHE/onnxruntime/$ONNXRUNTIME_OTHER_VERSION/libonnxruntime.so.$ONNXRUNTIME_OTHER_VERSION}"
# The target dir lives outside the clone, so substrate-wasm-builder cannot find Cargo.lock by
# walking up from it: point it at the workspace, so the runtime blob uses the locked versions.
export WASM_BUILD_WORKSPACE_HINT="$VERITY_ROOT"
export VERITY_NODE_BIN="${VERITY_NODE_BIN:-$CARGO_TARGET_DIR/release/verity-node}"
export VERITY_ETH_RPC_BIN="${VERITY_ETH_RPC_BIN:-$CARGO_TARGET_DIR/release/eth-rpc}"
# What scripts/build.sh builds, in one cargo invocation (one feature set for all of them).
VERITY_BUILD_PACKAGES="-p verity-node -p verity-client -p pallet-revive-eth-rpc"
# The eth-rpc adapter's SQL queries are checked against the query data committed with it
# (vendor/pallet-revive-eth-rpc/.sqlx), never against a live database.
export SQLX_OFFLINE=true
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

log() { printf '\033[1;34m[verity]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[verity] error:\033[0m %s\n' "$*" >&2; exit 1; }

# True when the active rustup toolchain can build `wasm32v1-none` on its own (a normal laptop
# after `rustup target add wasm32v1-none`). Otherwise we build the runtime with the `web`
# toolchain that setup.sh assembles from Debian's rustc-web (see docs/toolchain.md).
# VERITY_FORCE_WEB_TOOLCHAIN=1 takes the rustc-web path even where rustup could do it.
has_native_wasm_target() {
	[ "${VERITY_FORCE_WEB_TOOLCHAIN:-0}" = 1 ] && return 1
	rustup target list --installed 2>/dev/null | grep -qx 'wasm32v1-none'
}

# Exports what substrate-wasm-builder needs to compile the runtime blob.
wasm_build_env() {
	if has_native_wasm_target; then
		return 0
	fi
	export WASM_BUILD_TOOLCHAIN=web
	# Rust >= 1.96 no longer passes --allow-undefined to the Wasm linker; the SDK declares its
	# host functions as bare externs, so the runtime link needs it back.
	export WASM_BUILD_RUSTFLAGS="${WASM_BUILD_RUSTFLAGS:--C link-arg=--allow-undefined}"
}

# ort_library VERSION DEST: the shared library of the onnxruntime==VERSION wheel at DEST.
ort_library() {
	if [ -f "$2" ]; then
		log "already present: $2"
		return
	fi
	local tmp
	tmp="$(mktemp -d)"
	log "downloading the onnxruntime==$1 wheel (only its shared library is kept)"
	"$VERITY_VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$tmp" "onnxruntime==$1"
	mkdir -p "$(dirname "$2")"
	"$VERITY_VENV/bin/python" - "$tmp"/onnxruntime-*.whl "$2" <<'PY'
import sys, zipfile, shutil
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime.so."))
    with z.open(name) as src, open(dest + ".part", "wb") as out:
        shutil.copyfileobj(src, out)
PY
	mv "$2.part" "$2"
	rm -rf "$tmp"
	log "installed $2"
}
