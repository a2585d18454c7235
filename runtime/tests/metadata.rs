//! The eth-rpc adapter (`vendor/pallet-revive-eth-rpc`) generates its subxt client at build time
//! from this runtime's metadata, committed as `verity_runtime_metadata.scale`. This test fails
//! when the runtime changed and the file did not; `VERITY_BLESS_METADATA=1` rewrites it:
//!
//! `VERITY_BLESS_METADATA=1 cargo test --release -p verity-runtime --test metadata`
use verity_runtime::Runtime;

#[test]
fn eth_rpc_metadata_is_current() {
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../vendor/pallet-revive-eth-rpc/verity_runtime_metadata.scale");
	let current = sp_io::TestExternalities::new(Default::default())
		.execute_with(|| Runtime::metadata_at_version(16).expect("metadata v16").to_vec());
	if std::env::var_os("VERITY_BLESS_METADATA").is_some() {
		std::fs::write(&path, &current).expect("write metadata");
	}
	let committed = std::fs::read(&path).unwrap_or_default();
	assert!(
		committed == current,
		"{} is not this runtime's metadata ({} bytes committed, {} now): rerun this test with \
		 VERITY_BLESS_METADATA=1 and commit the file",
		path.display(),
		committed.len(),
		current.len()
	);
}
