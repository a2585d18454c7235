//! A mock runtime with real balances (holds) and real sr25519 executor keys.
use crate as pallet_inference;
use frame_support::{
	derive_impl, parameter_types,
	traits::{ConstU32, ConstU64},
};
use sp_core::{sr25519, Pair};
use sp_runtime::{BuildStorage, Perbill};
use verity_primitives::InferenceAuthorityId;

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u128;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Inference: pallet_inference,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type AccountStore = System;
	type ExistentialDeposit = ConstU128<1>;
	type RuntimeHoldReason = RuntimeHoldReason;
}
use frame_support::traits::ConstU128;

type TxExtension = frame_system::AuthorizeCall<Test>;
pub type Extrinsic = sp_runtime::testing::TestXt<RuntimeCall, TxExtension>;

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type RuntimeCall = RuntimeCall;
	type Extrinsic = Extrinsic;
}

impl<LocalCall> frame_system::offchain::CreateTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	type Extension = TxExtension;
	fn create_transaction(call: RuntimeCall, extension: Self::Extension) -> Extrinsic {
		Extrinsic::new_transaction(call, extension)
	}
}

impl<LocalCall> frame_system::offchain::CreateAuthorizedTransaction<LocalCall> for Test
where
	RuntimeCall: From<LocalCall>,
{
	fn create_extension() -> Self::Extension {
		TxExtension::new()
	}
}

pub const MODEL_DEPOSIT_BASE: Balance = 100;
pub const MODEL_DEPOSIT_PER_BYTE: Balance = 1;
pub const DEFAULT_COMMITTEE: u32 = 5;
pub const MAX_PENDING: u32 = 4;
pub const MAX_PER_BLOCK: u32 = 3;
pub const DEFAULT_TIMEOUT: u64 = 5;
/// Blocks a committee has to commit to its answers.
pub const COMMIT_WINDOW: u64 = 2;
/// Commit window of a hosted model's probe.
pub const HOSTED_FETCH_WINDOW: u64 = 20;
pub const RETENTION: u64 = 20;
/// Blocks a registration has to complete its upload.
pub const UPLOAD_WINDOW: u64 = 30;

parameter_types! {
	pub QuorumRatio: Perbill = Perbill::from_rational(2u32, 3u32);
	pub ExpiryFee: Perbill = Perbill::from_percent(10);
	pub static AnswerByteFee: u128 = 0;
	pub static RetainedByteFee: u128 = 0;
	pub static MaxCommittee: u32 = DEFAULT_COMMITTEE;
	pub static MaxPendingPerAccount: u32 = MAX_PENDING;
	pub static MaxOutputBytes: u32 = 256;
}

impl pallet_inference::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MaxModelBytes = ConstU32<1000>;
	type MaxChunkBytes = ConstU32<100>;
	type ModelDepositBase = ConstU128<MODEL_DEPOSIT_BASE>;
	type ModelDepositPerByte = ConstU128<MODEL_DEPOSIT_PER_BYTE>;
	type MaxInputBytes = ConstU32<256>;
	type MaxOutputBytes = MaxOutputBytes;
	type MaxExecutors = ConstU32<8>;
	type MaxCommittee = MaxCommittee;
	type QuorumRatio = QuorumRatio;
	type MaxPendingRequests = ConstU32<MAX_PENDING>;
	type MaxRequestsPerBlock = ConstU32<MAX_PER_BLOCK>;
	type DefaultTimeout = frame_support::traits::ConstU64<DEFAULT_TIMEOUT>;
	type MaxTimeout = frame_support::traits::ConstU64<50>;
	type ResultRetention = frame_support::traits::ConstU64<RETENTION>;
	type UnsignedPriority = frame_support::traits::ConstU64<1000>;
	type MaxRunsPerBlock = ConstU32<4>;
	type MaxOffchainMillis = ConstU64<2_000>;
	type ResubmitAfter = frame_support::traits::ConstU64<3>;
	type MaxFailuresInRow = frame_support::traits::ConstU32<3>;
	type CommitWindow = frame_support::traits::ConstU64<COMMIT_WINDOW>;
	type MaxHostedModelBytes = frame_support::traits::ConstU32<{ 2 << 30 }>;
	type HostedFetchWindow = frame_support::traits::ConstU64<HOSTED_FETCH_WINDOW>;
	type MaxPendingPerAccount = MaxPendingPerAccount;
	type ExpiryFee = ExpiryFee;
	type AnswerByteFee = AnswerByteFee;
	type RetainedByteFee = RetainedByteFee;
	type UploadWindow = frame_support::traits::ConstU64<UPLOAD_WINDOW>;
	type MaxUploadsPerBlock = ConstU32<2>;
	type MaxRevealsPerBatch = ConstU32<4>;
	type OnDissent = ();
	type ResultCallback = RecordingCallback;
	type CallbackFee = MockFee;
	type WeightInfo = ();
}

parameter_types! {
	/// The fee multiplier of the block (recorded with each callback).
	pub static FeeMultiplier: sp_runtime::FixedU128 = sp_runtime::FixedU128::from_u32(1);
}

/// Prices weight like pallet-revive's `BlockRatioFee`: the larger of a ref-time part (a unit per
/// 1000 ref time) and a proof-size part (a unit per proof byte).
pub struct MockFee;
impl pallet_inference::CallbackFee<Balance> for MockFee {
	fn multiplier() -> sp_runtime::FixedU128 {
		FeeMultiplier::get()
	}
	fn weight_to_fee(weight: &frame_support::weights::Weight) -> Balance {
		(weight.ref_time() as Balance / 1000).max(weight.proof_size() as Balance)
	}
}

/// Most weight a mock callback may be given.
pub const MAX_CALLBACK: frame_support::weights::Weight =
	frame_support::weights::Weight::from_parts(1_000_000, 10_000);

std::thread_local! {
	/// Callbacks delivered: (request, requester, output).
	pub static DELIVERED: core::cell::RefCell<Vec<(u64, AccountId, Vec<u8>)>> = Default::default();
	/// Expiry callbacks delivered: (request, requester, reason).
	pub static EXPIRIES_DELIVERED: core::cell::RefCell<Vec<(u64, AccountId, pallet_inference::ExpiryReason)>> =
		Default::default();
	/// Failure callbacks delivered: (request, requester, kind).
	pub static FAILURES_DELIVERED: core::cell::RefCell<Vec<(u64, AccountId, pallet_inference::FailureKind)>> =
		Default::default();
}

/// Records every delivery; a callback "fails" (as a reverting contract would) for odd request
/// ids, and uses half of its limit.
pub struct RecordingCallback;
impl pallet_inference::ResultCallback<AccountId> for RecordingCallback {
	fn max_weight() -> frame_support::weights::Weight {
		MAX_CALLBACK
	}
	fn deliver(
		request_id: u64,
		requester: &AccountId,
		output: &[u8],
		limit: frame_support::weights::Weight,
	) -> (bool, frame_support::weights::Weight) {
		DELIVERED.with(|d| d.borrow_mut().push((request_id, *requester, output.to_vec())));
		(request_id.is_multiple_of(2), limit / 2)
	}
	fn deliver_failure(
		request_id: u64,
		requester: &AccountId,
		kind: pallet_inference::FailureKind,
		limit: frame_support::weights::Weight,
	) -> (bool, frame_support::weights::Weight) {
		FAILURES_DELIVERED.with(|d| d.borrow_mut().push((request_id, *requester, kind)));
		(true, limit / 4)
	}
	fn deliver_expiry(
		request_id: u64,
		requester: &AccountId,
		reason: pallet_inference::ExpiryReason,
		limit: frame_support::weights::Weight,
	) -> (bool, frame_support::weights::Weight) {
		EXPIRIES_DELIVERED.with(|d| d.borrow_mut().push((request_id, *requester, reason)));
		(true, limit / 3)
	}
}

/// Accounts: 1 and 2 are users, 10.. are validators (executor i has account 10 + i).
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const POOR: AccountId = 3;
pub const INITIAL: Balance = 1_000_000;

pub fn executor_pair(i: u8) -> sr25519::Pair {
	sr25519::Pair::from_seed(&[i + 1; 32])
}

pub fn executor_key(i: u8) -> InferenceAuthorityId {
	executor_pair(i).public().into()
}

pub fn executor_account(i: u8) -> AccountId {
	10 + i as AccountId
}

pub fn new_test_ext(executors: u8) -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut balances = vec![(ALICE, INITIAL), (BOB, INITIAL), (POOR, 50)];
	balances.extend((0..executors).map(|i| (executor_account(i), INITIAL)));
	pallet_balances::GenesisConfig::<Test> { balances, ..Default::default() }
		.assimilate_storage(&mut storage)
		.unwrap();
	let mut ext: sp_io::TestExternalities = storage.into();
	// Benchmarks generate executor keys in a keystore.
	ext.register_extension(sp_keystore::KeystoreExt::new(
		sp_keystore::testing::MemoryKeystore::new(),
	));
	ext.execute_with(|| {
		System::set_block_number(1);
		let accounts: Vec<AccountId> = (0..executors).map(executor_account).collect();
		<Inference as frame_support::traits::OneSessionHandler<AccountId>>::on_genesis_session(
			accounts.iter().zip((0..executors).map(executor_key)),
		);
	});
	ext
}
