//! Storage types of the inference pallet.
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
	weights::Weight, BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::{Get, H256};
use sp_runtime::FixedU128;
pub use verity_primitives::host::RunProfile;
use verity_primitives::{
	agreement::{Spread, Tolerance},
	spec::TensorSpecs,
	InferenceAuthorityId,
};

/// A model's id: a hash of its owner, its ONNX bytes' hash and its rules (specs, tolerance, fee),
/// see [`verity_primitives::model_id`].
pub type ModelId = H256;
/// Requests are numbered from 0.
pub type RequestId = u64;

/// Life cycle of a model.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ModelStatus {
	/// Registered; its bytes are being uploaded. No requests yet.
	Uploading,
	/// Bytes complete and hash-checked: requests are accepted.
	Active,
	/// No new requests; pending ones still finish.
	Retired,
	/// `MaxFailuresInRow` requests in a row ended in an agreed failure: no new requests.
	Suspended,
	/// Bytes complete and hash-checked; the committee runs its readiness probe (a request of
	/// the owner's, see [`ModelProfile`]). No requests yet.
	Probing,
	/// Its probe failed or found no agreement: no requests ever. The owner removes it to
	/// release its deposit.
	Rejected,
}

/// What a model's readiness probe measured, agreed by the committee (each figure is the median
/// of the attesters' reports): validators bound every later run of the model by
/// [`ModelProfile::run_budget_millis`].
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct ModelProfile<BlockNumber> {
	/// The probe request.
	pub request_id: RequestId,
	/// blake2-256 of the attested probe output.
	pub output_hash: H256,
	/// Microseconds to load the model's session.
	pub load_micros: u32,
	/// Microseconds of the probe run.
	pub run_micros: u32,
	/// Peak resident memory of a worker during the probe, in KiB.
	pub peak_memory_kib: u32,
	/// Block of attestation.
	pub probed_at: BlockNumber,
	/// How far apart every revealed probe output was from the attested one (dissenters'
	/// included): the validators' measured spread, to calibrate the model's tolerance.
	pub spread: Spread,
	/// Members whose probe output was outside the tolerance (before the quorum was reached).
	pub dissenters: u32,
}

/// A run of a profiled model may take this many times its probe's run time ...
pub const RUN_BUDGET_FACTOR: u32 = 20;
/// ... but never less than this many milliseconds (validators' machines differ, and short runs
/// are noisy). The node's own `--max-inference-ms` caps every run.
pub const RUN_BUDGET_FLOOR_MILLIS: u32 = 100;

impl<BlockNumber> ModelProfile<BlockNumber> {
	/// Milliseconds one run of the model may take on a validator: `RUN_BUDGET_FACTOR` times its
	/// probe's run time, at least `RUN_BUDGET_FLOOR_MILLIS`.
	pub fn run_budget_millis(&self) -> u32 {
		(self.run_micros / 1000).saturating_mul(RUN_BUDGET_FACTOR).max(RUN_BUDGET_FLOOR_MILLIS)
	}
}

/// Most URLs of a hosted model (tried in order).
pub const MAX_MODEL_URLS: u32 = 4;
/// Longest URL of a hosted model, in bytes.
pub const MAX_URL_BYTES: u32 = 256;
/// A URL (`http://` or `https://`, printable ASCII) where a hosted model's file is served.
pub type ModelUrl = BoundedVec<u8, frame_support::traits::ConstU32<MAX_URL_BYTES>>;
/// The URLs of a hosted model.
pub type ModelUrls = BoundedVec<ModelUrl, frame_support::traits::ConstU32<MAX_MODEL_URLS>>;

/// A registered model.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, TypeInfo, MaxEncodedLen)]
pub struct ModelInfo<AccountId, Balance, BlockNumber> {
	/// Who registered it, pays its deposit and may retire or remove it.
	pub owner: AccountId,
	/// blake2-256 of the ONNX bytes (what validators' engines load and check).
	pub code_hash: H256,
	/// Size of the ONNX file in bytes.
	pub size: u32,
	/// Bytes uploaded so far.
	pub uploaded: u32,
	/// Number of stored chunks.
	pub chunks: u32,
	/// What requests must provide.
	pub inputs: TensorSpecs,
	/// What results must look like.
	pub outputs: TensorSpecs,
	/// When two floating-point results agree.
	pub tolerance: Tolerance,
	/// Price of one request, paid by the requester to the agreeing validators.
	pub fee: Balance,
	/// Held from the owner while the model exists.
	pub deposit: Balance,
	pub status: ModelStatus,
	/// Block of registration.
	pub registered_at: BlockNumber,
}

/// Life cycle of a request.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum RequestStatus {
	/// Waiting for a quorum of agreeing results.
	Pending,
	/// A quorum of results agreed: the result is **attested** and in `Results`. (Not GRANDPA
	/// finality: the block holding it becomes final separately.)
	Attested,
	/// No quorum before the deadline (or every member answered without agreement); refunded.
	Expired,
	/// A quorum of the committee reported the same failure (the model could not be run on this
	/// input); the fee paid those members, who did the work.
	Failed,
}

/// Why a committee member could not produce an output. Failures are compared exactly (by kind):
/// a quorum on one kind concludes the request as [`RequestStatus::Failed`].
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum FailureKind {
	/// The model was refused (screen or ONNX Runtime could not load it).
	BadModel,
	/// ONNX Runtime refused the input.
	BadInput,
	/// The output is larger than `MaxOutputBytes` or the engine's limit.
	OutputTooLarge,
	/// The output does not match the model's output spec.
	OutputMismatch,
	/// The run took longer than the validators' time limit.
	Timeout,
	/// The run needed more memory than the validators' cap.
	OutOfMemory,
	/// ONNX Runtime failed while running.
	RunFailed,
	/// The worker process running the model died.
	WorkerDied,
	/// The validator's node could not get a hosted model's file: every URL failed, or served
	/// another length or other bytes than registered.
	ModelUnavailable,
}

impl FailureKind {
	/// Whether the failure says something about the model whatever its input: these count
	/// towards its suspension. A run out of time or memory, an input refused or an output too
	/// large depend on the input the requester chose (a few huge inputs past the model's run
	/// budget would otherwise suspend any model with dynamic dimensions); they end the request
	/// as failed, paid, but do not count against the model.
	pub fn counts_against_model(&self) -> bool {
		matches!(
			self,
			FailureKind::BadModel
				| FailureKind::OutputMismatch
				| FailureKind::RunFailed
				| FailureKind::WorkerDied
				| FailureKind::ModelUnavailable
		)
	}
}

/// What a validator signs and submits when it cannot answer a request.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct FailureSubmission {
	pub request_id: RequestId,
	/// The signer; must be in the request's committee.
	pub executor: InferenceAuthorityId,
	pub kind: FailureKind,
	/// The salt of the member's commitment: this report reveals it.
	pub salt: Salt,
}

/// Context of failure signatures (never valid as a result signature, nor the reverse).
pub const FAILURE_SIGNING_CONTEXT: &[u8; 17] = b"verity/failure/v1";

impl FailureSubmission {
	/// The bytes a committee member signs, bound like a result's (see
	/// [`ResultSubmission::signing_payload`]).
	pub fn signing_payload(&self, genesis_hash: impl Encode, input_hash: &H256) -> Vec<u8> {
		(
			FAILURE_SIGNING_CONTEXT,
			genesis_hash,
			self.request_id,
			input_hash,
			&self.executor,
			self.kind,
			&self.salt,
		)
			.encode()
	}

	/// The commitment this report reveals.
	pub fn commitment(&self, genesis_hash: impl Encode, input_hash: &H256) -> H256 {
		commitment(
			genesis_hash,
			self.request_id,
			input_hash,
			&self.executor,
			Answer::Failure(self.kind),
			&self.salt,
		)
	}
}

/// A committee member: the validator's account (paid) and its inference key (signs results).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Executor<AccountId> {
	pub account: AccountId,
	pub key: InferenceAuthorityId,
}

/// `RequestRules::min_attesters` that demands every member of the committee, whatever its size.
pub const UNANIMITY: u32 = u32::MAX;

/// What a request demands beyond its model's defaults, enforced by the chain: at least
/// `min_attesters` agreeing members (at most the committee's size, or [`UNANIMITY`]; 0 keeps
/// the quorum of `QuorumRatio`), and agreement under `tolerance` (at most the model's in each
/// part; `None`: the model's).
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct RequestRules {
	pub min_attesters: u32,
	pub tolerance: Option<Tolerance>,
}

/// An inference request.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxCommittee))]
pub struct Request<AccountId, Balance, BlockNumber, MaxCommittee: Get<u32>>
where
	AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
	Balance: Clone + core::fmt::Debug + PartialEq + Eq,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
{
	pub requester: AccountId,
	pub model: ModelId,
	/// blake2-256 of the encoded input tensors (the input itself is in `RequestInputs`).
	pub input_hash: H256,
	/// Escrowed fee, held from the requester until attestation, failure or expiry.
	pub fee: Balance,
	/// Who may answer, fixed when the request is made (or, with more executors than
	/// `MaxCommittee`, drawn at the start of the next block: empty until then); validator-set
	/// changes do not affect it.
	pub committee: BoundedVec<Executor<AccountId>, MaxCommittee>,
	/// Agreeing results needed.
	pub quorum: u32,
	pub created_at: BlockNumber,
	/// Last block in which results are accepted.
	pub deadline: BlockNumber,
	pub status: RequestStatus,
	/// Block whose start fixed the committee: `created_at` when every executor attests, the
	/// next block when the committee is drawn. The commit window counts from here.
	pub drawn_at: BlockNumber,
	/// What the requester demanded beyond the model's defaults (`quorum` includes it).
	pub rules: RequestRules,
	/// Blocks after `drawn_at` in which members commit: `CommitWindow`, or `HostedFetchWindow`
	/// for the readiness probe of a hosted model (its file is fetched first).
	pub commit_window: BlockNumber,
}

/// An attested result and its provenance.
#[derive(
	CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound, Encode, Decode, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxCommittee, MaxOutput))]
pub struct InferenceResult<AccountId, BlockNumber, MaxCommittee: Get<u32>, MaxOutput: Get<u32>>
where
	AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
	BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
{
	/// The output tensors the quorum agreed on (the best-supported submission).
	pub output: BoundedVec<u8, MaxOutput>,
	pub output_hash: H256,
	pub model: ModelId,
	pub input_hash: H256,
	/// Validators whose results agreed (and were paid).
	pub attesters: BoundedVec<Executor<AccountId>, MaxCommittee>,
	/// Validators whose results disagreed (and got a strike).
	pub dissenters: BoundedVec<Executor<AccountId>, MaxCommittee>,
	/// Block in which the result was attested.
	pub attested_at: BlockNumber,
	/// How far apart the attesters' outputs were: the largest absolute difference between an
	/// element of the stored output and the same element of another attester's output, times
	/// 1e9 (saturating; 0 when they were identical or of exact types).
	pub max_difference_e9: u64,
}

/// What a validator signs and submits: its output for one request.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
)]
#[scale_info(skip_type_params(MaxOutput))]
pub struct ResultSubmission<MaxOutput: Get<u32>> {
	pub request_id: RequestId,
	/// The signer; must be in the request's committee.
	pub executor: InferenceAuthorityId,
	/// Output tensors in the Verity tensor format.
	pub output: BoundedVec<u8, MaxOutput>,
	/// The salt of the member's commitment (see [`commitment`]): this submission reveals it.
	pub salt: Salt,
	/// What the run cost the member: reported for a model's readiness probe (see
	/// [`ModelProfile`]), `None` otherwise.
	pub profile: Option<RunProfile>,
}

/// Context of result signatures, so that a result signature is never valid as anything else.
pub const RESULT_SIGNING_CONTEXT: &[u8; 16] = b"verity/result/v1";

impl<MaxOutput: Get<u32>> ResultSubmission<MaxOutput> {
	/// The bytes a committee member signs: the submission bound to the chain (its genesis hash)
	/// and to the request's input (its hash), so that a signature is valid neither on another
	/// chain nor for another request that reuses the id (e.g. on a fork or after a restart).
	pub fn signing_payload(&self, genesis_hash: impl Encode, input_hash: &H256) -> Vec<u8> {
		(
			RESULT_SIGNING_CONTEXT,
			genesis_hash,
			self.request_id,
			input_hash,
			&self.executor,
			&self.output,
			&self.salt,
			&self.profile,
		)
			.encode()
	}

	/// The submission as the chain records it (its commitment is [`Revealed::commitment`]).
	pub fn revealed(self) -> Revealed<MaxOutput> {
		Revealed {
			request_id: self.request_id,
			executor: self.executor,
			output_hash: output_hash(&self.output),
			output: RevealedOutput::Bytes(self.output),
			salt: self.salt,
			profile: self.profile,
		}
	}
}

/// The output of a revealed result: its bytes, or a reference to an identical output another
/// member of the committee already revealed (see [`Reveal::SameOutput`]).
#[derive(CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound)]
pub enum RevealedOutput<MaxOutput: Get<u32>> {
	/// The output tensors.
	Bytes(BoundedVec<u8, MaxOutput>),
	/// The output is byte for byte the one of this hash revealed earlier for the request, of
	/// `len` bytes (checked against the stored output; it sets the charged weight).
	Same { len: u32 },
}

/// A revealed result as the chain checks and records it: from `submit_result` or from an entry
/// of `reveal_answers` (with its output's bytes or a reference to identical ones).
#[derive(CloneNoBound, DebugNoBound, PartialEqNoBound, EqNoBound)]
pub struct Revealed<MaxOutput: Get<u32>> {
	pub request_id: RequestId,
	pub executor: InferenceAuthorityId,
	/// blake2-256 of the output (what the commitment binds).
	pub output_hash: H256,
	pub output: RevealedOutput<MaxOutput>,
	pub salt: Salt,
	pub profile: Option<RunProfile>,
}

impl<MaxOutput: Get<u32>> Revealed<MaxOutput> {
	/// The commitment this reveal opens.
	pub fn commitment(&self, genesis_hash: impl Encode, input_hash: &H256) -> H256 {
		commitment_of(
			genesis_hash,
			self.request_id,
			input_hash,
			&self.executor,
			AnswerDigest::Output(self.output_hash),
			&self.salt,
		)
	}

	/// Bytes of the output (carried or referenced).
	pub fn output_len(&self) -> u32 {
		match &self.output {
			RevealedOutput::Bytes(bytes) => bytes.len() as u32,
			RevealedOutput::Same { len } => *len,
		}
	}
}

/// blake2-256 of an output's bytes: what commitments bind and results record.
pub fn output_hash(output: &[u8]) -> H256 {
	H256(sp_io::hashing::blake2_256(output))
}

/// Random bytes an executor mixes into its commitment so that nobody can test guesses of its
/// answer against the commitment.
pub type Salt = [u8; 32];

/// What a member answers: an output, or a failure of some kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
pub enum Answer<'a> {
	Output(&'a [u8]),
	Failure(FailureKind),
}

/// What a commitment binds of an answer: an output by its hash (so that a member can reveal an
/// output identical to one already on chain by reference), or a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
pub enum AnswerDigest {
	Output(H256),
	Failure(FailureKind),
}

impl From<Answer<'_>> for AnswerDigest {
	fn from(answer: Answer<'_>) -> Self {
		match answer {
			Answer::Output(output) => AnswerDigest::Output(output_hash(output)),
			Answer::Failure(kind) => AnswerDigest::Failure(kind),
		}
	}
}

/// Context of commitments, so that a commitment is never valid as anything else (v2: outputs
/// are bound by their hash).
pub const COMMITMENT_CONTEXT: &[u8; 16] = b"verity/commit/v2";

/// The commitment of `executor` to `answer` for request `request_id` (with input `input_hash`)
/// on the chain of `genesis_hash`: blake2-256 of all of it (an output by its blake2-256) and the
/// salt. Published before any answer is revealed, it binds the member to an answer it computed
/// itself (commit–reveal: a member that did not run the model has nothing to commit to, and once
/// answers are revealed the commit phase is over).
pub fn commitment(
	genesis_hash: impl Encode,
	request_id: RequestId,
	input_hash: &H256,
	executor: &InferenceAuthorityId,
	answer: Answer<'_>,
	salt: &Salt,
) -> H256 {
	commitment_of(genesis_hash, request_id, input_hash, executor, answer.into(), salt)
}

/// [`commitment`] of an answer's digest.
pub fn commitment_of(
	genesis_hash: impl Encode,
	request_id: RequestId,
	input_hash: &H256,
	executor: &InferenceAuthorityId,
	answer: AnswerDigest,
	salt: &Salt,
) -> H256 {
	let payload =
		(COMMITMENT_CONTEXT, genesis_hash, request_id, input_hash, executor, answer, salt).encode();
	H256(sp_io::hashing::blake2_256(&payload))
}

/// A member's commitment to its answer, as stored.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Commitment<BlockNumber> {
	pub hash: H256,
	/// Block in which it was committed: its reveal counts only in a later block.
	pub at: BlockNumber,
}

/// What a validator signs and submits in one transaction per block: its commitments to the
/// answers it computed in that block, one per request.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
)]
#[scale_info(skip_type_params(MaxEntries))]
pub struct CommitBatch<MaxEntries: Get<u32>> {
	/// The signer; must be in each request's committee.
	pub executor: InferenceAuthorityId,
	/// `(request, commitment)` pairs, each request at most once.
	pub commitments: BoundedVec<(RequestId, H256), MaxEntries>,
}

/// Context of commit-batch signatures.
pub const COMMIT_SIGNING_CONTEXT: &[u8; 22] = b"verity/commit-batch/v1";

impl<MaxEntries: Get<u32>> CommitBatch<MaxEntries> {
	/// The bytes the executor signs: the batch bound to the chain (each commitment already binds
	/// its request's input).
	pub fn signing_payload(&self, genesis_hash: impl Encode) -> Vec<u8> {
		(COMMIT_SIGNING_CONTEXT, genesis_hash, &self.executor, &self.commitments).encode()
	}
}

/// One revealed answer of a [`RevealBatch`]: what `submit_result` or `submit_failure` carries,
/// less the executor (the batch's).
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
)]
#[scale_info(skip_type_params(MaxOutput))]
pub enum Reveal<MaxOutput: Get<u32>> {
	/// A result: output tensors in the Verity tensor format, the commitment's salt, and for a
	/// readiness probe what the run cost.
	Result {
		request_id: RequestId,
		output: BoundedVec<u8, MaxOutput>,
		salt: Salt,
		profile: Option<RunProfile>,
	},
	/// A failure of one kind, and the commitment's salt.
	Failure { request_id: RequestId, kind: FailureKind, salt: Salt },
	/// A result whose output is byte for byte one already revealed for the request (by another
	/// member), named by its blake2-256 and length: the bytes go on chain once per request, not
	/// once per member (outputs reach `MaxOutputBytes`, 1 MiB).
	SameOutput {
		request_id: RequestId,
		output_hash: H256,
		len: u32,
		salt: Salt,
		profile: Option<RunProfile>,
	},
}

impl<MaxOutput: Get<u32>> Reveal<MaxOutput> {
	/// The request it answers.
	pub fn request_id(&self) -> RequestId {
		match self {
			Reveal::Result { request_id, .. }
			| Reveal::Failure { request_id, .. }
			| Reveal::SameOutput { request_id, .. } => *request_id,
		}
	}

	/// Bytes of its output, carried or referenced (0 for a failure): what its weight is
	/// charged for.
	pub fn output_len(&self) -> u32 {
		match self {
			Reveal::Result { output, .. } => output.len() as u32,
			Reveal::SameOutput { len, .. } => *len,
			Reveal::Failure { .. } => 0,
		}
	}

	/// Bytes of output it carries (a reference carries none).
	pub fn carried_len(&self) -> u32 {
		match self {
			Reveal::Result { output, .. } => output.len() as u32,
			Reveal::SameOutput { .. } | Reveal::Failure { .. } => 0,
		}
	}
}

/// What a validator signs and submits in one transaction per block: its reveals of the answers
/// whose commit phase is over, one per request.
#[derive(
	CloneNoBound,
	DebugNoBound,
	PartialEqNoBound,
	EqNoBound,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
)]
#[scale_info(skip_type_params(MaxOutput, MaxEntries))]
pub struct RevealBatch<MaxOutput: Get<u32>, MaxEntries: Get<u32>> {
	/// The signer; must be in each request's committee.
	pub executor: InferenceAuthorityId,
	/// The reveals, each request at most once.
	pub reveals: BoundedVec<Reveal<MaxOutput>, MaxEntries>,
}

/// Context of reveal-batch signatures.
pub const REVEAL_SIGNING_CONTEXT: &[u8; 22] = b"verity/reveal-batch/v1";

impl<MaxOutput: Get<u32>, MaxEntries: Get<u32>> RevealBatch<MaxOutput, MaxEntries> {
	/// The bytes the executor signs: the batch bound to the chain (each reveal must match a
	/// commitment, which binds its request's input).
	pub fn signing_payload(&self, genesis_hash: impl Encode) -> Vec<u8> {
		(REVEAL_SIGNING_CONTEXT, genesis_hash, &self.executor, &self.reveals).encode()
	}

	/// The revealed result of entry `reveal` (`None` for a failure).
	pub fn result(&self, reveal: &Reveal<MaxOutput>) -> Option<Revealed<MaxOutput>> {
		match reveal {
			Reveal::Result { request_id, output, salt, profile } => Some(Revealed {
				request_id: *request_id,
				executor: self.executor.clone(),
				output_hash: output_hash(output),
				output: RevealedOutput::Bytes(output.clone()),
				salt: *salt,
				profile: *profile,
			}),
			Reveal::SameOutput { request_id, output_hash, len, salt, profile } => Some(Revealed {
				request_id: *request_id,
				executor: self.executor.clone(),
				output_hash: *output_hash,
				output: RevealedOutput::Same { len: *len },
				salt: *salt,
				profile: *profile,
			}),
			Reveal::Failure { .. } => None,
		}
	}

	/// The failure report of entry `reveal` (`None` for a result).
	pub fn failure(&self, reveal: &Reveal<MaxOutput>) -> Option<FailureSubmission> {
		match reveal {
			Reveal::Failure { request_id, kind, salt } => Some(FailureSubmission {
				request_id: *request_id,
				executor: self.executor.clone(),
				kind: *kind,
				salt: *salt,
			}),
			Reveal::Result { .. } | Reveal::SameOutput { .. } => None,
		}
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
	codec::MaxEncodedLen,
	scale_info::TypeInfo,
)]
pub enum ExpiryReason {
	/// The deadline passed without a quorum.
	Deadline,
	/// Every committee member answered and no quorum agrees.
	NoAgreement,
}

/// A callback a request asked for: the weight prepaid for it, and who paid it at which fee
/// multiplier, for the refund of the weight the callback does not use.
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
pub struct Callback<AccountId> {
	/// At most `ResultCallback::max_weight`.
	pub limit: Weight,
	/// The account whose transaction paid the weight as gas (`None`: nobody paid, e.g. a root
	/// call; nothing is refunded).
	pub payer: Option<AccountId>,
	/// The fee multiplier of the block it was paid in.
	pub fee_multiplier: FixedU128,
}
