//! Built-in chain specifications. Their genesis comes from the runtime's presets
//! (`verity_runtime::genesis`), so the node and the runtime cannot disagree about it.
use sc_service::ChainType;
use verity_runtime::{genesis, WASM_BINARY};

/// A chain specification of Verity (no client extensions).
pub type ChainSpec = sc_service::GenericChainSpec;

fn properties() -> sc_service::Properties {
	let mut properties = sc_service::Properties::new();
	properties.insert("tokenSymbol".into(), "VRT".into());
	properties.insert("tokenDecimals".into(), 12.into());
	properties.insert("ss58Format".into(), 42.into());
	properties
}

fn build(name: &str, id: &str, chain_type: ChainType, preset: &str) -> Result<ChainSpec, String> {
	let wasm = WASM_BINARY.ok_or_else(|| {
		"the runtime Wasm blob is missing: build without SKIP_WASM_BUILD (scripts/build.sh)"
			.to_string()
	})?;
	Ok(ChainSpec::builder(wasm, None)
		.with_name(name)
		.with_id(id)
		.with_chain_type(chain_type)
		.with_genesis_config_preset_name(preset)
		.with_properties(properties())
		.build())
}

/// `--chain dev`: Alice alone.
pub fn development() -> Result<ChainSpec, String> {
	build("Verity Development", "verity_dev", ChainType::Development, genesis::DEVELOPMENT_PRESET)
}

/// `--chain local`: Alice, Bob and Charlie.
pub fn local_testnet() -> Result<ChainSpec, String> {
	build("Verity Local Testnet", "verity_local", ChainType::Local, genesis::LOCAL_TESTNET_PRESET)
}

/// `--chain local5`: Alice, Bob, Charlie, Dave and Eve.
pub fn local_testnet_5() -> Result<ChainSpec, String> {
	build(
		"Verity Local Testnet (5 validators)",
		"verity_local5",
		ChainType::Local,
		genesis::LOCAL_TESTNET_5_PRESET,
	)
}
