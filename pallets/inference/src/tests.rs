use crate::{mock::*, *};

mod offchain;
use codec::Encode;
use frame_support::{
	assert_noop, assert_ok,
	dispatch::DispatchResultWithPostInfo,
	traits::{Hooks, OneSessionHandler},
	BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::Pair;
use sp_runtime::{
	transaction_validity::InvalidTransaction, DispatchError, DispatchResult, FixedPointNumber,
};
use verity_primitives::{
	agreement::Tolerance,
	spec::{tensor_spec, Dim, TensorSpecs},
	tensor::{encode_owned, DType, Tensor},
	InferenceAuthoritySignature,
};

const FEE: Balance = 90;
const TOL: Tolerance = Tolerance { abs_e9: 10_000, rel_e9: 0 }; // 1e-5

fn inputs() -> TensorSpecs {
	BoundedVec::truncate_from(vec![tensor_spec("x", DType::F32, &[Dim::Dynamic, Dim::Fixed(2)])])
}

fn outputs() -> TensorSpecs {
	BoundedVec::truncate_from(vec![tensor_spec("y", DType::F32, &[Dim::Dynamic, Dim::Fixed(1)])])
}

fn input(x: [f32; 2]) -> Vec<u8> {
	encode_owned(&[Tensor::from_f32("x", vec![1, 2], &x)])
}

fn output(y: f32) -> Vec<u8> {
	encode_owned(&[Tensor::from_f32("y", vec![1, 1], &[y])])
}

fn model_bytes(len: usize) -> Vec<u8> {
	(0..len).map(|i| (i * 7 % 251) as u8).collect()
}

fn hash(bytes: &[u8]) -> ModelId {
	H256(sp_io::hashing::blake2_256(bytes))
}

/// The id of `owner`'s model with bytes hashing to `code` and the test rules.
fn id_of(owner: AccountId, code: H256) -> ModelId {
	Inference::model_id(&owner, &code, &inputs(), &outputs(), &TOL, FEE)
}

/// Registers, uploads in chunks of up to 100 bytes and activates a model of `len` bytes (its
/// readiness probe passes: the committee's members are paid the probe's fee by ALICE, and the
/// chain moves one block on).
fn active_model(len: usize) -> ModelId {
	let id = uploaded_model(len);
	pass_probe(id);
	id
}

/// Registers and uploads a model of `len` bytes in chunks of up to 100 bytes; its upload is
/// complete and its readiness probe (the last request) open.
fn uploaded_model(len: usize) -> ModelId {
	let id = all_bytes_in(len, inputs());
	assert_ok!(Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), id, None));
	id
}

/// Registers ALICE's model of `len` bytes with `inputs` and uploads all its bytes, in chunks
/// of up to 100 bytes, without completing the upload.
fn all_bytes_in(len: usize, inputs: TensorSpecs) -> ModelId {
	let bytes = model_bytes(len);
	let code = hash(&bytes);
	assert_ok!(Inference::register_model(
		RuntimeOrigin::signed(ALICE),
		code,
		len as u32,
		inputs.clone(),
		outputs(),
		TOL,
		FEE
	));
	let id = Inference::model_id(&ALICE, &code, &inputs, &outputs(), &TOL, FEE);
	for chunk in bytes.chunks(100) {
		assert_ok!(Inference::upload_model_chunk(
			RuntimeOrigin::signed(ALICE),
			id,
			BoundedVec::try_from(chunk.to_vec()).unwrap()
		));
	}
	id
}

/// The profile every test member reports of a probe run.
const PROFILE: RunProfile =
	RunProfile { load_micros: 1_500, run_micros: 40_000, peak_memory_kib: 9 };

/// The readiness probe of `model` (the last request made): each committee member commits to the
/// same output and reveals it with `PROFILE`; the model is then active.
fn pass_probe(model: ModelId) {
	let probe = NextRequestId::<Test>::get() - 1;
	System::assert_has_event(Event::ModelProbing { model, request_id: probe }.into());
	if Requests::<Test>::get(probe).unwrap().committee.is_empty() {
		run_to(System::block_number() + 1);
	}
	let members: Vec<u8> = Requests::<Test>::get(probe)
		.unwrap()
		.committee
		.iter()
		.map(|e| (e.account - executor_account(0)) as u8)
		.collect();
	let answers: Vec<_> = members.iter().map(|m| (probe, *m, out(1.0))).collect();
	commit_all(&answers);
	for m in members {
		if Requests::<Test>::get(probe).unwrap().status != RequestStatus::Pending {
			break;
		}
		assert_ok!(submit_profiled(probe, m, output(1.0), Some(PROFILE)));
	}
	assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
}

fn request(model: ModelId) -> RequestId {
	request_timed(model, None)
}

/// Bob's request of `model` with `timeout` (`None`: the default).
fn request_timed(model: ModelId, timeout: Option<u64>) -> RequestId {
	let id = NextRequestId::<Test>::get();
	assert_ok!(Inference::request_inference(
		RuntimeOrigin::signed(BOB),
		model,
		input([1.0, 2.0]),
		FEE,
		timeout
	));
	id
}

fn signed(
	request_id: RequestId,
	executor: u8,
	out: Vec<u8>,
) -> (SubmissionOf<Test>, InferenceAuthoritySignature) {
	signed_profiled(request_id, executor, out, None)
}

fn signed_profiled(
	request_id: RequestId,
	executor: u8,
	out: Vec<u8>,
	profile: Option<RunProfile>,
) -> (SubmissionOf<Test>, InferenceAuthoritySignature) {
	let submission = ResultSubmission {
		request_id,
		executor: executor_key(executor),
		output: BoundedVec::try_from(out).unwrap(),
		salt: salt(executor),
		profile,
	};
	// For an unknown request there is no input to bind: any payload is refused anyway.
	let payload = match Requests::<Test>::get(request_id) {
		Some(request) => Inference::signing_payload(&submission, &request),
		None => submission.encode(),
	};
	let signature = executor_pair(executor).sign(&payload).into();
	(submission, signature)
}

/// Reveals through the same path as the transaction pool: authorize, then dispatch.
fn submit(request_id: RequestId, executor: u8, out: Vec<u8>) -> DispatchResultWithPostInfo {
	submit_profiled(request_id, executor, out, None)
}

fn submit_profiled(
	request_id: RequestId,
	executor: u8,
	out: Vec<u8>,
	profile: Option<RunProfile>,
) -> DispatchResultWithPostInfo {
	let (submission, signature) = signed_profiled(request_id, executor, out, profile);
	Inference::authorize_submit_result(TransactionSource::External, &submission, &signature)
		.map_err(|_| DispatchError::Other("not authorized"))?;
	Inference::submit_result(RawOrigin::Authorized.into(), submission, signature)
}

fn authorize(request_id: RequestId, executor: u8, out: Vec<u8>) -> Result<(), InvalidTransaction> {
	let (submission, signature) = signed(request_id, executor, out);
	Inference::authorize_submit_result(TransactionSource::External, &submission, &signature)
		.map(|_| ())
		.map_err(|e| match e {
			sp_runtime::transaction_validity::TransactionValidityError::Invalid(i) => i,
			_ => panic!("unknown validity"),
		})
}

/// The salt of `executor`'s commitments in these tests.
fn salt(executor: u8) -> Salt {
	[executor.wrapping_add(1); 32]
}

/// An answer of a test committee member.
#[derive(Clone, Debug)]
enum Ans {
	Out(Vec<u8>),
	Fail(FailureKind),
	/// An output revealed by reference (`Reveal::SameOutput`).
	Same(Vec<u8>),
}

fn out(y: f32) -> Ans {
	Ans::Out(output(y))
}

/// `executor`'s commitment to `answer` for request `r` (with its test salt).
fn commitment_of(r: RequestId, executor: u8, answer: &Ans) -> H256 {
	let request = Requests::<Test>::get(r).unwrap();
	let answer = match answer {
		Ans::Out(o) | Ans::Same(o) => Answer::Output(o),
		Ans::Fail(kind) => Answer::Failure(*kind),
	};
	commitment(
		Inference::genesis_hash(),
		r,
		&request.input_hash,
		&executor_key(executor),
		answer,
		&salt(executor),
	)
}

/// `executor`'s signed batch of `commitments`.
fn batch(
	executor: u8,
	commitments: Vec<(RequestId, H256)>,
) -> (CommitBatchOf<Test>, InferenceAuthoritySignature) {
	let batch = CommitBatch {
		executor: executor_key(executor),
		commitments: BoundedVec::truncate_from(commitments),
	};
	let signature = executor_pair(executor).sign(&Inference::commit_payload(&batch)).into();
	(batch, signature)
}

fn authorize_commit(
	executor: u8,
	commitments: Vec<(RequestId, H256)>,
) -> Result<(), InvalidTransaction> {
	let (batch, signature) = batch(executor, commitments);
	Inference::authorize_commit_answers(TransactionSource::External, &batch, &signature)
		.map(|_| ())
		.map_err(|e| match e {
			sp_runtime::transaction_validity::TransactionValidityError::Invalid(i) => i,
			_ => panic!("unknown validity"),
		})
}

/// Commits through the pool's path: authorize, then dispatch.
fn commit(executor: u8, commitments: Vec<(RequestId, H256)>) -> DispatchResult {
	let (batch, signature) = batch(executor, commitments);
	Inference::authorize_commit_answers(TransactionSource::External, &batch, &signature)
		.map_err(|_| DispatchError::Other("not authorized"))?;
	Inference::commit_answers(RawOrigin::Authorized.into(), batch, signature)
}

/// Each member commits to its answers (one batch per member, in the current block), then the
/// chain moves to the first block in which all these requests take reveals.
fn commit_all(answers: &[(RequestId, u8, Ans)]) {
	let mut members: Vec<u8> = answers.iter().map(|(_, m, _)| *m).collect();
	members.sort_unstable();
	members.dedup();
	for m in members {
		let entries = answers
			.iter()
			.filter(|(_, member, _)| *member == m)
			.map(|(r, _, a)| (*r, commitment_of(*r, m, a)))
			.collect();
		assert_ok!(commit(m, entries));
	}
	let now = System::block_number();
	let mut reveal_at = now + 1;
	for (r, _, _) in answers {
		let request = Requests::<Test>::get(r).unwrap();
		if !Inference::commit_phase_over(*r, &request, now + 1) {
			reveal_at = reveal_at.max(Inference::commit_deadline(&request) + 1);
		}
	}
	run_to(reveal_at);
}

fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Inference::on_initialize(next);
		Inference::do_try_state().unwrap();
	}
}

/// Free balances of executors `0..n`: what later requests pay them is compared with these
/// (activating a model pays its probe's fee to the committee).
fn executor_balances(n: u8) -> Vec<Balance> {
	(0..n).map(|i| Balances::free_balance(executor_account(i))).collect()
}

fn escrow(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::RequestEscrow.into(), &who)
}

fn last_events(n: usize) -> Vec<Event<Test>> {
	let events: Vec<_> = System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Inference(e) = r.event { Some(e) } else { None })
		.collect();
	events[events.len().saturating_sub(n)..].to_vec()
}

// ----------------------------------------------------------------------------------------------
// Models
// ----------------------------------------------------------------------------------------------

#[test]
fn model_lifecycle_holds_and_releases_the_deposit() {
	new_test_ext(3).execute_with(|| {
		let id = active_model(250);
		let deposit = MODEL_DEPOSIT_BASE + 250 * MODEL_DEPOSIT_PER_BYTE;
		assert_eq!(Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE), deposit);
		let info = Models::<Test>::get(id).unwrap();
		assert_eq!((info.status, info.chunks, info.uploaded), (ModelStatus::Active, 3, 250));
		assert_eq!(Inference::model_bytes(&id, info.chunks), model_bytes(250));
		System::assert_has_event(Event::ModelActivated { model: id }.into());
		let profile = ModelProfiles::<Test>::get(id).unwrap();
		assert_eq!(
			(profile.load_micros, profile.run_micros, profile.peak_memory_kib),
			(PROFILE.load_micros, PROFILE.run_micros, PROFILE.peak_memory_kib)
		);
		assert_eq!(profile.output_hash, hash(&output(1.0)));

		assert_ok!(Inference::retire_model(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(Models::<Test>::get(id).unwrap().status, ModelStatus::Retired);
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert!(Models::<Test>::get(id).is_none());
		assert_eq!(ModelChunks::<Test>::iter_prefix(id).count(), 0);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE), 0);
		// All of the deposit came back; the probe's fee went to the committee.
		assert_eq!(Balances::free_balance(ALICE), INITIAL - FEE);
		System::assert_last_event(
			Event::ModelRemoved { model: id, deposit_released: deposit }.into(),
		);
		assert!(ModelProfiles::<Test>::get(id).is_none(), "the profile goes with the model");
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn register_model_errors() {
	new_test_ext(3).execute_with(|| {
		let reg = |who, code, size, ins: TensorSpecs, outs: TensorSpecs| {
			Inference::register_model(RuntimeOrigin::signed(who), code, size, ins, outs, TOL, FEE)
		};
		let id = hash(b"m");
		assert_noop!(reg(ALICE, id, 0, inputs(), outputs()), Error::<Test>::EmptyModel);
		assert_noop!(reg(ALICE, id, 1001, inputs(), outputs()), Error::<Test>::ModelTooLarge);
		assert_noop!(
			reg(ALICE, id, 10, Default::default(), outputs()),
			Error::<Test>::BadInputSpec
		);
		assert_noop!(
			reg(ALICE, id, 10, inputs(), Default::default()),
			Error::<Test>::BadOutputSpec
		);
		let dup: TensorSpecs =
			BoundedVec::truncate_from(vec![inputs()[0].clone(), inputs()[0].clone()]);
		assert_noop!(reg(ALICE, id, 10, dup, outputs()), Error::<Test>::BadInputSpec);
		assert_noop!(reg(POOR, id, 10, inputs(), outputs()), Error::<Test>::InsufficientBalance);
		assert_ok!(reg(ALICE, id, 10, inputs(), outputs()));
		assert_noop!(
			reg(ALICE, id, 10, inputs(), outputs()),
			Error::<Test>::ModelAlreadyRegistered
		);
		// The same bytes and rules registered by another owner are another model.
		assert_ok!(reg(BOB, id, 10, inputs(), outputs()));
		assert_ne!(id_of(ALICE, id), id_of(BOB, id));
		assert!(Models::<Test>::contains_key(id_of(BOB, id)));
		assert_noop!(
			Inference::register_model(RuntimeOrigin::none(), id, 10, inputs(), outputs(), TOL, FEE),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn upload_errors() {
	new_test_ext(3).execute_with(|| {
		let bytes = model_bytes(150);
		let id = id_of(ALICE, hash(&bytes));
		let chunk = |b: &[u8]| BoundedVec::try_from(b.to_vec()).unwrap();
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), id, chunk(&bytes[..10])),
			Error::<Test>::UnknownModel
		);
		assert_ok!(Inference::register_model(
			RuntimeOrigin::signed(ALICE),
			hash(&bytes),
			150,
			inputs(),
			outputs(),
			TOL,
			FEE
		));
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(BOB), id, chunk(&bytes[..10])),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), id, chunk(&[])),
			Error::<Test>::EmptyChunk
		);
		// Short chunks would multiply the chunks that completing and removing the model read:
		// only the last chunk may be shorter than MaxChunkBytes (100 here).
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), id, chunk(&bytes[..1])),
			Error::<Test>::ChunkNotFull
		);
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), id, chunk(&bytes[..99])),
			Error::<Test>::ChunkNotFull
		);
		assert_ok!(Inference::upload_model_chunk(
			RuntimeOrigin::signed(ALICE),
			id,
			chunk(&bytes[..100])
		));
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), id, None),
			Error::<Test>::UploadIncomplete
		);
		assert_noop!(
			Inference::upload_model_chunk(
				RuntimeOrigin::signed(ALICE),
				id,
				chunk(&model_bytes(100))
			),
			Error::<Test>::ChunkExceedsModelSize
		);
		// Right length, wrong bytes: the hash check refuses it and the model stays uploading.
		let mut wrong = bytes[100..].to_vec();
		wrong[0] ^= 1;
		assert_ok!(Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), id, chunk(&wrong)));
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(BOB), id, None),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), id, None),
			Error::<Test>::ModelHashMismatch
		);
		assert_eq!(Models::<Test>::get(id).unwrap().status, ModelStatus::Uploading);
		// Requests are refused until the model is active.
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				id,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		// A broken upload is recovered by removing the model: the deposit comes back.
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(Balances::free_balance(ALICE), INITIAL);

		let good = active_model(50);
		assert_noop!(
			Inference::upload_model_chunk(RuntimeOrigin::signed(ALICE), good, chunk(&[1])),
			Error::<Test>::ModelNotUploading
		);
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), good, None),
			Error::<Test>::ModelNotUploading
		);
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn a_model_id_pins_its_owner_bytes_and_rules() {
	new_test_ext(3).execute_with(|| {
		let id = active_model(10);
		let code = hash(&model_bytes(10));
		let info = Models::<Test>::get(id).unwrap();
		assert_eq!(info.code_hash, code);
		System::assert_has_event(
			Event::ModelRegistered {
				model: id,
				owner: ALICE,
				size: 10,
				deposit: MODEL_DEPOSIT_BASE + 10 * MODEL_DEPOSIT_PER_BYTE,
				code_hash: code,
			}
			.into(),
		);
		// Any other tolerance, spec, fee or owner names another model.
		let loose = Tolerance { abs_e9: 1_000_000_000, rel_e9: 0 };
		let other_outputs: TensorSpecs = BoundedVec::truncate_from(vec![tensor_spec(
			"y",
			DType::F32,
			&[Dim::Dynamic, Dim::Dynamic],
		)]);
		for other in [
			Inference::model_id(&ALICE, &code, &inputs(), &outputs(), &loose, FEE),
			Inference::model_id(&ALICE, &code, &inputs(), &other_outputs, &TOL, FEE),
			Inference::model_id(&ALICE, &code, &inputs(), &outputs(), &TOL, FEE + 1),
			Inference::model_id(&BOB, &code, &inputs(), &outputs(), &TOL, FEE),
			Inference::model_id(&ALICE, &hash(b"other"), &inputs(), &outputs(), &TOL, FEE),
		] {
			assert_ne!(other, id);
		}
		// Removed, then registered again with a loose tolerance: the old id stays unknown, so a
		// contract pinning it gets `UnknownModel`, never the new rule.
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert_ok!(Inference::register_model(
			RuntimeOrigin::signed(ALICE),
			code,
			10,
			inputs(),
			outputs(),
			loose,
			FEE
		));
		assert!(Models::<Test>::get(id).is_none());
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				id,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::UnknownModel
		);
		let loose_id = Inference::model_id(&ALICE, &code, &inputs(), &outputs(), &loose, FEE);
		assert_eq!(Models::<Test>::get(loose_id).unwrap().tolerance, loose);
	});
}

#[test]
fn incomplete_uploads_are_cleared_after_the_window() {
	new_test_ext(3).execute_with(|| {
		let bytes = model_bytes(150);
		let code = hash(&bytes);
		let id = id_of(ALICE, code);
		assert_ok!(Inference::register_model(
			RuntimeOrigin::signed(ALICE),
			code,
			150,
			inputs(),
			outputs(),
			TOL,
			FEE
		));
		assert_ok!(Inference::upload_model_chunk(
			RuntimeOrigin::signed(ALICE),
			id,
			BoundedVec::try_from(bytes[..100].to_vec()).unwrap()
		));
		let complete = uploaded_model(10);
		// At most `MaxUploadsPerBlock` (2) upload windows end in one block.
		assert_noop!(
			Inference::register_model(
				RuntimeOrigin::signed(BOB),
				code,
				150,
				inputs(),
				outputs(),
				TOL,
				FEE
			),
			Error::<Test>::UploadSlotFull
		);
		let deposit = MODEL_DEPOSIT_BASE + 150 * MODEL_DEPOSIT_PER_BYTE;
		let issuance = Balances::total_issuance();
		run_to(1 + UPLOAD_WINDOW - 1);
		assert!(Models::<Test>::contains_key(id));
		run_to(1 + UPLOAD_WINDOW);
		// Cleared with its chunk; the base deposit is burnt, the rest released.
		assert!(!Models::<Test>::contains_key(id));
		assert_eq!(ModelChunks::<Test>::iter_prefix(id).count(), 0);
		System::assert_has_event(
			Event::ModelUploadExpired {
				model: id,
				burnt: MODEL_DEPOSIT_BASE,
				released: deposit - MODEL_DEPOSIT_BASE,
			}
			.into(),
		);
		assert_eq!(Balances::total_issuance(), issuance - MODEL_DEPOSIT_BASE);
		assert_eq!(
			Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE),
			MODEL_DEPOSIT_BASE + 10 * MODEL_DEPOSIT_PER_BYTE
		);
		// The completed model registered in the same block stays (its probe, which nobody
		// answered here, rejected it meanwhile).
		assert_eq!(Models::<Test>::get(complete).unwrap().status, ModelStatus::Rejected);

		// A registration removed and made again gets a new window: the old one does not clear it.
		assert_ok!(Inference::register_model(
			RuntimeOrigin::signed(ALICE),
			code,
			150,
			inputs(),
			outputs(),
			TOL,
			FEE
		));
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), id));
		run_to(System::block_number() + 2);
		assert_ok!(Inference::register_model(
			RuntimeOrigin::signed(ALICE),
			code,
			150,
			inputs(),
			outputs(),
			TOL,
			FEE
		));
		let registered_at = System::block_number();
		run_to(registered_at - 2 + UPLOAD_WINDOW);
		assert!(Models::<Test>::contains_key(id));
		run_to(registered_at + UPLOAD_WINDOW);
		assert!(!Models::<Test>::contains_key(id));
	});
}

#[test]
fn retire_and_remove_errors() {
	new_test_ext(3).execute_with(|| {
		let unknown = hash(b"nope");
		assert_noop!(
			Inference::retire_model(RuntimeOrigin::signed(ALICE), unknown),
			Error::<Test>::UnknownModel
		);
		assert_noop!(
			Inference::remove_model(RuntimeOrigin::signed(ALICE), unknown),
			Error::<Test>::UnknownModel
		);
		let id = active_model(10);
		assert_noop!(
			Inference::retire_model(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Inference::remove_model(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NotModelOwner
		);
		let r = request(id);
		assert_noop!(
			Inference::remove_model(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ModelHasPendingRequests
		);
		// Retiring keeps the pending request alive; new requests are refused.
		assert_ok!(Inference::retire_model(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Inference::retire_model(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ModelNotActive
		);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				id,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		commit_all(&[(r, 0, out(3.0)), (r, 1, out(3.0))]);
		assert_ok!(submit(r, 0, output(3.0)));
		assert_ok!(submit(r, 1, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		// Nothing pending any more: removal works, the result stays.
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), id));
		assert!(Results::<Test>::get(r).is_some());
		Inference::do_try_state().unwrap();
	});
}

// ----------------------------------------------------------------------------------------------
// Requests
// ----------------------------------------------------------------------------------------------

#[test]
fn request_holds_fee_and_fixes_committee() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		let req = Requests::<Test>::get(r).unwrap();
		assert_eq!(req.fee, FEE);
		assert_eq!(req.committee.len(), 3);
		assert_eq!(req.quorum, 2);
		assert_eq!(req.deadline, System::block_number() + DEFAULT_TIMEOUT);
		assert_eq!(req.input_hash, H256(sp_io::hashing::blake2_256(&input([1.0, 2.0]))));
		assert_eq!(escrow(BOB), FEE);
		assert_eq!(PendingCount::<Test>::get(), 1);
		assert_eq!(RequestInputs::<Test>::get(r).unwrap(), input([1.0, 2.0]));
		for i in 0..3 {
			assert_eq!(Inference::pending_for(&executor_key(i)), vec![r]);
		}
		assert_eq!(Inference::pending_for(&executor_key(7)), Vec::<RequestId>::new());
		System::assert_last_event(
			Event::InferenceRequested {
				request_id: r,
				requester: BOB,
				model,
				input_hash: req.input_hash,
				fee: FEE,
				committee: 3,
				quorum: 2,
				deadline: req.deadline,
			}
			.into(),
		);
	});
}

#[test]
fn bad_inputs_are_rejected_precisely() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let req = |bytes: Vec<u8>| {
			Inference::request_inference(RuntimeOrigin::signed(BOB), model, bytes, FEE, None)
		};
		assert_noop!(req(b"garbage".to_vec()), Error::<Test>::InputUndecodable);
		assert_noop!(req(encode_owned(&[])), Error::<Test>::InputTensorCount);
		assert_noop!(
			req(encode_owned(&[Tensor::from_f32("z", vec![1, 2], &[1.0, 2.0])])),
			Error::<Test>::InputTensorName
		);
		assert_noop!(
			req(encode_owned(&[Tensor::from_i64("x", vec![1, 2], &[1, 2])])),
			Error::<Test>::InputTensorDType
		);
		assert_noop!(
			req(encode_owned(&[Tensor::from_f32("x", vec![1, 3], &[1.0, 2.0, 3.0])])),
			Error::<Test>::InputTensorShape
		);
		// The dynamic batch dimension takes any size.
		assert_ok!(req(encode_owned(&[Tensor::from_f32("x", vec![2, 2], &[1.0, 2.0, 3.0, 4.0])])));
	});
}

#[test]
fn request_errors() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let req = |who, model, max_fee, timeout| {
			Inference::request_inference(
				RuntimeOrigin::signed(who),
				model,
				input([1.0, 2.0]),
				max_fee,
				timeout,
			)
		};
		assert_noop!(req(BOB, hash(b"x"), FEE, None), Error::<Test>::UnknownModel);
		assert_noop!(req(BOB, model, FEE - 1, None), Error::<Test>::FeeAboveMax);
		assert_noop!(req(BOB, model, FEE, Some(0)), Error::<Test>::TimeoutTooShort);
		assert_noop!(req(BOB, model, FEE, Some(1)), Error::<Test>::TimeoutTooShort);
		assert_noop!(req(BOB, model, FEE, Some(51)), Error::<Test>::TimeoutTooLong);
		assert_noop!(req(POOR, model, FEE, None), Error::<Test>::InsufficientBalance);
		assert_ok!(req(BOB, model, FEE * 2, Some(50)));
		// Only the model's fee is taken, not `max_fee`.
		assert_eq!(escrow(BOB), FEE);
	});
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		// The executors leave: nobody could answer, so nothing is accepted (requests, nor the
		// probe of a new model, which stays uploaded, past its upload window, until it can be
		// probed).
		Inference::set_executors(core::iter::empty::<(&AccountId, InferenceAuthorityId)>());
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::NoExecutors
		);
		let id = all_bytes_in(20, inputs());
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), id, None),
			Error::<Test>::NoExecutors
		);
		run_to(System::block_number() + UPLOAD_WINDOW + 1);
		let info = Models::<Test>::get(id).unwrap();
		assert_eq!((info.status, info.uploaded), (ModelStatus::Uploading, 20));
	});
}

#[test]
fn pending_and_per_block_bounds_hold() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		for _ in 0..MAX_PER_BLOCK {
			request(model);
		}
		// The 4th request of this block with the same deadline does not fit its expiry slot...
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::DeadlineSlotFull
		);
		// ...but fits with another timeout.
		request_timed(model, Some(7));
		assert_eq!(PendingCount::<Test>::get(), MAX_PENDING);
		run_to(2);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::TooManyPendingRequests
		);
		assert_eq!(escrow(BOB), FEE * MAX_PENDING as Balance);
		Inference::do_try_state().unwrap();
	});
}

// ----------------------------------------------------------------------------------------------
// Results and agreement
// ----------------------------------------------------------------------------------------------

#[test]
fn exactly_quorum_finalizes_pays_and_refunds_to_the_unit() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let issuance = Balances::total_issuance();
		let (start, base) = (System::block_number(), executor_balances(3));
		let r = request(model);
		// Member 1 stays silent: reveals start after the commit window.
		commit_all(&[(r, 0, out(3.0)), (r, 2, out(3.000004))]);
		assert_eq!(System::block_number(), start + COMMIT_WINDOW + 1);
		assert_ok!(submit(r, 0, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert!(Results::<Test>::get(r).is_none());
		// Within 1e-5: agrees.
		assert_ok!(submit(r, 2, output(3.000004)));
		let req = Requests::<Test>::get(r).unwrap();
		assert_eq!(req.status, RequestStatus::Attested);
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.output.to_vec(), output(3.0));
		assert_eq!(result.output_hash, H256(sp_io::hashing::blake2_256(&output(3.0))));
		assert_eq!(result.model, model);
		assert_eq!(result.input_hash, req.input_hash);
		assert_eq!(result.attesters.iter().map(|e| e.account).collect::<Vec<_>>(), vec![10, 12]);
		assert!(result.dissenters.is_empty());
		assert_eq!(result.attested_at, start + COMMIT_WINDOW + 1);
		// 90 split between two: 45 each; nothing left to refund.
		assert_eq!(Balances::free_balance(10), base[0] + 45);
		assert_eq!(Balances::free_balance(12), base[2] + 45);
		assert_eq!(Balances::free_balance(11), base[1]);
		assert_eq!(Balances::free_balance(BOB), INITIAL - FEE);
		assert_eq!(escrow(BOB), 0);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(PendingCount::<Test>::get(), 0);
		assert_eq!(Submissions::<Test>::iter_prefix(r).count(), 0);
		assert_eq!(Inference::pending_for(&executor_key(1)), Vec::<RequestId>::new());
		assert!(last_events(1).contains(&Event::InferenceAttested {
			request_id: r,
			model,
			output_hash: result.output_hash,
			attesters: 2,
			dissenters: 0,
			paid: 90,
			refunded: 0,
		}));
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn remainder_of_an_uneven_split_is_refunded() {
	MaxCommittee::set(5);
	new_test_ext(5).execute_with(|| {
		let model = active_model(10);
		let issuance = Balances::total_issuance();
		let base = executor_balances(5);
		let r = request(model);
		assert_eq!(Requests::<Test>::get(r).unwrap().quorum, 4);
		commit_all(&(0..4).map(|i| (r, i, out(1.0))).collect::<Vec<_>>());
		for i in 0..4 {
			assert_ok!(submit(r, i, output(1.0)));
		}
		// 90 / 4 = 22 each, 2 refunded.
		for i in 0..4 {
			assert_eq!(Balances::free_balance(executor_account(i)), base[i as usize] + 22);
		}
		assert_eq!(Balances::free_balance(BOB), INITIAL - 88);
		assert_eq!(Balances::total_issuance(), issuance);
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn dissenters_are_struck_and_not_paid() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let base = executor_balances(3);
		let r = request(model);
		commit_all(&[(r, 1, out(9.0)), (r, 0, out(3.0)), (r, 2, out(3.0))]);
		assert_ok!(submit(r, 1, output(9.0)));
		assert_ok!(submit(r, 0, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(r, 2, output(3.0)));
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.output.to_vec(), output(3.0));
		assert_eq!(result.dissenters.iter().map(|e| e.account).collect::<Vec<_>>(), vec![11]);
		assert_eq!(Strikes::<Test>::get(11), 1);
		assert_eq!(Strikes::<Test>::get(10), 0);
		assert_eq!(Balances::free_balance(11), base[1]);
		System::assert_has_event(
			Event::ValidatorStruck { validator: 11, request_id: r, strikes: 1 }.into(),
		);
	});
}

#[test]
fn split_votes_expire_early_with_full_refund() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let base = executor_balances(3);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(2.0)), (r, 2, out(3.0))]);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(2.0)));
		assert_ok!(submit(r, 2, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		// All three ran the model: they share a tenth of the fee (3 each), the rest is refunded.
		assert_eq!(Balances::free_balance(BOB), INITIAL - FEE / 10);
		for i in 0..3 {
			assert_eq!(Balances::free_balance(executor_account(i)), base[i as usize] + FEE / 30);
		}
		assert_eq!(escrow(BOB), 0);
		assert!(Results::<Test>::get(r).is_none());
		// Nobody can tell who was wrong: no strikes.
		assert_eq!(Strikes::<Test>::iter().count(), 0);
		System::assert_last_event(
			Event::RequestExpired {
				request_id: r,
				refunded: FEE - FEE / 10,
				reason: ExpiryReason::NoAgreement,
				paid: FEE / 10,
			}
			.into(),
		);
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn nan_and_infinity_results() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[(r, 0, out(f32::NAN)), (r, 1, out(f32::NAN))]);
		assert_ok!(submit(r, 0, output(f32::NAN)));
		assert_ok!(submit(r, 1, output(f32::NAN)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);

		let r = request(model);
		commit_all(&[
			(r, 0, out(f32::INFINITY)),
			(r, 1, out(f32::NEG_INFINITY)),
			(r, 2, out(f32::MAX)),
		]);
		assert_ok!(submit(r, 0, output(f32::INFINITY)));
		assert_ok!(submit(r, 1, output(f32::NEG_INFINITY)));
		assert_ok!(submit(r, 2, output(f32::MAX)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
	});
}

#[test]
fn tolerance_edge_decides() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.000016)), (r, 2, out(1.000008))]);
		assert_ok!(submit(r, 0, output(1.0)));
		// 1.6e-5 apart with abs 1e-5 tolerance: disagree.
		assert_ok!(submit(r, 1, output(1.000016)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(r, 2, output(1.000008)));
		// The middle value is within 8e-6 of both: the best supported result wins.
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.output.to_vec(), output(1.000008));
		assert_eq!(result.attesters.len(), 3);
		// How far apart they were: the stored 1.000008 from 1.0 and from 1.000016 (as f32).
		let apart = |a: f32, b: f32| ((a as f64 - b as f64).abs() * 1e9) as u64;
		assert_eq!(result.max_difference_e9, apart(1.000008, 1.0).max(apart(1.000008, 1.000016)));
		assert!((7_000..9_000).contains(&result.max_difference_e9), "{}", result.max_difference_e9);

		// The quorum completed by a result that is not the stored one (the earliest of a tie
		// stands): the newest, not yet stored, counts too.
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.000004))]);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(1.000004)));
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.output.to_vec(), output(1.0));
		assert_eq!(result.max_difference_e9, apart(1.0, 1.000004));
		assert!(result.max_difference_e9 > 3_000);
	});
}

fn request_with(model: ModelId, rules: RequestRules) -> Result<RequestId, DispatchError> {
	let id = NextRequestId::<Test>::get();
	Inference::request_inference_with_rules(
		RuntimeOrigin::signed(BOB),
		model,
		input([1.0, 2.0]),
		FEE,
		None,
		rules,
	)
	.map(|_| id)
}

#[test]
fn requests_demand_more_attesters_and_a_tighter_tolerance() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let all = RequestRules { min_attesters: 3, tolerance: None };
		// Unanimity: two agreeing results, which meet the model's quorum of 2, are not enough.
		let base = executor_balances(3);
		let bob = Balances::free_balance(BOB);
		let r = request_with(model, all).unwrap();
		assert_eq!(Requests::<Test>::get(r).unwrap().quorum, 3);
		assert_eq!(Requests::<Test>::get(r).unwrap().rules, all);
		commit_all(&[(r, 0, out(3.0)), (r, 1, out(3.0)), (r, 2, out(9.0))]);
		assert_ok!(submit(r, 0, output(3.0)));
		assert_ok!(submit(r, 1, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(r, 2, output(9.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		assert!(Results::<Test>::get(r).is_none());
		// The demand was the requester's: the members who ran the model share the whole fee
		// (not `ExpiryFee` of it: the revealed outputs are not had for a tenth).
		assert_eq!(Balances::free_balance(BOB), bob - FEE);
		for m in 0..3 {
			assert_eq!(Balances::free_balance(executor_account(m)), base[m as usize] + FEE / 3);
		}
		// The same answers under the model's quorum are attested by two.
		let r = request(model);
		assert_eq!(Requests::<Test>::get(r).unwrap().quorum, 2);
		commit_all(&[(r, 0, out(3.0)), (r, 1, out(3.0))]);
		assert_ok!(submit(r, 0, output(3.0)));
		assert_ok!(submit(r, 1, output(3.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		// UNANIMITY: the whole committee, whatever its size; all agree: attested by 3.
		let r = request_with(model, RequestRules { min_attesters: UNANIMITY, tolerance: None })
			.unwrap();
		assert_eq!(Requests::<Test>::get(r).unwrap().quorum, 3);
		commit_all(&[(r, 0, out(3.0)), (r, 1, out(3.0)), (r, 2, out(3.0))]);
		for member in 0..3 {
			assert_ok!(submit(r, member, output(3.0)));
		}
		assert_eq!(Results::<Test>::get(r).unwrap().attesters.len(), 3);

		// A tighter tolerance: 8e-6 apart agree under the model's 1e-5, not under 1e-6.
		let tight = Tolerance { abs_e9: 1_000, rel_e9: 0 };
		let r =
			request_with(model, RequestRules { min_attesters: 0, tolerance: Some(tight) }).unwrap();
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.000008)), (r, 2, out(1.0000005))]);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(1.000008)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(r, 2, output(1.0000005)));
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.output.to_vec(), output(1.0));
		assert_eq!(result.attesters.iter().map(|e| e.account).collect::<Vec<_>>(), vec![10, 12]);
		assert!(result.max_difference_e9 <= 1_000, "{}", result.max_difference_e9);
		// Member 1 dissented under the requester's tolerance, not the model's: no strike.
		assert_eq!(result.dissenters.iter().map(|e| e.account).collect::<Vec<_>>(), vec![11]);
		assert_eq!(Strikes::<Test>::get(11), 0);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.000008))]);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(1.000008)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn request_rules_errors() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let before = NextRequestId::<Test>::get();
		assert_noop!(
			request_with(model, RequestRules { min_attesters: 4, tolerance: None }),
			Error::<Test>::MoreAttestersThanCommittee
		);
		for looser in
			[Tolerance { abs_e9: TOL.abs_e9 + 1, rel_e9: 0 }, Tolerance { abs_e9: 0, rel_e9: 1 }]
		{
			assert_noop!(
				request_with(model, RequestRules { min_attesters: 0, tolerance: Some(looser) }),
				Error::<Test>::ToleranceLooserThanModel
			);
		}
		// A member that commits and never reveals blocks unanimity but is not paid: at the
		// deadline the two that revealed share the whole fee.
		let base = executor_balances(3);
		let r = request_with(model, RequestRules { min_attesters: UNANIMITY, tolerance: None })
			.unwrap();
		commit_all(&[(r, 0, out(3.0)), (r, 1, out(3.0)), (r, 2, out(3.0))]);
		assert_ok!(submit(r, 0, output(3.0)));
		assert_ok!(submit(r, 1, output(3.0)));
		run_to(Requests::<Test>::get(r).unwrap().deadline + 1);
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		for (m, paid) in [(0, FEE / 2), (1, FEE / 2), (2, 0)] {
			assert_eq!(Balances::free_balance(executor_account(m)), base[m as usize] + paid);
		}
		// An agreed failure needs the demanded quorum too; short of it the request expires and
		// the members that revealed share the whole fee.
		let base = executor_balances(3);
		let r = request_with(model, RequestRules { min_attesters: UNANIMITY, tolerance: None })
			.unwrap();
		let timeout = Ans::Fail(FailureKind::Timeout);
		commit_all(&[(r, 0, timeout.clone()), (r, 1, timeout)]);
		assert_ok!(fail(r, 0, FailureKind::Timeout));
		assert_ok!(fail(r, 1, FailureKind::Timeout));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		for m in 0..2 {
			assert_eq!(Balances::free_balance(executor_account(m)), base[m as usize] + FEE / 2);
		}
		// The model's own tolerance and committee are allowed.
		assert_ok!(request_with(model, RequestRules { min_attesters: 3, tolerance: Some(TOL) }));
		assert_eq!(NextRequestId::<Test>::get(), before + 3);
	});
}

#[test]
fn submission_rules() {
	new_test_ext(4).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&(0..4).map(|i| (r, i, out(1.0))).collect::<Vec<_>>());
		// Duplicates.
		assert_ok!(submit(r, 0, output(1.0)));
		assert_eq!(authorize(r, 0, output(1.0)), Err(InvalidTransaction::Stale));
		let (s, sig) = signed(r, 0, output(1.0));
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::DuplicateResult
		);
		// Unknown request.
		assert_eq!(authorize(99, 1, output(1.0)), Err(InvalidTransaction::Stale));
		// Malformed output: garbage and wrong spec.
		assert_eq!(
			authorize(r, 1, b"junk".to_vec()),
			Err(InvalidTransaction::Custom(invalid_codes::MALFORMED_OUTPUT))
		);
		let wrong = encode_owned(&[Tensor::from_f32("z", vec![1, 1], &[1.0])]);
		assert_eq!(
			authorize(r, 1, wrong),
			Err(InvalidTransaction::Custom(invalid_codes::MALFORMED_OUTPUT))
		);
		// A bad signature.
		let (s, _) = signed(r, 1, output(1.0));
		let forged = executor_pair(2).sign(&s.encode()).into();
		assert_eq!(
			Inference::authorize_submit_result(TransactionSource::External, &s, &forged)
				.map(|_| ()),
			Err(InvalidTransaction::BadProof.into())
		);
		// A key outside the committee (committee is all 4 executors here; key 9 is nobody).
		assert_eq!(authorize(r, 9, output(1.0)), Err(InvalidTransaction::BadProof));
		// Without the authorized origin the call is refused.
		let (s, sig) = signed(r, 1, output(1.0));
		assert_noop!(
			Inference::submit_result(RuntimeOrigin::signed(ALICE), s, sig),
			DispatchError::BadOrigin
		);
		// The valid transaction is unique per (request, executor) and lives until the deadline.
		let (s, sig) = signed(r, 1, output(1.0));
		let (valid, _) =
			Inference::authorize_submit_result(TransactionSource::External, &s, &sig).unwrap();
		assert_eq!(valid.provides, vec![("VerityInference", (r, executor_key(1))).encode()]);
		// Valid until the deadline, counted from the current block.
		let deadline = Requests::<Test>::get(r).unwrap().deadline;
		assert_eq!(valid.longevity, deadline - System::block_number() + 1);
		// An answer other than the one committed to (another output, or a failure), or the
		// committed one with another salt, is refused.
		assert_eq!(authorize(r, 1, output(1.5)), Err(InvalidTransaction::BadProof));
		let (mut s, _) = signed(r, 1, output(1.0));
		s.salt = [0; 32];
		let sig = executor_pair(1)
			.sign(&Inference::signing_payload(&s, &Requests::<Test>::get(r).unwrap()))
			.into();
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(fail(r, 1, FailureKind::Timeout), DispatchError::Other("not authorized"));
	});
}

#[test]
fn late_results_after_finalization_are_refused() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.0)), (r, 2, out(5.0))]);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(1.0)));
		assert_eq!(authorize(r, 2, output(5.0)), Err(InvalidTransaction::Stale));
		let (s, sig) = signed(r, 2, output(5.0));
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::RequestNotPending
		);
		// No strike for a late dissent.
		assert_eq!(Strikes::<Test>::get(12), 0);
	});
}

#[test]
fn results_after_the_deadline_are_refused() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0))]);
		System::set_block_number(Requests::<Test>::get(r).unwrap().deadline + 1);
		assert_eq!(authorize(r, 0, output(1.0)), Err(InvalidTransaction::Stale));
		let (s, sig) = signed(r, 0, output(1.0));
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn validator_set_change_mid_request_keeps_the_committee() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		// New session: executor 2 leaves, 3 joins.
		let accounts = [executor_account(0), executor_account(1), executor_account(3)];
		let keys = [executor_key(0), executor_key(1), executor_key(3)];
		Inference::on_new_session(
			true,
			accounts.iter().zip(keys.clone()),
			accounts.iter().zip(keys),
		);
		assert_eq!(Executors::<Test>::get().len(), 3);
		// The newcomer is not in this request's committee...
		assert_eq!(
			authorize_commit(3, vec![(r, H256::repeat_byte(1))]),
			Err(InvalidTransaction::BadProof)
		);
		// ...the leaver still is, and completes the quorum.
		commit_all(&[(r, 2, out(1.0)), (r, 0, out(1.0))]);
		assert_eq!(authorize(r, 3, output(1.0)), Err(InvalidTransaction::BadProof));
		assert_ok!(submit(r, 2, output(1.0)));
		assert_ok!(submit(r, 0, output(1.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		// New requests use the new set.
		let r2 = request(model);
		assert_eq!(
			authorize_commit(2, vec![(r2, H256::repeat_byte(1))]),
			Err(InvalidTransaction::BadProof)
		);
		commit_all(&[(r2, 3, out(1.0))]);
		assert_ok!(submit(r2, 3, output(1.0)));
	});
}

/// The committee of request `r`, drawn at the start of block 2 when block 1 (the request's block)
/// hashed to `block_hash`.
fn committee_after(block_hash: H256) -> Vec<AccountId> {
	let mut members = Vec::new();
	new_test_ext(8).execute_with(|| {
		let model = active_model(10);
		let next = System::block_number() + 1;
		let r = request(model);
		System::initialize(&next, &block_hash, &Default::default());
		Inference::on_initialize(next);
		Inference::do_try_state().unwrap();
		members = Requests::<Test>::get(r).unwrap().committee.iter().map(|e| e.account).collect();
	});
	members
}

#[test]
fn large_executor_sets_draw_the_committee_in_the_next_block() {
	MaxCommittee::set(3);
	new_test_ext(8).execute_with(|| {
		let model = active_model(10);
		let now = System::block_number();
		let r = request(model);
		// In the request's block nobody, the requester included, knows the committee: there is
		// none yet, so nobody can commit.
		let req = Requests::<Test>::get(r).unwrap();
		assert!(req.committee.is_empty());
		assert_eq!(
			(req.quorum, req.drawn_at, req.deadline),
			(2, now + 1, now + 1 + DEFAULT_TIMEOUT)
		);
		assert_eq!(Undrawn::<Test>::get().into_inner(), vec![r]);
		for i in 0..8 {
			assert_eq!(Inference::assigned(&executor_key(i)), Vec::<RequestId>::new());
		}
		assert_eq!(
			authorize_commit(0, vec![(r, H256::repeat_byte(1))]),
			Err(InvalidTransaction::BadProof)
		);
		// The next block's start draws it, from the hash of the request's block.
		System::initialize(&(now + 1), &H256::repeat_byte(7), &Default::default());
		Inference::on_initialize(now + 1);
		Inference::do_try_state().unwrap();
		let req = Requests::<Test>::get(r).unwrap();
		assert_eq!(req.committee.len(), 3);
		System::assert_last_event(
			Event::CommitteeDrawn { request_id: r, committee: 3, quorum: 2 }.into(),
		);
		assert!(Undrawn::<Test>::get().is_empty());
		let members: Vec<u8> =
			(0..8u8).filter(|i| req.committee.iter().any(|e| e.key == executor_key(*i))).collect();
		for i in 0..8u8 {
			let expected = if members.contains(&i) { vec![r] } else { vec![] };
			assert_eq!(Inference::pending_for(&executor_key(i)), expected);
		}
		// Its members commit and conclude it as usual, within the window counted from the draw.
		let answers: Vec<_> = members.iter().map(|m| (r, *m, out(1.0))).collect();
		commit_all(&answers);
		for m in &members[..2] {
			assert_ok!(submit(r, *m, output(1.0)));
		}
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
	});
	// The same request, made the same way, gets another committee when its block hashes
	// differently: what the requester controls does not fix it.
	let committees: std::collections::BTreeSet<Vec<AccountId>> =
		(1..=8u8).map(|b| committee_after(H256::repeat_byte(b))).collect();
	assert!(committees.len() > 1, "{committees:?}");
	MaxCommittee::set(DEFAULT_COMMITTEE);
}

#[test]
fn assignments_index_the_open_work_of_each_key() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let a = request(model);
		let b = request(model);
		let c = request(model);
		for i in 0..3 {
			assert_eq!(Inference::assigned(&executor_key(i)), vec![a, b, c]);
		}
		assert_eq!(Inference::assigned_page(&executor_key(0), b, 1), vec![b]);
		assert_eq!(Inference::assigned_page(&executor_key(0), b, 5), vec![b, c]);
		assert_eq!(Inference::assigned_page(&executor_key(0), c + 1, 5), Vec::<RequestId>::new());
		// Committing keeps the work open (the reveal is due), revealing closes it for that member,
		// concluding closes it for everyone.
		commit_all(&[(a, 0, out(1.0)), (a, 1, out(1.0)), (a, 2, out(1.0))]);
		assert_eq!(Inference::assigned(&executor_key(0)), vec![a, b, c]);
		assert!(!Inference::pending_for(&executor_key(0)).contains(&a));
		assert_ok!(submit(a, 0, output(1.0)));
		assert_eq!(Inference::assigned(&executor_key(0)), vec![b, c]);
		assert_eq!(Inference::assigned(&executor_key(2)), vec![a, b, c]);
		assert_ok!(submit(a, 1, output(1.0)));
		for i in 0..3 {
			assert_eq!(Inference::assigned(&executor_key(i)), vec![b, c]);
		}
		// Expiry closes the rest; the retained requests are not work of anyone.
		run_to(System::block_number() + DEFAULT_TIMEOUT + 2);
		assert!(Requests::<Test>::get(b).is_some());
		assert_eq!(Assignments::<Test>::iter().count(), 0);
	});
}

#[test]
fn the_fee_floor_charges_committee_times_answer_bytes_and_the_retained_bytes() {
	AnswerByteFee::set(10);
	RetainedByteFee::set(7);
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let info = Models::<Test>::get(model).unwrap();
		// Dynamic output dimensions: the largest output is `MaxOutputBytes` (256).
		assert_eq!(Inference::largest_output(&info), 256);
		let len = input([1.0, 2.0]).len() as u128;
		// Each member's answer, and the input and output kept for the retention period.
		let floor = 10 * 3 * (len + 256 + ANSWER_OVERHEAD_BYTES as u128) + 7 * (len + 256);
		assert!(floor > FEE);
		assert_eq!(Inference::quote(model, len as u32), Some(floor));
		// Offering the model's fee is not enough any more.
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::FeeAboveMax
		);
		let r = NextRequestId::<Test>::get();
		assert_ok!(Inference::request_inference(
			RuntimeOrigin::signed(BOB),
			model,
			input([1.0, 2.0]),
			floor,
			None
		));
		assert_eq!(Requests::<Test>::get(r).unwrap().fee, floor);
		assert_eq!(escrow(BOB), floor);
		// Fixed output dimensions: the floor counts the output's exact size.
		Models::<Test>::mutate(model, |m| {
			m.as_mut().unwrap().outputs = BoundedVec::truncate_from(vec![tensor_spec(
				"y",
				DType::F32,
				&[Dim::Fixed(1), Dim::Fixed(1)],
			)])
		});
		let info = Models::<Test>::get(model).unwrap();
		assert_eq!(Inference::largest_output(&info), output(1.0).len() as u32);
		// An unknown model has no quote.
		assert_eq!(Inference::quote(H256::repeat_byte(9), 10), None);
	});
	AnswerByteFee::set(0);
	RetainedByteFee::set(0);
}

/// An input one byte over `MaxInputBytes` fails with a pallet error the client can decode (a
/// bounded call argument made the whole transaction undecodable: a runtime trap in the pool).
#[test]
fn an_input_over_the_limit_is_a_pallet_error() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let max = <<Test as Config>::MaxInputBytes as Get<u32>>::get() as usize;
		for call in [
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				vec![0; max + 1],
				FEE,
				None,
			),
			Inference::request_inference_with_rules(
				RuntimeOrigin::signed(BOB),
				model,
				vec![0; max + 1],
				FEE,
				None,
				Default::default(),
			),
		] {
			assert_eq!(call, Err(Error::<Test>::InputTooLarge.into()));
		}
		// At the limit it is checked as a tensor list like any input.
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				vec![0; max],
				FEE,
				None
			),
			Error::<Test>::InputUndecodable
		);
	});
}

// ----------------------------------------------------------------------------------------------
// Expiry and retention
// ----------------------------------------------------------------------------------------------

#[test]
fn expiry_refunds_in_full_and_pruning_follows_retention() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let issuance = Balances::total_issuance();
		let (start, base) = (System::block_number(), executor_balances(3));
		let expired = request(model);
		let finalized = request(model);
		// Member 0 commits to both in one batch but never reveals its answer to `expired`.
		commit_all(&[(expired, 0, out(1.0)), (finalized, 0, out(1.0)), (finalized, 1, out(1.0))]);
		assert_ok!(submit(finalized, 0, output(1.0)));
		assert_ok!(submit(finalized, 1, output(1.0)));
		let deadline = start + DEFAULT_TIMEOUT;
		run_to(deadline);
		assert_eq!(Requests::<Test>::get(expired).unwrap().status, RequestStatus::Pending);
		run_to(deadline + 1);
		assert_eq!(Requests::<Test>::get(expired).unwrap().status, RequestStatus::Expired);
		// Member 0 committed (it ran the model) and keeps a tenth of the expired request's fee;
		// the finalized request's fee went to its two attesters.
		assert_eq!(Balances::free_balance(BOB), INITIAL - FEE - FEE / 10);
		assert_eq!(Balances::free_balance(executor_account(0)), base[0] + FEE / 2 + FEE / 10);
		assert_eq!(escrow(BOB), 0);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(Submissions::<Test>::iter().count(), 0);
		assert_eq!(Commitments::<Test>::iter().count(), 0);
		assert_eq!(CommitCounts::<Test>::iter().count(), 0);
		System::assert_has_event(
			Event::RequestExpired {
				request_id: expired,
				refunded: FEE - FEE / 10,
				reason: ExpiryReason::Deadline,
				paid: FEE / 10,
			}
			.into(),
		);
		// Kept for the retention period, then pruned with input and result.
		run_to(deadline + RETENTION);
		assert!(Requests::<Test>::get(finalized).is_some());
		run_to(deadline + 1 + RETENTION);
		for r in [expired, finalized] {
			assert!(Requests::<Test>::get(r).is_none());
			assert!(RequestInputs::<Test>::get(r).is_none());
			assert!(Results::<Test>::get(r).is_none());
		}
		System::assert_has_event(Event::RequestPruned { request_id: finalized }.into());
		assert_eq!(ExpiryQueue::<Test>::iter().count(), 0);
		assert_eq!(PruneQueue::<Test>::iter().count(), 0);
	});
}

#[test]
fn executors_follow_sessions() {
	new_test_ext(2).execute_with(|| {
		assert_eq!(Executors::<Test>::get().len(), 2);
		let accounts = [executor_account(5)];
		Inference::on_new_session(
			false,
			accounts.iter().zip([executor_key(5)]),
			accounts.iter().zip([executor_key(5)]),
		);
		assert_eq!(Executors::<Test>::get().len(), 2);
		Inference::on_new_session(
			true,
			accounts.iter().zip([executor_key(5)]),
			accounts.iter().zip([executor_key(5)]),
		);
		assert_eq!(Executors::<Test>::get()[0].account, executor_account(5));
		System::assert_last_event(Event::ExecutorsChanged { count: 1 }.into());
		// Bounded by MaxExecutors (8).
		let many: Vec<AccountId> = (0..10).map(executor_account).collect();
		Inference::on_new_session(
			true,
			many.iter().zip((0..10).map(executor_key)),
			many.iter().zip((0..10).map(executor_key)),
		);
		assert_eq!(Executors::<Test>::get().len(), 8);
	});
}

#[test]
fn try_state_catches_a_wrong_pending_count() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		request(model);
		Inference::do_try_state().unwrap();
		PendingCount::<Test>::put(5);
		assert_eq!(Inference::do_try_state(), Err("PendingCount mismatch".into()));
	});
}

#[test]
fn try_state_catches_escrow_that_differs_from_the_pending_fees() {
	use frame_support::traits::{fungible::MutateHold, tokens::Precision};
	let broken = Err("escrow differs from the sum of pending fees".into());
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		request(model);
		Inference::do_try_state().unwrap();
		// One unit more held than the pending request's fee...
		assert_ok!(Balances::hold(&HoldReason::RequestEscrow.into(), &BOB, 1));
		assert_eq!(Inference::do_try_state(), broken);
		// ...and two less.
		assert_ok!(Balances::release(&HoldReason::RequestEscrow.into(), &BOB, 3, Precision::Exact));
		assert_eq!(Inference::do_try_state(), broken);
		assert_ok!(Balances::hold(&HoldReason::RequestEscrow.into(), &BOB, 2));
		Inference::do_try_state().unwrap();
	});
}

// ----------------------------------------------------------------------------------------------
// Callbacks

#[test]
fn callbacks_run_after_finalization_and_their_weight_is_charged() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		DELIVERED.with(|d| d.borrow_mut().clear());
		// The probe was request 0.
		let odd = request(model); // 1: the mock callback "reverts"
		let even = request(model); // 2: the mock callback succeeds
		let limit = Weight::from_parts(600_000, 4_000);
		assert_ok!(Inference::register_callback(even, limit, None));
		assert_ok!(Inference::register_callback(odd, limit, None));
		Inference::do_try_state().unwrap();
		commit_all(&[
			(even, 0, out(3.0)),
			(even, 1, out(3.0)),
			(odd, 0, out(5.0)),
			(odd, 2, out(5.0)),
		]);

		assert_ok!(submit(even, 0, output(3.0)));
		let post = submit(even, 1, output(3.0)).unwrap();
		// The finalizing submission is charged the callback's use on top of its own weight.
		assert_eq!(
			post.actual_weight,
			Some(
				<Test as Config>::WeightInfo::submit_result(output(3.0).len() as u32 * 2, 1)
					+ limit / 2
			)
		);
		assert!(last_events(1).contains(&Event::CallbackDelivered {
			request_id: even,
			success: true,
			weight_used: limit / 2
		}));
		// A failing callback does not undo finalization or payment.
		assert_ok!(submit(odd, 0, output(5.0)));
		assert_ok!(submit(odd, 2, output(5.0)));
		assert_eq!(Requests::<Test>::get(odd).unwrap().status, RequestStatus::Attested);
		assert!(Results::<Test>::get(odd).is_some());
		assert!(last_events(1).contains(&Event::CallbackDelivered {
			request_id: odd,
			success: false,
			weight_used: limit / 2
		}));
		assert_eq!(
			DELIVERED.with(|d| d.borrow().clone()),
			vec![(even, BOB, output(3.0)), (odd, BOB, output(5.0))]
		);
		assert_eq!(Callbacks::<Test>::iter().count(), 0);
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn callback_errors_and_cleanup() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		DELIVERED.with(|d| d.borrow_mut().clear());
		let r = request(model);
		assert_noop!(
			Inference::register_callback(r, MAX_CALLBACK + Weight::from_parts(1, 0), None),
			Error::<Test>::CallbackTooHeavy
		);
		assert_noop!(
			Inference::register_callback(99, MAX_CALLBACK, None),
			Error::<Test>::UnknownRequest
		);
		assert_ok!(Inference::register_callback(r, MAX_CALLBACK, None));
		// Expiry queues the callback (delivered in `on_idle`, see the next test).
		run_to(Requests::<Test>::get(r).unwrap().deadline + 1);
		assert_eq!(
			ExpiryCallbacks::<Test>::get(r).map(|(c, reason)| (c.limit, reason)),
			Some((MAX_CALLBACK, ExpiryReason::Deadline))
		);
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		// Nobody committed (nobody ran the model): refunded in full.
		System::assert_has_event(
			Event::RequestExpired {
				request_id: r,
				refunded: FEE,
				reason: ExpiryReason::Deadline,
				paid: 0,
			}
			.into(),
		);
		assert_eq!(Balances::free_balance(BOB), INITIAL);
		assert_eq!(Callbacks::<Test>::iter().count(), 0);
		assert!(DELIVERED.with(|d| d.borrow().is_empty()));
		assert_noop!(
			Inference::register_callback(r, MAX_CALLBACK, None),
			Error::<Test>::RequestNotPending
		);
	});
}

/// Every request that asked for a callback ends with one: an expired request is called back
/// in `on_idle` within the weight its requester prepaid, as soon as a block has that much to
/// spare (not before: a busy block leaves it queued), and charged what it used; one pruned
/// before a block had room is dropped with an event; a full queue drops new ones the same way.
#[test]
fn expired_requests_are_called_back_when_a_block_has_room() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		EXPIRIES_DELIVERED.with(|d| d.borrow_mut().clear());
		let (r, plain) = (request(model), request(model));
		let limit = Weight::from_parts(600_000, 4_000);
		assert_ok!(Inference::register_callback(r, limit, None));
		// Nothing is due before the deadline.
		let look = <<Test as frame_system::Config>::DbWeight as frame_support::traits::Get<
			frame_support::weights::RuntimeDbWeight,
		>>::get()
		.reads(1);
		assert_eq!(Inference::on_idle(1, Weight::MAX), look);
		run_to(Requests::<Test>::get(r).unwrap().deadline + 1);
		assert_eq!(Requests::<Test>::get(plain).unwrap().status, RequestStatus::Expired);
		assert_eq!(ExpiryCallbacks::<Test>::count(), 1, "only the request that asked is queued");

		// A block with less spare weight than the prepaid limit does not deliver it.
		let overhead = <Test as Config>::WeightInfo::deliver_expiry_callback();
		let short = overhead + limit - Weight::from_parts(1, 0);
		assert_eq!(Inference::on_idle(System::block_number(), short), look);
		assert!(EXPIRIES_DELIVERED.with(|d| d.borrow().is_empty()));
		assert_eq!(ExpiryCallbacks::<Test>::count(), 1);
		// The next one does, and is charged the overhead plus what the callback used.
		let used = Inference::on_idle(System::block_number(), Weight::MAX);
		assert_eq!(used, overhead + limit / 3 + look);
		assert_eq!(
			EXPIRIES_DELIVERED.with(|d| d.borrow().clone()),
			vec![(r, BOB, ExpiryReason::Deadline)]
		);
		System::assert_has_event(
			Event::CallbackDelivered { request_id: r, success: true, weight_used: limit / 3 }
				.into(),
		);
		assert_eq!(ExpiryCallbacks::<Test>::count(), 0);
		// Delivered once.
		Inference::on_idle(System::block_number(), Weight::MAX);
		assert_eq!(EXPIRIES_DELIVERED.with(|d| d.borrow().len()), 1);

		// Pruned before a block had room: dropped, not delivered.
		let late = request(model);
		assert_ok!(Inference::register_callback(late, limit, None));
		run_to(Requests::<Test>::get(late).unwrap().deadline + 1);
		let retention: u64 =
			<<Test as Config>::ResultRetention as frame_support::traits::Get<u64>>::get();
		run_to(System::block_number() + retention);
		assert!(Requests::<Test>::get(late).is_none(), "pruned");
		Inference::on_idle(System::block_number(), Weight::MAX);
		System::assert_has_event(Event::ExpiryCallbackDropped { request_id: late }.into());
		assert_eq!(EXPIRIES_DELIVERED.with(|d| d.borrow().len()), 1);

		// A full queue drops the callback of the next expiry.
		for id in 0..MAX_PENDING as u64 {
			ExpiryCallbacks::<Test>::insert(1_000 + id, (unpaid(limit), ExpiryReason::Deadline));
		}
		let dropped = request(model);
		assert_ok!(Inference::register_callback(dropped, limit, None));
		run_to(Requests::<Test>::get(dropped).unwrap().deadline + 1);
		System::assert_has_event(Event::ExpiryCallbackDropped { request_id: dropped }.into());
		assert!(!ExpiryCallbacks::<Test>::contains_key(dropped));
	});
}

/// A callback nobody paid for (refunds nothing).
fn unpaid(limit: Weight) -> Callback<AccountId> {
	Callback { limit, payer: None, fee_multiplier: FeeMultiplier::get() }
}

fn refunds() -> Vec<(RequestId, AccountId, Weight, Balance)> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Inference(Event::CallbackRefunded {
				request_id,
				payer,
				unused,
				amount,
			}) => Some((request_id, payer, unused, amount)),
			_ => None,
		})
		.collect()
}

/// The refund of unused callback weight is never more than a transaction paid for that
/// weight: for any weight a transaction carried and any unused part of it, the fee of the
/// whole less the fee without the unused part is at least the refund (the mock prices weight
/// as pallet-revive's `BlockRatioFee` does, the larger of two linear parts).
#[test]
fn a_refund_never_exceeds_the_fee_the_unused_weight_cost() {
	new_test_ext(0).execute_with(|| {
		let fee = |w: Weight, m: sp_runtime::FixedU128| {
			m.saturating_mul_int(<MockFee as CallbackFee<Balance>>::weight_to_fee(&w))
		};
		let parts = [0u64, 1, 999, 1_000, 7_777, 250_000, 1_000_000, 3_000_000];
		let proofs = [0u64, 1, 3, 250, 1_000, 9_999, 40_000];
		for m in [sp_runtime::FixedU128::from_u32(1), sp_runtime::FixedU128::from_rational(7, 3)] {
			let mut tight = false;
			for (&r, &p) in parts.iter().zip(proofs.iter().cycle()) {
				for (&ur, &up) in parts.iter().rev().zip(proofs.iter()) {
					let (rest, unused) = (Weight::from_parts(r, p), Weight::from_parts(ur, up));
					let refund = Inference::unused_fee(unused, m);
					let paid = fee(rest + unused, m) - fee(rest, m);
					assert!(refund <= paid, "{rest:?} + {unused:?} at {m:?}: {refund} > {paid}");
					tight |= refund > 0 && refund + 1 >= paid;
				}
			}
			assert!(tight, "the bound is reached for some weights (the refund is not just zero)");
		}
	});
}

/// What a callback does not use of its prepaid weight goes back to the account that paid it,
/// priced at the fee multiplier of the block that paid: after a result, an agreed failure, an
/// expiry callback and a callback the full queue drops (all of it); nothing for a callback
/// nobody paid for.
#[test]
fn unused_callback_weight_is_refunded_to_its_payer() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		FeeMultiplier::set(sp_runtime::FixedU128::from_u32(2));
		let limit = Weight::from_parts(600_000, 4_000);
		// ALICE pays, BOB requests (a contract that a user called).
		let (attested, failed, unpaid_r) = (request(model), request(model), request(model));
		run_to(System::block_number() + 1); // at most 3 requests a block
		let expired = request(model);
		for r in [attested, failed, expired] {
			assert_ok!(Inference::register_callback(r, limit, Some(ALICE)));
		}
		assert_ok!(Inference::register_callback(unpaid_r, limit, None));
		// Priced at the multiplier recorded when it was paid, not at delivery.
		FeeMultiplier::set(sp_runtime::FixedU128::from_u32(5));
		let issuance = Balances::total_issuance();
		let alice = Balances::free_balance(ALICE);
		let oom = Ans::Fail(FailureKind::OutOfMemory);
		commit_all(&[
			(attested, 0, out(3.0)),
			(attested, 1, out(3.0)),
			(unpaid_r, 0, out(3.0)),
			(unpaid_r, 1, out(3.0)),
			(failed, 0, oom.clone()),
			(failed, 1, oom),
		]);
		assert_ok!(submit(attested, 0, output(3.0)));
		let post = submit(attested, 1, output(3.0)).unwrap();
		// Charged the callback's use and the refund's storage on top of its own weight.
		let refund_weight =
			Inference::callback_context_weight() + Inference::callback_refund_weight();
		assert_eq!(
			post.actual_weight,
			Some(
				<Test as Config>::WeightInfo::submit_result(output(3.0).len() as u32 * 2, 1)
					+ limit / 2 + refund_weight
			)
		);
		assert_ok!(submit(unpaid_r, 0, output(3.0)));
		assert_ok!(submit(unpaid_r, 1, output(3.0)));
		assert_ok!(fail(failed, 0, FailureKind::OutOfMemory));
		assert_ok!(fail(failed, 1, FailureKind::OutOfMemory));
		// The mock callback uses half (result) and a quarter (failure) of its limit; a unit
		// per 1000 ref time is the smaller part: (300_000 ref, 2_000 proof) unused → 300 × 2 − 1.
		let half = limit - limit / 2;
		let three_quarters = limit - limit / 4;
		assert_eq!(
			refunds(),
			vec![(attested, ALICE, half, 599), (failed, ALICE, three_quarters, 2 * 450 - 1)]
		);
		run_to(Requests::<Test>::get(expired).unwrap().deadline + 1);
		Inference::on_idle(System::block_number(), Weight::MAX);
		let two_thirds = limit - limit / 3;
		assert_eq!(refunds().last(), Some(&(expired, ALICE, two_thirds, 2 * 400 - 1)));
		let refunded = 599 + 899 + 799;
		assert_eq!(Balances::free_balance(ALICE), alice + refunded);
		assert_eq!(Balances::total_issuance(), issuance + refunded, "minted: the fee was burnt");

		// Dropped for a full queue: the whole limit.
		for id in 0..MAX_PENDING as u64 {
			ExpiryCallbacks::<Test>::insert(1_000 + id, (unpaid(limit), ExpiryReason::Deadline));
		}
		let dropped = request(model);
		assert_ok!(Inference::register_callback(dropped, limit, Some(ALICE)));
		run_to(Requests::<Test>::get(dropped).unwrap().deadline + 1);
		assert_eq!(refunds().last(), Some(&(dropped, ALICE, limit, 5 * 600 - 1)));
		assert_eq!(refunds().len(), 4, "nothing for the callback nobody paid");
	});
}

/// A request made from inside a callback (a contract re-requesting in `onInferenceResult`)
/// has its own callback paid by the outer callback's weight: its refund goes to the outer
/// payer at the outer multiplier, and a callback nobody paid for passes that on.
#[test]
fn a_callback_registered_inside_a_callback_inherits_its_payer() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let (inner, plain) = (request(model), request(model));
		let limit = Weight::from_parts(600_000, 4_000);
		let outer = Callback {
			limit: MAX_CALLBACK,
			payer: Some(ALICE),
			fee_multiplier: sp_runtime::FixedU128::from_u32(3),
		};
		Inference::delivering(&outer, || {
			assert_eq!(DeliveringCallback::<Test>::get(), Some(outer.clone()));
			assert_ok!(Inference::register_callback(inner, limit, Some(BOB)));
		});
		assert_eq!(DeliveringCallback::<Test>::get(), None, "never left in state");
		assert_eq!(Callbacks::<Test>::get(inner), Some(Callback { limit, ..outer.clone() }));
		Inference::delivering(&unpaid(MAX_CALLBACK), || {
			assert_ok!(Inference::register_callback(plain, limit, Some(BOB)));
		});
		assert_eq!(Callbacks::<Test>::get(plain).unwrap().payer, None);
	});
}

/// A result signature is bound to the chain (genesis hash) and to the request's input: the
/// signature a member made on another chain, or for a request with the same id but another
/// input (a fork, a restarted chain), or over the bare submission (the format before this
/// binding) is refused; only the bound payload is accepted.
#[test]
fn signatures_are_bound_to_the_chain_and_the_input() {
	new_test_ext(3).execute_with(|| {
		let genesis = H256::repeat_byte(0x42);
		frame_system::BlockHash::<Test>::insert(0, genesis);
		let model = active_model(10);
		let r = request(model);
		let request = Requests::<Test>::get(r).unwrap();
		commit_all(&[(r, 0, out(1.0))]);
		let submission = ResultSubmission {
			request_id: r,
			executor: executor_key(0),
			output: BoundedVec::try_from(output(1.0)).unwrap(),
			salt: salt(0),
			profile: None,
		};
		let check = |payload: Vec<u8>| {
			let signature: InferenceAuthoritySignature = executor_pair(0).sign(&payload).into();
			Inference::authorize_submit_result(TransactionSource::External, &submission, &signature)
				.map(|_| ())
		};
		let bad_proof = Err(InvalidTransaction::BadProof.into());
		assert_eq!(check(submission.encode()), bad_proof, "the unbound payload");
		assert_eq!(
			check(submission.signing_payload(H256::repeat_byte(0x43), &request.input_hash)),
			bad_proof,
			"another chain"
		);
		assert_eq!(
			check(submission.signing_payload(genesis, &H256::repeat_byte(9))),
			bad_proof,
			"another input"
		);
		let payload = submission.signing_payload(genesis, &request.input_hash);
		assert_eq!(payload, Inference::signing_payload(&submission, &request));
		assert_eq!(check(payload), Ok(()));
	});
}

// ----------------------------------------------------------------------------------------------
// Agreed failures.

/// A signed failure report of `executor`, through the pool's `authorize`, then dispatched.
fn fail(request_id: RequestId, executor: u8, kind: FailureKind) -> DispatchResult {
	let failure = FailureSubmission {
		request_id,
		executor: executor_key(executor),
		kind,
		salt: salt(executor),
	};
	let payload = match Requests::<Test>::get(request_id) {
		Some(request) => Inference::failure_payload(&failure, &request),
		None => failure.encode(),
	};
	let signature: InferenceAuthoritySignature = executor_pair(executor).sign(&payload).into();
	Inference::authorize_submit_failure(TransactionSource::External, &failure, &signature)
		.map_err(|_| DispatchError::Other("not authorized"))?;
	Inference::submit_failure(RawOrigin::Authorized.into(), failure, signature)
		.map(|_| ())
		.map_err(|e| e.error)
}

/// A requester that asked for a callback hears of an agreed failure, within its limit; the
/// unused weight is refunded from the call's charge.
#[test]
fn an_agreed_failure_calls_the_requester_back() {
	new_test_ext(3).execute_with(|| {
		FAILURES_DELIVERED.with(|d| d.borrow_mut().clear());
		let model = active_model(10);
		let r = request(model);
		assert_ok!(Inference::register_callback(r, MAX_CALLBACK, None));
		let oom = Ans::Fail(FailureKind::OutOfMemory);
		commit_all(&[(r, 0, oom.clone()), (r, 1, oom)]);
		assert_ok!(fail(r, 0, FailureKind::OutOfMemory));
		assert!(FAILURES_DELIVERED.with(|d| d.borrow().is_empty()), "no quorum yet");
		let failure = FailureSubmission {
			request_id: r,
			executor: executor_key(1),
			kind: FailureKind::OutOfMemory,
			salt: salt(1),
		};
		let request = Requests::<Test>::get(r).unwrap();
		let signature: InferenceAuthoritySignature =
			executor_pair(1).sign(&Inference::failure_payload(&failure, &request)).into();
		let post =
			Inference::submit_failure(RawOrigin::Authorized.into(), failure, signature).unwrap();
		assert_eq!(
			FAILURES_DELIVERED.with(|d| d.borrow().clone()),
			vec![(r, BOB, FailureKind::OutOfMemory)]
		);
		assert!(last_events(1).contains(&Event::CallbackDelivered {
			request_id: r,
			success: true,
			weight_used: MAX_CALLBACK / 4,
		}));
		assert!(Callbacks::<Test>::get(r).is_none());
		// Charged the callback it used, not the largest one.
		let declared = <Test as Config>::WeightInfo::submit_failure(MaxCommittee::get());
		assert_eq!(post.actual_weight, Some(declared + MAX_CALLBACK / 4));
	});
}

#[test]
fn a_quorum_of_one_failure_kind_fails_the_request_and_pays_those_members() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let base = executor_balances(3);
		let r = request(model);
		let issuance = Balances::total_issuance();
		let timeout = Ans::Fail(FailureKind::Timeout);
		assert!(Inference::pending_for(&executor_key(0)).contains(&r));
		commit_all(&[(r, 0, timeout.clone()), (r, 1, timeout.clone()), (r, 2, timeout)]);
		assert!(!Inference::pending_for(&executor_key(0)).contains(&r), "committed to");
		assert_ok!(fail(r, 0, FailureKind::Timeout));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(fail(r, 1, FailureKind::Timeout));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Failed);
		assert!(Results::<Test>::get(r).is_none());
		assert_eq!(FailureVotes::<Test>::iter_prefix(r).count(), 0);
		assert_eq!(escrow(BOB), 0);
		assert_eq!(Balances::free_balance(BOB), INITIAL - FEE);
		assert_eq!(Balances::free_balance(executor_account(0)), base[0] + FEE / 2);
		assert_eq!(Balances::free_balance(executor_account(1)), base[1] + FEE / 2);
		assert_eq!(Balances::free_balance(executor_account(2)), base[2]);
		assert_eq!(Balances::total_issuance(), issuance);
		assert_eq!(PendingCount::<Test>::get(), 0);
		// A timeout depends on the input: it does not count against the model.
		assert_eq!(FailureStreak::<Test>::get(model), 0);
		assert!(last_events(1).contains(&Event::InferenceFailed {
			request_id: r,
			model,
			kind: FailureKind::Timeout,
			attesters: 2,
			paid: FEE,
			refunded: 0,
		}));
		// The third member is too late: the request is closed.
		assert_noop!(fail(r, 2, FailureKind::Timeout), DispatchError::Other("not authorized"));
	});
}

#[test]
fn different_failures_or_a_failure_and_results_are_no_quorum() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		// Two kinds and one result: everyone answered without agreement, refunded in full.
		let r = request(model);
		commit_all(&[
			(r, 0, Ans::Fail(FailureKind::Timeout)),
			(r, 1, Ans::Fail(FailureKind::OutOfMemory)),
			(r, 2, out(1.0)),
		]);
		assert_ok!(fail(r, 0, FailureKind::Timeout));
		assert_ok!(fail(r, 1, FailureKind::OutOfMemory));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(r, 2, output(1.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		assert_eq!(Balances::free_balance(BOB), INITIAL - FEE / 10);
		assert_eq!(FailureStreak::<Test>::get(model), 0);
		// Two agreeing results outvote one failure; the result resets the streak.
		FailureStreak::<Test>::insert(model, 2);
		let r = request(model);
		commit_all(&[
			(r, 0, Ans::Fail(FailureKind::RunFailed)),
			(r, 1, out(1.0)),
			(r, 2, out(1.0)),
		]);
		assert_ok!(fail(r, 0, FailureKind::RunFailed));
		assert_ok!(submit(r, 1, output(1.0)));
		assert_ok!(submit(r, 2, output(1.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		assert_eq!(FailureStreak::<Test>::get(model), 0);
	});
}

#[test]
fn a_member_answers_once_with_a_result_or_a_failure() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[
			(r, 0, Ans::Fail(FailureKind::BadModel)),
			(r, 1, out(1.0)),
			(r, 2, Ans::Fail(FailureKind::Timeout)),
		]);
		assert_ok!(fail(r, 0, FailureKind::BadModel));
		assert_eq!(authorize(r, 0, output(1.0)), Err(InvalidTransaction::Stale));
		assert_noop!(fail(r, 0, FailureKind::Timeout), DispatchError::Other("not authorized"));
		assert_ok!(submit(r, 1, output(1.0)));
		assert_noop!(fail(r, 1, FailureKind::Timeout), DispatchError::Other("not authorized"));
		// Outside the committee, on an unknown request, or signed over another payload.
		assert_noop!(fail(r, 9, FailureKind::Timeout), DispatchError::Other("not authorized"));
		assert_noop!(fail(77, 2, FailureKind::Timeout), DispatchError::Other("not authorized"));
		let failure = FailureSubmission {
			request_id: r,
			executor: executor_key(2),
			kind: FailureKind::Timeout,
			salt: salt(2),
		};
		let forged: InferenceAuthoritySignature = executor_pair(2).sign(&failure.encode()).into();
		assert_eq!(
			Inference::authorize_submit_failure(TransactionSource::External, &failure, &forged)
				.map(|_| ()),
			Err(InvalidTransaction::BadProof.into())
		);
		// A failure and a result of one member share the pool tag: one answer per member.
		let request = Requests::<Test>::get(r).unwrap();
		let signature: InferenceAuthoritySignature =
			executor_pair(2).sign(&Inference::failure_payload(&failure, &request)).into();
		let (valid, _) =
			Inference::authorize_submit_failure(TransactionSource::External, &failure, &signature)
				.unwrap();
		assert_eq!(valid.provides, vec![("VerityInference", (r, executor_key(2))).encode()]);
		// Without the authorized origin the call is refused.
		assert_noop!(
			Inference::submit_failure(RuntimeOrigin::signed(ALICE), failure, signature),
			DispatchError::BadOrigin
		);
	});
}

/// Agreed failures that depend on the input (time, memory, the input, the output's size) end
/// the request, paid, but never count against the model: a requester cannot suspend a model
/// with a few huge inputs past its run budget. Failures of the model itself do.
#[test]
fn repeated_agreed_failures_suspend_the_model() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let fails = |kind| {
			let r = request(model);
			commit_all(&[(r, 0, Ans::Fail(kind)), (r, 2, Ans::Fail(kind))]);
			assert_ok!(fail(r, 0, kind));
			assert_ok!(fail(r, 2, kind));
			assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Failed);
			run_to(System::block_number() + 1);
		};
		use FailureKind::*;
		for kind in [Timeout, OutOfMemory, BadInput, OutputTooLarge, Timeout] {
			fails(kind);
			assert_eq!(FailureStreak::<Test>::get(model), 0, "{kind:?}");
		}
		for (n, kind) in [(1, RunFailed), (2, WorkerDied), (3, OutputMismatch)] {
			fails(kind);
			assert_eq!(FailureStreak::<Test>::get(model), n);
		}
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Suspended);
		assert!(System::events()
			.iter()
			.any(|e| e.event
				== RuntimeEvent::Inference(Event::ModelSuspended { model, failures: 3 })));
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		// Nothing pending: the owner can remove it, and its streak goes with it.
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(FailureStreak::<Test>::get(model), 0);
	});
}

// ----------------------------------------------------------------------------------------------
// Commit–reveal.

/// A copier (member 2) that waits for the others' answers and copies them is never counted nor
/// paid: once answers are revealed the commit phase is over, a reveal needs a commitment, and a
/// copied commitment binds the key of the member who made it.
#[test]
fn a_copier_is_never_counted_nor_paid() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		let honest = output(3.0);
		// Member 2 copies member 0's commitment as soon as it sees it.
		let copied = commitment_of(r, 0, &Ans::Out(honest.clone()));
		commit_all(&[(r, 0, Ans::Out(honest.clone())), (r, 1, Ans::Out(honest.clone()))]);
		// (commit_all moved past the commit window: the copier's late commitment is refused.)
		assert_eq!(authorize_commit(2, vec![(r, copied)]), Err(InvalidTransaction::Stale));
		assert_ok!(submit(r, 0, honest.clone()));
		// Having seen member 0's answer, the copier can neither commit to it...
		let copy = commitment_of(r, 2, &Ans::Out(honest.clone()));
		assert_eq!(authorize_commit(2, vec![(r, copy)]), Err(InvalidTransaction::Stale));
		let (b, sig) = batch(2, vec![(r, copy)]);
		assert_noop!(
			Inference::commit_answers(RawOrigin::Authorized.into(), b, sig),
			Error::<Test>::CommitPhaseClosed
		);
		// ...nor reveal it without a commitment.
		assert_eq!(authorize(r, 2, honest.clone()), Err(InvalidTransaction::BadProof));
		let (s, sig) = signed(r, 2, honest.clone());
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::NotCommitted
		);
		assert_ok!(submit(r, 1, honest.clone()));
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!(result.attesters.iter().map(|e| e.account).collect::<Vec<_>>(), vec![10, 11]);
		assert_eq!(Balances::free_balance(executor_account(2)), INITIAL);
	});
	// Had it committed member 0's commitment in time, it still could not reveal anything that
	// matches it: the commitment covers member 0's key.
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		let honest = output(3.0);
		let copied = commitment_of(r, 0, &Ans::Out(honest.clone()));
		assert_ok!(commit(0, vec![(r, copied)]));
		assert_ok!(commit(2, vec![(r, copied)]));
		commit_all(&[(r, 1, Ans::Out(honest.clone()))]);
		assert_ok!(submit(r, 0, honest.clone()));
		assert_eq!(authorize(r, 2, honest.clone()), Err(InvalidTransaction::BadProof));
		let (mut s, _) = signed(r, 2, honest.clone());
		s.salt = salt(0);
		let sig = executor_pair(2)
			.sign(&Inference::signing_payload(&s, &Requests::<Test>::get(r).unwrap()))
			.into();
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::CommitmentMismatch
		);
		assert_ok!(submit(r, 1, honest));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		assert_eq!(Balances::free_balance(executor_account(2)), INITIAL);
	});
}

/// Reveals wait for the end of the commit phase: all members committed (in an earlier block),
/// or the commit window is over.
#[test]
fn reveals_wait_for_the_commit_phase() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let now = System::block_number();
		let r = request(model);
		let c = |m| (r, commitment_of(r, m, &out(1.0)));
		assert_ok!(commit(0, vec![c(0)]));
		// Too early: members 1 and 2 have not committed, the window is open.
		assert_eq!(authorize(r, 0, output(1.0)), Err(InvalidTransaction::Future));
		run_to(now + 1);
		assert_eq!(authorize(r, 0, output(1.0)), Err(InvalidTransaction::Future));
		assert_ok!(commit(1, vec![c(1)]));
		assert_ok!(commit(2, vec![c(2)]));
		// Everyone committed, but member 2 only in this block: not yet.
		let (s, sig) = signed(r, 2, output(1.0));
		assert_noop!(
			Inference::submit_result(RawOrigin::Authorized.into(), s, sig),
			Error::<Test>::CommitPhaseOpen
		);
		assert!(Inference::pending_for(&executor_key(2)).is_empty());
		run_to(now + 2);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 2, output(1.0)));
		assert_eq!(Results::<Test>::get(r).unwrap().attested_at, now + 2);
	});
	// The shortest timeout (2) leaves one block to commit in and one to reveal in.
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let now = System::block_number();
		let r = request_timed(model, Some(2));
		run_to(now + 1);
		let request = Requests::<Test>::get(r).unwrap();
		assert_eq!(Inference::commit_deadline(&request), now + 1);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.0))]);
		assert_eq!(System::block_number(), now + 2);
		assert_ok!(submit(r, 0, output(1.0)));
		assert_ok!(submit(r, 1, output(1.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
	});
}

#[test]
fn commit_batch_rules() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let now = System::block_number();
		let a = request(model);
		let b = request(model);
		let c = |r, m| (r, commitment_of(r, m, &out(1.0)));
		assert_eq!(authorize_commit(0, vec![]), Err(InvalidTransaction::BadProof));
		assert_eq!(authorize_commit(0, vec![c(a, 0), c(a, 0)]), Err(InvalidTransaction::BadProof));
		let (bt, sig) = batch(0, vec![c(a, 0), c(a, 0)]);
		assert_noop!(
			Inference::commit_answers(RawOrigin::Authorized.into(), bt, sig),
			Error::<Test>::BadCommitBatch
		);
		assert_eq!(authorize_commit(9, vec![c(a, 9)]), Err(InvalidTransaction::BadProof));
		let unknown = (99, H256::repeat_byte(1));
		assert_eq!(authorize_commit(0, vec![unknown]), Err(InvalidTransaction::Stale));
		// A signature over another chain's payload, or by another key.
		let (bt, _) = batch(0, vec![c(a, 0)]);
		let other_chain: InferenceAuthoritySignature =
			executor_pair(0).sign(&bt.signing_payload(H256::repeat_byte(7))).into();
		let other_key: InferenceAuthoritySignature =
			executor_pair(1).sign(&Inference::commit_payload(&bt)).into();
		for sig in [other_chain, other_key] {
			assert_eq!(
				Inference::authorize_commit_answers(TransactionSource::External, &bt, &sig)
					.map(|_| ()),
				Err(InvalidTransaction::BadProof.into())
			);
		}
		// Without the authorized origin the call is refused.
		let (bt, sig) = batch(0, vec![c(a, 0)]);
		assert_noop!(
			Inference::commit_answers(RuntimeOrigin::signed(ALICE), bt, sig),
			DispatchError::BadOrigin
		);
		// A valid batch: one tag per commitment, valid until the commit deadline (block 3).
		let (bt, sig) = batch(0, vec![c(a, 0), c(b, 0)]);
		let (valid, _) =
			Inference::authorize_commit_answers(TransactionSource::External, &bt, &sig).unwrap();
		assert_eq!(
			valid.provides,
			vec![
				("VerityCommit", (a, executor_key(0))).encode(),
				("VerityCommit", (b, executor_key(0))).encode()
			]
		);
		assert_eq!(valid.longevity, 1 + COMMIT_WINDOW);
		assert_ok!(Inference::commit_answers(RawOrigin::Authorized.into(), bt, sig));
		assert_eq!(CommitCounts::<Test>::get(a), 1);
		assert_eq!(
			Commitments::<Test>::get(b, 0).unwrap(),
			Commitment { hash: c(b, 0).1, at: now }
		);
		System::assert_has_event(Event::AnswerCommitted { request_id: b, executor: 10 }.into());
		// Once only.
		assert_eq!(authorize_commit(0, vec![c(a, 0)]), Err(InvalidTransaction::Stale));
		let (bt, sig) = batch(0, vec![c(a, 0)]);
		assert_noop!(
			Inference::commit_answers(RawOrigin::Authorized.into(), bt, sig),
			Error::<Test>::AlreadyCommitted
		);
		// A batch whose other entries went stale still carries its valid ones (and provides
		// only their tags); the stale ones are skipped.
		let (bt, sig) = batch(1, vec![c(a, 1), unknown, c(b, 1)]);
		let (valid, _) =
			Inference::authorize_commit_answers(TransactionSource::External, &bt, &sig).unwrap();
		assert_eq!(
			valid.provides,
			vec![
				("VerityCommit", (a, executor_key(1))).encode(),
				("VerityCommit", (b, executor_key(1))).encode()
			]
		);
		assert_ok!(Inference::commit_answers(RawOrigin::Authorized.into(), bt, sig));
		assert_eq!((CommitCounts::<Test>::get(a), CommitCounts::<Test>::get(b)), (2, 2));
		assert_eq!(Inference::pending_for(&executor_key(0)), Vec::<RequestId>::new());
		assert_eq!(Inference::pending_for(&executor_key(2)), vec![a, b]);
		// After the commit deadline the phase is closed.
		run_to(now + COMMIT_WINDOW + 1);
		assert_eq!(authorize_commit(2, vec![c(a, 2)]), Err(InvalidTransaction::Stale));
		assert_eq!(Inference::pending_for(&executor_key(2)), Vec::<RequestId>::new());
		// Both committed members reveal: a quorum of 2.
		assert_ok!(submit(a, 0, output(1.0)));
		assert_eq!(Requests::<Test>::get(a).unwrap().status, RequestStatus::Pending);
		assert_ok!(submit(a, 1, output(1.0)));
		assert_eq!(Requests::<Test>::get(a).unwrap().status, RequestStatus::Attested);
		Inference::do_try_state().unwrap();
	});
}

// ----------------------------------------------------------------------------------------------
// Requests pay for what they cause.

/// One account cannot take the whole pending set: at `MaxPendingPerAccount` it is refused while
/// other accounts still get in; a concluded request frees its slot.
#[test]
fn one_account_cannot_fill_the_pending_set() {
	MaxPendingPerAccount::set(2);
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let first = request(model);
		request(model);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				Some(7)
			),
			Error::<Test>::TooManyPendingForAccount
		);
		assert_eq!(PendingByAccount::<Test>::get(BOB), 2);
		// Another account's request still gets in.
		assert_ok!(Inference::request_inference(
			RuntimeOrigin::signed(ALICE),
			model,
			input([1.0, 2.0]),
			FEE,
			Some(7)
		));
		Inference::do_try_state().unwrap();
		// A concluded request frees its slot.
		commit_all(&[(first, 0, out(1.0)), (first, 1, out(1.0))]);
		assert_ok!(submit(first, 0, output(1.0)));
		assert_ok!(submit(first, 1, output(1.0)));
		assert_eq!(PendingByAccount::<Test>::get(BOB), 1);
		assert_ok!(Inference::request_inference(
			RuntimeOrigin::signed(BOB),
			model,
			input([1.0, 2.0]),
			FEE,
			None
		));
		Inference::do_try_state().unwrap();
		PendingByAccount::<Test>::insert(BOB, 7);
		assert!(Inference::do_try_state().is_err(), "try_state checks the per-account count");
	});
	MaxPendingPerAccount::set(MAX_PENDING);
}

// ----------------------------------------------------------------------------------------------
// Reveal batches
// ----------------------------------------------------------------------------------------------

/// `executor`'s signed batch revealing `answers` (with its test salt).
fn reveal_batch(
	executor: u8,
	answers: Vec<(RequestId, Ans)>,
) -> (RevealBatchOf<Test>, InferenceAuthoritySignature) {
	let reveals = answers
		.into_iter()
		.map(|(request_id, answer)| match answer {
			Ans::Out(o) => Reveal::Result {
				request_id,
				output: BoundedVec::try_from(o).unwrap(),
				salt: salt(executor),
				profile: None,
			},
			Ans::Fail(kind) => Reveal::Failure { request_id, kind, salt: salt(executor) },
			Ans::Same(o) => Reveal::SameOutput {
				request_id,
				output_hash: output_hash(&o),
				len: o.len() as u32,
				salt: salt(executor),
				profile: None,
			},
		})
		.collect();
	let batch = RevealBatch {
		executor: executor_key(executor),
		reveals: BoundedVec::truncate_from(reveals),
	};
	let signature = executor_pair(executor).sign(&Inference::reveal_payload(&batch)).into();
	(batch, signature)
}

fn authorize_reveals(
	batch: &RevealBatchOf<Test>,
	signature: &InferenceAuthoritySignature,
) -> Result<sp_runtime::transaction_validity::ValidTransaction, InvalidTransaction> {
	Inference::authorize_reveal_answers(TransactionSource::External, batch, signature)
		.map(|(v, _)| v)
		.map_err(|e| match e {
			sp_runtime::transaction_validity::TransactionValidityError::Invalid(i) => i,
			_ => panic!("unknown validity"),
		})
}

/// Reveals through the pool's path: authorize, then dispatch.
fn reveal(executor: u8, answers: Vec<(RequestId, Ans)>) -> DispatchResultWithPostInfo {
	let (batch, signature) = reveal_batch(executor, answers);
	authorize_reveals(&batch, &signature).map_err(|_| DispatchError::Other("not authorized"))?;
	Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature)
}

#[test]
fn one_reveal_batch_per_member_concludes_several_requests() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let (a, b, c) = (request(model), request(model), request(model));
		let oom = Ans::Fail(FailureKind::OutOfMemory);
		let mut answers = Vec::new();
		for m in 0..2u8 {
			answers.extend([(a, m, out(1.0)), (b, m, out(2.0)), (c, m, oom.clone())]);
		}
		commit_all(&answers);
		// The pool sees one transaction per member, providing the tag of each reveal (the tag a
		// single `submit_result` of that member and request provides).
		let (batch0, sig0) = reveal_batch(0, vec![(a, out(1.0)), (b, out(2.0)), (c, oom.clone())]);
		let validity = authorize_reveals(&batch0, &sig0).unwrap();
		assert_eq!(validity.provides.len(), 3);
		let (single, single_sig) = signed(a, 0, output(1.0));
		let single_validity =
			Inference::authorize_submit_result(TransactionSource::External, &single, &single_sig)
				.unwrap()
				.0;
		assert!(validity.provides.contains(&single_validity.provides[0]));
		let post =
			Inference::reveal_answers(RawOrigin::Authorized.into(), batch0.clone(), sig0).unwrap();
		// Charged the entries' worst cases up front; the actual weight is below.
		let declared = Inference::reveal_answers_weight(&batch0);
		assert!(post.actual_weight.unwrap().all_lt(declared));
		assert_ok!(reveal(1, vec![(a, out(1.0)), (b, out(2.0)), (c, oom)]));
		assert_eq!(Requests::<Test>::get(a).unwrap().status, RequestStatus::Attested);
		assert_eq!(Requests::<Test>::get(b).unwrap().status, RequestStatus::Attested);
		assert_eq!(Requests::<Test>::get(c).unwrap().status, RequestStatus::Failed);
		assert_eq!(Assignments::<Test>::iter().count(), 0);
	});
}

#[test]
fn reveal_batch_rules() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let (a, b) = (request(model), request(model));
		commit_all(&[(a, 0, out(1.0)), (a, 1, out(1.0)), (b, 0, out(2.0)), (b, 1, out(2.0))]);
		let no = |executor, answers| {
			let (batch, signature) = reveal_batch(executor, answers);
			authorize_reveals(&batch, &signature).map(|_| ())
		};
		// Empty, or one request twice.
		assert_eq!(no(0, vec![]), Err(InvalidTransaction::BadProof));
		assert_eq!(no(0, vec![(a, out(1.0)), (a, out(1.0))]), Err(InvalidTransaction::BadProof));
		// Not the committed answer; not a member's commitment (member 2 never committed).
		assert_eq!(no(0, vec![(a, out(9.0))]), Err(InvalidTransaction::BadProof));
		assert_eq!(no(2, vec![(a, out(1.0))]), Err(InvalidTransaction::BadProof));
		// Another member's batch, signed again by a copier: its salt and key match no
		// commitment of the copier.
		let (original, _) = reveal_batch(0, vec![(a, out(1.0))]);
		let copy = RevealBatch { executor: executor_key(2), reveals: original.reveals.clone() };
		let copy_sig = executor_pair(2).sign(&Inference::reveal_payload(&copy)).into();
		assert_eq!(
			authorize_reveals(&copy, &copy_sig).map(|_| ()),
			Err(InvalidTransaction::BadProof)
		);
		// A signature over another batch.
		let (batch, _) = reveal_batch(0, vec![(a, out(1.0))]);
		let (_, other_sig) = reveal_batch(0, vec![(b, out(2.0))]);
		assert_eq!(
			authorize_reveals(&batch, &other_sig).map(|_| ()),
			Err(InvalidTransaction::BadProof)
		);
		// A stale entry rides along with a valid one and is skipped at dispatch; a batch of
		// stale entries only is refused.
		assert_ok!(submit(a, 0, output(1.0)));
		assert_ok!(reveal(0, vec![(a, out(1.0)), (b, out(2.0))]));
		assert_eq!(
			reveal(0, vec![(a, out(1.0)), (b, out(2.0))]),
			Err(DispatchError::Other("not authorized").into())
		);
		let (batch, signature) = reveal_batch(0, vec![(a, out(1.0)), (b, out(2.0))]);
		assert_noop!(
			Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature),
			Error::<Test>::DuplicateResult
		);
		assert_ok!(reveal(1, vec![(a, out(1.0)), (b, out(2.0))]));
		assert_eq!(Requests::<Test>::get(a).unwrap().status, RequestStatus::Attested);
		assert_eq!(Requests::<Test>::get(b).unwrap().status, RequestStatus::Attested);
	});
}

/// Outputs go on chain once per request: a member whose output is byte for byte one already
/// revealed names it by hash and length. The reference opens the member's own commitment, so a
/// member that committed to something else (a guess) cannot adopt another's output.
#[test]
fn identical_outputs_are_stored_once_and_revealed_by_reference() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.0)), (r, 2, out(7.0))]);
		let (same, hash) = (Ans::Same(output(1.0)), output_hash(&output(1.0)));
		let dispatch = |executor, answers| {
			let (batch, signature) = reveal_batch(executor, answers);
			Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature)
		};
		// Nobody revealed it yet: the reference names nothing.
		assert_noop!(dispatch(1, vec![(r, same.clone())]), Error::<Test>::UnknownOutput);
		let (batch, signature) = reveal_batch(1, vec![(r, same.clone())]);
		assert_eq!(
			authorize_reveals(&batch, &signature).map(|_| ()),
			Err(InvalidTransaction::BadProof)
		);
		assert_ok!(reveal(0, vec![(r, out(1.0))]));
		assert_eq!(Submissions::<Test>::get(r, 0), Some(hash));
		assert_eq!(SubmittedOutputs::<Test>::get(r, hash).map(|o| o.to_vec()), Some(output(1.0)));
		// Member 2 committed to 7.0: member 0's output is not its own to reveal.
		assert_noop!(dispatch(2, vec![(r, same.clone())]), Error::<Test>::CommitmentMismatch);
		// A reference with another length than the stored output's.
		let (mut batch, _) = reveal_batch(1, vec![(r, same.clone())]);
		if let Reveal::SameOutput { len, .. } = &mut batch.reveals[0] {
			*len += 1;
		}
		let signature = executor_pair(1).sign(&Inference::reveal_payload(&batch)).into();
		assert_noop!(
			Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature),
			Error::<Test>::UnknownOutput
		);
		// Member 1's reference completes the quorum: the result is the stored bytes, and the
		// request's revealed outputs are cleared with it.
		let (batch, signature) = reveal_batch(1, vec![(r, same)]);
		assert!(authorize_reveals(&batch, &signature).is_ok());
		// Charged for the output it names, though it carries none.
		assert_eq!(
			Inference::reveal_answers_weight(&batch),
			<Test as Config>::WeightInfo::submit_result(
				2 * output(1.0).len() as u32,
				<Test as Config>::MaxCommittee::get()
			)
			.saturating_add(Inference::callback_weight())
		);
		assert_ok!(Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		let result = Results::<Test>::get(r).unwrap();
		assert_eq!((result.output.to_vec(), result.output_hash), (output(1.0), hash));
		assert_eq!(result.attesters.len(), 2);
		// What a contract's read of it is charged for: the stored size, not `MaxOutputBytes`.
		assert_eq!(Inference::result_encoded_len(r), Some(result.encode().len() as u32));
		assert_eq!(Inference::result_encoded_len(r + 1), None);
		assert_eq!(SubmittedOutputs::<Test>::iter_prefix(r).count(), 0);
		assert_eq!(Submissions::<Test>::iter_prefix(r).count(), 0);
	});
}

/// A reference to an output that differs from the earlier ones is compared with them under the
/// tolerance like the bytes would be (each distinct output once); references that split the
/// committee leave it without a quorum like outputs would.
#[test]
fn a_reference_is_compared_like_its_bytes() {
	new_test_ext(4).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		// 4 members, quorum 3: 0 and 2 answer 1.0, 1 and 3 answer 5.0 (far apart).
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(5.0)), (r, 2, out(1.0)), (r, 3, out(5.0))]);
		assert_ok!(reveal(0, vec![(r, out(1.0))]));
		assert_ok!(reveal(1, vec![(r, out(5.0))]));
		assert_ok!(reveal(2, vec![(r, Ans::Same(output(1.0)))]));
		assert_eq!(SubmittedOutputs::<Test>::iter_prefix(r).count(), 2);
		let support = |m| SubmissionSupport::<Test>::get(r, m).unwrap();
		// 2 agrees with 0 (identical) and not with 1 (compared).
		assert!(support(2).has(0) && !support(2).has(1) && support(0).has(2));
		assert_ok!(reveal(3, vec![(r, Ans::Same(output(5.0)))]));
		// Two against two: no quorum of 3, everyone answered.
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Expired);
		assert_eq!(SubmittedOutputs::<Test>::iter_prefix(r).count(), 0);
	});
}

#[test]
fn reveals_wait_for_the_end_of_the_commit_phase() {
	new_test_ext(3).execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		assert_ok!(commit(0, vec![(r, commitment_of(r, 0, &out(1.0)))]));
		run_to(System::block_number() + 1);
		// Members 1 and 2 have not committed and the window is open: reveals are for later.
		let (batch, signature) = reveal_batch(0, vec![(r, out(1.0))]);
		assert_eq!(
			authorize_reveals(&batch, &signature).map(|_| ()),
			Err(InvalidTransaction::Future)
		);
	});
}

// ----------------------------------------------------------------------------------------------
// Readiness probe
// ----------------------------------------------------------------------------------------------

/// A completed upload is not active: the committee first runs the model on its probe input
/// (zeros here), each member reporting what the run cost; the model becomes active at quorum
/// with the medians as its profile, which one lying member cannot move. On the old code
/// `complete_model_upload` activated the model at once and any request was accepted.
#[test]
fn a_model_is_probed_before_it_takes_requests() {
	MaxCommittee::set(5);
	new_test_ext(5).execute_with(|| {
		let alice = Balances::free_balance(ALICE);
		let model = uploaded_model(10);
		let probe = NextRequestId::<Test>::get() - 1;
		System::assert_has_event(Event::ModelProbing { model, request_id: probe }.into());
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Probing);
		// The owner pays its probe like a request; its input is zeros, dynamic dimensions at 1.
		let req = Requests::<Test>::get(probe).unwrap();
		assert_eq!(req.requester, ALICE);
		assert_eq!(escrow(ALICE), FEE);
		let zeros = encode_owned(&[Tensor::from_f32("x", vec![1, 2], &[0.0, 0.0])]);
		assert_eq!(RequestInputs::<Test>::get(probe).unwrap().to_vec(), zeros);
		// Nobody else's request gets in before the probe passes.
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		let members: Vec<_> = (0..5).map(|m| (probe, m, out(1.0))).collect();
		commit_all(&members);
		let report = |run_micros| RunProfile { load_micros: 7, run_micros, peak_memory_kib: 5 };
		// Member 4 claims the model is 500 times slower than it is; a quorum is 4 of 5.
		assert_ok!(submit_profiled(probe, 4, output(1.0), Some(report(20_000_000))));
		assert_ok!(submit_profiled(probe, 0, output(1.0), Some(report(30_000))));
		assert_ok!(submit_profiled(probe, 1, output(1.0), Some(report(40_000))));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Probing);
		assert_ok!(submit_profiled(probe, 2, output(1.0), Some(report(50_000))));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
		System::assert_has_event(Event::ModelActivated { model }.into());
		let profile = ModelProfiles::<Test>::get(model).unwrap();
		assert_eq!(profile.request_id, probe);
		assert_eq!(profile.output_hash, hash(&output(1.0)));
		// The upper median: one member moves it no further than the honest reports go.
		assert_eq!(profile.run_micros, 50_000, "the median of 30, 40, 50 ms and 20 s");
		assert_eq!(profile.run_budget_millis(), 1_000, "20 times the probe's run");
		assert_eq!(ProbeReports::<Test>::iter_prefix(probe).count(), 0, "cleared at the end");
		assert_eq!(
			Balances::free_balance(ALICE),
			alice - 4 * 22 - Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE),
			"the probe's fee went to its four attesters (22 each, 2 refunded)"
		);
		// Now it takes requests; reports on an ordinary request are not stored.
		let r = request(model);
		let members: Vec<_> = (0..4).map(|m| (r, m, out(2.0))).collect();
		commit_all(&members);
		assert_ok!(submit_profiled(r, 0, output(2.0), Some(report(1))));
		assert_eq!(ProbeReports::<Test>::iter().count(), 0);
		for m in 1..4 {
			assert_ok!(submit_profiled(r, m, output(2.0), Some(report(1))));
		}
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		assert_eq!(ModelProfiles::<Test>::get(model).unwrap().run_micros, 50_000);
		Inference::do_try_state().unwrap();
	});
	MaxCommittee::set(DEFAULT_COMMITTEE);
}

/// The probe measures how far apart the validators' outputs are (dissenters' included), to
/// calibrate the model's tolerance: stored in its profile.
#[test]
fn the_probe_records_the_validators_spread() {
	new_test_ext(3).execute_with(|| {
		let model = uploaded_model(10);
		let probe = NextRequestId::<Test>::get() - 1;
		commit_all(&[(probe, 0, out(1.0)), (probe, 1, out(9.0)), (probe, 2, out(1.000008))]);
		assert_ok!(submit_profiled(probe, 0, output(1.0), Some(PROFILE)));
		assert_ok!(submit_profiled(probe, 1, output(9.0), Some(PROFILE)));
		assert_ok!(submit_profiled(probe, 2, output(1.000008), Some(PROFILE)));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
		let profile = ModelProfiles::<Test>::get(model).unwrap();
		// The dissenter's 9.0 against the attested 1.0: 8 apart, 8/9 of the larger.
		assert_eq!(profile.spread, Spread { abs_e9: 8_000_000_000, rel_e9: 888_888_888 });
		assert_eq!(profile.dissenters, 1);
		assert!(profile.spread.may_exceed(TOL));
		// The attesters alone were within the tolerance.
		let result = Results::<Test>::get(probe).unwrap();
		assert!((7_000..9_000).contains(&result.max_difference_e9), "{}", result.max_difference_e9);

		// Identical outputs: no spread.
		let model = uploaded_model(11);
		pass_probe(model);
		let profile = ModelProfiles::<Test>::get(model).unwrap();
		assert_eq!((profile.spread, profile.dissenters), (Spread::default(), 0));
		assert!(!profile.spread.may_exceed(TOL));
	});
}

/// A model whose probe ends in an agreed failure, or finds no agreement, is rejected: it never
/// takes requests, the members who ran it keep the probe's fee, and the owner gets its deposit
/// back by removing it.
#[test]
fn a_model_that_fails_its_probe_is_rejected() {
	new_test_ext(3).execute_with(|| {
		let model = uploaded_model(10);
		let probe = NextRequestId::<Test>::get() - 1;
		let base = executor_balances(3);
		let oom = Ans::Fail(FailureKind::OutOfMemory);
		commit_all(&[(probe, 0, oom.clone()), (probe, 1, oom)]);
		assert_ok!(fail(probe, 0, FailureKind::OutOfMemory));
		assert_ok!(fail(probe, 1, FailureKind::OutOfMemory));
		assert_eq!(Requests::<Test>::get(probe).unwrap().status, RequestStatus::Failed);
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Rejected);
		System::assert_has_event(
			Event::ModelRejected { model, request_id: probe, kind: Some(FailureKind::OutOfMemory) }
				.into(),
		);
		assert_eq!(Balances::free_balance(executor_account(0)), base[0] + FEE / 2);
		assert_eq!(FailureStreak::<Test>::get(model), 0);
		assert!(ModelProfiles::<Test>::get(model).is_none());
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		assert_noop!(
			Inference::retire_model(RuntimeOrigin::signed(ALICE), model),
			Error::<Test>::ModelNotActive
		);
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), model));
		assert_eq!(Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE), 0);
		Inference::do_try_state().unwrap();
	});
	// Nobody answers the probe: at its deadline the model is rejected, the fee refunded.
	new_test_ext(3).execute_with(|| {
		let model = uploaded_model(10);
		let probe = NextRequestId::<Test>::get() - 1;
		run_to(Requests::<Test>::get(probe).unwrap().deadline + 1);
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Rejected);
		System::assert_has_event(
			Event::ModelRejected { model, request_id: probe, kind: None }.into(),
		);
		assert_eq!(escrow(ALICE), 0);
		Inference::do_try_state().unwrap();
	});
}

/// The owner may give the probe input (it must fit the model's inputs like any request's);
/// without one, a model whose zero input would exceed `MaxInputBytes` cannot complete.
#[test]
fn probe_inputs_follow_the_request_rules() {
	new_test_ext(3).execute_with(|| {
		let model = all_bytes_in(10, inputs());
		let complete =
			|probe| Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), model, probe);
		let wrong = encode_owned(&[Tensor::from_f32("x", vec![1, 3], &[0.0; 3])]);
		assert_noop!(complete(Some(wrong)), Error::<Test>::InputTensorShape);
		// One byte over `MaxInputBytes`: a pallet error, not an undecodable call.
		assert_noop!(complete(Some(vec![0; 257])), Error::<Test>::InputTooLarge);
		assert_ok!(complete(Some(input([4.0, 5.0]))));
		let probe = NextRequestId::<Test>::get() - 1;
		assert_eq!(RequestInputs::<Test>::get(probe).unwrap(), input([4.0, 5.0]));
		// 100 f32 values are 400 bytes, over the mock's 256-byte `MaxInputBytes`.
		let wide: TensorSpecs =
			BoundedVec::truncate_from(vec![tensor_spec("x", DType::F32, &[Dim::Fixed(100)])]);
		let wide_model = all_bytes_in(11, wide);
		assert_noop!(
			Inference::complete_model_upload(RuntimeOrigin::signed(ALICE), wide_model, None),
			Error::<Test>::NoProbeInput
		);
		Inference::do_try_state().unwrap();
	});
}

// ----------------------------------------------------------------------------------------------
// Hosted models.

fn urls(list: &[&str]) -> ModelUrls {
	BoundedVec::truncate_from(
		list.iter().map(|u| BoundedVec::truncate_from(u.as_bytes().to_vec())).collect(),
	)
}

/// Registers ALICE's hosted model of `size` bytes (code hash of `b"hosted"`) at one URL; its
/// probe is the last request.
fn hosted_model(size: u32) -> ModelId {
	let code = hash(b"hosted");
	assert_ok!(Inference::register_hosted_model(
		RuntimeOrigin::signed(ALICE),
		code,
		size,
		urls(&["https://models.example/m.onnx"]),
		inputs(),
		outputs(),
		TOL,
		FEE,
		None
	));
	id_of(ALICE, code)
}

/// A hosted model keeps only its metadata and URLs on chain; its probe opens at once, with a
/// commit window of `HostedFetchWindow` (the nodes fetch the file first): a member that commits
/// after `CommitWindow` still counts, where an ordinary request's commit phase would be over.
/// Probed, it is active like any model; removed, its URLs go with it and the deposit (base, the
/// URLs' bytes and a byte per KiB of the file) comes back.
#[test]
fn hosted_models_are_probed_after_the_nodes_fetch_them() {
	new_test_ext(3).execute_with(|| {
		let size = 500 * 1024 * 1024;
		let model = hosted_model(size);
		let info = Models::<Test>::get(model).unwrap();
		assert_eq!(info.status, ModelStatus::Probing);
		assert_eq!((info.size, info.uploaded, info.chunks), (size, size, 0));
		let stored = urls(&["https://models.example/m.onnx"]);
		assert_eq!(HostedModels::<Test>::get(model), Some(stored.clone()));
		let deposit = MODEL_DEPOSIT_BASE
			+ MODEL_DEPOSIT_PER_BYTE * (stored.encoded_size() as u128 + (size / 1024) as u128);
		assert_eq!(info.deposit, deposit);
		assert_eq!(Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE), deposit);
		System::assert_has_event(Event::ModelHosted { model, urls: stored }.into());
		let probe = NextRequestId::<Test>::get() - 1;
		let opened = Requests::<Test>::get(probe).unwrap();
		assert_eq!(opened.commit_window, HOSTED_FETCH_WINDOW);
		assert_eq!(opened.deadline, opened.drawn_at + HOSTED_FETCH_WINDOW + COMMIT_WINDOW);
		// Past the ordinary commit window, members still commit (their nodes were fetching).
		run_to(System::block_number() + COMMIT_WINDOW + 3);
		assert!(!Inference::commit_phase_over(probe, &opened, System::block_number()));
		pass_probe(model);
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
		// Its requests have the ordinary commit window.
		let r = request(model);
		assert_eq!(Requests::<Test>::get(r).unwrap().commit_window, COMMIT_WINDOW);
		commit_all(&[(r, 0, out(1.0)), (r, 1, out(1.0)), (r, 2, out(1.0))]);
		for m in 0..2 {
			assert_ok!(submit(r, m, output(1.0)));
		}
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		assert_ok!(Inference::remove_model(RuntimeOrigin::signed(ALICE), model));
		assert!(HostedModels::<Test>::get(model).is_none());
		assert_eq!(Balances::balance_on_hold(&HoldReason::ModelDeposit.into(), &ALICE), 0);
		Inference::do_try_state().unwrap();
	});
}

/// A hosted model whose file the committee's nodes cannot get (every URL failed or served
/// other bytes) is rejected with that reason, and never takes requests.
#[test]
fn a_hosted_model_nobody_can_fetch_is_rejected_as_unavailable() {
	new_test_ext(3).execute_with(|| {
		let model = hosted_model(4096);
		let probe = NextRequestId::<Test>::get() - 1;
		let unavailable = Ans::Fail(FailureKind::ModelUnavailable);
		commit_all(&[(probe, 0, unavailable.clone()), (probe, 1, unavailable)]);
		assert_ok!(fail(probe, 0, FailureKind::ModelUnavailable));
		assert_ok!(fail(probe, 1, FailureKind::ModelUnavailable));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Rejected);
		System::assert_has_event(
			Event::ModelRejected {
				model,
				request_id: probe,
				kind: Some(FailureKind::ModelUnavailable),
			}
			.into(),
		);
		assert_noop!(
			Inference::request_inference(
				RuntimeOrigin::signed(BOB),
				model,
				input([1.0, 2.0]),
				FEE,
				None
			),
			Error::<Test>::ModelNotActive
		);
		assert!(FailureKind::ModelUnavailable.counts_against_model());
		Inference::do_try_state().unwrap();
	});
}

#[test]
fn register_hosted_model_errors() {
	new_test_ext(3).execute_with(|| {
		let register = |who: AccountId, code: H256, size: u32, list: ModelUrls| {
			Inference::register_hosted_model(
				RuntimeOrigin::signed(who),
				code,
				size,
				list,
				inputs(),
				outputs(),
				TOL,
				FEE,
				None,
			)
		};
		let code = hash(b"hosted");
		let good = urls(&["https://models.example/m.onnx"]);
		for bad in [
			urls(&[]),
			urls(&["ftp://models.example/m.onnx"]),
			urls(&["https://models.example/m.onnx", "file:///etc/passwd"]),
			urls(&["https://models.example/a b"]),
			urls(&["https://"]),
		] {
			assert_noop!(register(ALICE, code, 10, bad), Error::<Test>::BadModelUrl);
		}
		assert_noop!(register(ALICE, code, 0, good.clone()), Error::<Test>::EmptyModel);
		assert_noop!(
			register(ALICE, code, (2 << 30) + 1, good.clone()),
			Error::<Test>::ModelTooLarge
		);
		assert_noop!(register(POOR, code, 10, good.clone()), Error::<Test>::InsufficientBalance);
		assert_ok!(register(ALICE, code, 10, good.clone()));
		assert_noop!(
			register(ALICE, code, 10, good.clone()),
			Error::<Test>::ModelAlreadyRegistered
		);
		// Nothing of a refused registration stays (no model, URLs, hold or request).
		assert!(HostedModels::<Test>::iter().count() == 1);
		// The probe is an ordinary request: with no executors it cannot open, and nothing stays.
		Executors::<Test>::kill();
		let other = hash(b"other");
		assert_noop!(register(BOB, other, 10, good), Error::<Test>::NoExecutors);
		assert!(Models::<Test>::get(id_of(BOB, other)).is_none());
		Inference::do_try_state().unwrap();
	});
}

/// v0 → v1: each member's stored output bytes become its output's hash, the bytes kept once
/// per distinct output; the storage version moves to 1 and a second run does nothing.
#[test]
fn the_v1_migration_stores_outputs_once_by_hash() {
	use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};
	new_test_ext(3).execute_with(|| {
		StorageVersion::new(0).put::<Inference>();
		let (a, b) = (output(1.0), output(2.0));
		for (member, bytes) in [(0u32, &a), (1, &a), (2, &b)] {
			let key = Submissions::<Test>::hashed_key_for(7, member);
			frame_support::storage::unhashed::put(&key, &bytes.to_vec());
		}
		crate::migrations::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Inference::on_chain_storage_version(), StorageVersion::new(1));
		assert_eq!(Submissions::<Test>::get(7, 0), Some(output_hash(&a)));
		assert_eq!(Submissions::<Test>::get(7, 1), Some(output_hash(&a)));
		assert_eq!(Submissions::<Test>::get(7, 2), Some(output_hash(&b)));
		assert_eq!(SubmittedOutputs::<Test>::iter_prefix(7).count(), 2);
		assert_eq!(SubmittedOutputs::<Test>::get(7, output_hash(&b)).map(|o| o.to_vec()), Some(b));
		// Versioned: it runs once.
		crate::migrations::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Submissions::<Test>::get(7, 0), Some(output_hash(&a)));
	});
}
