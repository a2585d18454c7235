#!/usr/bin/env bash
# Installs everything Verity needs to build, run and test on Debian/Ubuntu. Idempotent: each
# step checks first and says what it skips, so a second run is a quick no-op.
#
#   1. system packages (clang, protoc, python venv, node/npm)
#   2. a Rust toolchain that can build the runtime to `wasm32v1-none`
#      (rustup's own target where it can be downloaded; otherwise Debian's rustc-web with a
#       locally built core/alloc sysroot, linked into rustup as the `web` toolchain)
#   3. a Python venv with onnx/numpy/onnxruntime/pytest/substrate-interface (test models, e2e)
#      and the project's own `verity` package (python/) installed editable
#   4. the pinned ONNX Runtime shared library, taken from the PyPI wheel into $VERITY_CACHE
#      (downloaded with the venv's pip: Debian's python3 has no pip of its own)
#   5. npm packages (solc, @polkadot/api, ethers) pinned by package-lock.json, and the Hardhat
#      example's (examples/hardhat/package-lock.json)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
mkdir -p "$VERITY_CACHE"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		$SUDO apt-get update -qq
		APT_UPDATED=1
	fi
	log "installing system packages: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- 1. system packages -------------------------------------------------------------------
log "step 1/5: system packages"
apt_install build-essential clang libclang-dev protobuf-compiler pkg-config git curl ca-certificates unzip
command -v python3 >/dev/null || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
command -v npm >/dev/null || apt_install nodejs npm

# --- 2. Rust + Wasm toolchain ---------------------------------------------------------------
log "step 2/5: Rust toolchain with wasm32v1-none"
if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
	log "installing rustup (stable)"
	curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
	. "$HOME/.cargo/env"
fi
if has_native_wasm_target; then
	log "active toolchain already has wasm32v1-none: skipping the web toolchain"
elif [ "${VERITY_FORCE_WEB_TOOLCHAIN:-0}" != 1 ] && timeout 120 rustup target add wasm32v1-none >/dev/null 2>&1; then
	log "added wasm32v1-none to the active toolchain"
else
	log "rustup cannot download wasm32v1-none here: using Debian's rustc-web (docs/toolchain.md)"
	apt_install rustc-web rust-web-src lld-22
	sysroot_lib=/usr/lib/rustlib/wasm32v1-none/lib
	stamp="$sysroot_lib/.verity-stamp"
	want="$(/usr/bin/rustc --version)"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && ls "$sysroot_lib"/libcore-*.rlib >/dev/null 2>&1; then
		log "core/alloc for wasm32v1-none already built for $want"
	else
		log "building core/alloc/compiler_builtins for wasm32v1-none with $want (about 1 minute)"
		tmp="$(mktemp -d)"
		mkdir -p "$tmp/src"
		cat >"$tmp/Cargo.toml" <<'TOML'
[package]
name = "verity-wasm-sysroot"
version = "0.0.0"
edition = "2021"
[lib]
crate-type = ["cdylib"]
[profile.release]
panic = "abort"
TOML
		cat >"$tmp/src/lib.rs" <<'RS'
#![no_std]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! { loop {} }
RS
		(cd "$tmp" && RUSTFLAGS="-C embed-bitcode=yes" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
			CARGO_TARGET_DIR="$tmp/target" /usr/bin/cargo build -q --release --target wasm32v1-none \
			-Zbuild-std=core,alloc)
		$SUDO mkdir -p "$sysroot_lib"
		$SUDO rm -f "$sysroot_lib"/lib*.rlib
		$SUDO cp "$tmp"/target/wasm32v1-none/release/deps/lib*.rlib "$sysroot_lib/"
		echo "$want" | $SUDO tee "$stamp" >/dev/null
		rm -rf "$tmp"
		# Stale runtime artefacts built against the old sysroot fail with "can't find crate".
		rm -rf "$CARGO_TARGET_DIR"/*/wbuild
	fi
	if rustup toolchain list | grep -q '^web'; then
		log "rustup toolchain 'web' already linked"
	else
		tc="$VERITY_CACHE/toolchain-web"
		mkdir -p "$tc/bin"
		for b in rustc cargo rustdoc; do ln -sf "/usr/bin/$b" "$tc/bin/$b"; done
		ln -sfn /usr/lib "$tc/lib"
		rustup toolchain link web "$tc"
		log "linked rustup toolchain 'web' -> $tc"
	fi
fi

# --- 3. Python venv -------------------------------------------------------------------------
log "step 3/5: Python venv at $VERITY_VENV"
req="$VERITY_ROOT/scripts/requirements.txt"
pyproject="$VERITY_ROOT/python/pyproject.toml"
stamp="$VERITY_VENV/.verity-requirements"
# The stamp is what was installed: the requirements, then the package's pyproject.toml (a change
# to either reinstalls). The package is editable, so edits to its modules need nothing; but the
# venv is shared by every checkout, so it is reinstalled when it points at another checkout.
this_checkout() {
	"$VERITY_VENV/bin/python" -c 'import os, sys, verity
sys.exit(os.path.realpath(verity.__file__) != os.path.realpath(sys.argv[1]))' \
		"$VERITY_ROOT/python/src/verity/__init__.py" 2>/dev/null
}
if [ -f "$stamp" ] && cmp -s <(cat "$req" "$pyproject") "$stamp" && this_checkout; then
	log "venv up to date"
else
	[ -x "$VERITY_VENV/bin/python" ] || python3 -m venv "$VERITY_VENV"
	"$VERITY_VENV/bin/pip" install -q --disable-pip-version-check -r "$req"
	# With build isolation: pip fetches the build backend (setuptools) itself, so the venv
	# needs none of its own (venvs of Python >= 3.12 come without setuptools).
	"$VERITY_VENV/bin/pip" install -q --disable-pip-version-check -e "$VERITY_ROOT/python"
	cat "$req" "$pyproject" >"$stamp"
	log "venv ready"
fi

# --- 4. ONNX Runtime shared library ---------------------------------------------------------
log "step 4/5: ONNX Runtime $ONNXRUNTIME_VERSION"
ort_library "$ONNXRUNTIME_VERSION" "$ORT_DYLIB_PATH"

# --- 5. npm packages ------------------------------------------------------------------------
log "step 5/5: npm packages (solc, typescript, @polkadot/api, ethers; Hardhat in examples/hardhat)"
# npm ci in DIR unless DIR/node_modules was installed from this very package-lock.json.
npm_ci() {
	local dir="$1" lock="$1/package-lock.json" name="${1#"$VERITY_ROOT"/}"
	[ "$dir" = "$VERITY_ROOT" ] && name="."
	if [ -f "$dir/node_modules/.package-lock.json" ] && cmp -s <(grep -v '"lockfileVersion"' "$lock" | md5sum) <(cat "$dir/node_modules/.verity-lock" 2>/dev/null); then
		log "$name/node_modules up to date"
	else
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
		grep -v '"lockfileVersion"' "$lock" | md5sum >"$dir/node_modules/.verity-lock"
		log "$name/node_modules installed"
	fi
}
npm_ci "$VERITY_ROOT"
npm_ci "$VERITY_ROOT/examples/hardhat"

log "setup complete"
