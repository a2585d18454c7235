//! The off-chain worker: validators run the requests assigned to them, commit to their answers
//! and reveal them (see [`crate::commit`]).
//!
//! On each imported block, on a validator node (`is_validator`), for every local `infr` key:
//! 1. **reveal** the answers it committed to whose commit phase is over (kept in the node's
//!    persistent off-chain storage since they were computed, with their salt), all of them in
//!    one signed `reveal_answers` transaction (several when they exceed `MaxRevealsPerBatch`
//!    or 512 KiB of outputs); answers of requests that ended are forgotten;
//! 2. **run** the requests in their commit phase whose committee holds the key and that it has
//!    not committed to ([`Pallet::pending_for`]), oldest first, at most `MaxRunsPerBlock` in all
//!    and none started after `MaxOffchainMillis` of wall-clock time. Each is claimed in the
//!    node's persistent off-chain storage with a compare-and-set, so overlapping off-chain-worker
//!    runs (a new block arrives while the last run is busy) never run it twice; the claim
//!    expires after `ResubmitAfter` blocks, so a dropped transaction is retried. The model is
//!    handed to the node's engine if it does not have it yet (bytes from chain state,
//!    hash-checked by the engine) and the input runs through the `inference` host functions,
//!    within the model's run budget (from its readiness probe; a probe itself runs within the
//!    node's limit and its result reports what the run cost, see [`crate::models`]). A
//!    failure the model causes (refused, time or memory limit, output too large or off-spec:
//!    [`failure_kind`]) is an answer too, so the committee can agree on it;
//! 3. **commit**: the commitments of everything it ran go to the pool in one signed
//!    `commit_answers` transaction.
//!
//! A node without an engine (`--no-inference`, or not a validator) gets `Unavailable` from the
//! host functions and submits nothing.
use crate::*;
use frame_system::offchain::SubmitTransaction;
use sp_runtime::offchain::storage::{MutateStorageError, StorageRetrievalError, StorageValueRef};
use verity_primitives::host::{inference as host, EngineError, FetchStatus};

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
	/// The node is still fetching the hosted model's file: the request is run once it is in.
	Fetching,
}

/// An answer computed here, kept until revealed: the output (with what the run cost, for a
/// readiness probe) or the failure, and its salt.
#[derive(Encode, codec::Decode)]
enum LocalAnswer {
	Output(Vec<u8>, Option<RunProfile>),
	Failure(FailureKind),
}

impl LocalAnswer {
	/// The answer as committed to and revealed.
	fn as_answer(&self) -> Answer<'_> {
		match self {
			LocalAnswer::Output(output, _) => Answer::Output(output),
			LocalAnswer::Failure(kind) => Answer::Failure(*kind),
		}
	}
}

/// Runs, commits and reveals the answers of this node's executor keys.
pub fn run<T: Config>(now: BlockNumberOf<T>) {
	if !sp_io::offchain::is_validator() {
		return;
	}
	let keys = InferenceAuthorityId::all();
	if keys.is_empty() {
		return;
	}
	// Let the transaction pool build its view of this block first: a transaction submitted
	// while it still has only the parent's view can be lost (seen in the end-to-end suite:
	// answers computed within ~10 ms of the import vanished on two of three validators).
	sp_io::offchain::sleep_until(
		sp_io::offchain::timestamp()
			.add(sp_core::offchain::Duration::from_millis(POOL_SETTLE_MILLIS)),
	);
	let mut budget = T::MaxRunsPerBlock::get();
	let deadline = sp_io::offchain::timestamp()
		.add(sp_core::offchain::Duration::from_millis(T::MaxOffchainMillis::get()));
	for key in keys {
		reveal_due::<T>(now, &key);
		let mut commitments = Vec::new();
		// When the first answer of the pending batch was ready: answers are batched while runs
		// are quick, but no answer waits more than `FLUSH_AFTER_MILLIS` behind slow models.
		let mut batch_since = None;
		for id in Pallet::<T>::pending_for(&key) {
			if budget == 0 || sp_io::offchain::timestamp() > deadline {
				log::info!(target: LOG_TARGET, "run budget used up at block {now:?}; the rest waits");
				break;
			}
			match answer::<T>(now, id, &key) {
				Ok(hash) => {
					budget -= 1;
					commitments.push((id, hash));
					batch_since.get_or_insert(sp_io::offchain::timestamp());
				}
				Err(OffchainError::AlreadyClaimed | OffchainError::Fetching) => {}
				Err(e) => {
					budget -= 1;
					log::warn!(target: LOG_TARGET, "request {id}: {e:?}");
				}
			}
			let waited = batch_since
				.map(|t| sp_io::offchain::timestamp().diff(&t).millis())
				.unwrap_or_default();
			if waited >= FLUSH_AFTER_MILLIS || commitments.len() >= COMMIT_BATCH_ENTRIES {
				flush::<T>(now, &key, core::mem::take(&mut commitments));
				batch_since = None;
			}
		}
		flush::<T>(now, &key, commitments);
	}
}

/// How long an off-chain worker waits after a block's import before it submits anything, in
/// milliseconds (the pool's maintenance of a block took ~13 ms in the end-to-end logs).
const POOL_SETTLE_MILLIS: u64 = 300;

/// Longest an answer waits in the commit batch for the next runs to finish, in milliseconds.
const FLUSH_AFTER_MILLIS: u64 = 500;

/// Most commitments in one batch: a batch is charged its entries' worst case, and smaller
/// batches fit the block's remaining weight more easily. (When each entry was charged 68 KB of
/// proof, the 64 KiB `MaxEncodedLen` of a presence test, three 200-entry batches and the
/// block's reveals exceeded its 48 MiB of normal proof size and the author left batches for
/// later blocks; measured with `scripts/bench_throughput.py`, load 200.)
const COMMIT_BATCH_ENTRIES: usize = 64;

/// Commits to `commitments` (if any), in batches of at most `COMMIT_BATCH_ENTRIES`.
fn flush<T: Config>(
	now: BlockNumberOf<T>,
	key: &InferenceAuthorityId,
	commitments: Vec<(RequestId, H256)>,
) {
	for chunk in commitments.chunks(COMMIT_BATCH_ENTRIES) {
		let count = chunk.len();
		match commit::<T>(key, chunk.to_vec()) {
			Ok(()) => {
				log::info!(target: LOG_TARGET, "committed to {count} answer(s) at block {now:?}")
			}
			Err(e) => log::warn!(target: LOG_TARGET, "commit of {count} answer(s): {e:?}"),
		}
	}
}

/// Blocks after which a commitment that did not land is sent again (the answer is kept, nothing
/// runs again): it must land within the commit window. The fork-aware pool can lose a
/// transaction submitted while it is still building the view of the block the off-chain worker
/// runs on (seen in the end-to-end suite when models answer within milliseconds).
const RECOMMIT_AFTER_BLOCKS: u32 = 1;
/// Blocks after which a reveal that did not land is sent again (it has until the deadline):
/// the next block, so a reveal the pool lost costs one block, not two (issue 17).
const REVEAL_AGAIN_AFTER_BLOCKS: u32 = 1;

/// Claims `what` for `(request, key)` in persistent off-chain storage unless claimed within
/// `after` blocks.
fn claim<T: Config>(
	what: &[u8],
	after: BlockNumberOf<T>,
	now: BlockNumberOf<T>,
	id: RequestId,
	key: &InferenceAuthorityId,
) -> bool {
	let storage_key = (b"verity/inference/", what, id, key).encode();
	let claimed = StorageValueRef::persistent(&storage_key).mutate(
		|last: Result<Option<BlockNumberOf<T>>, StorageRetrievalError>| match last {
			Ok(Some(at)) if now < at.saturating_add(after) => Err(()),
			_ => Ok(now),
		},
	);
	!matches!(
		claimed,
		Err(MutateStorageError::ValueFunctionFailed(()))
			| Err(MutateStorageError::ConcurrentModification(_))
	)
}

/// Where the answer of `key` to request `id` is kept until revealed.
fn answer_key(id: RequestId, key: &InferenceAuthorityId) -> Vec<u8> {
	(b"verity/inference/answer", id, key).encode()
}

/// The requests `key` holds unrevealed answers for.
fn answers_index(key: &InferenceAuthorityId) -> Vec<u8> {
	(b"verity/inference/answers", key).encode()
}

/// Adds or removes `id` in `key`'s index of kept answers (which only serves to forget them:
/// reveals find their requests on chain). Overlapping off-chain-worker runs update it
/// concurrently: a compare-and-set that lost the race is retried.
fn update_index(key: &InferenceAuthorityId, id: RequestId, keep: bool) {
	for _ in 0..16 {
		let updated = StorageValueRef::persistent(&answers_index(key)).mutate(
			|ids: Result<Option<Vec<RequestId>>, StorageRetrievalError>| -> Result<_, ()> {
				let mut ids = ids.ok().flatten().unwrap_or_default();
				ids.retain(|x| *x != id);
				if keep {
					ids.push(id);
				}
				Ok(ids)
			},
		);
		if !matches!(updated, Err(MutateStorageError::ConcurrentModification(_))) {
			return;
		}
	}
	log::warn!(target: LOG_TARGET, "could not update the index of kept answers for request {id}");
}

/// Where a request's model file is, for this node.
enum ModelFile {
	/// On chain, in chunks (loaded into the engine unless it has it).
	OnChain,
	/// A hosted model's file, fetched into the model folder.
	Fetched,
	/// A hosted model's file this node cannot get: it answers `ModelUnavailable`.
	Unavailable,
}

/// Where request `id`'s model file is; `OffchainError::Fetching` while the node fetches a hosted
/// model's file.
fn model_file<T: Config>(id: RequestId) -> Result<ModelFile, OffchainError> {
	let request = Requests::<T>::get(id).ok_or(OffchainError::Gone)?;
	let Some(urls) = HostedModels::<T>::get(request.model) else { return Ok(ModelFile::OnChain) };
	let model = Models::<T>::get(request.model).ok_or(OffchainError::Gone)?;
	let urls: Vec<Vec<u8>> = urls.into_iter().map(|u| u.into_inner()).collect();
	match host::fetch_model(model.code_hash.0, model.size.into(), urls) {
		FetchStatus::Ready if host::has_model(model.code_hash.0) => Ok(ModelFile::Fetched),
		// Ready but gone from the folder (the engine deletes a file whose hash is wrong): the
		// next ask fetches it again.
		FetchStatus::Ready | FetchStatus::Fetching { .. } => Err(OffchainError::Fetching),
		FetchStatus::Failed => Ok(ModelFile::Unavailable),
		FetchStatus::Unavailable => Err(OffchainError::Engine(EngineError::Unavailable)),
	}
}

/// Runs request `id` for `key`, keeps the answer with a fresh salt, and returns its commitment.
fn answer<T: Config>(
	now: BlockNumberOf<T>,
	id: RequestId,
	key: &InferenceAuthorityId,
) -> Result<H256, OffchainError> {
	// A hosted model's file comes from its URLs, fetched by the node in the background: until
	// it is in, the request waits (unclaimed, so that the first block after runs it).
	let file = model_file::<T>(id)?;
	if !claim::<T>(b"claim", T::ResubmitAfter::get(), now, id, key) {
		return Err(OffchainError::AlreadyClaimed);
	}
	let request = Requests::<T>::get(id).ok_or(OffchainError::Gone)?;
	let model = Models::<T>::get(request.model).ok_or(OffchainError::Gone)?;
	let input = RequestInputs::<T>::get(id).ok_or(OffchainError::Gone)?;
	// The engine keeps models by the hash of their bytes (several ids can share them).
	let model_id = model.code_hash.0;
	let loaded = match file {
		// The node's download is in the model folder, where the engine loads it from.
		ModelFile::Fetched => Ok(()),
		ModelFile::Unavailable => Err(Ok(FailureKind::ModelUnavailable)),
		ModelFile::OnChain if host::has_model(model_id) => Ok(()),
		ModelFile::OnChain => {
			host::load_model(model_id, &Pallet::<T>::model_bytes(&request.model, model.chunks))
				.map_err(failure_kind)
		}
	};
	// A probe runs within the node's own limit and reports what it cost; a profiled model runs
	// within the budget its probe set.
	let probe = model.status == ModelStatus::Probing;
	let budget = ModelProfiles::<T>::get(request.model).map_or(0, |p| p.run_budget_millis());
	let outcome =
		loaded.and_then(|()| host::run_measured(model_id, &input, budget).map_err(failure_kind));
	let outcome = outcome.and_then(|(output, profile)| {
		if output.len() > T::MaxOutputBytes::get() as usize {
			Err(Ok(FailureKind::OutputTooLarge))
		} else if Pallet::<T>::output_matches(&output, &model) {
			Ok((output, profile))
		} else {
			Err(Ok(FailureKind::OutputMismatch))
		}
	});
	let local = match outcome {
		Ok((output, profile)) => LocalAnswer::Output(output, probe.then_some(profile)),
		Err(Ok(kind)) => {
			log::warn!(target: LOG_TARGET, "request {id}: failed ({kind:?}); committing to it");
			LocalAnswer::Failure(kind)
		}
		Err(Err(e)) => return Err(e),
	};
	let salt: Salt = sp_io::offchain::random_seed();
	let genesis = Pallet::<T>::genesis_hash();
	let hash = commitment(genesis, id, &request.input_hash, key, local.as_answer(), &salt);
	StorageValueRef::persistent(&answer_key(id, key)).set(&(local, salt));
	update_index(key, id, true);
	// Its commitment is sent now: a resend waits `RECOMMIT_AFTER_BLOCKS`.
	claim::<T>(b"commit", 0u32.into(), now, id, key);
	Ok(hash)
}

/// Sends `key`'s commitments in one signed transaction.
fn commit<T: Config>(
	key: &InferenceAuthorityId,
	commitments: Vec<(RequestId, H256)>,
) -> Result<(), OffchainError> {
	let batch =
		CommitBatch { executor: key.clone(), commitments: BoundedVec::truncate_from(commitments) };
	let signature = key.sign(&Pallet::<T>::commit_payload(&batch)).ok_or(OffchainError::Signing)?;
	submit::<T>(Call::<T>::commit_answers { batch, signature })
}

fn submit<T: Config>(call: Call<T>) -> Result<(), OffchainError> {
	let xt = T::create_authorized_transaction(call.into());
	SubmitTransaction::<T, Call<T>>::submit_transaction(xt).map_err(|_| OffchainError::Submit)
}

/// Reveals the answers `key` committed to whose commit phase is over (as of the next block),
/// and commits again to answers whose commitment did not land while the phase is open: the
/// requests are found on chain, the answers and salts in persistent off-chain storage. Then
/// forgets the kept answers of requests that ended or that `key` answered.
fn reveal_due<T: Config>(now: BlockNumberOf<T>, key: &InferenceAuthorityId) {
	let next = now.saturating_add(1u32.into());
	let recommit_after = BlockNumberOf::<T>::from(RECOMMIT_AFTER_BLOCKS);
	let reveal_after = BlockNumberOf::<T>::from(REVEAL_AGAIN_AFTER_BLOCKS);
	let mut recommit = Vec::new();
	let mut reveals = Vec::new();
	for id in Pallet::<T>::assigned(key) {
		let Some(request) = Requests::<T>::get(id) else { continue };
		if request.status != RequestStatus::Pending || request.deadline < next {
			continue;
		}
		let Some(member) = request.committee.iter().position(|e| &e.key == key) else { continue };
		let member = member as u32;
		if Pallet::<T>::has_answered(id, member) {
			continue;
		}
		let Some(committed) = Commitments::<T>::get(id, member) else {
			if Pallet::<T>::commit_phase_over(id, &request, next) {
				continue;
			}
			let Some((local, salt)) = kept_answer(id, key) else { continue };
			if claim::<T>(b"commit", recommit_after, now, id, key) {
				let genesis = Pallet::<T>::genesis_hash();
				let answer = local.as_answer();
				recommit
					.push((id, commitment(genesis, id, &request.input_hash, key, answer, &salt)));
			}
			continue;
		};
		if committed.at > now || !Pallet::<T>::commit_phase_over(id, &request, next) {
			continue;
		}
		let Some(entry) = kept_reveal::<T>(now, id, key, member, request.deadline) else {
			continue;
		};
		if claim::<T>(b"reveal", reveal_after, now, id, key) {
			reveals.push(entry);
		}
	}
	send_reveals::<T>(now, key, reveals);
	if !recommit.is_empty() {
		log::info!(target: LOG_TARGET, "{} commitment(s) did not land; sending again", recommit.len());
		flush::<T>(now, key, recommit);
	}
	let kept: Vec<RequestId> =
		StorageValueRef::persistent(&answers_index(key)).get().ok().flatten().unwrap_or_default();
	for id in kept {
		let done = match Requests::<T>::get(id) {
			Some(r) if r.status == RequestStatus::Pending => r
				.committee
				.iter()
				.position(|e| &e.key == key)
				.is_none_or(|m| Pallet::<T>::has_answered(id, m as u32)),
			_ => true,
		};
		if done {
			forget(id, key);
		}
	}
}

/// The answer `key` computed for request `id`, with its salt, if kept.
fn kept_answer(id: RequestId, key: &InferenceAuthorityId) -> Option<(LocalAnswer, Salt)> {
	StorageValueRef::persistent(&answer_key(id, key)).get::<(LocalAnswer, Salt)>().ok().flatten()
}

/// Drops the kept answer of `key` to request `id`.
fn forget(id: RequestId, key: &InferenceAuthorityId) {
	StorageValueRef::persistent(&answer_key(id, key)).clear();
	StorageValueRef::persistent(&held_key(id, key)).clear();
	update_index(key, id, false);
}

/// Outputs above this many bytes go on chain once per request: the first member to reveal
/// (the lowest committee index that committed) sends the bytes, the others wait a block and
/// reveal an identical output by reference ([`Reveal::SameOutput`]; 16 members revealing a
/// 1 MiB output would need 16 MiB, over four blocks).
const SHARED_OUTPUT_BYTES: usize = 4 * 1024;

/// Where `key` notes the block it first held back its reveal of request `id`.
fn held_key(id: RequestId, key: &InferenceAuthorityId) -> Vec<u8> {
	(b"verity/inference/held", id, key).encode()
}

/// The kept answer of `key` (committee member `member`) to request `id` as a reveal to send now:
/// an output identical to one already revealed for the request goes by reference; a large
/// output waits one block (`None`) unless this member reveals first or waiting would miss the
/// request's `deadline`. `None` (with a warning) when no answer is kept.
fn kept_reveal<T: Config>(
	now: BlockNumberOf<T>,
	id: RequestId,
	key: &InferenceAuthorityId,
	member: u32,
	deadline: BlockNumberOf<T>,
) -> Option<Reveal<T::MaxOutputBytes>> {
	let Some((local, salt)) = kept_answer(id, key) else {
		log::warn!(target: LOG_TARGET, "no kept answer to reveal for request {id}");
		return None;
	};
	let (output, profile) = match local {
		LocalAnswer::Output(output, profile) => (output, profile),
		LocalAnswer::Failure(kind) => return Some(Reveal::Failure { request_id: id, kind, salt }),
	};
	let hash = output_hash(&output);
	let len = output.len() as u32;
	if SubmittedOutputs::<T>::decode_len(id, hash) == Some(output.len()) {
		return Some(Reveal::SameOutput { request_id: id, output_hash: hash, len, salt, profile });
	}
	// Sent now, the reveal lands in `now + 1`; held back, in `now + 2`, which must be in time.
	let in_time = now.saturating_add(2u32.into()) <= deadline;
	if output.len() > SHARED_OUTPUT_BYTES && in_time && hold_back::<T>(now, id, key, member) {
		return None;
	}
	let output = BoundedVec::try_from(output).ok()?;
	Some(Reveal::Result { request_id: id, output, salt, profile })
}

/// Whether `member` holds back its large output for a block so that it can reveal the first
/// member's identical one by reference: only when nobody has revealed a result yet, it is not
/// the first committed member, and it has not held back before.
fn hold_back<T: Config>(
	now: BlockNumberOf<T>,
	id: RequestId,
	key: &InferenceAuthorityId,
	member: u32,
) -> bool {
	let after_another = (0..member).any(|m| Commitments::<T>::contains_key(id, m));
	if !after_another || Submissions::<T>::iter_prefix_values(id).next().is_some() {
		return false;
	}
	let held_key = held_key(id, key);
	let held = StorageValueRef::persistent(&held_key);
	match held.get::<BlockNumberOf<T>>().ok().flatten() {
		Some(at) => at >= now,
		None => {
			held.set(&now);
			true
		}
	}
}

/// Most output bytes in one reveal batch (the block takes 3.75 MiB of normal transactions); a
/// larger output (up to `MaxOutputBytes`) goes alone.
const REVEAL_BATCH_BYTES: u32 = 512 * 1024;

/// Sends `reveals` in as few signed `reveal_answers` transactions as fit: at most
/// `MaxRevealsPerBatch` reveals, `REVEAL_BATCH_BYTES` of outputs and an extrinsic's weight each
/// (entries are charged by their output's size: three 1 MiB outputs fill it).
fn send_reveals<T: Config>(
	now: BlockNumberOf<T>,
	key: &InferenceAuthorityId,
	reveals: Vec<Reveal<T::MaxOutputBytes>>,
) {
	let mut batch: Vec<Reveal<T::MaxOutputBytes>> = Vec::new();
	let (mut bytes, mut weight) = (0u32, Weight::zero());
	let max = T::MaxRevealsPerBatch::get().max(1) as usize;
	let budget = Pallet::<T>::reveal_batch_budget();
	for reveal in reveals {
		let len = reveal.carried_len();
		let charged = Pallet::<T>::reveal_weight(&reveal);
		if !batch.is_empty()
			&& (batch.len() >= max
				|| bytes.saturating_add(len) > REVEAL_BATCH_BYTES
				|| !weight.saturating_add(charged).all_lte(budget))
		{
			send_reveal_batch::<T>(now, key, core::mem::take(&mut batch));
			(bytes, weight) = (0, Weight::zero());
		}
		bytes = bytes.saturating_add(len);
		weight = weight.saturating_add(charged);
		batch.push(reveal);
	}
	if !batch.is_empty() {
		send_reveal_batch::<T>(now, key, batch);
	}
}

/// Signs and submits one reveal batch.
fn send_reveal_batch<T: Config>(
	now: BlockNumberOf<T>,
	key: &InferenceAuthorityId,
	reveals: Vec<Reveal<T::MaxOutputBytes>>,
) {
	let ids: Vec<RequestId> = reveals.iter().map(Reveal::request_id).collect();
	let batch = RevealBatch { executor: key.clone(), reveals: BoundedVec::truncate_from(reveals) };
	let sent = key
		.sign(&Pallet::<T>::reveal_payload(&batch))
		.ok_or(OffchainError::Signing)
		.and_then(|signature| submit::<T>(Call::<T>::reveal_answers { batch, signature }));
	match sent {
		Ok(()) => log::info!(target: LOG_TARGET, "revealed answers to {ids:?} at block {now:?}"),
		Err(e) => log::warn!(target: LOG_TARGET, "reveal of {ids:?}: {e:?}"),
	}
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
