//! Storage invariants, checked by `try-runtime` and after every unit test.
use crate::*;

impl<T: Config> Pallet<T> {
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
				RequestStatus::Attested => {
					ensure!(Results::<T>::contains_key(id), "attested request without result")
				}
				RequestStatus::Expired | RequestStatus::Failed => {
					ensure!(!Results::<T>::contains_key(id), "request without a result has one")
				}
			}
			if r.status != RequestStatus::Pending {
				ensure!(
					Submissions::<T>::iter_prefix(id).next().is_none()
						&& SubmittedOutputs::<T>::iter_prefix(id).next().is_none()
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
				for (member, executor) in r.committee.iter().enumerate() {
					ensure!(
						Assignments::<T>::contains_key(&executor.key, id)
							!= Self::has_answered(id, member as u32),
						"Assignments differ from the members yet to answer"
					);
				}
				for (member, hash) in Submissions::<T>::iter_prefix(id) {
					ensure!(
						Commitments::<T>::contains_key(id, member),
						"reveal without commitment"
					);
					ensure!(
						SubmittedOutputs::<T>::contains_key(id, hash),
						"submission without its output"
					);
				}
				for (hash, output) in SubmittedOutputs::<T>::iter_prefix(id) {
					ensure!(
						Submissions::<T>::iter_prefix_values(id).any(|h| h == hash),
						"output nobody revealed"
					);
					ensure!(hash == output_hash(&output), "output under another hash");
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
		for (id, _) in SubmittedOutputs::<T>::iter_keys() {
			ensure!(
				Requests::<T>::get(id).is_some_and(|r| r.status == RequestStatus::Pending),
				"revealed output of a request that is not pending"
			);
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
		for (key, id, ()) in Assignments::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("assignment of an unknown request")?;
			ensure!(request.status == RequestStatus::Pending, "assignment of an ended request");
			ensure!(
				request.committee.iter().any(|e| e.key == key),
				"assignment of a key outside the committee"
			);
		}
		for id in Undrawn::<T>::get() {
			ensure!(
				Requests::<T>::get(id).is_some_and(|r| r.committee.is_empty()),
				"undrawn request with a committee"
			);
		}
		for (model, info) in Models::<T>::iter() {
			if info.status == ModelStatus::Uploading && info.uploaded < info.size {
				let window_end = info.registered_at.saturating_add(T::UploadWindow::get());
				ensure!(
					UploadDeadlines::<T>::get(window_end).contains(&model),
					"uploading model without an upload deadline"
				);
			}
		}
		for (model, _) in ModelProfiles::<T>::iter() {
			ensure!(Models::<T>::contains_key(model), "profile of an unknown model");
		}
		for (id, _, _) in ProbeReports::<T>::iter() {
			let request = Requests::<T>::get(id).ok_or("probe report of an unknown request")?;
			ensure!(request.status == RequestStatus::Pending, "probe report of an ended request");
			ensure!(Self::is_probe(&request), "probe report of an ordinary request");
		}
		for (model, index, _) in ModelChunks::<T>::iter() {
			let info = Models::<T>::get(model).ok_or("chunk of an unknown model")?;
			ensure!(index < info.chunks, "chunk beyond the model's chunk count");
		}
		Ok(())
	}
}
