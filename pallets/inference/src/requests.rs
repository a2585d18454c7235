//! Requests: checking and recording a request (its escrow, committee and deadline), the
//! callbacks contracts ask for, and the work pending for an executor.
use crate::*;
use frame_support::ensure;
use sp_runtime::DispatchError;

/// Bytes each member's answer puts on chain besides its output (commitment, signatures, key,
/// salt, ids): part of the fee floor.
pub const ANSWER_OVERHEAD_BYTES: u32 = 256;

impl<T: Config> Pallet<T> {
	/// Most elements one tensor of an input or output may have (bounded by its byte size).
	pub(crate) fn max_elements() -> usize {
		T::MaxInputBytes::get().max(T::MaxOutputBytes::get()) as usize
	}

	/// An input as stored: at most `MaxInputBytes`, else `InputTooLarge` (calls take inputs as
	/// plain bytes so that an oversized one fails with this error rather than as an
	/// undecodable transaction).
	pub fn bound_input(input: Vec<u8>) -> Result<BoundedVec<u8, T::MaxInputBytes>, Error<T>> {
		BoundedVec::try_from(input).map_err(|_| Error::<T>::InputTooLarge)
	}

	/// Validates and records a request; returns its id. Shared by the extrinsic and the
	/// contract precompile.
	pub fn do_request(
		requester: T::AccountId,
		model_id: ModelId,
		input: Vec<u8>,
		max_fee: BalanceOf<T>,
		timeout: Option<BlockNumberOf<T>>,
		rules: RequestRules,
	) -> Result<RequestId, DispatchError> {
		let input = Self::bound_input(input)?;
		let model = Models::<T>::get(model_id).ok_or(Error::<T>::UnknownModel)?;
		ensure!(model.status == ModelStatus::Active, Error::<T>::ModelNotActive);
		if let Some(tolerance) = rules.tolerance {
			ensure!(
				tolerance.abs_e9 <= model.tolerance.abs_e9
					&& tolerance.rel_e9 <= model.tolerance.rel_e9,
				Error::<T>::ToleranceLooserThanModel
			);
		}
		Self::open_request(requester, model_id, &model, input, Some(max_fee), timeout, rules)
	}

	/// Agreeing members needed in a committee of `size`: the `QuorumRatio` quorum, or more if
	/// `rules` demand it (never more than the committee).
	pub(crate) fn quorum_of(size: u32, rules: &RequestRules) -> u32 {
		quorum(size, T::QuorumRatio::get()).max(rules.min_attesters.min(size))
	}

	/// Checks `input` against `model`, holds the fee (at most `max_fee`, if given), fixes the
	/// committee and deadline and records the request: [`Self::do_request`] for an active model,
	/// and the readiness probe of a new one.
	pub(crate) fn open_request(
		requester: T::AccountId,
		model_id: ModelId,
		model: &ModelOf<T>,
		input: BoundedVec<u8, T::MaxInputBytes>,
		max_fee: Option<BalanceOf<T>>,
		timeout: Option<BlockNumberOf<T>>,
		rules: RequestRules,
	) -> Result<RequestId, DispatchError> {
		let tensors = tensor::decode(&input, Self::max_elements())
			.map_err(|_| Error::<T>::InputUndecodable)?;
		spec::check(&tensors, &model.inputs).map_err(|e| match e {
			SpecMismatch::Count { .. } => Error::<T>::InputTensorCount,
			SpecMismatch::Name(_) => Error::<T>::InputTensorName,
			SpecMismatch::DType(_) => Error::<T>::InputTensorDType,
			SpecMismatch::Shape(_) => Error::<T>::InputTensorShape,
		})?;
		let executors = Executors::<T>::get();
		ensure!(!executors.is_empty(), Error::<T>::NoExecutors);
		let committee_size = (executors.len() as u32).min(T::MaxCommittee::get());
		ensure!(
			rules.min_attesters == UNANIMITY || rules.min_attesters <= committee_size,
			Error::<T>::MoreAttestersThanCommittee
		);
		let fee = Self::request_fee(model, input.len() as u32, committee_size);
		ensure!(max_fee.is_none_or(|max| fee <= max), Error::<T>::FeeAboveMax);
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

		let id = NextRequestId::<T>::get();
		let now = frame_system::Pallet::<T>::block_number();
		// Every executor attests when there are no more than `MaxCommittee`: nothing to draw.
		// Otherwise the committee is drawn at the start of the next block, from a seed nobody
		// knows while this request is being made (see [`committee`]); the request's time
		// counts from there.
		let draw_later = executors.len() as u32 > T::MaxCommittee::get();
		let (committee, drawn_at) = if draw_later {
			Undrawn::<T>::try_append(id).map_err(|_| Error::<T>::TooManyPendingRequests)?;
			(BoundedVec::new(), now.saturating_add(1u32.into()))
		} else {
			(BoundedVec::truncate_from(executors.into_inner()), now)
		};
		let quorum = Self::quorum_of(committee_size, &rules);
		let deadline = drawn_at.saturating_add(timeout);
		// Only a probe reads whether its model is hosted (a model takes no other request then).
		let commit_window =
			if model.status == ModelStatus::Probing && HostedModels::<T>::contains_key(model_id) {
				T::HostedFetchWindow::get()
			} else {
				T::CommitWindow::get()
			};
		ExpiryQueue::<T>::try_mutate(deadline.saturating_add(1u32.into()), |queue| {
			queue.try_push(id)
		})
		.map_err(|_| Error::<T>::DeadlineSlotFull)?;
		T::Currency::hold(&HoldReason::RequestEscrow.into(), &requester, fee)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let input_hash = H256(sp_io::hashing::blake2_256(&input));
		Self::assign(id, &committee);
		Requests::<T>::insert(
			id,
			Request {
				requester: requester.clone(),
				model: model_id,
				input_hash,
				fee,
				committee,
				quorum,
				created_at: now,
				deadline,
				status: RequestStatus::Pending,
				drawn_at,
				rules,
				commit_window,
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
			fee,
			committee: committee_size,
			quorum,
			deadline,
		});
		Ok(id)
	}

	/// What a request of `input_len` bytes to `model` costs with a committee of `committee`
	/// members: the model's fee, and at least the floor `AnswerByteFee` per member and byte of
	/// input, largest output ([`Self::largest_output`]) and `ANSWER_OVERHEAD_BYTES` (what the
	/// committee's answers put on chain).
	pub fn request_fee(model: &ModelOf<T>, input_len: u32, committee: u32) -> BalanceOf<T> {
		let retained = input_len.saturating_add(Self::largest_output(model));
		let answered = retained.saturating_add(ANSWER_OVERHEAD_BYTES);
		let floor = T::AnswerByteFee::get()
			.saturating_mul(answered.into())
			.saturating_mul(committee.into())
			.saturating_add(T::RetainedByteFee::get().saturating_mul(retained.into()));
		model.fee.max(floor)
	}

	/// Encoded size of the stored result of request `id` (its output is most of it), without
	/// reading it into the runtime: what a contract's read of the result is charged for.
	pub fn result_encoded_len(id: RequestId) -> Option<u32> {
		sp_io::storage::read(&Results::<T>::hashed_key_for(id), &mut [], 0)
	}

	/// The largest output `model` can give: its encoded size when every output dimension is
	/// fixed, else `MaxOutputBytes`.
	pub fn largest_output(model: &ModelOf<T>) -> u32 {
		let max = T::MaxOutputBytes::get();
		spec::encoded_len(&model.outputs).map_or(max, |len| len.min(max.into()) as u32)
	}

	/// The fee the next request of `input_len` bytes to `model` would pay (what clients offer
	/// as `max_fee`); `None` for an unknown model or without executors.
	pub fn quote(model: ModelId, input_len: u32) -> Option<BalanceOf<T>> {
		let model = Models::<T>::get(model)?;
		let executors = Executors::<T>::decode_len().unwrap_or(0) as u32;
		(executors > 0)
			.then(|| Self::request_fee(&model, input_len, executors.min(T::MaxCommittee::get())))
	}

	/// Start of a block: draws the committees of the requests made in the last block (those
	/// made while there were more executors than `MaxCommittee`), seeded with the hash of that
	/// block and the request id. Returns how many were drawn.
	pub(crate) fn draw_committees() -> u32 {
		let ids = Undrawn::<T>::take();
		if ids.is_empty() {
			return 0;
		}
		let executors = Executors::<T>::get();
		let parent = frame_system::Pallet::<T>::parent_hash();
		let mut drawn = 0;
		for id in ids {
			let Some(mut request) = Requests::<T>::get(id) else { continue };
			if request.status != RequestStatus::Pending {
				continue;
			}
			let seed = sp_io::hashing::blake2_256(&(parent, id).encode());
			let chosen = committee::draw(executors.len(), T::MaxCommittee::get() as usize, seed);
			let members: Vec<Executor<T::AccountId>> =
				chosen.into_iter().filter_map(|i| executors.get(i).cloned()).collect();
			request.committee = BoundedVec::truncate_from(members);
			request.quorum = Self::quorum_of(request.committee.len() as u32, &request.rules);
			Self::assign(id, &request.committee);
			Self::deposit_event(Event::CommitteeDrawn {
				request_id: id,
				committee: request.committee.len() as u32,
				quorum: request.quorum,
			});
			Requests::<T>::insert(id, request);
			drawn += 1;
		}
		drawn
	}

	/// Records request `id` as open work of each member of `committee`.
	pub(crate) fn assign(id: RequestId, committee: &[Executor<T::AccountId>]) {
		for member in committee {
			Assignments::<T>::insert(&member.key, id, ());
		}
	}

	/// The pending requests assigned to `key` that it has not answered yet, in id order: from
	/// the `Assignments` index (at most `MaxPendingRequests`), never a scan of all requests.
	pub fn assigned(key: &InferenceAuthorityId) -> Vec<RequestId> {
		let mut ids: Vec<RequestId> = Assignments::<T>::iter_key_prefix(key).collect();
		ids.sort_unstable();
		ids
	}

	/// A page of [`Self::assigned`]: at most `count` ids from `start` on.
	pub fn assigned_page(
		key: &InferenceAuthorityId,
		start: RequestId,
		count: u32,
	) -> Vec<RequestId> {
		Self::assigned(key).into_iter().filter(|id| *id >= start).take(count as usize).collect()
	}

	/// Requests assigned to `key` in their commit phase that it has not committed to: what its
	/// off-chain worker should run.
	pub fn pending_for(key: &InferenceAuthorityId) -> Vec<RequestId> {
		let now = frame_system::Pallet::<T>::block_number();
		Self::assigned(key)
			.into_iter()
			.filter(|id| {
				let Some(r) = Requests::<T>::get(id) else { return false };
				let Some(member) = r.committee.iter().position(|e| &e.key == key) else {
					return false;
				};
				r.deadline >= now
					&& !Self::commit_phase_over(*id, &r, now)
					&& !Commitments::<T>::contains_key(id, member as u32)
			})
			.collect()
	}
}
