//! Expiry and retention: requests without a quorum at their deadline end (the members that
//! committed keep `ExpiryFee` of the fee), and ended requests are pruned `ResultRetention`
//! blocks later.
//!
//! A requester that asked for a callback is told of an expiry too: the request joins
//! [`ExpiryCallbacks`] and `on_idle` delivers it (`ResultCallback::deliver_expiry`) within the
//! weight the requester prepaid, when the block has that much to spare; a busy block leaves it
//! for the next one. Each delivery is charged its benchmarked overhead
//! (`WeightInfo::deliver_expiry_callback`) plus the weight the callback used.
use crate::*;

impl<T: Config> Pallet<T> {
	/// Start of block `now`: expires the still-pending requests whose deadline was the last
	/// block (scheduling their pruning), then prunes the requests whose retention ended.
	pub(crate) fn expire_and_prune(now: BlockNumberOf<T>) -> Weight {
		let expired = ExpiryQueue::<T>::take(now);
		let mut expired_count = 0u32;
		let mut extra = Weight::zero();
		let retention_end = now.saturating_add(T::ResultRetention::get());
		for id in expired.iter() {
			if let Some(request) = Requests::<T>::get(id) {
				if request.status == RequestStatus::Pending {
					extra.saturating_accrue(Self::expire(*id, request, ExpiryReason::Deadline));
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
		// Benchmarked with every expired request holding the largest committee's commitments
		// and outputs, all of its members paid.
		T::WeightInfo::on_initialize(scheduled, expired_count, pruned.len() as u32)
			// Whether each expired request was a model's probe, and rejecting that model; its
			// callback (read) queued (the queue's counter read and written, the entry written).
			.saturating_add(
				T::DbWeight::get()
					.reads_writes((3 * expired_count).into(), (3 * expired_count).into()),
			)
			// Who revealed, for the requests with rules among them; refunds of dropped callbacks.
			.saturating_add(extra)
	}

	/// Ends a pending request without a result: the members that committed to an answer share
	/// `ExpiryFee` of its fee, the rest is refunded. A request that demanded more than its
	/// model's defaults (request rules) instead pays the whole fee to the members that revealed
	/// an answer (the demand was the requester's, and the outputs revealed on chain must not be
	/// had for a tenth of the fee); members that only committed get nothing then. Returns the
	/// weight this took beyond the benchmarked expiry (two reads per committed member of a
	/// request with rules; the refund of a callback the full queue drops).
	pub(crate) fn expire(id: RequestId, mut request: RequestOf<T>, reason: ExpiryReason) -> Weight {
		let mut members: Vec<u32> = Commitments::<T>::iter_prefix(id).map(|(m, _)| m).collect();
		members.sort_unstable();
		let mut extra_reads = 0u64;
		let revealed: Vec<u32> = if request.rules != RequestRules::default() {
			extra_reads = 2 * members.len() as u64;
			members
				.iter()
				.copied()
				.filter(|m| {
					SubmissionSupport::<T>::contains_key(id, m)
						|| FailureVotes::<T>::contains_key(id, m)
				})
				.collect()
		} else {
			Vec::new()
		};
		let (payees, share) = if revealed.is_empty() {
			(&members, T::ExpiryFee::get().mul_floor(request.fee))
		} else {
			(&revealed, request.fee)
		};
		let accounts: Vec<T::AccountId> = payees
			.iter()
			.filter_map(|m| request.committee.get(*m as usize).map(|e| e.account.clone()))
			.collect();
		let kept = if accounts.is_empty() { BalanceOf::<T>::zero() } else { share };
		let (paid, refunded) = Self::pay_part(&request, kept, &accounts);
		let probe = Self::is_probe(&request);
		request.status = RequestStatus::Expired;
		Requests::<T>::insert(id, &request);
		let mut extra = T::DbWeight::get().reads(extra_reads);
		if let Some(callback) = Callbacks::<T>::get(id) {
			if ExpiryCallbacks::<T>::count() < T::MaxPendingRequests::get() {
				ExpiryCallbacks::<T>::insert(id, (callback, reason));
			} else {
				Self::deposit_event(Event::ExpiryCallbackDropped { request_id: id });
				extra.saturating_accrue(Self::refund_callback(id, &callback, Weight::zero()));
			}
		}
		Self::close_pending(id, &request);
		Self::deposit_event(Event::RequestExpired { request_id: id, refunded, reason, paid });
		if probe {
			Self::probe_failed(request.model, id, None);
		}
		extra
	}

	/// Delivers queued expiry callbacks while `remaining` covers one more (its overhead and its
	/// prepaid weight); returns the weight used. A request pruned before its turn is dropped.
	pub(crate) fn deliver_expiry_callbacks(remaining: Weight) -> Weight {
		let overhead = T::WeightInfo::deliver_expiry_callback();
		// Looking for the next entry: one read, also when there is none.
		let look = T::DbWeight::get().reads(1);
		let mut used = Weight::zero();
		loop {
			if !remaining.saturating_sub(used).all_gte(look.saturating_add(overhead)) {
				return used;
			}
			let Some((id, (callback, reason))) = ExpiryCallbacks::<T>::iter().next() else {
				return used.saturating_add(look);
			};
			let most = overhead
				.saturating_add(callback.limit)
				.saturating_add(Self::callback_context_weight())
				.saturating_add(Self::callback_refund_weight());
			if !remaining.saturating_sub(used).all_gte(most) {
				return used.saturating_add(look);
			}
			ExpiryCallbacks::<T>::remove(id);
			used = used.saturating_add(overhead);
			match Requests::<T>::get(id) {
				Some(request) if request.status == RequestStatus::Expired => {
					let delivered = Self::delivering(&callback, || {
						T::ResultCallback::deliver_expiry(
							id,
							&request.requester,
							reason,
							callback.limit,
						)
					});
					used.saturating_accrue(Self::callback_delivered(id, delivered, &callback));
				}
				_ => {
					Self::deposit_event(Event::ExpiryCallbackDropped { request_id: id });
					used.saturating_accrue(Self::refund_callback(id, &callback, Weight::zero()));
				}
			}
		}
	}

	/// Bookkeeping shared by attestation, failure and expiry.
	pub(crate) fn close_pending(id: RequestId, request: &RequestOf<T>) {
		let (model, committee) = (request.model, request.committee.len() as u32);
		PendingByAccount::<T>::mutate_exists(&request.requester, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = if left == 0 { None } else { Some(left) };
		});
		let _ = Submissions::<T>::clear_prefix(id, committee, None);
		let _ = SubmittedOutputs::<T>::clear_prefix(id, committee, None);
		let _ = SubmissionSupport::<T>::clear_prefix(id, committee, None);
		let _ = FailureVotes::<T>::clear_prefix(id, committee, None);
		let _ = ProbeReports::<T>::clear_prefix(id, committee, None);
		let _ = Commitments::<T>::clear_prefix(id, committee, None);
		CommitCounts::<T>::remove(id);
		for member in request.committee.iter() {
			Assignments::<T>::remove(&member.key, id);
		}
		Callbacks::<T>::remove(id);
		PendingCount::<T>::mutate(|n| *n = n.saturating_sub(1));
		PendingByModel::<T>::mutate_exists(model, |n| {
			let left = n.unwrap_or(0).saturating_sub(1);
			*n = if left == 0 { None } else { Some(left) };
		});
	}

	/// Deletes an ended request with its input and result.
	pub(crate) fn prune(id: RequestId) {
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
}
