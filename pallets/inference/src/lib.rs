//! # Inference pallet
//!
//! Turns "run this model on this input" into a result that a quorum of validators has checked
//! and that the chain stands behind.
//!
//! - **Models** are content-addressed (blake2-256 of the ONNX bytes). `register_model` declares
//!   the hash, size, tensor specs, agreement tolerance and fee, and holds a deposit per byte;
//!   the bytes follow in chunks (`upload_model_chunk`, as many blocks as needed) and
//!   `complete_model_upload` checks the hash. `retire_model` stops new requests;
//!   `remove_model` deletes the bytes and releases the deposit once nothing is pending.
//! - **Requests**: `request_inference` checks the input against the model's spec, holds the fee
//!   in escrow and fixes a committee of executors (the validators' `infr` keys, see
//!   [`committee`]) and a deadline.
//! - **Commit–reveal** ([`commit`]): committee members first commit to their answers
//!   (`commit_answers`: one signed batch per validator and block, each commitment a salted hash
//!   of the answer), then reveal them once the commit phase is over (every member committed, or
//!   `CommitWindow` blocks passed). A member that did not compute an answer has nothing to commit
//!   to, and once answers are public nobody can commit any more: copying does not pay.
//! - **Results**: revealed as signed, authorized (feeless, unsigned) transactions, one per member
//!   and request. As soon as `Quorum` results agree within the model's tolerance
//!   ([`verity_primitives::agreement`]), the request is finalized in that same block: the result
//!   and its provenance are stored, the fee is split among the agreeing validators (the
//!   remainder refunded), and dissenters get a strike.
//! - **Agreed failures** ([`failures`]): a member that cannot answer (model refused, time or
//!   memory limit, output too large or off-spec) submits a signed failure of that kind; a
//!   quorum on one kind ends the request as failed, paying those members. `MaxFailuresInRow`
//!   agreed failures in a row suspend the model.
//! - **Expiry and retention**: a request without quorum at its deadline is expired; the members
//!   that committed to an answer (they ran the model) share `ExpiryFee` of its fee, the rest is
//!   refunded (all of it when nobody committed). One account has at most
//!   `MaxPendingPerAccount` requests pending, so no single account fills the pending set. Every request (finalized or expired) and its input and result are pruned
//!   `ResultRetention` blocks after its deadline.
//!
//! Every storage item is bounded; the pure logic (tensor codec, spec check, tolerance,
//! agreement) lives in `verity-primitives`, committee drawing in [`committee`].
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod commit;
pub mod committee;
mod failures;
#[cfg(test)]
mod mock;
pub mod offchain;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use codec::Encode;
use frame_support::{
	traits::{
		fungible::{Inspect, InspectHold, Mutate, MutateHold},
		tokens::{Fortitude, Precision, Restriction},
		OneSessionHandler,
	},
	weights::Weight,
	BoundedVec,
};
use sp_core::{Get, H256};
use sp_runtime::{
	traits::{Saturating, Zero},
	transaction_validity::{
		InvalidTransaction, TransactionSource, TransactionValidityWithRefund, ValidTransaction,
	},
	Perbill, RuntimeAppPublic,
};
use verity_primitives::{
	agreement::{leader, outputs_agree, quorum, Support},
	spec::{self, SpecMismatch},
	tensor, InferenceAuthorityId,
};

/// Balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// Block number type of the runtime.
pub type BlockNumberOf<T> = frame_system::pallet_prelude::BlockNumberFor<T>;
/// A model as stored.
pub type ModelOf<T> =
	ModelInfo<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberOf<T>>;
/// A request as stored.
pub type RequestOf<T> = Request<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberOf<T>,
	<T as Config>::MaxCommittee,
>;
/// A result as stored.
pub type ResultOf<T> = InferenceResult<
	<T as frame_system::Config>::AccountId,
	BlockNumberOf<T>,
	<T as Config>::MaxCommittee,
	<T as Config>::MaxOutputBytes,
>;
/// A result submission.
pub type SubmissionOf<T> = ResultSubmission<<T as Config>::MaxOutputBytes>;
/// A batch of commitments (at most `MaxRunsPerBlock`, what one off-chain worker run answers).
pub type CommitBatchOf<T> = CommitBatch<<T as Config>::MaxRunsPerBlock>;

/// Called for each validator whose result disagreed with a finalized result: a hook for
/// slashing or reputation. `()` only records the strike.
pub trait OnDissent<AccountId> {
	fn on_dissent(validator: &AccountId, request: RequestId, strikes: u32);
}

impl<AccountId> OnDissent<AccountId> for () {
	fn on_dissent(_: &AccountId, _: RequestId, _: u32) {}
}

/// Delivers a finalized result to its requester, when the request asked for a callback (the
/// runtime calls the requesting contract's `onInferenceResult`). Whatever the callback does
/// (revert, run out of its weight), finalization stands: the result is stored and paid before
/// the callback runs.
pub trait ResultCallback<AccountId> {
	/// Most weight one callback may be given; every result submission is charged this up front
	/// and refunded what the callback did not use.
	fn max_weight() -> Weight;
	/// Calls back `requester` with the result of `request_id`, within `limit`. Returns whether
	/// the callback succeeded and the weight it used.
	fn deliver(
		request_id: RequestId,
		requester: &AccountId,
		output: &[u8],
		limit: Weight,
	) -> (bool, Weight);
	/// Tells `requester` that request `request_id` ended as an agreed failure of `kind`,
	/// within `limit`. Returns whether the callback succeeded and the weight it used.
	fn deliver_failure(
		request_id: RequestId,
		requester: &AccountId,
		kind: FailureKind,
		limit: Weight,
	) -> (bool, Weight);
}

impl<AccountId> ResultCallback<AccountId> for () {
	fn max_weight() -> Weight {
		Weight::zero()
	}
	fn deliver(_: RequestId, _: &AccountId, _: &[u8], _: Weight) -> (bool, Weight) {
		(false, Weight::zero())
	}
	fn deliver_failure(_: RequestId, _: &AccountId, _: FailureKind, _: Weight) -> (bool, Weight) {
		(false, Weight::zero())
	}
}

/// Why a request ended without a result.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	scale_info::TypeInfo,
)]
pub enum ExpiryReason {
	/// The deadline passed without a quorum.
	Deadline,
	/// Every committee member answered and no quorum agrees.
	NoAgreement,
}

/// `InvalidTransaction::Custom` codes of rejected result submissions.
pub mod invalid_codes {
	/// The output is not a valid tensor list or does not match the model's output spec.
	pub const MALFORMED_OUTPUT: u8 = 1;
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Reasons for the funds this pallet holds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Deposit of a model owner, per stored byte.
		ModelDeposit,
		/// Fee of a pending request, until it is paid out or refunded.
		RequestEscrow,
	}

	#[pallet::config]
	pub trait Config:
		frame_system::Config + frame_system::offchain::CreateAuthorizedTransaction<Call<Self>>
	{
		/// Holds deposits and escrowed fees; pays validators.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ InspectHold<Self::AccountId>;
		/// The runtime's hold reasons.
		type RuntimeHoldReason: From<HoldReason>;
		/// Largest ONNX model, in bytes.
		#[pallet::constant]
		type MaxModelBytes: Get<u32>;
		/// Largest upload chunk, in bytes.
		#[pallet::constant]
		type MaxChunkBytes: Get<u32>;
		/// Deposit per model, on top of the per-byte deposit.
		#[pallet::constant]
		type ModelDepositBase: Get<BalanceOf<Self>>;
		/// Deposit per model byte.
		#[pallet::constant]
		type ModelDepositPerByte: Get<BalanceOf<Self>>;
		/// Largest encoded input of a request.
		#[pallet::constant]
		type MaxInputBytes: Get<u32>;
		/// Largest encoded output of a result.
		#[pallet::constant]
		type MaxOutputBytes: Get<u32>;
		/// Most executors (active validators with an `infr` key).
		#[pallet::constant]
		type MaxExecutors: Get<u32>;
		/// Committee size: requests are attested by all executors up to this many, else by this
		/// many drawn at random.
		#[pallet::constant]
		type MaxCommittee: Get<u32>;
		/// Share of the committee that must agree: quorum = ceil(ratio * committee).
		#[pallet::constant]
		type QuorumRatio: Get<Perbill>;
		/// Most requests pending at once.
		#[pallet::constant]
		type MaxPendingRequests: Get<u32>;
		/// Most requests sharing one deadline block (i.e. made in one block with one timeout).
		#[pallet::constant]
		type MaxRequestsPerBlock: Get<u32>;
		/// Blocks a request stays open when the requester names no timeout.
		#[pallet::constant]
		type DefaultTimeout: Get<BlockNumberFor<Self>>;
		/// Longest timeout a requester may ask for.
		#[pallet::constant]
		type MaxTimeout: Get<BlockNumberFor<Self>>;
		/// Blocks after its deadline that a request, its input and its result are kept.
		#[pallet::constant]
		type ResultRetention: Get<BlockNumberFor<Self>>;
		/// Priority of result submissions in the transaction pool.
		#[pallet::constant]
		type UnsignedPriority: Get<TransactionPriority>;
		/// Most requests one validator's off-chain worker runs per block (bounds its work).
		#[pallet::constant]
		type MaxRunsPerBlock: Get<u32>;
		/// Wall-clock budget of one off-chain worker run, in milliseconds: it starts no new
		/// model run after that (results must reach the next block's author in time).
		#[pallet::constant]
		type MaxOffchainMillis: Get<u64>;
		/// Blocks after which an off-chain worker retries a request it answered but whose
		/// result did not land (e.g. a dropped transaction).
		#[pallet::constant]
		type ResubmitAfter: Get<BlockNumberFor<Self>>;
		/// Agreed failures in a row after which a model is suspended (takes no new requests).
		#[pallet::constant]
		type MaxFailuresInRow: Get<u32>;
		/// Most requests one account may have pending (a share of `MaxPendingRequests`, so that
		/// one account cannot take the whole pending set).
		#[pallet::constant]
		type MaxPendingPerAccount: Get<u32>;
		/// Share of the fee of an expired request that pays the members who committed to an
		/// answer (they ran the model); the rest is refunded.
		#[pallet::constant]
		type ExpiryFee: Get<Perbill>;
		/// Blocks after a request during which its committee commits to answers (at most until
		/// the block before its deadline); reveals start once all members committed or this
		/// window is over.
		#[pallet::constant]
		type CommitWindow: Get<BlockNumberFor<Self>>;
		/// Hook for dissenting validators.
		type OnDissent: OnDissent<Self::AccountId>;
		/// Calls requesters back with their results (contracts' `onInferenceResult`).
		type ResultCallback: ResultCallback<Self::AccountId>;
		/// Weights of this pallet.
		type WeightInfo: WeightInfo;
	}

	/// Registered models by content hash.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Identity, ModelId, ModelOf<T>>;

	/// Model bytes, in upload order: `(model, chunk index) -> bytes`.
	#[pallet::storage]
	pub type ModelChunks<T: Config> =
		StorageDoubleMap<_, Identity, ModelId, Twox64Concat, u32, BoundedVec<u8, T::MaxChunkBytes>>;

	/// Pending requests per model (a model with pending requests cannot be removed).
	#[pallet::storage]
	pub type PendingByModel<T: Config> = StorageMap<_, Identity, ModelId, u32, ValueQuery>;

	/// Id of the next request.
	#[pallet::storage]
	pub type NextRequestId<T: Config> = StorageValue<_, RequestId, ValueQuery>;

	/// Number of pending requests (bounded by `MaxPendingRequests`).
	#[pallet::storage]
	pub type PendingCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Requests, pending, finalized or expired, until pruned.
	#[pallet::storage]
	pub type Requests<T: Config> = StorageMap<_, Twox64Concat, RequestId, RequestOf<T>>;

	/// Encoded input tensors of each request (validators read them; users re-check results).
	#[pallet::storage]
	pub type RequestInputs<T: Config> =
		StorageMap<_, Twox64Concat, RequestId, BoundedVec<u8, T::MaxInputBytes>>;

	/// Results submitted for pending requests: `(request, committee index) -> output`.
	#[pallet::storage]
	pub type Submissions<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		RequestId,
		Twox64Concat,
		u32,
		BoundedVec<u8, T::MaxOutputBytes>,
	>;

	/// For each submitted result, its submission order and which committee members' results
	/// agree with it, kept up to date as results arrive (each new result is compared once with
	/// each earlier one: linear work per submission).
	#[pallet::storage]
	pub type SubmissionSupport<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Twox64Concat, u32, Support>;

	/// Requests whose requester is called back on finalization, with the weight prepaid for it
	/// (at most `ResultCallback::max_weight`). Removed when the request concludes.
	#[pallet::storage]
	pub type Callbacks<T: Config> = StorageMap<_, Twox64Concat, RequestId, Weight>;

	/// Finalized results with their provenance.
	#[pallet::storage]
	pub type Results<T: Config> = StorageMap<_, Twox64Concat, RequestId, ResultOf<T>>;

	/// Requests to expire (if still pending) at the start of a block.
	#[pallet::storage]
	pub type ExpiryQueue<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<RequestId, T::MaxRequestsPerBlock>,
		ValueQuery,
	>;

	/// Requests to delete at the start of a block (their retention ended).
	#[pallet::storage]
	pub type PruneQueue<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<RequestId, T::MaxRequestsPerBlock>,
		ValueQuery,
	>;

	/// Failures reported for pending requests: `(request, committee index) -> kind`. A member
	/// answers once: with a result (`Submissions`) or with a failure (here).
	#[pallet::storage]
	pub type FailureVotes<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Twox64Concat, u32, FailureKind>;

	/// Commitments to answers of pending requests: `(request, committee index) -> commitment`.
	#[pallet::storage]
	pub type Commitments<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		RequestId,
		Twox64Concat,
		u32,
		Commitment<BlockNumberFor<T>>,
	>;

	/// Pending requests per requester (bounded by `MaxPendingPerAccount`).
	#[pallet::storage]
	pub type PendingByAccount<T: Config> =
		StorageMap<_, Twox64Concat, T::AccountId, u32, ValueQuery>;

	/// Number of commitments per pending request (the commit phase ends when all members
	/// committed).
	#[pallet::storage]
	pub type CommitCounts<T: Config> = StorageMap<_, Twox64Concat, RequestId, u32, ValueQuery>;

	/// Agreed failures in a row per model (reset by a result); at `MaxFailuresInRow` the model
	/// is suspended.
	#[pallet::storage]
	pub type FailureStreak<T: Config> = StorageMap<_, Identity, ModelId, u32, ValueQuery>;

	/// Disagreeing results per validator account, ever (a slashing hook sees each new one).
	#[pallet::storage]
	pub type Strikes<T: Config> = StorageMap<_, Twox64Concat, T::AccountId, u32, ValueQuery>;

	/// The executors of the current session: active validators and their `infr` keys.
	#[pallet::storage]
	pub type Executors<T: Config> =
		StorageValue<_, BoundedVec<Executor<T::AccountId>, T::MaxExecutors>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model was registered; its bytes are to be uploaded.
		ModelRegistered { model: ModelId, owner: T::AccountId, size: u32, deposit: BalanceOf<T> },
		/// A chunk of a model was stored.
		ModelChunkUploaded { model: ModelId, uploaded: u32, size: u32 },
		/// All bytes are in and match the hash: the model takes requests.
		ModelActivated { model: ModelId },
		/// The model takes no new requests.
		ModelRetired { model: ModelId },
		/// The model and its bytes were deleted and its deposit released.
		ModelRemoved { model: ModelId, deposit_released: BalanceOf<T> },
		/// A request was made; its fee is in escrow.
		InferenceRequested {
			request_id: RequestId,
			requester: T::AccountId,
			model: ModelId,
			input_hash: H256,
			fee: BalanceOf<T>,
			committee: u32,
			quorum: u32,
			deadline: BlockNumberFor<T>,
		},
		/// A committee member submitted a result.
		ResultSubmitted { request_id: RequestId, executor: T::AccountId },
		/// The requester was called back with its result; `success` is false when the callback
		/// reverted or ran out of its prepaid weight (the result stands either way).
		CallbackDelivered { request_id: RequestId, success: bool, weight_used: Weight },
		/// A quorum agreed: the result is stored and the agreeing validators were paid.
		InferenceFinalized {
			request_id: RequestId,
			model: ModelId,
			output_hash: H256,
			attesters: u32,
			dissenters: u32,
			paid: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
		/// A validator's result disagreed with a finalized result.
		ValidatorStruck { validator: T::AccountId, request_id: RequestId, strikes: u32 },
		/// A request ended without a result: `paid` went to the members that committed to an
		/// answer (`ExpiryFee` of the fee, split), the rest was refunded.
		RequestExpired {
			request_id: RequestId,
			refunded: BalanceOf<T>,
			reason: ExpiryReason,
			paid: BalanceOf<T>,
		},
		/// A request, its input and its result were deleted after their retention period.
		RequestPruned { request_id: RequestId },
		/// A new session started with `count` executors.
		ExecutorsChanged { count: u32 },
		/// A committee member reported that it could not answer.
		FailureSubmitted { request_id: RequestId, executor: T::AccountId, kind: FailureKind },
		/// A quorum reported the same failure: the request ends without a result and the fee
		/// paid the members who reported it.
		InferenceFailed {
			request_id: RequestId,
			model: ModelId,
			kind: FailureKind,
			attesters: u32,
			paid: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
		/// `MaxFailuresInRow` agreed failures in a row: the model takes no new requests.
		ModelSuspended { model: ModelId, failures: u32 },
		/// A committee member committed to its answer (revealed after the commit phase).
		AnswerCommitted { request_id: RequestId, executor: T::AccountId },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// A model with this hash is already registered.
		ModelAlreadyRegistered,
		/// The model is larger than `MaxModelBytes`.
		ModelTooLarge,
		/// A model must have at least one byte.
		EmptyModel,
		/// The input spec is empty or has an empty, non-UTF-8 or duplicate name.
		BadInputSpec,
		/// The output spec is empty or has an empty, non-UTF-8 or duplicate name.
		BadOutputSpec,
		/// No model with this hash.
		UnknownModel,
		/// Only the model's owner may do this.
		NotModelOwner,
		/// The model's bytes are already complete.
		ModelNotUploading,
		/// The chunk is empty.
		EmptyChunk,
		/// The chunk goes past the declared model size.
		ChunkExceedsModelSize,
		/// Not all bytes have been uploaded yet.
		UploadIncomplete,
		/// The uploaded bytes do not hash to the model id.
		ModelHashMismatch,
		/// The model does not take requests (still uploading, or retired).
		ModelNotActive,
		/// The model has pending requests.
		ModelHasPendingRequests,
		/// The input is not a valid tensor list (see docs/tensor-format.md).
		InputUndecodable,
		/// The input has a different number of tensors than the model's inputs.
		InputTensorCount,
		/// An input tensor's name differs from the model's input at that position.
		InputTensorName,
		/// An input tensor's element type differs from the model's.
		InputTensorDType,
		/// An input tensor's rank or a fixed dimension differs from the model's.
		InputTensorShape,
		/// The model's fee is above the requester's `max_fee`.
		FeeAboveMax,
		/// The fee cannot be held (balance too low).
		InsufficientBalance,
		/// A timeout under two blocks (answers are committed in one block, revealed in a later
		/// one).
		TimeoutTooShort,
		/// A timeout above `MaxTimeout`.
		TimeoutTooLong,
		/// The prepaid callback weight is above `ResultCallback::max_weight`.
		CallbackTooHeavy,
		/// No executors: no validator has an inference key this session.
		NoExecutors,
		/// `MaxPendingRequests` requests are pending; try again later.
		TooManyPendingRequests,
		/// `MaxRequestsPerBlock` requests already expire at that block; pick another timeout
		/// or try in the next block.
		DeadlineSlotFull,
		/// No request with this id (never made, or pruned).
		UnknownRequest,
		/// The request is finalized or expired.
		RequestNotPending,
		/// The deadline of the request has passed.
		DeadlinePassed,
		/// The signer is not in the request's committee.
		NotInCommittee,
		/// This committee member already submitted a result for the request.
		DuplicateResult,
		/// The output is not a valid tensor list or does not match the model's output spec.
		MalformedOutput,
		/// Every chunk but the last must be exactly `MaxChunkBytes` long.
		ChunkNotFull,
		/// The member committed to no answer for this request: it cannot reveal one.
		NotCommitted,
		/// The revealed answer and salt do not hash to the member's commitment.
		CommitmentMismatch,
		/// Answers are revealed only after the commit phase (in a later block than the
		/// commitment, once all members committed or the commit window is over).
		CommitPhaseOpen,
		/// The commit phase of the request is over: no more commitments.
		CommitPhaseClosed,
		/// This member already committed to an answer for the request.
		AlreadyCommitted,
		/// A commit batch must hold at least one commitment, each request once.
		BadCommitBatch,
		/// This account has `MaxPendingPerAccount` requests pending; wait for one to end.
		TooManyPendingForAccount,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let expired = ExpiryQueue::<T>::take(now);
			let mut expired_count = 0u32;
			let mut paid_members = 0u32;
			let retention_end = now.saturating_add(T::ResultRetention::get());
			for id in expired.iter() {
				if let Some(request) = Requests::<T>::get(id) {
					if request.status == RequestStatus::Pending {
						paid_members += Self::expire(*id, request, ExpiryReason::Deadline);
						expired_count += 1;
					}
				}
			}
			let scheduled = expired.len() as u32;
			if scheduled > 0 {
				// Same bound as the expiry queue: one source, one destination block.
				PruneQueue::<T>::insert(retention_end, expired);
			}
			let pruned = PruneQueue::<T>::take(now);
			for id in pruned.iter() {
				Self::prune(*id);
			}
			T::WeightInfo::on_initialize(scheduled, expired_count, pruned.len() as u32)
				.saturating_add(Self::expiry_payout_weight(expired_count, paid_members))
		}

		/// Validators holding an `infr` key run the requests assigned to them (see
		/// [`offchain`]).
		fn offchain_worker(now: BlockNumberFor<T>) {
			offchain::run::<T>(now);
		}

		fn integrity_test() {
			assert!(
				T::MaxCommittee::get() <= verity_primitives::agreement::MAX_MEMBERS,
				"agreement masks name at most 64 committee members"
			);
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register a model by the blake2-256 hash of its ONNX bytes. Holds
		/// `ModelDepositBase + size * ModelDepositPerByte` from the caller until removal. The
		/// bytes follow with `upload_model_chunk` and `complete_model_upload`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_model())]
		pub fn register_model(
			origin: OriginFor<T>,
			model: ModelId,
			size: u32,
			inputs: spec::TensorSpecs,
			outputs: spec::TensorSpecs,
			tolerance: verity_primitives::agreement::Tolerance,
			fee: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			ensure!(!Models::<T>::contains_key(model), Error::<T>::ModelAlreadyRegistered);
			ensure!(size > 0, Error::<T>::EmptyModel);
			ensure!(size <= T::MaxModelBytes::get(), Error::<T>::ModelTooLarge);
			spec::validate_specs(&inputs).map_err(|_| Error::<T>::BadInputSpec)?;
			spec::validate_specs(&outputs).map_err(|_| Error::<T>::BadOutputSpec)?;
			let deposit = T::ModelDepositBase::get()
				.saturating_add(T::ModelDepositPerByte::get().saturating_mul(size.into()));
			T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Models::<T>::insert(
				model,
				ModelInfo {
					owner: owner.clone(),
					size,
					uploaded: 0,
					chunks: 0,
					inputs,
					outputs,
					tolerance,
					fee,
					deposit,
					status: ModelStatus::Uploading,
					registered_at: frame_system::Pallet::<T>::block_number(),
				},
			);
			Self::deposit_event(Event::ModelRegistered { model, owner, size, deposit });
			Ok(())
		}

		/// Append the next chunk of a model's bytes (owner only, while uploading): exactly
		/// `MaxChunkBytes` long, except the last.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::upload_model_chunk(chunk.len() as u32))]
		pub fn upload_model_chunk(
			origin: OriginFor<T>,
			model: ModelId,
			chunk: BoundedVec<u8, T::MaxChunkBytes>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!chunk.is_empty(), Error::<T>::EmptyChunk);
			Models::<T>::try_mutate(model, |info| -> DispatchResult {
				let info = info.as_mut().ok_or(Error::<T>::UnknownModel)?;
				ensure!(info.owner == who, Error::<T>::NotModelOwner);
				ensure!(info.status == ModelStatus::Uploading, Error::<T>::ModelNotUploading);
				let uploaded = info.uploaded.saturating_add(chunk.len() as u32);
				ensure!(uploaded <= info.size, Error::<T>::ChunkExceedsModelSize);
				// Full chunks but the last: a model has at most size / MaxChunkBytes + 1 chunks,
				// which bounds what completing and removing it read and delete.
				ensure!(
					chunk.len() as u32 == T::MaxChunkBytes::get() || uploaded == info.size,
					Error::<T>::ChunkNotFull
				);
				ModelChunks::<T>::insert(model, info.chunks, chunk);
				info.chunks += 1;
				info.uploaded = uploaded;
				Self::deposit_event(Event::ModelChunkUploaded { model, uploaded, size: info.size });
				Ok(())
			})
		}

		/// Check the uploaded bytes against the model's hash and activate it. Charged for the
		/// largest model up front; the unused part is refunded.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::complete_model_upload(T::MaxModelBytes::get()))]
		pub fn complete_model_upload(
			origin: OriginFor<T>,
			model: ModelId,
		) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let mut info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
			ensure!(info.owner == who, Error::<T>::NotModelOwner);
			ensure!(info.status == ModelStatus::Uploading, Error::<T>::ModelNotUploading);
			ensure!(info.uploaded == info.size, Error::<T>::UploadIncomplete);
			let bytes = Self::model_bytes(&model, info.chunks);
			ensure!(
				H256(sp_io::hashing::blake2_256(&bytes)) == model,
				Error::<T>::ModelHashMismatch
			);
			info.status = ModelStatus::Active;
			let size = info.size;
			Models::<T>::insert(model, info);
			Self::deposit_event(Event::ModelActivated { model });
			Ok(Some(T::WeightInfo::complete_model_upload(size)).into())
		}

		/// Stop new requests for a model; pending requests still finish.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::retire_model())]
		pub fn retire_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Models::<T>::try_mutate(model, |info| -> DispatchResult {
				let info = info.as_mut().ok_or(Error::<T>::UnknownModel)?;
				ensure!(info.owner == who, Error::<T>::NotModelOwner);
				ensure!(info.status == ModelStatus::Active, Error::<T>::ModelNotActive);
				info.status = ModelStatus::Retired;
				Ok(())
			})?;
			Self::deposit_event(Event::ModelRetired { model });
			Ok(())
		}

		/// Delete a model and its bytes and release its deposit (nothing may be pending).
		/// Finalized results stay: they carry the model hash, not the model.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::remove_model(
			T::MaxModelBytes::get().div_ceil(T::MaxChunkBytes::get().max(1))
		))]
		pub fn remove_model(origin: OriginFor<T>, model: ModelId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
			ensure!(info.owner == who, Error::<T>::NotModelOwner);
			ensure!(PendingByModel::<T>::get(model) == 0, Error::<T>::ModelHasPendingRequests);
			let _ = ModelChunks::<T>::clear_prefix(model, info.chunks, None);
			Models::<T>::remove(model);
			FailureStreak::<T>::remove(model);
			let released = T::Currency::release(
				&HoldReason::ModelDeposit.into(),
				&info.owner,
				info.deposit,
				Precision::BestEffort,
			)?;
			Self::deposit_event(Event::ModelRemoved { model, deposit_released: released });
			Ok(Some(T::WeightInfo::remove_model(info.chunks)).into())
		}

		/// Ask for inference: `input` holds the input tensors (docs/tensor-format.md) and must
		/// match the model's input spec. The model's fee (at most `max_fee`) is held until the
		/// request is finalized (paid to the agreeing validators) or expires (refunded). Results
		/// are accepted for `timeout` blocks (`DefaultTimeout` if `None`).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::request_inference(input.len() as u32, T::MaxCommittee::get()))]
		pub fn request_inference(
			origin: OriginFor<T>,
			model: ModelId,
			input: BoundedVec<u8, T::MaxInputBytes>,
			max_fee: BalanceOf<T>,
			timeout: Option<BlockNumberFor<T>>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			Self::do_request(requester, model, input, max_fee, timeout).map(|_| ())
		}

		/// A committee member's result for a request, signed with its `infr` key. Submitted by
		/// the validator's off-chain worker as an authorized transaction (no fee, no account);
		/// the signature and every cheap check run in the transaction pool. Finalizes the request
		/// when this result completes a quorum.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::submit_result(
			submission.output.len() as u32,
			T::MaxCommittee::get(),
		).saturating_add(T::ResultCallback::max_weight()))]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_submit_result(
			submission.output.len() as u32,
		))]
		#[pallet::authorize(Pallet::<T>::authorize_submit_result)]
		pub fn submit_result(
			origin: OriginFor<T>,
			submission: SubmissionOf<T>,
			// Verified in `authorize`.
			_signature: <InferenceAuthorityId as RuntimeAppPublic>::Signature,
		) -> DispatchResultWithPostInfo {
			frame_system::ensure_authorized(origin)?;
			let (request, member) = Self::check_submission(&submission)?;
			let executor = request.committee[member as usize].account.clone();
			Self::deposit_event(Event::ResultSubmitted {
				request_id: submission.request_id,
				executor,
			});
			// Charged up front for the largest committee; refunded to the results compared.
			let output_len = submission.output.len() as u32;
			let (compared, callback) = Self::record_and_conclude(
				submission.request_id,
				request,
				member,
				submission.output,
			);
			Ok(Some(T::WeightInfo::submit_result(output_len, compared).saturating_add(callback))
				.into())
		}

		/// A committee member's signed report that it could not answer a request (the model
		/// was refused, ran out of time or memory, ...). Submitted like a result; a quorum on
		/// the same kind concludes the request as failed (see `failures.rs`). Weighed as a
		/// result that completes a quorum of the largest committee (payments included) plus a
		/// read per member (the votes); not benchmarked on its own yet.
		#[pallet::call_index(7)]
		#[pallet::weight(Pallet::<T>::submit_failure_base_weight()
			.saturating_add(T::ResultCallback::max_weight()))]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_submit_result(0))]
		#[pallet::authorize(Pallet::<T>::authorize_submit_failure)]
		pub fn submit_failure(
			origin: OriginFor<T>,
			failure: FailureSubmission,
			// Verified in `authorize`.
			_signature: <InferenceAuthorityId as RuntimeAppPublic>::Signature,
		) -> DispatchResultWithPostInfo {
			frame_system::ensure_authorized(origin)?;
			// Charged up front with the largest callback; refunded what the callback left.
			let callback = Self::do_submit_failure(failure)?;
			Ok(Some(Self::submit_failure_base_weight().saturating_add(callback)).into())
		}

		/// A committee member's commitments to its answers (see [`commit`]), one per request,
		/// signed with its `infr` key: what its off-chain worker computed in one block, in one
		/// authorized transaction. Each request must be pending, in its commit phase, and not
		/// yet committed to by this member.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::commit_answers(batch.commitments.len() as u32))]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_commit_answers(
			batch.commitments.len() as u32,
		))]
		#[pallet::authorize(Pallet::<T>::authorize_commit_answers)]
		pub fn commit_answers(
			origin: OriginFor<T>,
			batch: CommitBatchOf<T>,
			// Verified in `authorize`.
			_signature: <InferenceAuthorityId as RuntimeAppPublic>::Signature,
		) -> DispatchResult {
			frame_system::ensure_authorized(origin)?;
			Self::do_commit_answers(batch)
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The bytes of a model, concatenated from its chunks.
	pub fn model_bytes(model: &ModelId, chunks: u32) -> Vec<u8> {
		let mut bytes = Vec::new();
		for i in 0..chunks {
			if let Some(chunk) = ModelChunks::<T>::get(model, i) {
				bytes.extend_from_slice(&chunk);
			}
		}
		bytes
	}

	/// Most elements one tensor of an input or output may have (bounded by its byte size).
	fn max_elements() -> usize {
		T::MaxInputBytes::get().max(T::MaxOutputBytes::get()) as usize
	}

	/// Asks for `requester` to be called back with the result of request `id`, within `limit`
	/// (the precompile does this for contracts, which prepay `limit` as gas).
	pub fn register_callback(id: RequestId, limit: Weight) -> sp_runtime::DispatchResult {
		use frame_support::ensure;
		ensure!(limit.all_lte(T::ResultCallback::max_weight()), Error::<T>::CallbackTooHeavy);
		let request = Requests::<T>::get(id).ok_or(Error::<T>::UnknownRequest)?;
		ensure!(request.status == RequestStatus::Pending, Error::<T>::RequestNotPending);
		Callbacks::<T>::insert(id, limit);
		Ok(())
	}

	/// Validates and records a request; returns its id. Shared by the extrinsic and the
	/// contract precompile.
	pub fn do_request(
		requester: T::AccountId,
		model_id: ModelId,
		input: BoundedVec<u8, T::MaxInputBytes>,
		max_fee: BalanceOf<T>,
		timeout: Option<BlockNumberOf<T>>,
	) -> Result<RequestId, sp_runtime::DispatchError> {
		use frame_support::ensure;
		let model = Models::<T>::get(model_id).ok_or(Error::<T>::UnknownModel)?;
		ensure!(model.status == ModelStatus::Active, Error::<T>::ModelNotActive);
		let tensors = tensor::decode(&input, Self::max_elements())
			.map_err(|_| Error::<T>::InputUndecodable)?;
		spec::check(&tensors, &model.inputs).map_err(|e| match e {
			SpecMismatch::Count { .. } => Error::<T>::InputTensorCount,
			SpecMismatch::Name(_) => Error::<T>::InputTensorName,
			SpecMismatch::DType(_) => Error::<T>::InputTensorDType,
			SpecMismatch::Shape(_) => Error::<T>::InputTensorShape,
		})?;
		ensure!(model.fee <= max_fee, Error::<T>::FeeAboveMax);
		let timeout = timeout.unwrap_or_else(T::DefaultTimeout::get);
		// One block to commit in, one to reveal in.
		ensure!(timeout >= 2u32.into(), Error::<T>::TimeoutTooShort);
		ensure!(timeout <= T::MaxTimeout::get(), Error::<T>::TimeoutTooLong);
		let pending = PendingCount::<T>::get();
		ensure!(pending < T::MaxPendingRequests::get(), Error::<T>::TooManyPendingRequests);
		ensure!(
			PendingByAccount::<T>::get(&requester) < T::MaxPendingPerAccount::get(),
			Error::<T>::TooManyPendingForAccount
		);

		let executors = Executors::<T>::get();
		ensure!(!executors.is_empty(), Error::<T>::NoExecutors);
		let id = NextRequestId::<T>::get();
		let seed =
			sp_io::hashing::blake2_256(&(frame_system::Pallet::<T>::parent_hash(), id).encode());
		let chosen = committee::draw(executors.len(), T::MaxCommittee::get() as usize, seed);
		let members: Vec<Executor<T::AccountId>> =
			chosen.into_iter().filter_map(|i| executors.get(i).cloned()).collect();
		let committee = BoundedVec::<_, T::MaxCommittee>::truncate_from(members);
		let quorum = quorum(committee.len() as u32, T::QuorumRatio::get());

		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(timeout);
		ExpiryQueue::<T>::try_mutate(deadline.saturating_add(1u32.into()), |queue| {
			queue.try_push(id)
		})
		.map_err(|_| Error::<T>::DeadlineSlotFull)?;
		T::Currency::hold(&HoldReason::RequestEscrow.into(), &requester, model.fee)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let input_hash = H256(sp_io::hashing::blake2_256(&input));
		let committee_size = committee.len() as u32;
		Requests::<T>::insert(
			id,
			Request {
				requester: requester.clone(),
				model: model_id,
				input_hash,
				fee: model.fee,
				committee,
				quorum,
				created_at: now,
				deadline,
				status: RequestStatus::Pending,
			},
		);
		RequestInputs::<T>::insert(id, input);
		NextRequestId::<T>::put(id.saturating_add(1));
		PendingCount::<T>::put(pending + 1);
		PendingByModel::<T>::mutate(model_id, |n| *n += 1);
		PendingByAccount::<T>::mutate(&requester, |n| *n += 1);
		Self::deposit_event(Event::InferenceRequested {
			request_id: id,
			requester,
			model: model_id,
			input_hash,
			fee: model.fee,
			committee: committee_size,
			quorum,
			deadline,
		});
		Ok(id)
	}

	/// What `submission`'s executor signs (see [`ResultSubmission::signing_payload`]): bound to
	/// this chain's genesis hash and to the input of `request`.
	pub fn signing_payload(submission: &SubmissionOf<T>, request: &RequestOf<T>) -> Vec<u8> {
		submission.signing_payload(Self::genesis_hash(), &request.input_hash)
	}

	/// The rules every answer (result or failure) meets, in the pool and at dispatch alike: the
	/// request is pending and within its deadline, the signer is in its committee and has not
	/// answered. Returns the request and the signer's committee index.
	fn check_member(
		id: RequestId,
		executor: &InferenceAuthorityId,
	) -> Result<(RequestOf<T>, u32), Error<T>> {
		let request = Requests::<T>::get(id).ok_or(Error::<T>::UnknownRequest)?;
		if request.status != RequestStatus::Pending {
			return Err(Error::<T>::RequestNotPending);
		}
		if frame_system::Pallet::<T>::block_number() > request.deadline {
			return Err(Error::<T>::DeadlinePassed);
		}
		let member = request
			.committee
			.iter()
			.position(|e| &e.key == executor)
			.ok_or(Error::<T>::NotInCommittee)? as u32;
		if Self::has_answered(id, member) {
			return Err(Error::<T>::DuplicateResult);
		}
		Ok((request, member))
	}

	/// Whether committee member `member` revealed its answer (a result or a failure) to pending
	/// request `id`.
	pub(crate) fn has_answered(id: RequestId, member: u32) -> bool {
		Submissions::<T>::contains_key(id, member) || FailureVotes::<T>::contains_key(id, member)
	}

	/// Blocks from now until the end of `last` (inclusive): a transaction's pool longevity.
	pub(crate) fn blocks_until(last: BlockNumberOf<T>) -> u64 {
		let now = frame_system::Pallet::<T>::block_number();
		last.saturating_sub(now).saturating_add(1u32.into()).try_into().unwrap_or(u64::MAX)
	}

	/// Every rule a submission must meet: those of [`Self::check_member`], and an output that
	/// decodes and matches the model's output spec.
	fn check_submission(submission: &SubmissionOf<T>) -> Result<(RequestOf<T>, u32), Error<T>> {
		let (request, member) = Self::check_member(submission.request_id, &submission.executor)?;
		let commitment = Self::revealable(submission.request_id, &request, member)?;
		let model = Models::<T>::get(request.model).ok_or(Error::<T>::UnknownModel)?;
		if !Self::output_matches(&submission.output, &model) {
			return Err(Error::<T>::MalformedOutput);
		}
		if submission.commitment(Self::genesis_hash(), &request.input_hash) != commitment {
			return Err(Error::<T>::CommitmentMismatch);
		}
		Ok((request, member))
	}

	/// Whether `output` decodes and matches `model`'s output spec: what the chain accepts as a
	/// result, and what an off-chain worker checks before it submits one.
	pub(crate) fn output_matches(output: &[u8], model: &ModelOf<T>) -> bool {
		tensor::decode(output, Self::max_elements())
			.is_ok_and(|outputs| spec::check(&outputs, &model.outputs).is_ok())
	}

	/// This chain's genesis hash, which every answer's signature covers.
	pub(crate) fn genesis_hash() -> T::Hash {
		frame_system::Pallet::<T>::block_hash(BlockNumberOf::<T>::zero())
	}

	/// Weight of `submit_failure` before its callback: a result that completes the quorum of
	/// the largest committee (payments included) plus a read per member (the votes).
	fn submit_failure_base_weight() -> Weight {
		T::WeightInfo::submit_result(0, T::MaxCommittee::get())
			.saturating_add(T::DbWeight::get().reads(T::MaxCommittee::get().into()))
	}

	/// Pool validity of a submission: the checks of [`Self::check_submission`], then the
	/// signature (most expensive, last). One transaction per (request, member) is valid, until
	/// the request's deadline.
	fn authorize_submit_result(
		_source: TransactionSource,
		submission: &SubmissionOf<T>,
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		let (request, _) = Self::check_submission(submission).map_err(Self::invalid_answer)?;
		if !submission.executor.verify(&Self::signing_payload(submission, &request), signature) {
			return Err(InvalidTransaction::BadProof.into());
		}
		Self::answer_validity(submission.request_id, &submission.executor, &request)
	}

	/// Why the pool refuses an answer that breaks a rule.
	fn invalid_answer(e: Error<T>) -> InvalidTransaction {
		match e {
			Error::<T>::UnknownRequest
			| Error::<T>::RequestNotPending
			| Error::<T>::DeadlinePassed
			| Error::<T>::DuplicateResult
			| Error::<T>::CommitPhaseClosed
			| Error::<T>::AlreadyCommitted => InvalidTransaction::Stale,
			Error::<T>::CommitPhaseOpen => InvalidTransaction::Future,
			Error::<T>::MalformedOutput => {
				InvalidTransaction::Custom(invalid_codes::MALFORMED_OUTPUT)
			}
			_ => InvalidTransaction::BadProof,
		}
	}

	/// A valid answer of `executor` to `request_id`: one per member in the pool (a result and
	/// a failure of the same member share the tag), until the request's deadline.
	fn answer_validity(
		request_id: RequestId,
		executor: &InferenceAuthorityId,
		request: &RequestOf<T>,
	) -> TransactionValidityWithRefund {
		ValidTransaction::with_tag_prefix("VerityInference")
			.priority(T::UnsignedPriority::get())
			.and_provides((request_id, executor.clone()))
			.longevity(Self::blocks_until(request.deadline))
			.propagate(true)
			.build()
			.map(|v| (v, frame_support::weights::Weight::zero()))
	}

	/// Records `member`'s result, comparing it once with each earlier result, then finalizes the
	/// request if a quorum agrees or expires it if everyone answered without agreement.
	/// Returns how many earlier results were compared and the weight its callback used.
	fn record_and_conclude(
		id: RequestId,
		mut request: RequestOf<T>,
		member: u32,
		output: BoundedVec<u8, T::MaxOutputBytes>,
	) -> (u32, Weight) {
		let Some(model) = Models::<T>::get(request.model) else { return (0, Weight::zero()) };
		let mut supports: Vec<(u32, Support)> = SubmissionSupport::<T>::iter_prefix(id).collect();
		let compared = supports.len() as u32;
		let mut new = Support::new(member, compared);
		for (other, support) in supports.iter_mut() {
			let Some(earlier) = Submissions::<T>::get(id, *other) else { continue };
			if outputs_agree(&earlier, &output, model.tolerance, Self::max_elements()) {
				Support::link((support, *other), (&mut new, member));
				SubmissionSupport::<T>::insert(id, *other, *support);
			}
		}
		SubmissionSupport::<T>::insert(id, member, new);
		supports.push((member, new));
		let Some((leader, verdict)) = leader(&supports, request.quorum) else {
			Submissions::<T>::insert(id, member, output);
			if Self::all_revealed(id) {
				Self::expire(id, request, ExpiryReason::NoAgreement);
			}
			return (compared, Weight::zero());
		};
		let output = if leader == member {
			output
		} else {
			Submissions::<T>::get(id, leader).unwrap_or_default()
		};

		// Attesters and dissenters in submission order.
		supports.sort_by_key(|(_, s)| s.order);
		let member_of = |m: &u32| request.committee[*m as usize].clone();
		let attesters: Vec<Executor<T::AccountId>> =
			supports.iter().filter(|(m, _)| verdict.has(*m)).map(|(m, _)| member_of(m)).collect();
		let dissenters: Vec<Executor<T::AccountId>> =
			supports.iter().filter(|(m, _)| !verdict.has(*m)).map(|(m, _)| member_of(m)).collect();

		let accounts: Vec<T::AccountId> = attesters.iter().map(|a| a.account.clone()).collect();
		let (paid, refunded) = Self::pay(&request, &accounts);

		for dissenter in &dissenters {
			let strikes = Strikes::<T>::mutate(&dissenter.account, |s| {
				*s = s.saturating_add(1);
				*s
			});
			T::OnDissent::on_dissent(&dissenter.account, id, strikes);
			Self::deposit_event(Event::ValidatorStruck {
				validator: dissenter.account.clone(),
				request_id: id,
				strikes,
			});
		}

		let output_hash = H256(sp_io::hashing::blake2_256(&output));
		let callback = Callbacks::<T>::take(id).map(|limit| (limit, output.clone()));
		Results::<T>::insert(
			id,
			InferenceResult {
				output,
				output_hash,
				model: request.model,
				input_hash: request.input_hash,
				attesters: BoundedVec::truncate_from(attesters.clone()),
				dissenters: BoundedVec::truncate_from(dissenters.clone()),
				finalized_at: frame_system::Pallet::<T>::block_number(),
			},
		);
		request.status = RequestStatus::Finalized;
		let model_id = request.model;
		let requester = request.requester.clone();
		Requests::<T>::insert(id, &request);
		Self::close_pending(id, &request);
		FailureStreak::<T>::remove(model_id);
		Self::deposit_event(Event::InferenceFinalized {
			request_id: id,
			model: model_id,
			output_hash,
			attesters: attesters.len() as u32,
			dissenters: dissenters.len() as u32,
			paid,
			refunded,
		});
		// Last, once the result is stored and paid: nothing the callback does can undo that.
		let mut callback_weight = Weight::zero();
		if let Some((limit, output)) = callback {
			let (success, used) = T::ResultCallback::deliver(id, &requester, &output, limit);
			callback_weight = used.min(limit);
			Self::deposit_event(Event::CallbackDelivered {
				request_id: id,
				success,
				weight_used: callback_weight,
			});
		}
		(compared, callback_weight)
	}

	/// What paying the committed members of expired requests adds to `on_initialize` (its
	/// benchmark expires requests without commitments): a read per commitment and per expired
	/// request, and a transfer from escrow per paid member (the transfer's reads, writes and
	/// time, as measured in `submit_result`'s per-member slope). Not benchmarked on its own.
	fn expiry_payout_weight(expired: u32, paid: u32) -> Weight {
		let db = T::DbWeight::get();
		db.reads(expired.saturating_add(paid).into())
			.saturating_add(db.reads_writes((3 * paid).into(), (3 * paid).into()))
			.saturating_add(Weight::from_parts(60_000_000, 7_000).saturating_mul(paid.into()))
	}

	/// Pays `accounts` an equal share of the request's fee from escrow and refunds the rest;
	/// returns (paid, refunded).
	fn pay(request: &RequestOf<T>, accounts: &[T::AccountId]) -> (BalanceOf<T>, BalanceOf<T>) {
		Self::pay_part(request, request.fee, accounts)
	}

	/// Pays `accounts` an equal share of `amount` (at most the fee) from the request's escrow
	/// and refunds the rest of the fee; returns (paid, refunded).
	fn pay_part(
		request: &RequestOf<T>,
		amount: BalanceOf<T>,
		accounts: &[T::AccountId],
	) -> (BalanceOf<T>, BalanceOf<T>) {
		let reason: T::RuntimeHoldReason = HoldReason::RequestEscrow.into();
		let share = amount.min(request.fee) / BalanceOf::<T>::from(accounts.len().max(1) as u32);
		let mut paid = BalanceOf::<T>::zero();
		for account in accounts {
			if share.is_zero() {
				break;
			}
			if T::Currency::transfer_on_hold(
				&reason,
				&request.requester,
				account,
				share,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)
			.is_ok()
			{
				paid = paid.saturating_add(share);
			}
		}
		let refund = request.fee.saturating_sub(paid);
		let refunded =
			T::Currency::release(&reason, &request.requester, refund, Precision::BestEffort)
				.unwrap_or_default();
		(paid, refunded)
	}

	/// Ends a pending request without a result: the members that committed to an answer share
	/// `ExpiryFee` of its fee, the rest is refunded. Returns how many members were paid.
	fn expire(id: RequestId, mut request: RequestOf<T>, reason: ExpiryReason) -> u32 {
		let mut members: Vec<u32> = Commitments::<T>::iter_prefix(id).map(|(m, _)| m).collect();
		members.sort_unstable();
		let accounts: Vec<T::AccountId> = members
			.iter()
			.filter_map(|m| request.committee.get(*m as usize).map(|e| e.account.clone()))
			.collect();
		let kept = if accounts.is_empty() {
			BalanceOf::<T>::zero()
		} else {
			T::ExpiryFee::get().mul_floor(request.fee)
		};
		let (paid, refunded) = Self::pay_part(&request, kept, &accounts);
		request.status = RequestStatus::Expired;
		Requests::<T>::insert(id, &request);
		Self::close_pending(id, &request);
		Self::deposit_event(Event::RequestExpired { request_id: id, refunded, reason, paid });
		accounts.len() as u32
	}

	/// Bookkeeping shared by finalization, failure and expiry.
	fn close_pending(id: RequestId, request: &RequestOf<T>) {
		let (model, committee) = (request.model, request.committee.len() as u32);
		PendingByAccount::<T>::mutate_exists(&request.requester, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = if left == 0 { None } else { Some(left) };
		});
		let _ = Submissions::<T>::clear_prefix(id, committee, None);
		let _ = SubmissionSupport::<T>::clear_prefix(id, committee, None);
		let _ = FailureVotes::<T>::clear_prefix(id, committee, None);
		let _ = Commitments::<T>::clear_prefix(id, committee, None);
		CommitCounts::<T>::remove(id);
		Callbacks::<T>::remove(id);
		PendingCount::<T>::mutate(|n| *n = n.saturating_sub(1));
		PendingByModel::<T>::mutate_exists(model, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = if left == 0 { None } else { Some(left) };
		});
	}

	/// Deletes an ended request with its input and result.
	fn prune(id: RequestId) {
		if let Some(request) = Requests::<T>::take(id) {
			if request.status == RequestStatus::Pending {
				// Cannot happen (expiry runs first); keep the request rather than lose escrow.
				Requests::<T>::insert(id, request);
				return;
			}
			RequestInputs::<T>::remove(id);
			Results::<T>::remove(id);
			Self::deposit_event(Event::RequestPruned { request_id: id });
		}
	}

	/// Pending requests in their commit phase whose committee includes `key` and that `key` has
	/// not committed to: what an executor's off-chain worker should run.
	pub fn pending_for(key: &InferenceAuthorityId) -> Vec<RequestId> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut ids: Vec<RequestId> = Requests::<T>::iter()
			.filter(|(_, r)| r.status == RequestStatus::Pending && r.deadline >= now)
			.filter_map(|(id, r)| {
				let member = r.committee.iter().position(|e| &e.key == key)? as u32;
				let open = !Self::commit_phase_over(id, &r, now);
				(open && !Commitments::<T>::contains_key(id, member)).then_some(id)
			})
			.collect();
		ids.sort_unstable();
		ids
	}

	/// Storage invariants: escrow equals the sum of pending fees per requester, counters match,
	/// no orphaned inputs, submissions, results or chunks.
	#[cfg(any(feature = "try-runtime", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::ensure;
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut pending = 0u32;
		let mut by_model: BTreeMap<ModelId, u32> = BTreeMap::new();
		let mut by_account: BTreeMap<T::AccountId, u32> = BTreeMap::new();
		for (id, r) in Requests::<T>::iter() {
			ensure!(RequestInputs::<T>::contains_key(id), "request without input");
			ensure!(id < NextRequestId::<T>::get(), "request id beyond NextRequestId");
			match r.status {
				RequestStatus::Pending => {
					pending += 1;
					*by_model.entry(r.model).or_default() += 1;
					*by_account.entry(r.requester.clone()).or_default() += 1;
					let e = escrow.entry(r.requester.clone()).or_default();
					*e = e.saturating_add(r.fee);
					ensure!(!Results::<T>::contains_key(id), "pending request with a result");
					ensure!(
						Models::<T>::contains_key(r.model),
						"pending request for a removed model"
					);
				}
				RequestStatus::Finalized => {
					ensure!(Results::<T>::contains_key(id), "finalized request without result")
				}
				RequestStatus::Expired | RequestStatus::Failed => {
					ensure!(!Results::<T>::contains_key(id), "request without a result has one")
				}
			}
			if r.status != RequestStatus::Pending {
				ensure!(
					Submissions::<T>::iter_prefix(id).next().is_none()
						&& SubmissionSupport::<T>::iter_prefix(id).next().is_none()
						&& FailureVotes::<T>::iter_prefix(id).next().is_none()
						&& Commitments::<T>::iter_prefix(id).next().is_none()
						&& !CommitCounts::<T>::contains_key(id),
					"submissions of a closed request"
				);
			} else {
				ensure!(
					Commitments::<T>::iter_prefix(id).count() as u32 == CommitCounts::<T>::get(id),
					"CommitCounts mismatch"
				);
				for (member, _) in Submissions::<T>::iter_prefix(id) {
					ensure!(
						Commitments::<T>::contains_key(id, member),
						"reveal without commitment"
					);
				}
			}
		}
		ensure!(pending == PendingCount::<T>::get(), "PendingCount mismatch");
		ensure!(
			by_model.into_iter().collect::<Vec<_>>()
				== PendingByModel::<T>::iter().collect::<Vec<_>>(),
			"PendingByModel mismatch"
		);
		ensure!(
			by_account.into_iter().collect::<BTreeMap<_, _>>()
				== PendingByAccount::<T>::iter().collect::<BTreeMap<_, _>>(),
			"PendingByAccount mismatch"
		);
		for (who, amount) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::RequestEscrow.into(), &who) == amount,
				"escrow differs from the sum of pending fees"
			);
		}
		for id in RequestInputs::<T>::iter_keys() {
			ensure!(Requests::<T>::contains_key(id), "orphaned request input");
		}
		for id in Results::<T>::iter_keys() {
			ensure!(Requests::<T>::contains_key(id), "orphaned result");
		}
		for (id, _, _) in Submissions::<T>::iter() {
			ensure!(Requests::<T>::contains_key(id), "orphaned submission");
		}
		for id in Callbacks::<T>::iter_keys() {
			ensure!(
				Requests::<T>::get(id).is_some_and(|r| r.status == RequestStatus::Pending),
				"callback of a request that is not pending"
			);
		}
		for (id, member, _) in SubmissionSupport::<T>::iter() {
			ensure!(Submissions::<T>::contains_key(id, member), "support without a submission");
		}
		for (model, index, _) in ModelChunks::<T>::iter() {
			let info = Models::<T>::get(model).ok_or("chunk of an unknown model")?;
			ensure!(index < info.chunks, "chunk beyond the model's chunk count");
		}
		Ok(())
	}

	/// Stores the session's executors, keeping at most `MaxExecutors`.
	fn set_executors<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a T::AccountId, InferenceAuthorityId)>,
		T::AccountId: 'a,
	{
		let executors: Vec<Executor<T::AccountId>> =
			validators.map(|(account, key)| Executor { account: account.clone(), key }).collect();
		let bounded = BoundedVec::<_, T::MaxExecutors>::truncate_from(executors);
		let count = bounded.len() as u32;
		Executors::<T>::put(bounded);
		Self::deposit_event(Event::ExecutorsChanged { count });
	}
}

impl<T: Config> sp_runtime::BoundToRuntimeAppPublic for Pallet<T> {
	type Public = InferenceAuthorityId;
}

impl<T: Config> OneSessionHandler<T::AccountId> for Pallet<T> {
	type Key = InferenceAuthorityId;

	fn on_genesis_session<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)> + 'a,
	{
		Self::set_executors(validators);
	}

	fn on_new_session<'a, I>(changed: bool, validators: I, _queued: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)> + 'a,
	{
		if changed {
			Self::set_executors(validators);
		}
	}

	fn on_disabled(_validator_index: u32) {}
}
