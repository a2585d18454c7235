//! The configuration of every pallet of the runtime (as in the polkadot-sdk solochain template:
//! `lib.rs` declares the runtime, this module configures its pallets, `apis.rs` implements its
//! runtime APIs).
use super::*;

/// ~10% of the block weight is assumed to go to `on_initialize`.
const AVERAGE_ON_INITIALIZE_RATIO: Perbill = Perbill::from_percent(10);
/// Normal extrinsics may fill 75% of a block; the rest is kept for operational ones.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
/// A third of the block time in compute (2 s per 6-second block before issue 17, 0.67 s per
/// 2-second block now: the same compute per second), so that authoring and importing a full
/// block fit well within a slot. A solochain ships no proofs, so the proof-size budget only
/// needs to be finite (pallet-revive derives gas limits from it) and large enough for the
/// biggest model hash check (16 MiB read in `complete_model_upload`).
const MAXIMUM_BLOCK_WEIGHT: Weight = Weight::from_parts(
	WEIGHT_REF_TIME_PER_MILLIS.saturating_mul(MILLISECS_PER_BLOCK / 3),
	64 * 1024 * 1024,
);

/// The number of blocks that last `millis` milliseconds (windows are set in time and follow
/// the block time).
const fn blocks(millis: u64) -> BlockNumber {
	(millis / MILLISECS_PER_BLOCK) as BlockNumber
}

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

/// A batch's weight is the sum of its calls' (each charged its own worst case) plus the
/// reference per-call overhead; `dispatch_as` and `with_weight` need root.
impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = OriginCaller;
	type WeightInfo = pallet_utility::weights::SubstrateWeight<Runtime>;
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
	type SessionRotation = SessionRotation;
}

/// Sessions rotate every `SessionPeriod` blocks, in `ValidatorSet`'s `on_initialize`:
/// `pallet-session` rotating on its own would count each rotation block as full (no
/// transaction in every tenth block; see `pallet_validator_set`).
pub struct SessionRotation;
impl pallet_validator_set::SessionRotation<BlockNumber> for SessionRotation {
	fn should_rotate(now: BlockNumber) -> bool {
		<pallet_session::PeriodicSessions<SessionPeriod, SessionOffset> as pallet_session::ShouldEndSession<BlockNumber>>::should_end_session(now)
	}

	/// Not benchmarked (pallet-session has no benchmark of a rotation, which is why it charges
	/// a full block): bounded by counting the storage it touches for `MaxValidators`
	/// validators, with room to spare. `pallet_session::rotate_session` reads each next
	/// validator's keys (`NextKeys`) and ownership, the session's own items (`CurrentIndex`,
	/// `QueuedKeys`, `QueuedChanged`, `Validators`, `DisabledValidators`), and its handlers
	/// write one value each (Aura's and the inference pallet's authority lists, GRANDPA's
	/// pending change) plus this pallet's `SetChanged` and `Validators`: at most 2 reads and one
	/// write per validator and a few dozen more. Charged: 2·V + 32 reads, V + 32 writes and 5 ms
	/// of computation (with 100 validators about 14 ms on ParityDB weights, 2 % of the compute
	/// of a 2 s block).
	fn rotate() -> Weight {
		pallet_session::Pallet::<Runtime>::rotate_session();
		let validators = u64::from(MaxValidators::get());
		<Runtime as frame_system::Config>::DbWeight::get()
			.reads_writes(2 * validators + 32, validators + 32)
			.saturating_add(Weight::from_parts(5 * WEIGHT_REF_TIME_PER_MILLIS, 64 * 1024))
	}
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
	// `ValidatorSet` rotates the sessions (`SessionRotation` above).
	type ShouldEndSession = pallet_validator_set::NeverEndSession;
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
	/// 1 MiB each (issue 14; 64 KiB before): a 3x224x224 f32 image is 602 KB. A 1 MiB input
	/// is a 1 MiB transaction (3.75 MiB of normal transactions fit a block); a 1 MiB output goes
	/// on chain once per request (identical outputs are revealed by reference).
	pub const MaxInputBytes: u32 = 1024 * 1024;
	pub const MaxOutputBytes: u32 = 1024 * 1024;
	pub const MaxCommittee: u32 = 16;
	pub QuorumRatio: Perbill = Perbill::from_rational(2u32, 3u32);
	pub const MaxPendingRequests: u32 = 1024;
	/// Requests sharing a deadline (and so expiring, or pruned, in one block): 256 per 6 s
	/// before issue 17, 85 per 2 s block now. `on_initialize` is charged ~4.75 ms per expired
	/// request (worst case: a committee of `MaxCommittee`), so a block where 85 expire spends
	/// ~0.45 s of its 0.67 s there (~68 %, the share 256 had of a 6 s block); 256 would have
	/// been charged 1.3 s, twice a 2 s block.
	pub const MaxRequestsPerBlock: u32 = (256 * MILLISECS_PER_BLOCK / 6_000) as u32;
	/// A minute (10 blocks of 6 s before issue 17).
	pub const DefaultInferenceTimeout: BlockNumber = MINUTES;
	pub const MaxInferenceTimeout: BlockNumber = HOURS;
	pub const ResultRetention: BlockNumber = DAYS;
	/// Pool priority of answers (commitments, reveals): above ordinary transactions that tip
	/// less than 0.1 mVRT, below every operational one (`answers_rank_above_normal_and_below_
	/// operational_transactions`). It was `u64::MAX / 2`, above everything; 1e13 with 6 s
	/// blocks. Pool priorities scale with the transactions that fit a block, a third of them
	/// since blocks are 2 s: 3e12.
	pub const InferenceUnsignedPriority: u64 = 3_000_000_000_000;
	pub const InferenceExpiryFee: Perbill = Perbill::from_percent(10);
	/// Fee floor per committee member and byte of input and largest output: 0.1 nVRT. It was
	/// 1 nVRT while outputs were at most 64 KiB and every member put its output on chain; now a
	/// model with dynamic output dimensions is priced for 1 MiB (16 times more bytes) and
	/// identical outputs go on chain once (`Reveal::SameOutput`), so the committee factor
	/// counts them 3-16 times: 3 members cost ~0.42 mVRT for such a model with the retained
	/// bytes (0.2 mVRT before).
	pub const AnswerByteFee: Balance = MICRO_UNIT / 10_000;
	/// Fee floor per byte of input and largest output that the chain keeps for
	/// `ResultRetention` (a day): 0.1 nVRT, 1 MiB kept costs ~0.1 mVRT.
	pub const RetainedByteFee: Balance = MICRO_UNIT / 10_000;
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
	// How long the claim that keeps overlapping off-chain-worker runs from running a request
	// twice lasts: 30 s, longer than the commit window, so a request is never run twice (a
	// commitment that did not land is sent again from the kept answer, one block later).
	type ResubmitAfter = ConstU32<{ blocks(30_000) }>;
	type MaxFailuresInRow = ConstU32<3>;
	// Answers are committed in the block after the request; a member that stays silent delays
	// the reveals by at most this many blocks: 18 s (3 blocks of 6 s before issue 17), the
	// off-chain workers' time to run a block's worth of requests under load.
	type CommitWindow = ConstU32<{ blocks(18_000) }>;
	// Hosted models: up to 2 GiB (the largest ONNX protobuf; workers need the memory to load
	// it, `--inference-memory-mib`), fetched by the committee's nodes within 10 minutes
	// (2 GiB at 4 MB/s) before they run the readiness probe.
	type MaxHostedModelBytes = ConstU32<{ 2 << 30 }>;
	type HostedFetchWindow = ConstU32<{ blocks(600_000) }>;
	// 1/16 of the pending set: filling it takes 16 funded accounts.
	type MaxPendingPerAccount = ConstU32<64>;
	// Members that ran an expired request's model keep a tenth of its fee.
	type ExpiryFee = InferenceExpiryFee;
	type AnswerByteFee = AnswerByteFee;
	type RetainedByteFee = RetainedByteFee;
	// A day to upload up to 16 chunks; then an incomplete registration is cleared (1 VRT of
	// its deposit burnt).
	type UploadWindow = ConstU32<DAYS>;
	type MaxUploadsPerBlock = ConstU32<16>;
	// A reveal is charged its worst case up front: 2.1 MB of proof (16 earlier 64 KiB outputs
	// read, a 1 MiB callback) and ~55 ms, nearly all of it the largest callback (50 ms); what it
	// did not use is refunded after dispatch. The author adds a batch only while the block has
	// its whole declared weight left: with 6 s blocks (1.5 s of normal weight) batches of 8
	// (0.44 s declared) fit; a 2 s block has 0.5 s, which 8 would nearly fill, so batches of 4
	// (0.22 s): a block takes batches until its used weight reaches ~0.28 s (~180 reveals of
	// small models without callbacks, measured in docs/benchmarks.md, issue 17).
	type MaxRevealsPerBatch = ConstU32<4>;
	type OnDissent = ();
	// Contracts that asked for it get `onInferenceResult` called when their result is final.
	type ResultCallback = pallet_inference_precompile::ContractCallback<Runtime>;
	type CallbackFee = TransactionFee;
	type WeightInfo = pallet_inference::weights::SubstrateWeight<Runtime>;
}

/// Callback weight is prepaid as gas, at the transaction fee: refunds are priced the same way.
pub struct TransactionFee;

impl pallet_inference::CallbackFee<Balance> for TransactionFee {
	fn multiplier() -> Multiplier {
		pallet_transaction_payment::NextFeeMultiplier::<Runtime>::get()
	}
	fn weight_to_fee(weight: &Weight) -> Balance {
		<<Runtime as pallet_transaction_payment::Config>::WeightToFee as frame_support::weights::WeightToFee>::weight_to_fee(
			weight,
		)
	}
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
