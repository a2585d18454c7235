//! The off-chain worker in Rust, as `pallet-example-offchain-worker` tests its own: the test
//! off-chain externalities (clock, persistent storage, random seed), a test transaction pool, a
//! keystore holding executor 0's `infr` key, and a stand-in engine behind the real `inference`
//! host functions. What the worker puts in the pool is decoded and dispatched through the same
//! `authorize` path as the pool's.
use super::*;
use codec::Decode;
use sp_core::offchain::{
	testing::{OffchainState, PoolState, TestOffchainExt, TestTransactionPoolExt},
	OffchainDbExt, OffchainWorkerExt, TransactionPoolExt,
};
use sp_keystore::Keystore;
use std::sync::{
	atomic::{AtomicU32, Ordering},
	Arc, Mutex,
};
use verity_primitives::host::{
	EngineError, FetchStatus, InferenceEngine, InferenceExt, ModelFetch, ModelFetchExt, RunProfile,
};

type Shared<S> = Arc<parking_lot::RwLock<S>>;
type EngineAnswer = Result<Vec<u8>, EngineError>;

/// What the stand-in engine measured of every run.
const MEASURED: RunProfile =
	RunProfile { load_micros: 11, run_micros: 22_000, peak_memory_kib: 33 };

/// Answers every run with `output`; counts runs, records the budget of each, and moves the
/// off-chain clock on by `step_millis` per run (a run takes time).
struct FakeEngine {
	output: Mutex<EngineAnswer>,
	runs: AtomicU32,
	budgets: Mutex<Vec<u32>>,
	clock: Shared<OffchainState>,
	step_millis: AtomicU32,
}

impl InferenceEngine for FakeEngine {
	fn has_model(&self, _: &[u8; 32]) -> bool {
		true
	}

	fn load_model(&self, _: &[u8; 32], _: &[u8]) -> Result<(), EngineError> {
		Ok(())
	}

	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.run_measured(model, input, 0).map(|(output, _)| output)
	}

	fn run_measured(
		&self,
		_: &[u8; 32],
		_: &[u8],
		max_millis: u32,
	) -> Result<(Vec<u8>, RunProfile), EngineError> {
		self.runs.fetch_add(1, Ordering::SeqCst);
		self.budgets.lock().unwrap().push(max_millis);
		let step = self.step_millis.load(Ordering::SeqCst);
		let mut clock = self.clock.write();
		clock.timestamp =
			clock.timestamp.add(sp_core::offchain::Duration::from_millis(step.into()));
		self.output.lock().unwrap().clone().map(|output| (output, MEASURED))
	}
}

/// The test's view of the worker's surroundings.
struct Harness {
	pool: Shared<PoolState>,
	engine: Arc<FakeEngine>,
}

impl Harness {
	/// The Inference calls the worker put in the pool since the last look.
	fn pooled(&self) -> Vec<Call<Test>> {
		core::mem::take(&mut self.pool.write().transactions)
			.into_iter()
			.map(|raw| match Extrinsic::decode(&mut &raw[..]).expect("an extrinsic").function {
				RuntimeCall::Inference(call) => call,
				other => panic!("not an Inference call: {other:?}"),
			})
			.collect()
	}

	fn runs(&self) -> u32 {
		self.engine.runs.load(Ordering::SeqCst)
	}
}

/// `new_test_ext(3)` with the off-chain extensions, executor 0's key in the keystore and an
/// engine that answers `output(1.0)`; the worker's salts are `salt(0)`.
fn ocw_ext() -> (sp_io::TestExternalities, Harness) {
	ocw_ext_of(0)
}

/// [`ocw_ext`] with executor `executor`'s key (its salts are `salt(executor)`).
fn ocw_ext_of(executor: u8) -> (sp_io::TestExternalities, Harness) {
	let mut ext = new_test_ext(3);
	let (offchain, clock) = TestOffchainExt::new();
	clock.write().seed = salt(executor);
	let (pool, pool_state) = TestTransactionPoolExt::new();
	let keystore = sp_keystore::testing::MemoryKeystore::new();
	let seed = format!("0x{}", sp_core::hexdisplay::HexDisplay::from(&[executor + 1; 32]));
	let key =
		keystore.sr25519_generate_new(verity_primitives::INFERENCE_KEY_TYPE, Some(&seed)).unwrap();
	assert_eq!(InferenceAuthorityId::from(key), executor_key(executor));
	let engine = Arc::new(FakeEngine {
		output: Mutex::new(Ok(output(1.0))),
		runs: AtomicU32::new(0),
		budgets: Mutex::new(Vec::new()),
		clock: clock.clone(),
		step_millis: AtomicU32::new(10),
	});
	ext.register_extension(OffchainDbExt::new(offchain.clone()));
	ext.register_extension(OffchainWorkerExt::new(offchain));
	ext.register_extension(TransactionPoolExt::new(pool));
	ext.register_extension(sp_keystore::KeystoreExt::new(keystore));
	ext.register_extension(InferenceExt::new(engine.clone()));
	(ext, Harness { pool: pool_state, engine })
}

/// Dispatches what the worker sent, through the pool's checks.
fn dispatch(call: Call<Test>) {
	match call {
		Call::commit_answers { batch, signature } => {
			Inference::authorize_commit_answers(TransactionSource::External, &batch, &signature)
				.expect("a valid commit batch");
			assert_ok!(Inference::commit_answers(RawOrigin::Authorized.into(), batch, signature));
		}
		Call::reveal_answers { batch, signature } => {
			authorize_reveals(&batch, &signature).expect("a valid reveal batch");
			assert_ok!(Inference::reveal_answers(RawOrigin::Authorized.into(), batch, signature));
		}
		other => panic!("unexpected call {other:?}"),
	}
}

/// The commitments of a commit batch.
fn commitments(call: &Call<Test>) -> Vec<(RequestId, H256)> {
	match call {
		Call::commit_answers { batch, .. } => batch.commitments.to_vec(),
		other => panic!("not a commit batch: {other:?}"),
	}
}

/// The reveals of a reveal batch.
fn reveals(call: &Call<Test>) -> Vec<Reveal<<Test as Config>::MaxOutputBytes>> {
	match call {
		Call::reveal_answers { batch, .. } => batch.reveals.to_vec(),
		other => panic!("not a reveal batch: {other:?}"),
	}
}

fn offchain_worker() {
	Inference::offchain_worker(System::block_number());
}

/// Run, commit, reveal: the worker runs a request once (a second off-chain-worker run in the
/// same block finds it claimed), commits to its salted answer in one batch, and reveals the
/// output once the commit phase is over.
#[test]
fn the_worker_runs_once_commits_then_reveals() {
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		offchain_worker();
		let sent = harness.pooled();
		assert_eq!(sent.len(), 1);
		assert_eq!(commitments(&sent[0]), vec![(r, commitment_of(r, 0, &out(1.0)))]);
		assert_eq!(harness.runs(), 1);
		// An overlapping run in the same block: claimed, nothing runs or goes out again.
		offchain_worker();
		assert!(harness.pooled().is_empty());
		assert_eq!(harness.runs(), 1);
		dispatch(sent.into_iter().next().unwrap());
		for m in [1, 2] {
			assert_ok!(commit(m, vec![(r, commitment_of(r, m, &out(1.0)))]));
		}
		run_to(System::block_number() + 1);
		offchain_worker();
		let sent = harness.pooled();
		assert_eq!(sent.len(), 1);
		assert_eq!(
			reveals(&sent[0]),
			vec![Reveal::Result {
				request_id: r,
				output: BoundedVec::try_from(output(1.0)).unwrap(),
				salt: salt(0),
				profile: None,
			}]
		);
		dispatch(sent.into_iter().next().unwrap());
		assert_ok!(submit(r, 1, output(1.0)));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
		assert_eq!(harness.runs(), 1, "revealing ran nothing");
		// The kept answer is forgotten once the request ended: nothing more goes out.
		run_to(System::block_number() + 1);
		offchain_worker();
		assert!(harness.pooled().is_empty());
	});
}

/// A commitment that did not land (the pool lost it) is sent again one block later from the
/// kept answer, without running the model again; a claim expires after `ResubmitAfter`.
#[test]
fn a_lost_commitment_is_sent_again_without_running_again() {
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		let model = active_model(10);
		let r = request(model);
		offchain_worker();
		let first = harness.pooled();
		assert_eq!(first.len(), 1, "committed");
		// The transaction never lands. Next block: the same commitment again, no new run.
		run_to(System::block_number() + 1);
		offchain_worker();
		let again = harness.pooled();
		assert_eq!(again.len(), 1);
		assert_eq!(commitments(&again[0]), commitments(&first[0]));
		assert_eq!(harness.runs(), 1);
		dispatch(again.into_iter().next().unwrap());
		assert!(Commitments::<Test>::contains_key(r, 0));
	});
}

/// What the model gives that the chain would refuse is committed to as an agreed failure of
/// its kind: an output over `MaxOutputBytes`, or one off the model's spec; an engine failure the
/// model causes (a timeout) likewise. The node's own problems (no engine) are reported to nobody.
#[test]
fn bad_outputs_and_model_failures_are_committed_as_failures() {
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		let model = active_model(10);
		// What the engine says, and the failure committed to (`None`: nothing).
		let cases: Vec<(EngineAnswer, Option<FailureKind>)> = vec![
			(Ok(vec![0; 300]), Some(FailureKind::OutputTooLarge)),
			(
				Ok(encode_owned(&[Tensor::from_f32("z", vec![1, 1], &[1.0])])),
				Some(FailureKind::OutputMismatch),
			),
			(Err(EngineError::Timeout), Some(FailureKind::Timeout)),
			(Err(EngineError::Unavailable), None),
		];
		for (engine_says, expected) in cases {
			*harness.engine.output.lock().unwrap() = engine_says;
			let r = request(model);
			offchain_worker();
			let sent = harness.pooled();
			match expected {
				Some(kind) => assert_eq!(
					commitments(&sent[0]),
					vec![(r, commitment_of(r, 0, &Ans::Fail(kind)))],
					"{kind:?}"
				),
				None => assert!(sent.is_empty(), "a local problem is nobody's answer"),
			}
			run_to(System::block_number() + DEFAULT_TIMEOUT + 2);
		}
	});
}

/// The worker starts no run after `MaxOffchainMillis` of wall-clock time: with runs of 1.1 s
/// and a 2 s budget, two of three requests run in this block and the third in the next.
#[test]
fn runs_stop_at_the_time_budget_and_the_rest_waits() {
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		let model = active_model(10);
		let ids: Vec<RequestId> = (0..3).map(|_| request(model)).collect();
		harness.engine.step_millis.store(1_100, Ordering::SeqCst);
		offchain_worker();
		let committed: Vec<RequestId> =
			harness.pooled().iter().flat_map(commitments).map(|(id, _)| id).collect();
		assert_eq!(committed, ids[..2].to_vec());
		assert_eq!(harness.runs(), 2);
		run_to(System::block_number() + 1);
		offchain_worker();
		let committed: Vec<RequestId> =
			harness.pooled().iter().flat_map(commitments).map(|(id, _)| id).collect();
		assert!(committed.contains(&ids[2]), "{committed:?}");
		assert_eq!(harness.runs(), 3);
	});
}

/// A readiness probe runs within the node's own limit (budget 0) and its reveal carries what
/// the run cost; once the model is active, its runs get the budget its profile sets.
#[test]
fn a_probe_reports_its_cost_and_later_runs_get_the_profiles_budget() {
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		let model = uploaded_model(10);
		let probe = NextRequestId::<Test>::get() - 1;
		offchain_worker();
		let sent = harness.pooled();
		dispatch(sent.into_iter().next().unwrap());
		for m in [1, 2] {
			assert_ok!(commit(m, vec![(probe, commitment_of(probe, m, &out(1.0)))]));
		}
		run_to(System::block_number() + 1);
		offchain_worker();
		let sent = harness.pooled();
		let Reveal::Result { profile, .. } = &reveals(&sent[0])[0] else { panic!("a result") };
		assert_eq!(*profile, Some(MEASURED));
		dispatch(sent.into_iter().next().unwrap());
		assert_ok!(submit_profiled(probe, 1, output(1.0), Some(PROFILE)));
		assert_eq!(Models::<Test>::get(model).unwrap().status, ModelStatus::Active);
		let budget = ModelProfiles::<Test>::get(model).unwrap().run_budget_millis();
		// The upper median of 22 ms and 40 ms: 40 ms, so 800 ms per run.
		assert_eq!(budget, 800);
		request(model);
		offchain_worker();
		assert_eq!(*harness.engine.budgets.lock().unwrap(), vec![0, budget]);
		let sent = harness.pooled();
		assert_eq!(commitments(&sent[0]).len(), 1);
	});
}

/// What the worker asked the node's downloads: code hash, size, URLs.
type Asked = ([u8; 32], u64, Vec<Vec<u8>>);

/// The node's downloads as the worker sees them: a fixed status, and what it was asked.
#[derive(Default)]
struct FakeFetch {
	status: Mutex<Option<FetchStatus>>,
	asked: Mutex<Vec<Asked>>,
}

impl ModelFetch for FakeFetch {
	fn status(&self, code_hash: &[u8; 32], size: u64, urls: &[Vec<u8>]) -> FetchStatus {
		self.asked.lock().unwrap().push((*code_hash, size, urls.to_vec()));
		self.status.lock().unwrap().clone().expect("a status set by the test")
	}
}

fn with_fetch(status: FetchStatus) -> (sp_io::TestExternalities, Harness, Arc<FakeFetch>) {
	let (mut ext, harness) = ocw_ext();
	let fetch = Arc::new(FakeFetch { status: Mutex::new(Some(status)), ..Default::default() });
	ext.register_extension(ModelFetchExt::new(fetch.clone()));
	(ext, harness, fetch)
}

/// A hosted model's probe waits, unclaimed, while the node fetches the file (nothing runs or
/// goes out), and runs in the first block after the file is in.
#[test]
fn a_hosted_model_runs_once_the_node_holds_its_file() {
	let (mut ext, harness, fetch) = with_fetch(FetchStatus::Fetching { received: 10 });
	ext.execute_with(|| {
		let probe_model = hosted_model(4096);
		let probe = NextRequestId::<Test>::get() - 1;
		for _ in 0..3 {
			offchain_worker();
			assert!(harness.pooled().is_empty());
			run_to(System::block_number() + 1);
		}
		assert_eq!(harness.runs(), 0);
		let asked = fetch.asked.lock().unwrap().clone();
		assert_eq!(asked.len(), 3);
		assert_eq!(
			asked[0],
			(hash(b"hosted").0, 4096, vec![b"https://models.example/m.onnx".to_vec()])
		);
		*fetch.status.lock().unwrap() = Some(FetchStatus::Ready);
		offchain_worker();
		let sent = harness.pooled();
		assert_eq!(commitments(&sent[0]), vec![(probe, commitment_of(probe, 0, &out(1.0)))]);
		assert_eq!(harness.runs(), 1);
		assert_eq!(Models::<Test>::get(probe_model).unwrap().status, ModelStatus::Probing);
	});
}

/// A node that cannot get the file (every URL failed, or served other bytes) commits to the
/// failure `ModelUnavailable` without running anything; a node that does not fetch at all (no
/// extension: not a validator's worker) sends nothing.
#[test]
fn a_hosted_model_the_node_cannot_fetch_is_answered_unavailable() {
	let (mut ext, harness, _) = with_fetch(FetchStatus::Failed);
	ext.execute_with(|| {
		hosted_model(4096);
		let probe = NextRequestId::<Test>::get() - 1;
		offchain_worker();
		let sent = harness.pooled();
		let unavailable = Ans::Fail(FailureKind::ModelUnavailable);
		assert_eq!(commitments(&sent[0]), vec![(probe, commitment_of(probe, 0, &unavailable))]);
		assert_eq!(harness.runs(), 0);
	});
	let (mut ext, harness) = ocw_ext();
	ext.execute_with(|| {
		hosted_model(4096);
		offchain_worker();
		assert!(harness.pooled().is_empty());
		assert_eq!(harness.runs(), 0);
	});
}

/// Runs `test` as executor 1's worker (not the first member) whose engine answers a large
/// output: 1,500 f32 values, ~6 KB, over the 4 KiB that are always revealed at once
/// (`MaxOutputBytes` is 16 KiB meanwhile). `test` gets the harness, the output and an active
/// model.
fn with_large_output(test: impl FnOnce(&Harness, Vec<u8>, ModelId)) {
	MaxOutputBytes::set(16 * 1024);
	let (mut ext, harness) = ocw_ext_of(1);
	ext.execute_with(|| {
		let values: Vec<f32> = (0..1500).map(|i| i as f32).collect();
		let large = encode_owned(&[Tensor::from_f32("y", vec![1500, 1], &values)]);
		let model = active_model(10);
		*harness.engine.output.lock().unwrap() = Ok(large.clone());
		test(&harness, large, model);
	});
	MaxOutputBytes::set(256);
}

/// A large output goes on chain once per request: a member after the first one that committed
/// holds its reveal back a block; then it reveals the first member's identical output by
/// reference, or its own bytes when nothing identical came.
#[test]
fn a_large_output_waits_a_block_and_goes_by_reference() {
	with_large_output(|harness, large, model| {
		let (r, s) = (request(model), request(model));
		offchain_worker();
		for call in harness.pooled() {
			dispatch(call);
		}
		for m in [0, 2] {
			let answer = Ans::Out(large.clone());
			assert_ok!(commit(
				m,
				vec![(r, commitment_of(r, m, &answer)), (s, commitment_of(s, m, &answer))]
			));
		}
		run_to(System::block_number() + 1);
		offchain_worker();
		assert!(harness.pooled().is_empty(), "member 1 waits for member 0's bytes");
		// Member 0 reveals its bytes for `r` only.
		assert_ok!(reveal(0, vec![(r, Ans::Out(large.clone()))]));
		run_to(System::block_number() + 1);
		offchain_worker();
		let sent = harness.pooled();
		assert_eq!(sent.len(), 1);
		assert_eq!(
			reveals(&sent[0]),
			vec![
				Reveal::SameOutput {
					request_id: r,
					output_hash: output_hash(&large),
					len: large.len() as u32,
					salt: salt(1),
					profile: None,
				},
				Reveal::Result {
					request_id: s,
					output: BoundedVec::try_from(large.clone()).unwrap(),
					salt: salt(1),
					profile: None,
				},
			]
		);
		dispatch(sent.into_iter().next().unwrap());
		let result = Results::<Test>::get(r).expect("attested");
		assert_eq!(result.output.to_vec(), large);
		assert_eq!(result.attesters.len(), 2);
		assert_eq!(SubmittedOutputs::<Test>::iter_prefix(s).count(), 1);
	});
}

/// Holding a large output back never makes a reveal miss the deadline: with a timeout of two
/// blocks (one to commit in, one to reveal in) every member reveals its bytes at once.
#[test]
fn a_large_output_is_not_held_back_past_the_deadline() {
	with_large_output(|harness, large, model| {
		let r = request_timed(model, Some(2));
		offchain_worker();
		for call in harness.pooled() {
			dispatch(call);
		}
		for m in [0, 2] {
			assert_ok!(commit(m, vec![(r, commitment_of(r, m, &Ans::Out(large.clone())))]));
		}
		run_to(System::block_number() + 1);
		offchain_worker();
		let sent = harness.pooled();
		assert_eq!(sent.len(), 1, "revealed at once: a block later would be past the deadline");
		assert!(
			matches!(&reveals(&sent[0])[..], [Reveal::Result { request_id, .. }] if *request_id == r)
		);
		dispatch(sent.into_iter().next().unwrap());
		assert_ok!(reveal(0, vec![(r, Ans::Same(large.clone()))]));
		assert_eq!(Requests::<Test>::get(r).unwrap().status, RequestStatus::Attested);
	});
}
