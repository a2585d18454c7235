//! Genesis presets.
//!
//! - `development`: Alice alone validates; for a single node started with `--dev`/`--alice`.
//! - `local_testnet`: Alice, Bob and Charlie validate; the 3-validator local network.
//! - `local_testnet_5`: Alice, Bob, Charlie, Dave and Eve validate; the 5-validator network.
//!
//! Both fund the well-known development accounts (sr25519 keyring and the standard Ethereum
//! development keys, for Ethereum tooling against pallet-revive) and make Alice sudo.
use crate::{
	currency::UNIT, AccountId, BalancesConfig, RuntimeGenesisConfig, SessionConfig, SessionKeys,
	SudoConfig, ValidatorSetConfig,
};
use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::PresetId;
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};
use verity_primitives::InferenceAuthorityId;

/// Name of the 3-validator preset.
pub const LOCAL_TESTNET_PRESET: &str = sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET;
/// Name of the 5-validator preset.
pub const LOCAL_TESTNET_5_PRESET: &str = "local_testnet_5";
/// Name of the single-validator preset.
pub const DEVELOPMENT_PRESET: &str = sp_genesis_builder::DEV_RUNTIME_PRESET;

/// Balance given to each endowed development account.
pub const ENDOWMENT: crate::Balance = 1_000_000 * UNIT;

/// The standard Ethereum development accounts (alith, baltathar, charleth, dorothy, ethan) as
/// `pallet-revive` sees them: the H160 address followed by twelve `0xee` bytes.
const ETH_DEV_ACCOUNTS: [[u8; 20]; 5] = [
	hex20("f24ff3a9cf04c71dbc94d0b566f7a27b94566cac"),
	hex20("3cd0a705a2dc65e5b1e1205896baa2be8a07c6e0"),
	hex20("798d4ba9baf0064ec19eb4f0a1a45785ae9d6dfc"),
	hex20("773539d4ac0e786233d90a233654ccee26a613d9"),
	hex20("ff64d3f6efe2317ee2807d223a0bdc4c0c49dfdb"),
];

const fn hex20(s: &str) -> [u8; 20] {
	const fn nibble(c: u8) -> u8 {
		match c {
			b'0'..=b'9' => c - b'0',
			b'a'..=b'f' => c - b'a' + 10,
			_ => panic!("not lower-case hex"),
		}
	}
	let b = s.as_bytes();
	let mut out = [0u8; 20];
	let mut i = 0;
	while i < 20 {
		out[i] = nibble(b[2 * i]) << 4 | nibble(b[2 * i + 1]);
		i += 1;
	}
	out
}

fn eth_dev_account(address: &[u8; 20]) -> AccountId {
	let mut raw = [0xeeu8; 32];
	raw[..20].copy_from_slice(address);
	AccountId::from(raw)
}

fn endowed_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.map(|k| k.to_account_id())
		.chain(ETH_DEV_ACCOUNTS.iter().map(eth_dev_account))
		.collect()
}

/// A development validator: its sr25519 keyring name (account, Aura and inference keys) and the
/// ed25519 key of the same name (GRANDPA): what `--alice`, `--bob`, ... insert into a keystore.
type DevValidator = (Sr25519Keyring, Ed25519Keyring);

const ALICE: DevValidator = (Sr25519Keyring::Alice, Ed25519Keyring::Alice);
const BOB: DevValidator = (Sr25519Keyring::Bob, Ed25519Keyring::Bob);
const CHARLIE: DevValidator = (Sr25519Keyring::Charlie, Ed25519Keyring::Charlie);
const DAVE: DevValidator = (Sr25519Keyring::Dave, Ed25519Keyring::Dave);
const EVE: DevValidator = (Sr25519Keyring::Eve, Ed25519Keyring::Eve);

fn dev_session_keys((sr, ed): DevValidator) -> SessionKeys {
	SessionKeys {
		aura: AuraId::from(sr.public()),
		grandpa: GrandpaId::from(ed.public()),
		inference: InferenceAuthorityId::from(sr.public()),
	}
}

fn genesis(validators: &[DevValidator]) -> Value {
	let validator_ids: Vec<AccountId> = validators.iter().map(|v| v.0.to_account_id()).collect();
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: endowed_accounts().into_iter().map(|a| (a, ENDOWMENT)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(Sr25519Keyring::Alice.to_account_id()) },
		validator_set: ValidatorSetConfig { initial_validators: validator_ids.clone() },
		session: SessionConfig {
			keys: validators
				.iter()
				.map(|v| (v.0.to_account_id(), v.0.to_account_id(), dev_session_keys(*v)))
				.collect::<Vec<_>>(),
		},
	})
}

/// The JSON patch of a preset, or `None` for an unknown name.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		DEVELOPMENT_PRESET => genesis(&[ALICE]),
		LOCAL_TESTNET_PRESET => genesis(&[ALICE, BOB, CHARLIE]),
		LOCAL_TESTNET_5_PRESET => genesis(&[ALICE, BOB, CHARLIE, DAVE, EVE]),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(DEVELOPMENT_PRESET),
		PresetId::from(LOCAL_TESTNET_PRESET),
		PresetId::from(LOCAL_TESTNET_5_PRESET),
	]
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::Runtime;
	use frame_support::genesis_builder_helper::build_state;

	#[test]
	fn eth_dev_accounts_decode() {
		assert_eq!(ETH_DEV_ACCOUNTS[0][0], 0xf2);
		assert_eq!(ETH_DEV_ACCOUNTS[0][19], 0xac);
		let acc = eth_dev_account(&ETH_DEV_ACCOUNTS[0]);
		assert_eq!(&AsRef::<[u8; 32]>::as_ref(&acc)[20..], &[0xee; 12]);
	}

	/// Builds the genesis state of a preset the way the node does, and returns what the
	/// consensus pallets see.
	fn merge(base: &mut Value, patch: Value) {
		match (base, patch) {
			(Value::Object(base), Value::Object(patch)) => {
				for (key, value) in patch {
					merge(base.entry(key).or_insert(Value::Null), value);
				}
			}
			(base, patch) => *base = patch,
		}
	}

	fn built(preset: &str) -> (usize, usize, usize, crate::Balance) {
		// As the node does: the preset is a patch over the default genesis config.
		let patch: Value = serde_json::from_slice(
			&get_preset(&PresetId::from(preset)).expect("listed preset exists"),
		)
		.unwrap();
		let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
		merge(&mut config, patch);
		let json = serde_json::to_vec(&config).unwrap();
		let mut ext = sp_io::TestExternalities::new_empty();
		ext.execute_with(|| {
			build_state::<RuntimeGenesisConfig>(json).expect("preset builds");
			(
				pallet_session::Validators::<Runtime>::get().len(),
				pallet_aura::Authorities::<Runtime>::get().len(),
				pallet_inference::Executors::<Runtime>::get().len(),
				pallet_balances::Pallet::<Runtime>::free_balance(
					Sr25519Keyring::Alice.to_account_id(),
				),
			)
		})
	}

	#[test]
	fn development_has_one_validator() {
		assert_eq!(built(DEVELOPMENT_PRESET), (1, 1, 1, ENDOWMENT));
	}

	#[test]
	fn local_testnet_has_three_validators() {
		assert_eq!(built(LOCAL_TESTNET_PRESET), (3, 3, 3, ENDOWMENT));
	}

	#[test]
	fn local_testnet_5_has_five_validators() {
		assert_eq!(built(LOCAL_TESTNET_5_PRESET), (5, 5, 5, ENDOWMENT));
	}

	#[test]
	fn unknown_preset_is_none() {
		assert!(get_preset(&PresetId::from("nope")).is_none());
		assert_eq!(preset_names().len(), 3);
	}
}
