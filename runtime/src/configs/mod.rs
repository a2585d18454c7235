//! The configuration of every pallet of the runtime (as in the polkadot-sdk solochain template:
//! `lib.rs` declares the runtime, this module configures its pallets, `apis.rs` implements its
//! runtime APIs).
use super::*;

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
		tx_extension(0, 0)
	}
}
