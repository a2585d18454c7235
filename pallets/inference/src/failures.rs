//! Agreed failures: a committee member that cannot answer a request (the model was refused,
//! ran out of time or memory, its output is too large or does not match the spec) submits a
//! signed [`FailureSubmission`] of that kind instead of nothing. A quorum on the same kind
//! concludes the request as [`RequestStatus::Failed`]: the fee pays the members who reported it
//! (they did the work; the requester chose the model), and the model's [`FailureStreak`] grows;
//! at `MaxFailuresInRow` the model is suspended. Failures compare exactly (kind only); results
//! keep the tolerance rule. A member answers once, with a result or with a failure. A requester
//! that asked for a callback is told (`ResultCallback::deliver_failure`).
use crate::*;
use frame_support::dispatch::DispatchResultWithPostInfo;
use sp_runtime::DispatchError;

impl<T: Config> Pallet<T> {
	/// What `failure`'s executor signs: bound to this chain and the request's input.
	pub fn failure_payload(failure: &FailureSubmission, request: &RequestOf<T>) -> Vec<u8> {
		failure.signing_payload(Self::genesis_hash(), &request.input_hash)
	}

	/// Pool validity of a failure report: the member checks of a result, then the signature.
	/// It provides the same tag as a result of the same member, so the pool holds one answer
	/// per member.
	pub(crate) fn authorize_submit_failure(
		_source: TransactionSource,
		failure: &FailureSubmission,
		signature: &<InferenceAuthorityId as RuntimeAppPublic>::Signature,
	) -> TransactionValidityWithRefund {
		let (request, _) = Self::check_failure(failure).map_err(Self::invalid_answer)?;
		if !failure.executor.verify(&Self::failure_payload(failure, &request), signature) {
			return Err(InvalidTransaction::BadProof.into());
		}
		Self::answer_validity(failure.request_id, &failure.executor, &request)
	}

	/// Records a failure report; concludes the request when a quorum reported the same kind, or
	/// expires it when every member answered without agreement. Charged up front with the
	/// largest callback; the actual weight refunds what the callback left.
	pub(crate) fn do_submit_failure(failure: FailureSubmission) -> DispatchResultWithPostInfo {
		Ok(Some(Self::reveal_failure(failure)?).into())
	}

	/// [`Self::do_submit_failure`] returning the actual weight (also one entry of
	/// `reveal_answers`).
	pub(crate) fn reveal_failure(failure: FailureSubmission) -> Result<Weight, DispatchError> {
		let callback = Self::record_failure(failure)?;
		Ok(Self::submit_failure_base_weight().saturating_add(callback))
	}

	/// [`Self::do_submit_failure`] before the weight: returns the weight the callback used.
	fn record_failure(failure: FailureSubmission) -> Result<Weight, DispatchError> {
		let (request, member) = Self::check_failure(&failure)?;
		let id = failure.request_id;
		FailureVotes::<T>::insert(id, member, failure.kind);
		let executor = Self::answered(id, &request, member);
		Self::deposit_event(Event::FailureSubmitted {
			request_id: id,
			executor,
			kind: failure.kind,
		});
		let mut voters: Vec<u32> = FailureVotes::<T>::iter_prefix(id)
			.filter(|(_, kind)| *kind == failure.kind)
			.map(|(m, _)| m)
			.collect();
		if voters.len() as u32 >= request.quorum {
			voters.sort_unstable();
			return Ok(Self::conclude_failed(id, request, failure.kind, voters));
		}
		if Self::all_revealed(id) {
			let extra = Self::expire(id, request, ExpiryReason::NoAgreement);
			// Whether it was a probe, and rejecting its model; who revealed (with rules).
			return Ok(T::DbWeight::get().reads_writes(2, 2).saturating_add(extra));
		}
		Ok(Weight::zero())
	}

	/// The rules of a failure report: those of every answer, and it reveals the member's
	/// commitment.
	pub(crate) fn check_failure(
		failure: &FailureSubmission,
	) -> Result<(RequestOf<T>, u32), Error<T>> {
		let (request, member) = Self::check_member(failure.request_id, &failure.executor)?;
		let commitment = Self::revealable(failure.request_id, &request, member)?;
		if failure.commitment(Self::genesis_hash(), &request.input_hash) != commitment {
			return Err(Error::<T>::CommitmentMismatch);
		}
		Ok((request, member))
	}

	/// How many members answered a pending request, with a result or a failure.
	pub(crate) fn answers(id: RequestId) -> usize {
		Submissions::<T>::iter_prefix(id).count() + FailureVotes::<T>::iter_prefix(id).count()
	}

	/// Ends a request as failed: pays the reporting members, counts the model's streak (for the
	/// kinds that [count against it](FailureKind::counts_against_model)), then calls the
	/// requester back if it asked; returns the weight the callback used.
	fn conclude_failed(
		id: RequestId,
		mut request: RequestOf<T>,
		kind: FailureKind,
		voters: Vec<u32>,
	) -> Weight {
		let accounts: Vec<T::AccountId> =
			voters.iter().map(|m| request.committee[*m as usize].account.clone()).collect();
		let (paid, refunded) = Self::pay(&request, &accounts);
		request.status = RequestStatus::Failed;
		let model = request.model;
		let requester = request.requester.clone();
		let callback = Callbacks::<T>::take(id);
		let probe = Self::is_probe(&request);
		Requests::<T>::insert(id, &request);
		Self::close_pending(id, &request);
		Self::deposit_event(Event::InferenceFailed {
			request_id: id,
			model,
			kind,
			attesters: accounts.len() as u32,
			paid,
			refunded,
		});
		if probe {
			Self::probe_failed(model, id, Some(kind));
			return T::DbWeight::get().reads_writes(1, 2);
		}
		if kind.counts_against_model() {
			Self::count_failure(model);
		}
		// Last, once everything is settled: nothing the callback does can undo it.
		let Some(callback) = callback else { return Weight::zero() };
		let delivered = Self::delivering(&callback, || {
			T::ResultCallback::deliver_failure(id, &requester, kind, callback.limit)
		});
		Self::callback_delivered(id, delivered, &callback)
	}

	/// One more agreed failure of `model` in a row: at `MaxFailuresInRow` an active model is
	/// suspended.
	fn count_failure(model: ModelId) {
		let failures = FailureStreak::<T>::mutate(model, |n| {
			*n = n.saturating_add(1);
			*n
		});
		if failures >= T::MaxFailuresInRow::get() {
			let suspended = Models::<T>::mutate(model, |m| match m {
				Some(m) if m.status == ModelStatus::Active => {
					m.status = ModelStatus::Suspended;
					true
				}
				_ => false,
			});
			if suspended {
				Self::deposit_event(Event::ModelSuspended { model, failures });
			}
		}
	}
}
