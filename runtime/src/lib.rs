//! The Verity runtime.
//!
//! A solochain runtime: Aura produces blocks, GRANDPA finalizes them, and `pallet-session` rotates
//! a validator set that `pallet-validator-set` changes at run time. Contracts run on
//! `pallet-revive` (Ethereum-compatible), and `pallet-inference` holds the executors that attest
//! inference results with their `infr` session keys.
#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime!` does a lot of recursion and requires us to increase the limit.
#![recursion_limit = "256"]

// Make the Wasm binary available.
#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

pub mod apis;
pub mod configs;
pub mod genesis;

pub use apis::RuntimeApi;
pub use configs::*;

use alloc::{borrow::Cow, vec, vec::Vec};
use frame_support::{
	derive_impl,
	genesis_builder_helper::{build_state, get_preset},
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{BlockExecutionWeight, ExtrinsicBaseWeight, WEIGHT_REF_TIME_PER_MILLIS},
		Weight,
	},
};
use frame_system::{limits::BlockWeights, EnsureRoot, EnsureSigned};
use pallet_grandpa::AuthorityId as GrandpaId;
use pallet_revive::{
	evm::{
		fees::{BlockRatioFee, Info as FeeInfo},
		runtime::EthExtra,
	},
	AccountId32Mapper,
};
use pallet_transaction_payment::{ConstFeeMultiplier, FeeDetails, Multiplier, RuntimeDispatchInfo};
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
	generic, impl_opaque_keys,
	traits::{BlakeTwo256, Block as BlockT, IdentifyAccount, NumberFor, One, OpaqueKeys, Verify},
	transaction_validity::{TransactionSource, TransactionValidity},
	ApplyExtrinsicResult, ExtrinsicInclusionMode, MultiSignature, Perbill,
};
use sp_version::RuntimeVersion;

pub use verity_primitives::{MILLISECS_PER_BLOCK, SESSION_PERIOD_BLOCKS};

// ----------------------------------------------------------------------------------------------
// Basic types
// ----------------------------------------------------------------------------------------------

/// Alias to 512-bit hash when used in the context of a transaction signature on the chain.
pub type Signature = MultiSignature;
/// Account identifier: the public key behind the signature scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account (12 decimals, see [`currency`]).
pub type Balance = u128;
/// Transaction index of an account.
pub type Nonce = u32;
/// Hash of a block or extrinsic.
pub type Hash = sp_core::H256;
/// Block number.
pub type BlockNumber = u32;
/// The address format for describing accounts.
pub type Address = sp_runtime::MultiAddress<AccountId, ()>;
/// Block header type.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block type as expected by this runtime.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// Units of the native token.
pub mod currency {
	use super::Balance;
	/// One whole token (12 decimals).
	pub const UNIT: Balance = 1_000_000_000_000;
	pub const MILLI_UNIT: Balance = UNIT / 1_000;
	pub const MICRO_UNIT: Balance = UNIT / 1_000_000;
	/// The existential deposit.
	pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;
}
use currency::*;

/// Opaque types: the node knows blocks and session keys only in this form, so it does not
/// depend on the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
	pub type BlockId = generic::BlockId<Block>;

	impl_opaque_keys! {
		/// The session keys of a validator: block production, finality and inference attestation.
		pub struct SessionKeys {
			pub aura: Aura,
			pub grandpa: Grandpa,
			pub inference: Inference,
		}
	}
}
pub use opaque::SessionKeys;

#[sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: Cow::Borrowed("verity"),
	impl_name: Cow::Borrowed("verity-node"),
	authoring_version: 1,
	spec_version: 105,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Aura slot duration: one block per slot.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
pub const HOURS: BlockNumber = MINUTES * 60;
pub const DAYS: BlockNumber = HOURS * 24;

// ----------------------------------------------------------------------------------------------
// Extrinsic format
// ----------------------------------------------------------------------------------------------

/// The transaction extensions, in order. `AuthorizeCall` comes first so that validator-signed
/// feeless submissions (`#[pallet::authorize]`) are recognised before nonce and fee checks.
pub type TxExtension = (
	frame_system::AuthorizeCall<Runtime>,
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	// After every extension that relies on a signed origin.
	pallet_revive::evm::tx_extension::SetOrigin<Runtime>,
	// Last, to catch refunds of the extensions before it.
	frame_system::WeightReclaim<Runtime>,
);

/// The extensions applied to Ethereum transactions arriving through `pallet-revive`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EthExtraImpl;

impl EthExtra for EthExtraImpl {
	type Config = Runtime;
	type ExtensionV0 = TxExtension;
	type ExtensionOtherVersions = sp_runtime::traits::InvalidVersion;

	fn get_eth_extension(nonce: u32, tip: Balance) -> Self::ExtensionV0 {
		let mut extension = tx_extension(nonce, tip);
		extension.9 =
			pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::new_from_eth_transaction();
		extension
	}
}

/// The extensions of an immortal transaction with `nonce` and `tip`, for every place that
/// builds one (off-chain workers, Ethereum transactions, the `verity` client).
pub fn tx_extension(nonce: Nonce, tip: Balance) -> TxExtension {
	(
		frame_system::AuthorizeCall::<Runtime>::new(),
		frame_system::CheckNonZeroSender::<Runtime>::new(),
		frame_system::CheckSpecVersion::<Runtime>::new(),
		frame_system::CheckTxVersion::<Runtime>::new(),
		frame_system::CheckGenesis::<Runtime>::new(),
		frame_system::CheckMortality::from(generic::Era::Immortal),
		frame_system::CheckNonce::<Runtime>::from(nonce),
		frame_system::CheckWeight::<Runtime>::new(),
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(tip),
		pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::default(),
		frame_system::WeightReclaim::<Runtime>::new(),
	)
}

/// Unchecked extrinsic: Substrate extrinsics and Ethereum transactions wrapped by pallet-revive.
pub type UncheckedExtrinsic =
	pallet_revive::evm::runtime::UncheckedExtrinsic<Address, Signature, EthExtraImpl>;
/// The payload being signed in transactions.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Executive: handles dispatch to the various modules.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

/// Storage migrations run at the next runtime upgrade (each runs once, by storage version).
pub type Migrations = (pallet_inference::migrations::MigrateV0ToV1<Runtime>,);

// ----------------------------------------------------------------------------------------------
// Pallets
// ----------------------------------------------------------------------------------------------

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(3)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(4)]
	pub type Sudo = pallet_sudo;
	// The validator set must come before Session: Session's genesis asks it for the first set.
	#[runtime::pallet_index(5)]
	pub type ValidatorSet = pallet_validator_set;
	#[runtime::pallet_index(6)]
	pub type Session = pallet_session;
	#[runtime::pallet_index(7)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(8)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(10)]
	pub type Revive = pallet_revive;
	// Batches of calls in one transaction (`batch`, `batch_all`, `force_batch`): what wallets and
	// polkadot.js use to send many requests at once.
	#[runtime::pallet_index(11)]
	pub type Utility = pallet_utility;
	#[runtime::pallet_index(20)]
	pub type Inference = pallet_inference;
}

/// The pallet's types as this runtime instantiates them (what `InferenceApi` returns).
pub type InferenceModel = pallet_inference::ModelOf<Runtime>;
pub type InferenceRequest = pallet_inference::RequestOf<Runtime>;
pub type InferenceResult = pallet_inference::ResultOf<Runtime>;

#[cfg(feature = "runtime-benchmarks")]
impl frame_system_benchmarking::Config for Runtime {}

#[cfg(feature = "runtime-benchmarks")]
mod benches {
	// The pallets whose weights `scripts/bench-pallet.sh` generates.
	frame_benchmarking::define_benchmarks!(
		[frame_system, SystemBench::<Runtime>]
		[pallet_inference, Inference]
		[pallet_validator_set, ValidatorSet]
	);
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::traits::Get;

	#[test]
	fn block_time_is_set_in_one_place() {
		assert_eq!(<Runtime as pallet_aura::Config>::SlotDuration::get(), MILLISECS_PER_BLOCK);
	}

	/// The pool priority of a signed transaction of the smallest weight and `len` bytes.
	fn priority(class: frame_support::dispatch::DispatchClass, len: u32, tip: Balance) -> u64 {
		use frame_support::dispatch::{DispatchInfo, Pays};
		let weights = <Runtime as frame_system::Config>::BlockWeights::get();
		let info = DispatchInfo {
			call_weight: weights.get(class).base_extrinsic,
			extension_weight: Weight::zero(),
			class,
			pays_fee: Pays::Yes,
		};
		let fee = TransactionPayment::compute_fee(len, &info, tip);
		pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::get_priority(
			&info,
			len as usize,
			tip,
			fee,
		)
	}

	/// Answers (commitments and reveals) outrank every ordinary transaction that tips less
	/// than 0.1 mVRT, and the cheapest operational transaction outranks them: answers cannot be
	/// crowded out by ordinary traffic, nor starve operational transactions.
	#[test]
	fn answers_rank_above_normal_and_below_operational_transactions() {
		use frame_support::dispatch::DispatchClass::{Normal, Operational};
		sp_io::TestExternalities::default().execute_with(|| {
			let answers = InferenceUnsignedPriority::get();
			for len in [100, 1_000, 100_000] {
				assert!(priority(Normal, len, 0) < answers, "normal, {len} bytes");
				assert!(
					priority(Normal, len, MILLI_UNIT / 10) < answers,
					"normal tipping 0.1 mVRT"
				);
				assert!(priority(Operational, len, 0) > answers, "operational, {len} bytes");
			}
			// A tip of 1 VRT does buy a place ahead of answers. (At 100 bytes with 6 s blocks:
			// normal 1.8e4, tipping 0.1 mVRT 1.8e12, answers 1e13, the cheapest operational
			// 2.9e13; with 2 s blocks each is about a third, answers 3e12.)
			assert!(priority(Normal, 100, UNIT) > answers);
		});
	}
}
