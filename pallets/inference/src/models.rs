//! The model registry: registration with a deposit, chunked upload checked against the hash,
//! the readiness probe, retirement and removal.
//!
//! **Readiness probe.** `complete_model_upload` does not make a model active: it opens a request
//! of the owner's on a probe input (given, or zeros of the input shapes with dynamic dimensions
//! at 1), which the committee runs like any request, with commit–reveal and a quorum, each
//! member reporting what the run cost it ([`RunProfile`]). Attested, the model becomes active
//! with the median of the attesters' reports as its [`ModelProfile`]; validators then bound
//! every run of the model by [`ModelProfile::run_budget_millis`], so an input far bigger than
//! the probe cannot hold a worker long. An agreed failure (the model does not load, runs out of
//! time or memory, answers off-spec) or no agreement rejects the model: it never takes requests,
//! the committee keeps the probe's fee (or `ExpiryFee` of it), and the owner removes it to
//! release the deposit.
use crate::*;
use frame_support::dispatch::DispatchResultWithPostInfo;
use frame_support::{ensure, traits::tokens::Precision};
use sp_runtime::{DispatchError, DispatchResult};

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

	/// The id of a model with these owner, bytes and rules ([`verity_primitives::model_id`]).
	pub fn model_id(
		owner: &T::AccountId,
		code_hash: &H256,
		inputs: &spec::TensorSpecs,
		outputs: &spec::TensorSpecs,
		tolerance: &verity_primitives::agreement::Tolerance,
		fee: BalanceOf<T>,
	) -> ModelId {
		use sp_runtime::SaturatedConversion;
		let fee: u128 = fee.saturated_into();
		verity_primitives::model_id(&owner.encode(), code_hash, inputs, outputs, tolerance, fee)
	}

	/// The id of a model to be registered, once its size (`(code_hash, size, max size)`) and
	/// specs are valid and the id is free.
	pub(crate) fn new_model_id(
		owner: &T::AccountId,
		(code_hash, size, max_size): (&H256, u32, u32),
		inputs: &spec::TensorSpecs,
		outputs: &spec::TensorSpecs,
		tolerance: &verity_primitives::agreement::Tolerance,
		fee: BalanceOf<T>,
	) -> Result<ModelId, DispatchError> {
		ensure!(size > 0, Error::<T>::EmptyModel);
		ensure!(size <= max_size, Error::<T>::ModelTooLarge);
		spec::validate_specs(inputs).map_err(|_| Error::<T>::BadInputSpec)?;
		spec::validate_specs(outputs).map_err(|_| Error::<T>::BadOutputSpec)?;
		let model = Self::model_id(owner, code_hash, inputs, outputs, tolerance, fee);
		ensure!(!Models::<T>::contains_key(model), Error::<T>::ModelAlreadyRegistered);
		Ok(model)
	}

	/// Registers a model of `owner` whose bytes hash to `code_hash`, holds its deposit and
	/// schedules the end of its upload window (see the `register_model` call).
	pub(crate) fn do_register_model(
		owner: T::AccountId,
		code_hash: H256,
		size: u32,
		inputs: spec::TensorSpecs,
		outputs: spec::TensorSpecs,
		tolerance: verity_primitives::agreement::Tolerance,
		fee: BalanceOf<T>,
	) -> DispatchResult {
		let model = Self::new_model_id(
			&owner,
			(&code_hash, size, T::MaxModelBytes::get()),
			&inputs,
			&outputs,
			&tolerance,
			fee,
		)?;
		let now = frame_system::Pallet::<T>::block_number();
		let upload_end = now.saturating_add(T::UploadWindow::get());
		UploadDeadlines::<T>::try_append(upload_end, model)
			.map_err(|_| Error::<T>::UploadSlotFull)?;
		let deposit = T::ModelDepositBase::get()
			.saturating_add(T::ModelDepositPerByte::get().saturating_mul(size.into()));
		T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		Models::<T>::insert(
			model,
			ModelInfo {
				owner: owner.clone(),
				code_hash,
				size,
				uploaded: 0,
				chunks: 0,
				inputs,
				outputs,
				tolerance,
				fee,
				deposit,
				status: ModelStatus::Uploading,
				registered_at: now,
			},
		);
		Self::deposit_event(Event::ModelRegistered { model, owner, size, deposit, code_hash });
		Ok(())
	}

	/// Start of a block: removes the models registered `UploadWindow` blocks ago whose upload is
	/// still incomplete, with their chunks; `ModelDepositBase` of each deposit is burnt (the
	/// storage they held meanwhile), the rest released. Returns how many were removed. A model
	/// whose bytes are all in stays: its completion (which opens its probe) may have been
	/// refused for reasons that are not the owner's (a full pending set, no executors), and
	/// its deposit pays for its storage until the owner completes or removes it.
	pub(crate) fn expire_uploads(now: BlockNumberOf<T>) -> u32 {
		let mut removed = 0;
		for model in UploadDeadlines::<T>::take(now) {
			let Some(info) = Models::<T>::get(model) else { continue };
			// A model removed and registered again has a later upload window.
			let window_end = info.registered_at.saturating_add(T::UploadWindow::get());
			if info.status != ModelStatus::Uploading
				|| window_end != now
				|| info.uploaded == info.size
			{
				continue;
			}
			let _ = ModelChunks::<T>::clear_prefix(model, info.chunks, None);
			Models::<T>::remove(model);
			let reason: T::RuntimeHoldReason = HoldReason::ModelDeposit.into();
			let kept = T::ModelDepositBase::get().min(info.deposit);
			let burnt = T::Currency::burn_held(
				&reason,
				&info.owner,
				kept,
				Precision::BestEffort,
				frame_support::traits::tokens::Fortitude::Force,
			)
			.unwrap_or_default();
			let released = T::Currency::release(
				&reason,
				&info.owner,
				info.deposit.saturating_sub(burnt),
				Precision::BestEffort,
			)
			.unwrap_or_default();
			Self::deposit_event(Event::ModelUploadExpired { model, burnt, released });
			removed += 1;
		}
		removed
	}

	/// Appends the next chunk of `model`'s bytes: exactly `MaxChunkBytes` long, except the last.
	pub(crate) fn do_upload_chunk(
		who: T::AccountId,
		model: ModelId,
		chunk: BoundedVec<u8, T::MaxChunkBytes>,
	) -> DispatchResult {
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

	/// Checks the uploaded bytes against the hash and starts the model's readiness probe (a
	/// request of the owner's on `probe_input`, or on [`spec::zero_input`] of its inputs); the
	/// actual weight (for the bytes read and the probe's input).
	pub(crate) fn do_complete_upload(
		who: T::AccountId,
		model: ModelId,
		probe_input: Option<BoundedVec<u8, T::MaxInputBytes>>,
	) -> DispatchResultWithPostInfo {
		let mut info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(info.owner == who, Error::<T>::NotModelOwner);
		ensure!(info.status == ModelStatus::Uploading, Error::<T>::ModelNotUploading);
		ensure!(info.uploaded == info.size, Error::<T>::UploadIncomplete);
		let bytes = Self::model_bytes(&model, info.chunks);
		ensure!(
			H256(sp_io::hashing::blake2_256(&bytes)) == info.code_hash,
			Error::<T>::ModelHashMismatch
		);
		let input = Self::probe_input(&info, probe_input)?;
		let input_len = input.len() as u32;
		info.status = ModelStatus::Probing;
		let size = info.size;
		let owner = info.owner.clone();
		Models::<T>::insert(model, &info);
		// The owner pays its probe like any request, without a fee limit.
		let request_id =
			Self::open_request(owner, model, &info, input, None, None, Default::default())?;
		Self::deposit_event(Event::ModelProbing { model, request_id });
		Ok(Some(
			T::WeightInfo::complete_model_upload(size).saturating_add(
				T::WeightInfo::request_inference(input_len, T::MaxCommittee::get()),
			),
		)
		.into())
	}

	/// The input of a model's readiness probe: the owner's, else zeros of its input shapes with
	/// dynamic dimensions at 1 ([`spec::zero_input`]).
	pub(crate) fn probe_input(
		info: &ModelOf<T>,
		given: Option<BoundedVec<u8, T::MaxInputBytes>>,
	) -> Result<BoundedVec<u8, T::MaxInputBytes>, Error<T>> {
		match given {
			Some(input) => Ok(input),
			None => spec::zero_input(&info.inputs, T::MaxInputBytes::get())
				.and_then(|zeros| BoundedVec::try_from(zeros).ok())
				.ok_or(Error::<T>::NoProbeInput),
		}
	}

	/// Weight of `complete_model_upload` for a model of `size` bytes: the hash check, and the
	/// probe request with the largest input (both benchmarked).
	pub fn complete_model_upload_weight(size: u32) -> Weight {
		T::WeightInfo::complete_model_upload(size).saturating_add(T::WeightInfo::request_inference(
			T::MaxInputBytes::get(),
			T::MaxCommittee::get(),
		))
	}

	/// The probe of `model` (request `id`) was attested: the model becomes active with the
	/// upper median of the attesters' reports as its profile. Members who report wrong figures
	/// cannot lower a figure below every honest report (that needs more than half of the
	/// attesters), so they cannot make honest validators time out a model's runs; raising it
	/// above every honest report takes half of them and gains at most the node's own limit,
	/// which caps every run anyway.
	pub(crate) fn probe_attested(
		model: ModelId,
		id: RequestId,
		attesters: &[u32],
		output_hash: H256,
		(spread, dissenters): (Spread, u32),
	) {
		let mut reports: Vec<RunProfile> =
			attesters.iter().filter_map(|m| ProbeReports::<T>::get(id, m)).collect();
		let median = |reports: &mut Vec<RunProfile>, field: fn(&RunProfile) -> u32| -> u32 {
			reports.sort_by_key(field);
			reports.get(reports.len() / 2).map(field).unwrap_or_default()
		};
		let profile = ModelProfile {
			request_id: id,
			output_hash,
			load_micros: median(&mut reports, |r| r.load_micros),
			run_micros: median(&mut reports, |r| r.run_micros),
			peak_memory_kib: median(&mut reports, |r| r.peak_memory_kib),
			probed_at: frame_system::Pallet::<T>::block_number(),
			spread,
			dissenters,
		};
		Models::<T>::mutate(model, |m| {
			if let Some(m) = m {
				m.status = ModelStatus::Active;
			}
		});
		ModelProfiles::<T>::insert(model, profile);
		Self::deposit_event(Event::ModelActivated { model });
	}

	/// The probe of `model` (request `id`) failed with `kind`, or expired without agreement
	/// (`None`): the model is rejected.
	pub(crate) fn probe_failed(model: ModelId, id: RequestId, kind: Option<FailureKind>) {
		Models::<T>::mutate(model, |m| {
			if let Some(m) = m {
				m.status = ModelStatus::Rejected;
			}
		});
		FailureStreak::<T>::remove(model);
		Self::deposit_event(Event::ModelRejected { model, request_id: id, kind });
	}

	/// Whether request `request`'s model is being probed: then the request is its probe
	/// (requests to a model that is not active are refused).
	pub(crate) fn is_probe(request: &RequestOf<T>) -> bool {
		Models::<T>::get(request.model).is_some_and(|m| m.status == ModelStatus::Probing)
	}

	/// Stops new requests for an active model.
	pub(crate) fn do_retire_model(who: T::AccountId, model: ModelId) -> DispatchResult {
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

	/// Deletes a model without pending requests and its bytes, and releases its deposit; the
	/// actual weight (for the chunks deleted).
	pub(crate) fn do_remove_model(who: T::AccountId, model: ModelId) -> DispatchResultWithPostInfo {
		let info = Models::<T>::get(model).ok_or(Error::<T>::UnknownModel)?;
		ensure!(info.owner == who, Error::<T>::NotModelOwner);
		ensure!(PendingByModel::<T>::get(model) == 0, Error::<T>::ModelHasPendingRequests);
		let _ = ModelChunks::<T>::clear_prefix(model, info.chunks, None);
		Models::<T>::remove(model);
		HostedModels::<T>::remove(model);
		FailureStreak::<T>::remove(model);
		ModelProfiles::<T>::remove(model);
		let released = T::Currency::release(
			&HoldReason::ModelDeposit.into(),
			&info.owner,
			info.deposit,
			Precision::BestEffort,
		)?;
		Self::deposit_event(Event::ModelRemoved { model, deposit_released: released });
		Ok(Some(Self::remove_model_weight(info.chunks)).into())
	}

	/// Weight of `remove_model` for a model of `chunks` chunks (and its hosted URLs).
	pub fn remove_model_weight(chunks: u32) -> Weight {
		T::WeightInfo::remove_model(chunks).saturating_add(T::DbWeight::get().writes(1))
	}
}
