//! # Inference pallet
//!
//! Turns "run this model on this input" into a result that a quorum of validators has checked
//! and that the chain stands behind.
//!
//! - **Models** ([`models`]): `register_model` declares the blake2-256 of the ONNX bytes, the
//!   size, tensor specs, agreement tolerance and fee, and holds a deposit per byte; the model's
//!   id is a hash of all of them and of the owner ([`verity_primitives::model_id`]), so an id
//!   pins its rules. The bytes follow in chunks (`upload_model_chunk`, as many blocks as
//!   needed) within `UploadWindow` blocks (else the registration is cleared and part of the
//!   deposit burnt) and `complete_model_upload` checks the hash and starts the model's
//!   **readiness probe** ([`models`]): a request of the owner's that the committee runs; at
//!   quorum the model becomes active with the agreed [`ModelProfile`] (load time, run time,
//!   peak memory, output hash), which bounds every later run; a failed probe rejects it.
//!   Requests to a model that is not active are refused. `retire_model` stops new
//!   requests; `remove_model` deletes the bytes and releases the deposit once nothing is
//!   pending.
//! - **Requests**: `request_inference` checks the input against the model's spec, holds the fee
//!   in escrow and fixes a committee of executors (the validators' `infr` keys, see
//!   [`committee`]) and a deadline.
//! - **Commit–reveal** ([`commit`]): committee members first commit to their answers
//!   (`commit_answers`: one signed batch per validator and block, each commitment a salted hash
//!   of the answer), then reveal them once the commit phase is over (every member committed, or
//!   `CommitWindow` blocks passed). A member that did not compute an answer has nothing to commit
//!   to, and once answers are public nobody can commit any more: copying does not pay.
//! - **Results**: revealed as signed, authorized (feeless, unsigned) transactions: one
//!   `reveal_answers` batch per member and block (or single `submit_result` / `submit_failure`). As soon as `Quorum` results agree within the model's tolerance
//!   ([`verity_primitives::agreement`]), the request is **attested** in that same block: the result
//!   and its provenance are stored, the fee is split among the agreeing validators (the
//!   remainder refunded), and dissenters get a strike.
//! - **Agreed failures** ([`failures`]): a member that cannot answer (model refused, time or
//!   memory limit, output too large or off-spec) submits a signed failure of that kind; a
//!   quorum on one kind ends the request as failed, paying those members. `MaxFailuresInRow`
//!   agreed failures in a row suspend the model.
//! - **Expiry and retention**: a request without quorum at its deadline is expired; the members
//!   that committed to an answer (they ran the model) share `ExpiryFee` of its fee, the rest is
//!   refunded (all of it when nobody committed). One account has at most
//!   `MaxPendingPerAccount` requests pending, so no single account fills the pending set. Every
//!   request (attested, failed or expired) and its input and result are pruned
//!   `ResultRetention` blocks after its deadline.
//!
//! Every storage item is bounded; the pure logic (tensor codec, spec check, tolerance,
//! agreement) lives in `verity-primitives`, committee drawing in [`committee`].
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod answers;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod callbacks;
pub mod commit;
pub mod committee;
mod conclusion;
mod expiry;
mod failures;
mod hosted;
pub mod migrations;
#[cfg(test)]
mod mock;
mod models;
pub mod offchain;
mod requests;
mod session;
#[cfg(test)]
mod tests;
pub mod traits;
#[cfg(any(feature = "try-runtime", test))]
mod try_state;
pub mod types;
pub mod weights;

pub use answers::invalid_codes;
pub use hosted::is_model_url;
pub(crate) use hosted::HostedModel;
pub use requests::ANSWER_OVERHEAD_BYTES;
pub use traits::{CallbackFee, OnDissent, ResultCallback};
pub use types::*;
pub use verity_primitives::agreement::{Spread, Tolerance};
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
/// A revealed result, as checked and recorded.
pub type RevealedOf<T> = Revealed<<T as Config>::MaxOutputBytes>;
/// A batch of commitments (at most `MaxRunsPerBlock`, what one off-chain worker run answers).
pub type CommitBatchOf<T> = CommitBatch<<T as Config>::MaxRunsPerBlock>;
/// A batch of reveals (at most `MaxRevealsPerBatch`).
pub type RevealBatchOf<T> =
	RevealBatch<<T as Config>::MaxOutputBytes, <T as Config>::MaxRevealsPerBatch>;

#[frame_support::pallet]
// `register_hosted_model` takes `register_model`'s arguments and two more; FRAME generates a
// constructor of the call with all of them.
#[allow(clippy::too_many_arguments)]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	/// v1: `Submissions` holds output hashes, `SubmittedOutputs` the bytes ([`migrations`]).
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
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
		/// Largest hosted model, in bytes (`register_hosted_model`: validators' nodes fetch it
		/// over HTTP(S); only its metadata is on chain).
		#[pallet::constant]
		type MaxHostedModelBytes: Get<u32>;
		/// The commit window of a hosted model's readiness probe: the committee's nodes fetch
		/// the file first. The probe's timeout is this plus `CommitWindow`.
		#[pallet::constant]
		type HostedFetchWindow: Get<BlockNumberFor<Self>>;
		/// Most reveals in one `reveal_answers` batch: its worst-case weight (each entry
		/// concluding a request of the largest committee with the largest callback) must fit
		/// one extrinsic of a block (checked by `integrity_test`).
		#[pallet::constant]
		type MaxRevealsPerBatch: Get<u32>;
		/// Blocks a registered model has to complete its upload; after that an incomplete
		/// registration is cleared and `ModelDepositBase` of its deposit burnt.
		#[pallet::constant]
		type UploadWindow: Get<BlockNumberFor<Self>>;
		/// Most registrations whose upload window ends in one block (bounds the clearing work
		/// of a block).
		#[pallet::constant]
		type MaxUploadsPerBlock: Get<u32>;
		/// Part of the fee floor of a request: paid per committee member and per byte its answers
		/// can put on chain (input, the model's largest output, overhead; see
		/// [`Pallet::request_fee`]).
		#[pallet::constant]
		type AnswerByteFee: Get<BalanceOf<Self>>;
		/// Part of the fee floor of a request: paid per byte of its input and of the model's
		/// largest output, which the chain keeps for `ResultRetention` blocks (see
		/// [`Pallet::request_fee`]).
		#[pallet::constant]
		type RetainedByteFee: Get<BalanceOf<Self>>;
		/// Hook for dissenting validators.
		type OnDissent: OnDissent<Self::AccountId>;
		/// Calls requesters back with their results (contracts' `onInferenceResult`).
		type ResultCallback: ResultCallback<Self::AccountId>;
		/// Prices prepaid callback weight for the refund of what a callback did not use.
		type CallbackFee: CallbackFee<BalanceOf<Self>>;
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

	/// Where the file of each hosted model is served (`register_hosted_model`); uploaded
	/// models have none.
	#[pallet::storage]
	pub type HostedModels<T: Config> = StorageMap<_, Identity, ModelId, ModelUrls>;

	/// Pending requests per model (a model with pending requests cannot be removed).
	#[pallet::storage]
	pub type PendingByModel<T: Config> = StorageMap<_, Identity, ModelId, u32, ValueQuery>;

	/// Id of the next request.
	#[pallet::storage]
	pub type NextRequestId<T: Config> = StorageValue<_, RequestId, ValueQuery>;

	/// Number of pending requests (bounded by `MaxPendingRequests`).
	#[pallet::storage]
	pub type PendingCount<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// Requests, pending, attested, failed or expired, until pruned.
	#[pallet::storage]
	pub type Requests<T: Config> = StorageMap<_, Twox64Concat, RequestId, RequestOf<T>>;

	/// Encoded input tensors of each request (validators read them; users re-check results).
	#[pallet::storage]
	pub type RequestInputs<T: Config> =
		StorageMap<_, Twox64Concat, RequestId, BoundedVec<u8, T::MaxInputBytes>>;

	/// Results revealed for pending requests: `(request, committee index) -> output hash`
	/// (the bytes are in `SubmittedOutputs`, once per distinct output).
	#[pallet::storage]
	pub type Submissions<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Twox64Concat, u32, H256>;

	/// The distinct outputs revealed for pending requests: `(request, output hash) -> output`.
	/// Members whose output is byte for byte one already here reveal it by reference
	/// (`Reveal::SameOutput`). At most one per committee member; cleared when the request ends.
	#[pallet::storage]
	pub type SubmittedOutputs<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		RequestId,
		Identity,
		H256,
		BoundedVec<u8, T::MaxOutputBytes>,
	>;

	/// For each submitted result, its submission order and which committee members' results
	/// agree with it, kept up to date as results arrive (each new result is compared once with
	/// each earlier one: linear work per submission).
	#[pallet::storage]
	pub type SubmissionSupport<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Twox64Concat, u32, Support>;

	/// Requests whose requester is called back when they end, with the weight prepaid for it
	/// (at most `ResultCallback::max_weight`) and who paid it. Removed when the request
	/// concludes (see [`callbacks`]).
	#[pallet::storage]
	pub type Callbacks<T: Config> = StorageMap<_, Twox64Concat, RequestId, Callback<T::AccountId>>;

	/// The callback being delivered, while it runs (put before, removed after: never in a
	/// block's final state). A request made from inside it (a contract re-requesting in
	/// `onInferenceResult`) inherits its payer and fee multiplier: that callback's prepaid
	/// weight paid for the new request's callback limit.
	#[pallet::storage]
	pub type DeliveringCallback<T: Config> = StorageValue<_, Callback<T::AccountId>>;

	/// Expired requests whose requester asked for a callback: its callback and why the request
	/// expired. Delivered in `on_idle` as the block's spare weight allows (see
	/// [`expiry`]); at most `MaxPendingRequests` (a fuller queue drops the callback, with
	/// `ExpiryCallbackDropped`).
	#[pallet::storage]
	pub type ExpiryCallbacks<T: Config> =
		CountedStorageMap<_, Twox64Concat, RequestId, (Callback<T::AccountId>, ExpiryReason)>;

	/// Attested results with their provenance.
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

	/// Open work per executor key: `(key, request)` while the request is pending and the member
	/// has not revealed its answer. The off-chain worker and `inference_pendingRequests` read
	/// it instead of scanning every stored request. At most `MaxPendingRequests` entries per key
	/// (`MaxCommittee` per request).
	#[pallet::storage]
	pub type Assignments<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		InferenceAuthorityId,
		Twox64Concat,
		RequestId,
		(),
		OptionQuery,
	>;

	/// Models to clear at the start of a block if their upload is still incomplete.
	#[pallet::storage]
	pub type UploadDeadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<ModelId, T::MaxUploadsPerBlock>,
		ValueQuery,
	>;

	/// Requests made in this block whose committee is drawn at the start of the next one (there
	/// are more executors than `MaxCommittee`); bounded like the pending set.
	#[pallet::storage]
	pub type Undrawn<T: Config> =
		StorageValue<_, BoundedVec<RequestId, T::MaxPendingRequests>, ValueQuery>;

	/// What each member reported of a readiness probe it revealed a result for:
	/// `(request, committee index) -> profile`. Only probe requests have entries; cleared when
	/// the request ends (bounded like `Submissions`).
	#[pallet::storage]
	pub type ProbeReports<T: Config> =
		StorageDoubleMap<_, Twox64Concat, RequestId, Twox64Concat, u32, RunProfile>;

	/// The agreed profile of each model that passed its readiness probe (at most one per model
	/// in `Models`; removed with it).
	#[pallet::storage]
	pub type ModelProfiles<T: Config> =
		StorageMap<_, Identity, ModelId, ModelProfile<BlockNumberFor<T>>>;

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
		ModelRegistered {
			model: ModelId,
			owner: T::AccountId,
			size: u32,
			deposit: BalanceOf<T>,
			code_hash: H256,
		},
		/// A chunk of a model was stored.
		ModelChunkUploaded { model: ModelId, uploaded: u32, size: u32 },
		/// The model's probe was attested (its profile is in `ModelProfiles`): it takes
		/// requests.
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
		InferenceAttested {
			request_id: RequestId,
			model: ModelId,
			output_hash: H256,
			attesters: u32,
			dissenters: u32,
			paid: BalanceOf<T>,
			refunded: BalanceOf<T>,
		},
		/// A validator's result disagreed with an attested result.
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
		/// The committee of a request made in the last block was drawn (there are more
		/// executors than `MaxCommittee`).
		CommitteeDrawn { request_id: RequestId, committee: u32, quorum: u32 },
		/// A registration whose upload was not complete `UploadWindow` blocks after it was
		/// cleared: its chunks deleted, `burnt` of the deposit burnt, `released` released.
		ModelUploadExpired { model: ModelId, burnt: BalanceOf<T>, released: BalanceOf<T> },
		/// All bytes are in and match the hash: the committee runs the model's readiness probe,
		/// request `request_id` (paid by the owner like any request).
		ModelProbing { model: ModelId, request_id: RequestId },
		/// The model's probe ended as an agreed failure of `kind` (`None`: it expired without
		/// agreement): no requests ever; the owner removes it to release its deposit.
		ModelRejected { model: ModelId, request_id: RequestId, kind: Option<FailureKind> },
		/// The expiry callback of `request_id` was not delivered: the queue was full, or the
		/// request was pruned before a block had room for it. `requestStatus` still tells.
		ExpiryCallbackDropped { request_id: RequestId },
		/// `payer` got back `amount`, the fee it paid for the prepaid callback weight that the
		/// callback of `request_id` did not use (`unused`).
		CallbackRefunded {
			request_id: RequestId,
			payer: T::AccountId,
			unused: Weight,
			amount: BalanceOf<T>,
		},
		/// A hosted model was registered (after `ModelRegistered`): the committee's nodes fetch
		/// its file from `urls` for its readiness probe.
		ModelHosted { model: ModelId, urls: ModelUrls },
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
		/// The request is attested, failed or expired.
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
		/// `MaxUploadsPerBlock` registrations already end their upload window at the same block;
		/// register in the next block.
		UploadSlotFull,
		/// The model's inputs have dynamic or large dimensions whose zero input exceeds
		/// `MaxInputBytes`: supply a probe input to `complete_model_upload`.
		NoProbeInput,
		/// The request demands more attesters than its committee has members.
		MoreAttestersThanCommittee,
		/// The request's tolerance is looser than the model's (in its absolute or relative part).
		ToleranceLooserThanModel,
		/// A hosted model needs 1 to 4 URLs, each `http://` or `https://` followed by printable
		/// ASCII without spaces, at most 256 bytes.
		BadModelUrl,
		/// The input (or probe input) is larger than `MaxInputBytes`.
		InputTooLarge,
		/// A reveal by reference names no output revealed for the request, or gives another
		/// length than the stored output's.
		UnknownOutput,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		/// Draws the committees of the last block's requests (see [`committee`]), clears the
		/// registrations whose upload window ended incomplete (see [`models`]), expires the
		/// requests whose deadline passed and prunes those whose retention ended (see
		/// [`expiry`]).
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let drawn = Self::draw_committees();
			let uploads = Self::expire_uploads(now);
			T::WeightInfo::draw_committees(drawn)
				.saturating_add(T::WeightInfo::expire_uploads(uploads))
				.saturating_add(Self::expire_and_prune(now))
		}

		/// Calls back the requesters of expired requests, within the block's spare weight (see
		/// [`expiry`]).
		fn on_idle(_now: BlockNumberFor<T>, remaining: Weight) -> Weight {
			Self::deliver_expiry_callbacks(remaining)
		}

		/// Validators holding an `infr` key run the requests assigned to them (see
		/// [`offchain`]).
		fn offchain_worker(now: BlockNumberFor<T>) {
			offchain::run::<T>(now);
		}

		fn integrity_test() {
			assert!(
				T::HostedFetchWindow::get().saturating_add(T::CommitWindow::get())
					<= T::MaxTimeout::get(),
				"a hosted model's probe times out after HostedFetchWindow + CommitWindow"
			);
			assert!(
				T::MaxCommittee::get() <= verity_primitives::agreement::MAX_MEMBERS,
				"agreement masks name at most 64 committee members"
			);
			// Off-chain workers fill reveal batches up to an extrinsic's weight
			// (`offchain::send_reveals`); the largest entry must fit that alone, and a batch of
			// the most entries of the smallest outputs too.
			let largest = T::WeightInfo::submit_result(
				conclusion::charged_output_len(T::MaxOutputBytes::get()),
				T::MaxCommittee::get(),
			)
			.saturating_add(Pallet::<T>::callback_weight());
			let smallest = T::WeightInfo::submit_result(0, T::MaxCommittee::get())
				.saturating_add(Pallet::<T>::callback_weight())
				.saturating_mul(T::MaxRevealsPerBatch::get().into());
			let budget = Pallet::<T>::reveal_batch_budget();
			assert!(largest.all_lte(budget), "the largest reveal must fit a batch");
			assert!(smallest.all_lte(budget), "a batch of the smallest reveals must fit");
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Register a model: the blake2-256 of its ONNX bytes (`code_hash`), its size, specs,
		/// tolerance and fee. Its id is a hash of these and the caller
		/// ([`verity_primitives::model_id`], in the `ModelRegistered` event). Holds
		/// `ModelDepositBase + size * ModelDepositPerByte` from the caller until removal. The
		/// bytes follow with `upload_model_chunk` and `complete_model_upload`, within
		/// `UploadWindow` blocks.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_model())]
		pub fn register_model(
			origin: OriginFor<T>,
			code_hash: H256,
			size: u32,
			inputs: spec::TensorSpecs,
			outputs: spec::TensorSpecs,
			tolerance: verity_primitives::agreement::Tolerance,
			fee: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			Self::do_register_model(owner, code_hash, size, inputs, outputs, tolerance, fee)
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
			Self::do_upload_chunk(ensure_signed(origin)?, model, chunk)
		}

		/// Check the uploaded bytes against the model's hash and start its readiness probe: a
		/// request of the owner's (fee held like any request) that the committee runs on
		/// `probe_input`, or on zeros of the model's input shapes with dynamic dimensions at 1.
		/// At quorum the model becomes active with the agreed profile; an agreed failure or no
		/// agreement rejects it. Charged for the largest model and input up front; the unused
		/// part is refunded.
		#[pallet::call_index(2)]
		#[pallet::weight(Pallet::<T>::complete_model_upload_weight(T::MaxModelBytes::get()))]
		pub fn complete_model_upload(
			origin: OriginFor<T>,
			model: ModelId,
			probe_input: Option<Vec<u8>>,
		) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let probe_input = probe_input.map(Self::bound_input).transpose()?;
			Self::do_complete_upload(owner, model, probe_input)
		}

		/// Stop new requests for a model; pending requests still finish.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::retire_model())]
		pub fn retire_model(origin: OriginFor<T>, model: ModelId) -> DispatchResult {
			Self::do_retire_model(ensure_signed(origin)?, model)
		}

		/// Delete a model and its bytes and release its deposit (nothing may be pending).
		/// Attested results stay: they carry the model id, not the model.
		#[pallet::call_index(4)]
		#[pallet::weight(Pallet::<T>::remove_model_weight(
			T::MaxModelBytes::get().div_ceil(T::MaxChunkBytes::get().max(1))
		))]
		pub fn remove_model(origin: OriginFor<T>, model: ModelId) -> DispatchResultWithPostInfo {
			Self::do_remove_model(ensure_signed(origin)?, model)
		}

		/// Ask for inference: `input` holds the input tensors (docs/tensor-format.md), at most
		/// `MaxInputBytes` (else `InputTooLarge`), and must match the model's input spec. The
		/// model's fee (at most `max_fee`) is held until the request is attested (paid to the
		/// agreeing validators) or expires (refunded). Results are accepted for `timeout` blocks
		/// (`DefaultTimeout` if `None`).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::request_inference(input.len() as u32, T::MaxCommittee::get()))]
		pub fn request_inference(
			origin: OriginFor<T>,
			model: ModelId,
			input: Vec<u8>,
			max_fee: BalanceOf<T>,
			timeout: Option<BlockNumberFor<T>>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			Self::do_request(requester, model, input, max_fee, timeout, Default::default())
				.map(|_| ())
		}

		/// A committee member's result for a request, signed with its `infr` key. Submitted by
		/// the validator's off-chain worker as an authorized transaction (no fee, no account);
		/// the signature and every cheap check run in the transaction pool. Attests the request
		/// when this result completes a quorum.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::submit_result(
			conclusion::charged_output_len(submission.output.len() as u32),
			T::MaxCommittee::get(),
		).saturating_add(Pallet::<T>::callback_weight()))]
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
			Self::do_submit_result(submission)
		}

		/// A committee member's signed report that it could not answer a request (the model
		/// was refused, ran out of time or memory, ...). Submitted like a result; a quorum on
		/// the same kind concludes the request as failed (see `failures.rs`). Charged its
		/// benchmarked worst case (completing the quorum of the largest committee) and the
		/// largest callback; refunded what the callback left.
		#[pallet::call_index(7)]
		#[pallet::weight(Pallet::<T>::submit_failure_base_weight()
			.saturating_add(Pallet::<T>::callback_weight()))]
		#[pallet::weight_of_authorize(T::WeightInfo::authorize_submit_result(0))]
		#[pallet::authorize(Pallet::<T>::authorize_submit_failure)]
		pub fn submit_failure(
			origin: OriginFor<T>,
			failure: FailureSubmission,
			// Verified in `authorize`.
			_signature: <InferenceAuthorityId as RuntimeAppPublic>::Signature,
		) -> DispatchResultWithPostInfo {
			frame_system::ensure_authorized(origin)?;
			Self::do_submit_failure(failure)
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

		/// A committee member's reveals (see [`commit`]), one per request, signed with its
		/// `infr` key: the answers whose commit phase is over, in one authorized transaction
		/// (what `submit_result` and `submit_failure` do one at a time). Each reveal meets the
		/// rules of those calls; reveals that went stale are skipped. Charged each entry's
		/// worst case and largest callback; refunded to what they did.
		#[pallet::call_index(9)]
		#[pallet::weight(Pallet::<T>::reveal_answers_weight(batch))]
		#[pallet::weight_of_authorize(Pallet::<T>::authorize_reveal_answers_weight(batch))]
		#[pallet::authorize(Pallet::<T>::authorize_reveal_answers)]
		pub fn reveal_answers(
			origin: OriginFor<T>,
			batch: RevealBatchOf<T>,
			// Verified in `authorize`.
			_signature: <InferenceAuthorityId as RuntimeAppPublic>::Signature,
		) -> DispatchResultWithPostInfo {
			frame_system::ensure_authorized(origin)?;
			Self::do_reveal_answers(batch)
		}

		/// Register a hosted model: like `register_model`, but its file (up to
		/// `MaxHostedModelBytes`) stays off chain, served at `urls`. Its readiness probe starts
		/// at once (on `probe_input`, or zeros as in `complete_model_upload`): each committee
		/// member's node fetches the file, checking size and hash, before it runs the probe
		/// (within `HostedFetchWindow`); a member whose node cannot get the right bytes votes
		/// `ModelUnavailable`, so the model becomes active only once a quorum holds it and ran
		/// it. The deposit covers the URLs and a byte per KiB of the file.
		#[pallet::call_index(11)]
		#[pallet::weight(Pallet::<T>::register_hosted_model_weight())]
		pub fn register_hosted_model(
			origin: OriginFor<T>,
			code_hash: H256,
			size: u32,
			urls: ModelUrls,
			inputs: spec::TensorSpecs,
			outputs: spec::TensorSpecs,
			tolerance: verity_primitives::agreement::Tolerance,
			fee: BalanceOf<T>,
			probe_input: Option<Vec<u8>>,
		) -> DispatchResultWithPostInfo {
			let owner = ensure_signed(origin)?;
			let probe_input = probe_input.map(Self::bound_input).transpose()?;
			let model = HostedModel { code_hash, size, urls, inputs, outputs, tolerance, fee };
			Self::do_register_hosted_model(owner, model, probe_input)
		}

		/// Like `request_inference`, demanding more than the model's defaults (`rules`): at
		/// least `min_attesters` agreeing members (up to the committee, or `u32::MAX` for all of
		/// it, else `MoreAttestersThanCommittee`) and agreement under a tolerance at most the model's
		/// (else `ToleranceLooserThanModel`). Without such agreement by the deadline the request
		/// expires like any other. Its weight is `request_inference`'s: the same work and two
		/// comparisons.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::request_inference(input.len() as u32, T::MaxCommittee::get()))]
		pub fn request_inference_with_rules(
			origin: OriginFor<T>,
			model: ModelId,
			input: Vec<u8>,
			max_fee: BalanceOf<T>,
			timeout: Option<BlockNumberFor<T>>,
			rules: RequestRules,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			Self::do_request(requester, model, input, max_fee, timeout, rules).map(|_| ())
		}
	}
}
