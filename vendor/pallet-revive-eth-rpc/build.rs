//! Verity's build script for the vendored eth-rpc adapter. Upstream's script builds
//! `revive-dev-runtime` (the whole `polkadot-sdk` umbrella: ~250 crates) only to write that
//! runtime's metadata for subxt's code generation, and asks git for a revision. Here the subxt
//! client is generated from Verity's own runtime metadata, committed beside this file and kept
//! current by the test `eth_rpc_metadata_is_current` in `runtime/tests/metadata.rs`.
use std::process::Command;

fn main() {
	let metadata = std::path::Path::new("verity_runtime_metadata.scale");
	println!("cargo:rerun-if-changed={}", metadata.display());
	let out_dir = std::env::var("OUT_DIR").expect("OUT_DIR not set");
	std::fs::copy(metadata, std::path::Path::new(&out_dir).join("revive_chain.scale"))
		.expect("vendor/pallet-revive-eth-rpc/verity_runtime_metadata.scale");

	// web3_clientVersion: e.g. rustc1.95.0 and the target, as upstream reports them.
	let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
	let output = Command::new(rustc).arg("--version").output().expect("rustc --version");
	let rustc_version = String::from_utf8_lossy(&output.stdout)
		.split_whitespace()
		.take(2)
		.collect::<Vec<_>>()
		.join("");
	let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_string());
	println!("cargo:rustc-env=RUSTC_VERSION={rustc_version}");
	println!("cargo:rustc-env=TARGET={target}");
	println!("cargo:rustc-env=GIT_REVISION=verity-vendored-0.24.0");
}
