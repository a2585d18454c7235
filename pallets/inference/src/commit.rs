//! Commit–reveal: a committee member first commits to its answer, then reveals it.
//!
//! Results used to travel in clear through the transaction pool, so a member could copy the
//! first result it saw, sign it and be paid as an attester: "2 of 3 agreed" could mean one run.
//! Now every answer (an output or a failure) is first published as a [`commitment`]: the
//! blake2-256 of the chain's genesis hash, the request id, its input hash, the member's key, the
//! answer and a random salt. Commitments travel in one signed batch per validator and block
//! (`commit_answers`). The **commit phase** of a request ends when every member of its
//! committee has committed, or after its commit deadline (`drawn_at + CommitWindow`, or
//! `HostedFetchWindow` for a hosted model's probe, at most the block before its deadline);
//! commitments are refused after that. An answer is revealed by `submit_result` /
//! `submit_failure` carrying the salt; it counts only if
//!
//! - the member's commitment is in an earlier block than the reveal,
//! - the commit phase is over (so every answer that will count was fixed before any was shown),
//! - answer and salt hash to the commitment.
//!
//! A copier that waits for others' answers finds the commit phase over when it sees them: it
//! can neither commit nor reveal. One that commits without having run the model has committed
//! to a guess. Under light load a request made in block `N` is committed to in `N + 1` and
//! concluded in `N + 2`; a silent member delays the reveals to the end of the commit window.
use crate::*;
use frame_support::dispatch::DispatchResultWithPostInfo;
use sp_runtime::{traits::Bounded, DispatchResult};

impl<T: Config> Pallet<T> {
	/// Last block in which `request` takes commitments: its commit window (`CommitWindow`, or
	/// `HostedFetchWindow` for a hosted model's probe) after its committee was fixed, and before
	/// its deadline (so that there is a block left to reveal in).
	pub fn commit_deadline(request: &RequestOf<T>) -> BlockNumberOf<T> {
		request
			.drawn_at
			.saturating_add(request.commit_window)
			.min(request.deadline.saturating_sub(1u32.into()))
	}

	/// Whether the commit phase of request `id` is over at block `now`: every member committed,
	/// or the commit deadline passed.
	pub fn commit_phase_over(id: RequestId, request: &RequestOf<T>, now: BlockNumberOf<T>) -> bool {
		CommitCounts::<T>::get(id) as usize >= request.committee.len()
			|| now > Self::commit_deadline(request)
	}

	/// Whether every member that committed to an answer for pending request `id` revealed it
	/// (reveals come after the commit phase, when the number of commitments is final).
	pub(crate) fn all_revealed(id: RequestId) -> bool {
		Self::answers(id) as u32 >= CommitCounts::<T>::get(id)
	}

	/// The commitment `member` may reveal now: it exists, is in an earlier block, and the
	/// commit phase is over.
	pub(crate) fn revealable(
		id: RequestId,
		request: &RequestOf<T>,
		member: u32,
	) -> Result<H256, Error<T>> {
		let commitment = Commitments::<T>::get(id, member).ok_or(Error::<T>::NotCommitted)?;
		let now = frame_system::Pallet::<T>::block_number();
		if commitment.at >= now || !Self::commit_phase_over(id, request, now) {
			return Err(Error::<T>::CommitPhaseOpen);
		}
		Ok(commitment.hash)
	}

	/// What a batch's executor signs: bound to this chain (each commitment binds its input).
	pub fn commit_payload(batch: &CommitBatchOf<T>) -> Vec<u8> {
		batch.signing_payload(Self::genesis_hash())
	}

	/// The rules of one commitment: those of every answer, the commit phase is open and the
	/// member has not committed yet.
	fn check_commit(
		id: RequestId,
		executor: &InferenceAuthorityId,
	) -> Result<(RequestOf<T>, u32), Error<T>> {
		let (request, member) = Self::check_member(id, executor)?;
		if Self::commit_phase_over(id, &request, frame_system::Pallet::<T>::block_number()) {
			return Err(Error::<T>::CommitPhaseClosed);
		}
		if Commitments::<T>::contains_key(id, member) {
			return Err(Error::<T>::AlreadyCommitted);
		}
		Ok((request, member))
	}

	/// A batch holds at least one commitment and each request once.
	fn check_batch_shape(batch: &CommitBatchOf<T>) -> Result<(), Error<T>> {
		let mut ids: Vec<RequestId> = batch.commitments.iter().map(|(id, _)| *id).collect();
		ids.sort_unstable();
		let distinct = ids.windows(2).all(|w| w[0] != w[1]);
		if ids.is_empty() || !distinct {
			return Err(Error::<T>::BadCommitBatch);
		}
		Ok(())
	}

	/// Pool validity of a commit batch: its shape, the rules of its commitments (at least one
	/// must meet them: a batch whose other entries went stale meanwhile, e.g. a request that
	/// concluded, still carries the rest), then the signature. It provides one tag per valid
	/// commitment, so two batches never commit the same member to one request, and lives until
	/// the earliest commit deadline among them.
	pub(crate) fn authorize_commit_answers(
		_source: TransactionSource,
		batch: &CommitBatchOf<T>,
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		Self::check_batch_shape(batch).map_err(|_| InvalidTransaction::BadProof)?;
		let checked = batch.commitments.iter().map(|(id, _)| {
			Self::check_commit(*id, &batch.executor)
				.map(|(request, _)| (*id, Self::commit_deadline(&request)))
		});
		let payload = Self::commit_payload(batch);
		Self::batch_validity("VerityCommit", &batch.executor, checked, &payload, signature)
	}

	/// Pool validity of a batch (commitments or reveals) whose entries were `checked` into
	/// `(request, last block of the entry)` or an error: at least one entry must be valid (the
	/// first error answers otherwise), then the executor's signature over `payload`. It
	/// provides one tag `(request, executor)` under `tag_prefix` per valid entry and lives until
	/// the earliest last block.
	fn batch_validity(
		tag_prefix: &'static str,
		executor: &InferenceAuthorityId,
		checked: impl Iterator<Item = Result<(RequestId, BlockNumberOf<T>), Error<T>>>,
		payload: &[u8],
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		let mut last_block = BlockNumberOf::<T>::max_value();
		let mut valid = Vec::new();
		let mut first_error = None;
		for entry in checked {
			match entry {
				Ok((id, last)) => {
					last_block = last_block.min(last);
					valid.push(id);
				}
				Err(e) => {
					first_error.get_or_insert(e);
				}
			}
		}
		if valid.is_empty() {
			let error = first_error.unwrap_or(Error::<T>::BadCommitBatch);
			return Err(Self::invalid_answer(error).into());
		}
		if !executor.verify(&payload, signature) {
			return Err(InvalidTransaction::BadProof.into());
		}
		let mut validity = ValidTransaction::with_tag_prefix(tag_prefix)
			.priority(T::UnsignedPriority::get())
			.longevity(Self::blocks_until(last_block))
			.propagate(true);
		for id in valid {
			validity = validity.and_provides((id, executor.clone()));
		}
		validity.build().map(|v| (v, Weight::zero()))
	}

	/// Records the commitments of a batch that meet the rules, skipping those that went stale
	/// since the pool accepted it (at least one must be recorded).
	pub(crate) fn do_commit_answers(batch: CommitBatchOf<T>) -> DispatchResult {
		Self::check_batch_shape(&batch)?;
		let at = frame_system::Pallet::<T>::block_number();
		let mut recorded = 0u32;
		let mut first_error = None;
		for (id, hash) in batch.commitments {
			let (request, member) = match Self::check_commit(id, &batch.executor) {
				Ok(checked) => checked,
				Err(e) => {
					first_error.get_or_insert(e);
					continue;
				}
			};
			recorded += 1;
			Commitments::<T>::insert(id, member, Commitment { hash, at });
			CommitCounts::<T>::mutate(id, |n| *n = n.saturating_add(1));
			Self::deposit_event(Event::AnswerCommitted {
				request_id: id,
				executor: request.committee[member as usize].account.clone(),
			});
		}
		match first_error {
			Some(e) if recorded == 0 => Err(e.into()),
			_ => Ok(()),
		}
	}

	/// What a reveal batch's executor signs: bound to this chain (each reveal must match its
	/// commitment, which binds the request's input).
	pub fn reveal_payload(batch: &RevealBatchOf<T>) -> Vec<u8> {
		batch.signing_payload(Self::genesis_hash())
	}

	/// The rules of one reveal of a batch: those of `submit_result` or `submit_failure`.
	fn check_reveal(
		batch: &RevealBatchOf<T>,
		reveal: &Reveal<T::MaxOutputBytes>,
	) -> Result<RequestOf<T>, Error<T>> {
		let checked = match (batch.result(reveal), batch.failure(reveal)) {
			(Some(submission), _) => Self::check_submission(&submission),
			(_, Some(failure)) => Self::check_failure(&failure),
			(None, None) => Err(Error::<T>::BadCommitBatch),
		};
		checked.map(|(request, _)| request)
	}

	/// A reveal batch holds at least one reveal and each request once.
	fn check_reveal_shape(batch: &RevealBatchOf<T>) -> Result<(), Error<T>> {
		let mut ids: Vec<RequestId> = batch.reveals.iter().map(Reveal::request_id).collect();
		ids.sort_unstable();
		if ids.is_empty() || ids.windows(2).any(|w| w[0] == w[1]) {
			return Err(Error::<T>::BadCommitBatch);
		}
		Ok(())
	}

	/// Weight of `reveal_answers` before dispatch: each reveal at its benchmarked worst case
	/// (a result completing the largest committee's quorum, or a failure doing so) with the
	/// largest callback. The dispatch is the same code as `submit_result` / `submit_failure`
	/// per entry; the signature is checked once, in `authorize`.
	pub fn reveal_answers_weight(batch: &RevealBatchOf<T>) -> Weight {
		batch
			.reveals
			.iter()
			.fold(Weight::zero(), |total, reveal| total.saturating_add(Self::reveal_weight(reveal)))
	}

	/// The most weight an off-chain worker puts in one `reveal_answers` batch: what one normal
	/// extrinsic may weigh.
	pub fn reveal_batch_budget() -> Weight {
		<T as frame_system::Config>::BlockWeights::get()
			.get(frame_support::dispatch::DispatchClass::Normal)
			.max_extrinsic
			.unwrap_or(Weight::MAX)
	}

	/// What one entry of `reveal_answers` is charged before dispatch: a result (carried or
	/// named by reference) completing the largest committee's quorum, or a failure doing so,
	/// and the largest callback. Off-chain workers fill a batch up to an extrinsic's weight.
	pub fn reveal_weight(reveal: &Reveal<T::MaxOutputBytes>) -> Weight {
		let entry = match reveal {
			Reveal::Result { .. } | Reveal::SameOutput { .. } => T::WeightInfo::submit_result(
				conclusion::charged_output_len(reveal.output_len()),
				T::MaxCommittee::get(),
			),
			Reveal::Failure { .. } => Self::submit_failure_base_weight(),
		};
		entry.saturating_add(Self::callback_weight())
	}

	/// Weight of `reveal_answers`' pool validity: the checks of each entry, as benchmarked for
	/// `submit_result` (each with a signature check, where the batch has one: an upper bound)
	/// on the bytes it carries (a reference is checked by its stored length alone).
	pub fn authorize_reveal_answers_weight(batch: &RevealBatchOf<T>) -> Weight {
		batch.reveals.iter().fold(Weight::zero(), |total, reveal| {
			total.saturating_add(T::WeightInfo::authorize_submit_result(reveal.carried_len()))
		})
	}

	/// Pool validity of a reveal batch: its shape, the rules of its reveals (at least one must
	/// meet them; entries that went stale meanwhile, e.g. a request that concluded, ride
	/// along), then the signature. It provides the tag of each valid reveal (the tag of a
	/// single `submit_result` / `submit_failure` of that member and request), and lives until
	/// the earliest deadline among them.
	pub(crate) fn authorize_reveal_answers(
		_source: TransactionSource,
		batch: &RevealBatchOf<T>,
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		Self::check_reveal_shape(batch).map_err(|_| InvalidTransaction::BadProof)?;
		let checked = batch.reveals.iter().map(|reveal| {
			Self::check_reveal(batch, reveal).map(|request| (reveal.request_id(), request.deadline))
		});
		let payload = Self::reveal_payload(batch);
		Self::batch_validity("VerityInference", &batch.executor, checked, &payload, signature)
	}

	/// Counts the reveals of a batch that meet the rules, as `submit_result` / `submit_failure`
	/// would, skipping those that went stale since the pool accepted it (at least one must
	/// count). The actual weight is the sum of the entries'.
	pub(crate) fn do_reveal_answers(batch: RevealBatchOf<T>) -> DispatchResultWithPostInfo {
		Self::check_reveal_shape(&batch)?;
		let mut used = Weight::zero();
		let mut counted = 0u32;
		let mut first_error = None;
		for reveal in batch.reveals.iter() {
			let outcome = match (batch.result(reveal), batch.failure(reveal)) {
				(Some(submission), _) => Self::reveal_result(submission),
				(_, Some(failure)) => Self::reveal_failure(failure),
				(None, None) => Err(Error::<T>::BadCommitBatch.into()),
			};
			match outcome {
				Ok(weight) => {
					used = used.saturating_add(weight);
					counted += 1;
				}
				Err(e) => {
					first_error.get_or_insert(e);
				}
			}
		}
		match first_error {
			Some(e) if counted == 0 => Err(e.into()),
			_ => Ok(Some(used).into()),
		}
	}
}
