//! The off-chain worker: validators run the requests assigned to them and submit the results.
//!
//! On each imported block, on a validator node (`is_validator`), for every local `infr` key:
//! 1. the requests whose committee holds the key and that it has not answered
//!    ([`Pallet::pending_for`]), oldest first, at most `MaxRunsPerBlock` in all and none
//!    started after `MaxOffchainMillis` of wall-clock time;
//! 2. each is claimed in the node's persistent off-chain storage with a compare-and-set, so
//!    overlapping off-chain-worker runs (a new block arrives while the last run is busy) never
//!    run it twice; the claim expires after `ResubmitAfter` blocks, so a dropped transaction is
//!    retried;
//! 3. the model is handed to the node's engine if it does not have it yet (bytes from chain
//!    state, hash-checked by the engine), the input runs through the `inference` host functions,
//!    and the signed result goes to the pool as an authorized transaction. A failure the model
//!    causes (refused, time or memory limit, output too large or off-spec: [`failure_kind`])
//!    goes to the pool as a signed failure report instead, so the committee can agree on it.
//!
//! A node without an engine (`--no-inference`, or not a validator) gets `Unavailable` from the
//! host functions and submits nothing.
use crate::*;
use frame_system::offchain::SubmitTransaction;
use sp_runtime::offchain::storage::{MutateStorageError, StorageRetrievalError, StorageValueRef};
use verity_primitives::host::{inference as host, EngineError};

const LOG_TARGET: &str = "runtime::inference::ocw";

/// Why a request was not answered this time.
#[derive(Debug, PartialEq, Eq)]
pub enum OffchainError {
	/// Another run claimed it recently.
	AlreadyClaimed,
	/// The request, its input or its model vanished meanwhile.
	Gone,
	/// The engine failed.
	Engine(EngineError),
	/// The keystore could not sign.
	Signing,
	/// The pool refused the transaction.
	Submit,
}

/// Runs and answers the pending requests of this node's executor keys.
pub fn run<T: Config>(now: BlockNumberOf<T>) {
	if !sp_io::offchain::is_validator() {
		return;
	}
	let keys = InferenceAuthorityId::all();
	let mut budget = T::MaxRunsPerBlock::get();
	let deadline = sp_io::offchain::timestamp()
		.add(sp_core::offchain::Duration::from_millis(T::MaxOffchainMillis::get()));
	for key in keys {
		for id in Pallet::<T>::pending_for(&key) {
			if budget == 0 || sp_io::offchain::timestamp() > deadline {
				log::info!(target: LOG_TARGET, "run budget used up at block {now:?}; the rest waits");
				return;
			}
			match answer::<T>(now, id, &key) {
				Ok(()) => {
					budget -= 1;
					log::info!(target: LOG_TARGET, "answered request {id} at block {now:?}");
				}
				Err(OffchainError::AlreadyClaimed) => {}
				Err(e) => {
					budget -= 1;
					log::warn!(target: LOG_TARGET, "request {id}: {e:?}");
				}
			}
		}
	}
}

/// Claims `(request, key)` in persistent off-chain storage unless claimed within
/// `ResubmitAfter` blocks.
fn claim<T: Config>(now: BlockNumberOf<T>, id: RequestId, key: &InferenceAuthorityId) -> bool {
	let storage_key = (b"verity/inference/claim", id, key).encode();
	let claimed = StorageValueRef::persistent(&storage_key).mutate(
		|last: Result<Option<BlockNumberOf<T>>, StorageRetrievalError>| match last {
			Ok(Some(at)) if now < at.saturating_add(T::ResubmitAfter::get()) => Err(()),
			_ => Ok(now),
		},
	);
	!matches!(
		claimed,
		Err(MutateStorageError::ValueFunctionFailed(()))
			| Err(MutateStorageError::ConcurrentModification(_))
	)
}

fn answer<T: Config>(
	now: BlockNumberOf<T>,
	id: RequestId,
	key: &InferenceAuthorityId,
) -> Result<(), OffchainError> {
	if !claim::<T>(now, id, key) {
		return Err(OffchainError::AlreadyClaimed);
	}
	let request = Requests::<T>::get(id).ok_or(OffchainError::Gone)?;
	let model = Models::<T>::get(request.model).ok_or(OffchainError::Gone)?;
	let input = RequestInputs::<T>::get(id).ok_or(OffchainError::Gone)?;
	let model_id = request.model.0;
	let loaded = if host::has_model(model_id) {
		Ok(())
	} else {
		host::load_model(model_id, &Pallet::<T>::model_bytes(&request.model, model.chunks))
	};
	let outcome = loaded.and_then(|()| host::run(model_id, &input)).map_err(failure_kind);
	let outcome = outcome.and_then(|output| {
		let output = BoundedVec::try_from(output).map_err(|_| Ok(FailureKind::OutputTooLarge))?;
		if Pallet::<T>::output_matches(&output, &model) {
			Ok(output)
		} else {
			Err(Ok(FailureKind::OutputMismatch))
		}
	});
	let call = match outcome {
		Ok(output) => {
			let submission = ResultSubmission { request_id: id, executor: key.clone(), output };
			let signature = key
				.sign(&Pallet::<T>::signing_payload(&submission, &request))
				.ok_or(OffchainError::Signing)?;
			Call::<T>::submit_result { submission, signature }
		}
		Err(Ok(kind)) => {
			log::warn!(target: LOG_TARGET, "request {id}: failed ({kind:?}); reporting it");
			let failure = FailureSubmission { request_id: id, executor: key.clone(), kind };
			let signature = key
				.sign(&Pallet::<T>::failure_payload(&failure, &request))
				.ok_or(OffchainError::Signing)?;
			Call::<T>::submit_failure { failure, signature }
		}
		Err(Err(e)) => return Err(e),
	};
	let xt = T::create_authorized_transaction(call.into());
	SubmitTransaction::<T, Call<T>>::submit_transaction(xt).map_err(|_| OffchainError::Submit)
}

/// What the committee can agree on when the engine fails: failures the model causes (the same
/// on every honest validator) map to a [`FailureKind`]; local problems (no engine, the model
/// not loaded here, corrupt local bytes) are this node's own and reported to nobody.
pub fn failure_kind(e: EngineError) -> Result<FailureKind, OffchainError> {
	Ok(match e {
		EngineError::BadModel => FailureKind::BadModel,
		EngineError::BadInput => FailureKind::BadInput,
		EngineError::TooLarge => FailureKind::OutputTooLarge,
		EngineError::Timeout => FailureKind::Timeout,
		EngineError::RunFailed => FailureKind::RunFailed,
		EngineError::OutOfMemory => FailureKind::OutOfMemory,
		EngineError::WorkerDied => FailureKind::WorkerDied,
		EngineError::Unavailable | EngineError::ModelNotLoaded | EngineError::HashMismatch => {
			return Err(OffchainError::Engine(e))
		}
	})
}
