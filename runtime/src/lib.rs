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

pub mod genesis;

use alloc::{borrow::Cow, vec, vec::Vec};
use frame_support::{
	derive_impl,
	genesis_builder_helper::{build_state, get_preset},
	parameter_types,
	traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
	weights::{
		constants::{BlockExecutionWeight, ExtrinsicBaseWeight, WEIGHT_REF_TIME_PER_SECOND},
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
	spec_version: 100,
	impl_version: 1,
	apis: RUNTIME_API_VERSIONS,
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
			pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::new_from_eth_transaction(),
			frame_system::WeightReclaim::<Runtime>::new(),
		)
	}
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
>;

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
	#[runtime::pallet_index(20)]
	pub type Inference = pallet_inference;
}

/// ~10% of the block weight is assumed to go to `on_initialize`.
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(10);
/// Normal extrinsics may fill 75% of a block; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
/// 2 seconds of compute per 6-second block. A solochain ships no proofs, so the proof-size
/// budget only needs to be finite (pallet-revive derives gas limits from it) and large enough
/// for the biggest model hash check (16 MiB read in `complete_model_upload`).
const MAXIMUM_BLOCK_WEIGHT: Weight =
	Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2), 64 * 1024 * 1024);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::builder()
		.base_block(BlockExecutionWeight::get())
		.for_class(frame_support::dispatch::DispatchClass::all(), |weights| {
			weights.base_extrinsic = ExtrinsicBaseWeight::get();
		})
		.for_class(frame_support::dispatch::DispatchClass::Normal, |weights| {
			weights.max_total = Some(NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT);
		})
		.for_class(frame_support::dispatch::DispatchClass::Operational, |weights| {
			weights.max_total = Some(MAXIMUM_BLOCK_WEIGHT);
			weights.reserved = Some(MAXIMUM_BLOCK_WEIGHT - NORMAL_DISPATCH_RATIO * MAXIMUM_BLOCK_WEIGHT);
		})
		.avg_block_initialization(AVERAGE_ON_INITIALIZE_RATIO)
		.build_or_panic();
	pub RuntimeBlockLength: frame_system::limits::BlockLength = frame_system::limits::BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(frame_support::dispatch::DispatchClass::Normal, |max| {
			*max = NORMAL_DISPATCH_RATIO * *max
		})
		.build();
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = frame_support::weights::constants::ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
	// Every account gets its Ethereum address mapping on creation, and loses it on reaping.
	type OnNewAccount = pallet_revive::AutoMapper<Runtime>;
	type OnKilledAccount = pallet_revive::AutoMapper<Runtime>;
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = pallet_timestamp::weights::SubstrateWeight<Runtime>;
}

impl pallet_balances::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type Balance = Balance;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type ReserveIdentifier = [u8; 8];
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ConstU32<50>;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub const TransactionByteFee: Balance = MICRO_UNIT;
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = pallet_transaction_payment::FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	// pallet-revive prices Ethereum gas from the same weight-to-fee ratio.
	type WeightToFee = BlockRatioFee<1, 1, Self, Balance>;
	type LengthToFee = frame_support::weights::ConstantMultiplier<Balance, TransactionByteFee>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}
impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const MaxValidators: u32 = 100;
	pub const MinValidators: u32 = 1;
}

impl pallet_validator_set::Config for Runtime {
	type AddRemoveOrigin = EnsureRoot<AccountId>;
	type MaxValidators = MaxValidators;
	type MinValidators = MinValidators;
	type WeightInfo = pallet_validator_set::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	pub const SessionPeriod: BlockNumber = SESSION_PERIOD_BLOCKS;
	pub const SessionOffset: BlockNumber = 0;
	/// Held from an account that registers session keys; returned when it purges them.
	pub const SessionKeyDeposit: Balance = UNIT;
}

impl pallet_session::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type ValidatorId = AccountId;
	type ValidatorIdOf = sp_runtime::traits::ConvertInto;
	type ShouldEndSession = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	type NextSessionRotation = pallet_session::PeriodicSessions<SessionPeriod, SessionOffset>;
	type SessionManager = ValidatorSet;
	type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
	type Keys = SessionKeys;
	type DisablingStrategy = ();
	type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
	type Currency = Balances;
	type KeyDeposit = SessionKeyDeposit;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = MaxValidators;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = MaxValidators;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = sp_core::Void;
	type EquivocationReportSystem = ();
}

parameter_types! {
	pub CodeHashLockupDepositPercent: Perbill = Perbill::from_percent(30);
}

#[derive_impl(pallet_revive::config_preludes::TestDefaultConfig)]
impl pallet_revive::Config for Runtime {
	type AddressMapper = AccountId32Mapper<Self>;
	/// Local chain id (EIP-155) of Verity development networks.
	type ChainId = ConstU64<424_242>;
	type CodeHashLockupDepositPercent = CodeHashLockupDepositPercent;
	type Balance = Balance;
	type Currency = Balances;
	type NativeToEthRatio = ConstU32<1_000_000>;
	type UploadOrigin = EnsureSigned<Self::AccountId>;
	type InstantiateOrigin = EnsureSigned<Self::AccountId>;
	type Time = Timestamp;
	type FeeInfo = FeeInfo<Address, Signature, EthExtraImpl>;
	type FindAuthor = pallet_session::FindAccountFromAuthorIndex<Self, Aura>;
	type WeightInfo = pallet_revive::weights::SubstrateWeight<Self>;
	type AllowEVMBytecode = ConstBool<true>;
	type DebugEnabled = ConstBool<false>;
	type AutoMap = ConstBool<true>;
	type GasScale = ConstU32<50000>;
	/// Contracts reach pallet-inference at `0x…0a010000` (precompiles/inference/IInference.sol).
	type Precompiles = (pallet_inference_precompile::InferencePrecompile<Self>,);
}

parameter_types! {
	pub const MaxModelBytes: u32 = 16 * 1024 * 1024;
	pub const MaxChunkBytes: u32 = 1024 * 1024;
	pub const ModelDepositBase: Balance = UNIT;
	/// 16 MiB model: about 16.8 VRT of deposit.
	pub const ModelDepositPerByte: Balance = MICRO_UNIT;
	pub const MaxInputBytes: u32 = 64 * 1024;
	pub const MaxOutputBytes: u32 = 64 * 1024;
	pub const MaxCommittee: u32 = 16;
	pub QuorumRatio: Perbill = Perbill::from_rational(2u32, 3u32);
	pub const MaxPendingRequests: u32 = 1024;
	pub const MaxRequestsPerBlock: u32 = 256;
	pub const DefaultInferenceTimeout: BlockNumber = 10;
	pub const MaxInferenceTimeout: BlockNumber = HOURS;
	pub const ResultRetention: BlockNumber = DAYS;
	/// Pool priority of answers (commitments, reveals): above ordinary transactions that tip
	/// less than 0.1 mVRT, below every operational one (`answers_rank_above_normal_and_below_
	/// operational_transactions`). It was `u64::MAX / 2`, above everything.
	pub const InferenceUnsignedPriority: u64 = 10_000_000_000_000;
	pub const InferenceExpiryFee: Perbill = Perbill::from_percent(10);
	/// Fee floor per committee member and byte of input and largest output: a 64 KiB answer
	/// costs 65.5 µVRT per member (a thousandth of what the same bytes cost in a signed
	/// transaction, `TransactionByteFee`).
	pub const AnswerByteFee: Balance = MICRO_UNIT / 1_000;
}

impl pallet_inference::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MaxModelBytes = MaxModelBytes;
	type MaxChunkBytes = MaxChunkBytes;
	type ModelDepositBase = ModelDepositBase;
	type ModelDepositPerByte = ModelDepositPerByte;
	type MaxInputBytes = MaxInputBytes;
	type MaxOutputBytes = MaxOutputBytes;
	type MaxExecutors = MaxValidators;
	type MaxCommittee = MaxCommittee;
	type QuorumRatio = QuorumRatio;
	type MaxPendingRequests = MaxPendingRequests;
	type MaxRequestsPerBlock = MaxRequestsPerBlock;
	type DefaultTimeout = DefaultInferenceTimeout;
	type MaxTimeout = MaxInferenceTimeout;
	type ResultRetention = ResultRetention;
	type UnsignedPriority = InferenceUnsignedPriority;
	// Small models take microseconds: the time budget, not the count, bounds the work.
	type MaxRunsPerBlock = ConstU32<512>;
	type MaxOffchainMillis = ConstU64<{ MILLISECS_PER_BLOCK / 2 }>;
	type ResubmitAfter = ConstU32<5>;
	type MaxFailuresInRow = ConstU32<3>;
	// Answers are committed in the block after the request; a member that stays silent delays
	// the reveals by at most this many blocks.
	type CommitWindow = ConstU32<3>;
	// 1/16 of the pending set: filling it takes 16 funded accounts.
	type MaxPendingPerAccount = ConstU32<64>;
	// Members that ran an expired request's model keep a tenth of its fee.
	type ExpiryFee = InferenceExpiryFee;
	type AnswerByteFee = AnswerByteFee;
	// A day to upload up to 16 chunks; then an incomplete registration is cleared (1 VRT of
	// its deposit burnt).
	type UploadWindow = ConstU32<DAYS>;
	type MaxUploadsPerBlock = ConstU32<16>;
	// A reveal is charged its worst case: 2.1 MB of proof (16 earlier 64 KiB outputs read, a
	// 1 MiB callback) and 52 ms. With 16 per batch (34 MB declared) the author fit only four
	// batches in a block's 48 MiB of normal proof size (the rest waited for later blocks); 8 per
	// batch (17 MB, 0.42 s) leave room for ~25 batches beside the commitments.
	type MaxRevealsPerBatch = ConstU32<8>;
	type OnDissent = ();
	// Contracts that asked for it get `onInferenceResult` called when their result is final.
	type ResultCallback = pallet_inference_precompile::ContractCallback<Runtime>;
	type WeightInfo = pallet_inference::weights::SubstrateWeight<Runtime>;
}

// Off-chain workers build transactions (the validators' authorized result submissions).
impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type RuntimeCall = RuntimeCall;
	type Extrinsic = UncheckedExtrinsic;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;

	fn create_transaction(call: RuntimeCall, extension: TxExtension) -> UncheckedExtrinsic {
		pallet_revive::evm::runtime::UncheckedExtrinsic(
			generic::UncheckedExtrinsic::new_transaction(call, extension),
		)
	}
}

impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Runtime
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() -> TxExtension {
		(
			frame_system::AuthorizeCall::<Runtime>::new(),
			frame_system::CheckNonZeroSender::<Runtime>::new(),
			frame_system::CheckSpecVersion::<Runtime>::new(),
			frame_system::CheckTxVersion::<Runtime>::new(),
			frame_system::CheckGenesis::<Runtime>::new(),
			frame_system::CheckMortality::from(generic::Era::Immortal),
			frame_system::CheckNonce::<Runtime>::from(0),
			frame_system::CheckWeight::<Runtime>::new(),
			pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0),
			pallet_revive::evm::tx_extension::SetOrigin::<Runtime>::default(),
			frame_system::WeightReclaim::<Runtime>::new(),
		)
	}
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

// ----------------------------------------------------------------------------------------------
// Runtime APIs
// ----------------------------------------------------------------------------------------------

pallet_revive::impl_runtime_apis_plus_revive_traits!(
	Runtime,
	Revive,
	Executive,
	EthExtraImpl,

	impl sp_api::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as BlockT>::LazyBlock) {
			Executive::execute_block(block)
		}

		fn initialize_block(header: &<Block as BlockT>::Header) -> ExtrinsicInclusionMode {
			Executive::initialize_block(header)
		}
	}

	impl sp_api::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl sp_block_builder::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
			Executive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> <Block as BlockT>::Header {
			Executive::finalize_block()
		}

		fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as BlockT>::LazyBlock,
			data: sp_inherents::InherentData,
		) -> sp_inherents::CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: <Block as BlockT>::Extrinsic,
			block_hash: <Block as BlockT>::Hash,
		) -> TransactionValidity {
			Executive::validate_transaction(source, tx, block_hash)
		}
	}

	impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &<Block as BlockT>::Header) {
			Executive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl sp_session::SessionKeys<Block> for Runtime {
		fn generate_session_keys(
			owner: Vec<u8>,
			seed: Option<Vec<u8>>,
		) -> sp_session::OpaqueGeneratedSessionKeys {
			SessionKeys::generate(&owner, seed).into()
		}

		fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
			SessionKeys::decode_into_raw_public_keys(&encoded)
		}
	}

	impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
		fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
			Grandpa::grandpa_authorities()
		}

		fn current_set_id() -> sp_consensus_grandpa::SetId {
			Grandpa::current_set_id()
		}

		fn submit_report_equivocation_unsigned_extrinsic(
			_equivocation_proof: sp_consensus_grandpa::EquivocationProof<
				<Block as BlockT>::Hash,
				NumberFor<Block>,
			>,
			_key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
		) -> Option<()> {
			// Equivocation reports need historical session proofs, which this chain does not keep.
			None
		}

		fn generate_key_ownership_proof(
			_set_id: sp_consensus_grandpa::SetId,
			_authority_id: GrandpaId,
		) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
			None
		}
	}

	impl pallet_inference::runtime_api::InferenceApi<Block, AccountId, InferenceModel, InferenceRequest, InferenceResult> for Runtime {
		fn model(id: pallet_inference::ModelId) -> Option<InferenceModel> {
			pallet_inference::Models::<Runtime>::get(id)
		}
		fn model_bytes(id: pallet_inference::ModelId) -> Option<Vec<u8>> {
			let model = pallet_inference::Models::<Runtime>::get(id)?;
			(model.status != pallet_inference::ModelStatus::Uploading)
				.then(|| Inference::model_bytes(&id, model.chunks))
		}
		fn list_models(start: u32, count: u32) -> Vec<pallet_inference::ModelId> {
			pallet_inference::Models::<Runtime>::iter_keys()
				.skip(start as usize)
				.take(count.min(1000) as usize)
				.collect()
		}
		fn request(id: pallet_inference::RequestId) -> Option<InferenceRequest> {
			pallet_inference::Requests::<Runtime>::get(id)
		}
		fn request_input(id: pallet_inference::RequestId) -> Option<Vec<u8>> {
			pallet_inference::RequestInputs::<Runtime>::get(id).map(|i| i.into_inner())
		}
		fn result(id: pallet_inference::RequestId) -> Option<InferenceResult> {
			pallet_inference::Results::<Runtime>::get(id)
		}
		fn assigned(
			key: verity_primitives::InferenceAuthorityId,
			start: pallet_inference::RequestId,
			count: u32,
		) -> Vec<pallet_inference::RequestId> {
			Inference::assigned_page(&key, start, count.min(1024))
		}
		fn quote(model: pallet_inference::ModelId, input_len: u32) -> Option<u128> {
			Inference::quote(model, input_len)
		}
		fn strikes(account: AccountId) -> u32 {
			pallet_inference::Strikes::<Runtime>::get(account)
		}
		fn model_profile(id: pallet_inference::ModelId) -> Option<pallet_inference::ModelProfile<u32>> {
			pallet_inference::ModelProfiles::<Runtime>::get(id)
		}
	}

	impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
		fn account_nonce(account: AccountId) -> Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
		fn query_info(uxt: <Block as BlockT>::Extrinsic, len: u32) -> RuntimeDispatchInfo<Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(uxt: <Block as BlockT>::Extrinsic, len: u32) -> FeeDetails<Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame_benchmarking::BenchmarkList>,
			Vec<frame_support::traits::StorageInfo>,
		) {
			use frame_benchmarking::BenchmarkList;
			use frame_support::traits::StorageInfoTrait;
			use frame_system_benchmarking::Pallet as SystemBench;

			let mut list = Vec::<BenchmarkList>::new();
			list_benchmarks!(list, extra);
			(list, AllPalletsWithSystem::storage_info())
		}

		fn dispatch_benchmark(
			config: frame_benchmarking::BenchmarkConfig,
		) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
			use frame_benchmarking::BenchmarkBatch;
			use frame_support::traits::WhitelistedStorageKeys;
			use frame_system_benchmarking::Pallet as SystemBench;

			let whitelist = AllPalletsWithSystem::whitelisted_storage_keys();
			let mut batches = Vec::<BenchmarkBatch>::new();
			let params = (&config, &whitelist);
			add_benchmarks!(params, batches);
			Ok(batches)
		}
	}

	impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, genesis::get_preset)
		}

		fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
			genesis::preset_names()
		}
	}
);

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
			// A tip of 1 VRT does buy a place ahead of answers. (At 100 bytes: normal 1.8e4,
			// tipping 0.1 mVRT 1.8e12, answers 1e13, the cheapest operational 2.9e13.)
			assert!(priority(Normal, 100, UNIT) > answers);
		});
	}
}
