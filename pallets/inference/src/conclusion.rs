//! Conclusion: tallying a revealed result against the earlier ones and, once a quorum agrees,
//! paying the attesters, striking the dissenters, storing the result and calling the requester
//! back.
use crate::*;
use frame_support::dispatch::DispatchResultWithPostInfo;

/// Output bytes a result is charged for (`WeightInfo::submit_result`'s `o`): the benchmark
/// measures f32 outputs, 4 bytes an element, each compared under the tolerance and measured for
/// `max_difference_e9`; f16 and bf16 outputs pack two elements into those bytes (the most
/// elements per byte of any type compared element by element), so every output is charged as
/// twice its length.
pub(crate) fn charged_output_len(len: u32) -> u32 {
	len.saturating_mul(2)
}
use sp_runtime::DispatchError;

impl<T: Config> Pallet<T> {
	/// Records a revealed result and concludes the request if it completes a quorum. Charged
	/// up front for the largest committee and callback; the actual weight counts the results
	/// compared and what the callback used.
	pub(crate) fn do_submit_result(submission: SubmissionOf<T>) -> DispatchResultWithPostInfo {
		Ok(Some(Self::reveal_result(submission.revealed())?).into())
	}

	/// [`Self::do_submit_result`] returning the actual weight (also one entry of
	/// `reveal_answers`).
	pub(crate) fn reveal_result(submission: RevealedOf<T>) -> Result<Weight, DispatchError> {
		let (request, member) = Self::check_submission(&submission)?;
		let executor = Self::answered(submission.request_id, &request, member);
		Self::deposit_event(Event::ResultSubmitted { request_id: submission.request_id, executor });
		// A readiness probe's report (a read of the model's status, a write).
		let mut extra = Weight::zero();
		if let Some(profile) = submission.profile {
			extra = T::DbWeight::get().reads_writes(1, 1);
			if Self::is_probe(&request) {
				ProbeReports::<T>::insert(submission.request_id, member, profile);
			}
		}
		let output_len = charged_output_len(submission.output_len());
		let (compared, callback) = Self::record_and_conclude(
			submission.request_id,
			request,
			member,
			submission.output_hash,
			submission.output,
		);
		Ok(T::WeightInfo::submit_result(output_len, compared)
			.saturating_add(callback)
			.saturating_add(extra))
	}

	/// Records `member`'s result (its output's bytes once per request: a reference names bytes
	/// already stored), comparing it with each earlier result, then concludes the request if a
	/// quorum agrees or expires it if everyone answered without agreement. Returns how many
	/// earlier results were compared and the weight its callback used.
	pub(crate) fn record_and_conclude(
		id: RequestId,
		request: RequestOf<T>,
		member: u32,
		output_hash: H256,
		output: RevealedOutput<T::MaxOutputBytes>,
	) -> (u32, Weight) {
		let Some(model) = Models::<T>::get(request.model) else { return (0, Weight::zero()) };
		let tolerance = request.rules.tolerance.unwrap_or(model.tolerance);
		let (len, bytes) = match output {
			RevealedOutput::Bytes(bytes) => (bytes.len() as u32, Some(bytes)),
			RevealedOutput::Same { len } => (len, None),
		};
		let mine = bytes.as_ref().map(|b| b.as_slice());
		let supports = Self::tally(id, member, output_hash, len, mine, tolerance);
		let compared = supports.len() as u32 - 1;
		Submissions::<T>::insert(id, member, output_hash);
		if let Some(bytes) = bytes {
			if !SubmittedOutputs::<T>::contains_key(id, output_hash) {
				SubmittedOutputs::<T>::insert(id, output_hash, bytes);
			}
		}
		let Some((leader, verdict)) = leader(&supports, request.quorum) else {
			if Self::all_revealed(id) {
				let extra = Self::expire(id, request, ExpiryReason::NoAgreement);
				// Whether it was a probe, and rejecting its model; who revealed (with rules).
				return (compared, T::DbWeight::get().reads_writes(2, 2).saturating_add(extra));
			}
			return (compared, Weight::zero());
		};
		(compared, Self::conclude_attested(id, request, supports, verdict, leader))
	}

	/// Compares `member`'s output (of `output_hash` and `len` bytes; its `bytes` if it carried
	/// them, else they are stored) with each earlier result of request `id` and stores who
	/// agrees with whom; returns every result's support, the new one last. Identical outputs
	/// agree without a look at their bytes; each other distinct output is compared once, and
	/// only when it has the same length: outputs agree only with the same layout (names, types,
	/// shapes) and equal exact-typed data, whose encodings have one length. The length comes
	/// from the stored value's prefix, so a reveal never reads more than its own length of
	/// earlier outputs (what it is charged for), however large another member's output is.
	pub(crate) fn tally(
		id: RequestId,
		member: u32,
		output_hash: H256,
		len: u32,
		bytes: Option<&[u8]>,
		tolerance: verity_primitives::agreement::Tolerance,
	) -> Vec<(u32, Support)> {
		let mut supports: Vec<(u32, Support)> = SubmissionSupport::<T>::iter_prefix(id).collect();
		let mut new = Support::new(member, supports.len() as u32);
		let mut own: Option<BoundedVec<u8, T::MaxOutputBytes>> = None;
		let mut verdicts: Vec<(H256, bool)> = Vec::new();
		for (other, support) in supports.iter_mut() {
			let Some(earlier) = Submissions::<T>::get(id, *other) else { continue };
			let agree = if earlier == output_hash {
				true
			} else if let Some((_, agree)) = verdicts.iter().find(|(h, _)| *h == earlier) {
				*agree
			} else if SubmittedOutputs::<T>::decode_len(id, earlier) != Some(len as usize) {
				verdicts.push((earlier, false));
				false
			} else {
				let mine = match bytes {
					Some(bytes) => bytes,
					None => own
						.get_or_insert_with(|| {
							SubmittedOutputs::<T>::get(id, output_hash).unwrap_or_default()
						})
						.as_slice(),
				};
				let theirs = SubmittedOutputs::<T>::get(id, earlier).unwrap_or_default();
				let agree = outputs_agree(&theirs, mine, tolerance, Self::max_elements());
				verdicts.push((earlier, agree));
				agree
			};
			if agree {
				Support::link((support, *other), (&mut new, member));
				SubmissionSupport::<T>::insert(id, *other, *support);
			}
		}
		SubmissionSupport::<T>::insert(id, member, new);
		supports.push((member, new));
		supports
	}

	/// Ends a request with the output of `leader` that a quorum (`verdict`) agreed on: pays the
	/// attesters, strikes the dissenters, stores the result (and activates the model if this
	/// was its readiness probe), then calls the requester back if it asked. Returns the weight
	/// the callback (or the probe's profile) used.
	pub(crate) fn conclude_attested(
		id: RequestId,
		mut request: RequestOf<T>,
		mut supports: Vec<(u32, Support)>,
		verdict: Support,
		leader: u32,
	) -> Weight {
		// Attesters and dissenters in submission order.
		supports.sort_by_key(|(_, s)| s.order);
		let member_of = |m: &u32| request.committee[*m as usize].clone();
		let (attesters, dissenters): (Vec<_>, Vec<_>) =
			supports.iter().partition(|(m, _)| verdict.has(*m));
		let attesting_members: Vec<u32> = attesters.iter().map(|(m, _)| *m).collect();
		let attesters: Vec<Executor<T::AccountId>> =
			attesters.iter().map(|(m, _)| member_of(m)).collect();
		let dissenters: Vec<Executor<T::AccountId>> =
			dissenters.iter().map(|(m, _)| member_of(m)).collect();

		let accounts: Vec<T::AccountId> = attesters.iter().map(|a| a.account.clone()).collect();
		let (paid, refunded) = Self::pay(&request, &accounts);
		// Under a tolerance the requester tightened, a dissent may be within the model's: no
		// strike.
		if request.rules.tolerance.is_none() {
			Self::strike(id, &dissenters);
		}

		let output_hash = Submissions::<T>::get(id, leader).unwrap_or_default();
		let output = SubmittedOutputs::<T>::get(id, output_hash).unwrap_or_default();
		// Every distinct revealed output was read (and compared) by the submissions that made
		// the quorum, this one included: these reads are of this block's cache.
		let max_elements = T::MaxOutputBytes::get() as usize;
		let stood = verity_primitives::tensor::decode(&output, max_elements).unwrap_or_default();
		// Each distinct output is decoded and measured once.
		let mut measured: Vec<(H256, Option<Spread>)> = Vec::new();
		let mut spread_of = |m: u32| {
			let hash = Submissions::<T>::get(id, m)?;
			if hash == output_hash {
				return Some(Spread::default());
			}
			if let Some((_, spread)) = measured.iter().find(|(h, _)| *h == hash) {
				return *spread;
			}
			// Another length is another layout: no spread (as `spread_e9` would find).
			if SubmittedOutputs::<T>::decode_len(id, hash) != Some(output.len()) {
				measured.push((hash, None));
				return None;
			}
			let other = SubmittedOutputs::<T>::get(id, hash)?;
			let spread = verity_primitives::tensor::decode(&other, max_elements)
				.ok()
				.and_then(|other| verity_primitives::agreement::spread_e9(&stood, &other));
			measured.push((hash, spread));
			spread
		};
		// The attesters' spreads (their largest absolute difference is the result's) and, on a
		// probe, every revealed one's, dissenters' included (a probe has no callback: its
		// charged allowance covers this).
		let is_probe = Self::is_probe(&request);
		let spreads: Vec<(bool, Spread)> = supports
			.iter()
			.map(|(m, _)| (*m, verdict.has(*m)))
			.filter(|(_, attested)| is_probe || *attested)
			.filter_map(|(m, attested)| Some((attested, spread_of(m)?)))
			.collect();
		let max_difference_e9 =
			spreads.iter().filter(|(a, _)| *a).map(|(_, s)| s.abs_e9).max().unwrap_or(0);
		let probe = if is_probe {
			let spread = spreads.iter().map(|(_, s)| *s).fold(Spread::default(), Spread::max);
			let measured = (spread, dissenters.len() as u32);
			Self::probe_attested(request.model, id, &attesting_members, output_hash, measured);
			T::DbWeight::get().reads_writes(attesting_members.len() as u64 + 1, 2)
		} else {
			Weight::zero()
		};
		let callback = Callbacks::<T>::take(id).map(|callback| (callback, output.clone()));
		Results::<T>::insert(
			id,
			InferenceResult {
				output,
				output_hash,
				model: request.model,
				input_hash: request.input_hash,
				attesters: BoundedVec::truncate_from(attesters.clone()),
				dissenters: BoundedVec::truncate_from(dissenters.clone()),
				attested_at: frame_system::Pallet::<T>::block_number(),
				max_difference_e9,
			},
		);
		request.status = RequestStatus::Attested;
		Requests::<T>::insert(id, &request);
		Self::close_pending(id, &request);
		FailureStreak::<T>::remove(request.model);
		Self::deposit_event(Event::InferenceAttested {
			request_id: id,
			model: request.model,
			output_hash,
			attesters: attesters.len() as u32,
			dissenters: dissenters.len() as u32,
			paid,
			refunded,
		});
		// Last, once the result is stored and paid: nothing the callback does can undo that.
		let Some((callback, output)) = callback else { return probe };
		let delivered = Self::delivering(&callback, || {
			T::ResultCallback::deliver(id, &request.requester, &output, callback.limit)
		});
		Self::callback_delivered(id, delivered, &callback).saturating_add(probe)
	}

	/// Counts a strike for each dissenter of request `id` and tells the `OnDissent` hook.
	pub(crate) fn strike(id: RequestId, dissenters: &[Executor<T::AccountId>]) {
		for dissenter in dissenters {
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
	}

	/// Pays `accounts` an equal share of the request's fee from escrow and refunds the rest;
	/// returns (paid, refunded).
	pub(crate) fn pay(
		request: &RequestOf<T>,
		accounts: &[T::AccountId],
	) -> (BalanceOf<T>, BalanceOf<T>) {
		Self::pay_part(request, request.fee, accounts)
	}

	/// Pays `accounts` an equal share of `amount` (at most the fee) from the request's escrow
	/// and refunds the rest of the fee; returns (paid, refunded).
	pub(crate) fn pay_part(
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
}
