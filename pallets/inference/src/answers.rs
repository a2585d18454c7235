//! Answers: the rules every committee member's answer (a result or a failure) meets, in the
//! transaction pool and at dispatch alike, and how the pool orders and expires them.
use crate::*;

/// `InvalidTransaction::Custom` codes of rejected result submissions.
pub mod invalid_codes {
	/// The output is not a valid tensor list or does not match the model's output spec.
	pub const MALFORMED_OUTPUT: u8 = 1;
}

impl<T: Config> Pallet<T> {
	/// What `submission`'s executor signs (see [`ResultSubmission::signing_payload`]): bound to
	/// this chain's genesis hash and to the input of `request`.
	pub fn signing_payload(submission: &SubmissionOf<T>, request: &RequestOf<T>) -> Vec<u8> {
		submission.signing_payload(Self::genesis_hash(), &request.input_hash)
	}

	/// The rules every answer (result or failure) meets, in the pool and at dispatch alike: the
	/// request is pending and within its deadline, the signer is in its committee and has not
	/// answered. Returns the request and the signer's committee index.
	pub(crate) fn check_member(
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

	/// Takes request `id` off `member`'s open work once it revealed its answer; returns the
	/// member's account.
	pub(crate) fn answered(id: RequestId, request: &RequestOf<T>, member: u32) -> T::AccountId {
		let executor = &request.committee[member as usize];
		Assignments::<T>::remove(&executor.key, id);
		executor.account.clone()
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

	/// Every rule a revealed result must meet: those of [`Self::check_member`], an output that
	/// decodes and matches the model's output spec (a reference must name an output of that
	/// length already revealed for the request: it was checked then), and its commitment.
	pub(crate) fn check_submission(
		submission: &RevealedOf<T>,
	) -> Result<(RequestOf<T>, u32), Error<T>> {
		let id = submission.request_id;
		let (request, member) = Self::check_member(id, &submission.executor)?;
		let commitment = Self::revealable(id, &request, member)?;
		match &submission.output {
			RevealedOutput::Bytes(output) => {
				let model = Models::<T>::get(request.model).ok_or(Error::<T>::UnknownModel)?;
				if !Self::output_matches(output, &model) {
					return Err(Error::<T>::MalformedOutput);
				}
			}
			RevealedOutput::Same { len } => {
				// Reads the length prefix only.
				let stored = SubmittedOutputs::<T>::decode_len(id, submission.output_hash);
				if stored != Some(*len as usize) {
					return Err(Error::<T>::UnknownOutput);
				}
			}
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

	/// Weight of `submit_failure` before its callback: the benchmarked worst case, the report
	/// that completes the quorum of the largest committee and pays all its members.
	pub(crate) fn submit_failure_base_weight() -> Weight {
		T::WeightInfo::submit_failure(T::MaxCommittee::get())
	}

	/// Pool validity of a submission: the checks of [`Self::check_submission`], then the
	/// signature (most expensive, last). One transaction per (request, member) is valid, until
	/// the request's deadline.
	pub(crate) fn authorize_submit_result(
		_source: TransactionSource,
		submission: &SubmissionOf<T>,
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		let (request, _) =
			Self::check_submission(&submission.clone().revealed()).map_err(Self::invalid_answer)?;
		if !submission.executor.verify(&Self::signing_payload(submission, &request), signature) {
			return Err(InvalidTransaction::BadProof.into());
		}
		Self::answer_validity(submission.request_id, &submission.executor, &request)
	}

	/// Why the pool refuses an answer that breaks a rule.
	pub(crate) fn invalid_answer(e: Error<T>) -> InvalidTransaction {
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
	pub(crate) fn answer_validity(
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
}
