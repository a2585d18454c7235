//! Re-execution checks (`verity verify --reexecute`) against the validators' engine and a model
//! `scripts/gen_models.py` wrote (`VERITY_TEST_MODELS`, set by `scripts/test.sh`): a result the
//! model does produce passes; a wrong output, however well hashed and signed, fails.
use codec::Encode;
use frame_support::BoundedVec;
use pallet_inference_rpc::views::{ModelView, ResultView};
use sp_core::H256;
use verity_client::check::{compare, compare_under, report};
use verity_engine::{library_path, Engine, EngineConfig};
use verity_primitives::{agreement::Tolerance, tensor};
use verity_runtime::{AccountId, InferenceModel, InferenceResult, Runtime};

struct Case {
	engine: &'static Engine,
	stored: InferenceModel,
	/// The model as `inference_getModel` shows it.
	model: ModelView,
	bytes: Vec<u8>,
	input: Vec<u8>,
	output: Vec<u8>,
}

fn case(tolerance: Tolerance) -> Case {
	let dir = std::path::PathBuf::from(std::env::var_os("VERITY_TEST_MODELS").expect(
		"VERITY_TEST_MODELS: the folder scripts/gen_models.py wrote (scripts/test.sh sets it)",
	));
	let bytes = std::fs::read(dir.join("mlp.onnx")).unwrap();
	let input = std::fs::read(dir.join("mlp.input.vtns")).unwrap();
	// One ONNX Runtime environment per process: the tests share the engine.
	static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
	let engine =
		ENGINE.get_or_init(|| Engine::new(EngineConfig::new(library_path(None).unwrap())).unwrap());
	let (inputs, outputs) = engine.open(&bytes).unwrap().specs().unwrap();
	let code_hash = H256(sp_crypto_hashing::blake2_256(&bytes));
	engine.load(&code_hash.0, &bytes).unwrap();
	let output = engine.run(&code_hash.0, &input).unwrap();
	let stored = InferenceModel {
		owner: AccountId::from([7u8; 32]),
		code_hash,
		size: bytes.len() as u32,
		uploaded: bytes.len() as u32,
		chunks: 1,
		inputs: BoundedVec::truncate_from(inputs),
		outputs: BoundedVec::truncate_from(outputs),
		tolerance,
		fee: 1_000,
		deposit: 0,
		status: pallet_inference::ModelStatus::Active,
		registered_at: 1,
	};
	let model = ModelView::new::<Runtime>(H256::zero(), &stored, None);
	Case { engine, stored, model, bytes, input, output }
}

/// The result the chain would store for `output`, consistently hashed, as
/// `inference_getResult` shows it.
fn result(case: &Case, output: Vec<u8>) -> ResultView {
	let m = &case.stored;
	let model = verity_primitives::model_id(
		&m.owner.encode(),
		&m.code_hash,
		&m.inputs,
		&m.outputs,
		&m.tolerance,
		m.fee,
	);
	let stored = InferenceResult {
		output_hash: H256(sp_crypto_hashing::blake2_256(&output)),
		output: BoundedVec::truncate_from(output),
		model,
		input_hash: H256(sp_crypto_hashing::blake2_256(&case.input)),
		attesters: BoundedVec::new(),
		dissenters: BoundedVec::new(),
		attested_at: 5,
		max_difference_e9: 0,
	};
	ResultView::new::<Runtime>(1, &stored)
}

fn failed(checks: &[(String, bool)]) -> Vec<&str> {
	checks.iter().filter(|(_, ok)| !ok).map(|(what, _)| what.as_str()).collect()
}

/// The engine's output with its last float moved by `delta`.
fn nudged(output: &[u8], delta: f32) -> Vec<u8> {
	let mut tensors = tensor::decode_owned(output, usize::MAX).unwrap();
	let data = &mut tensors[0].data;
	let at = data.len() - 4;
	let value = f32::from_le_bytes(data[at..].try_into().unwrap()) + delta;
	data[at..].copy_from_slice(&value.to_le_bytes());
	tensor::encode_owned(&tensors)
}

#[test]
fn the_models_own_output_passes_every_check() {
	let case = case(Tolerance { abs_e9: 0, rel_e9: 0 });
	let checks = compare(
		case.engine,
		&case.model,
		&case.bytes,
		&case.input,
		&result(&case, case.output.clone()),
	)
	.unwrap();
	assert_eq!(checks.len(), 5);
	assert!(failed(&checks).is_empty(), "{checks:?}");
	report(&checks).unwrap();
}

#[test]
fn a_wrong_output_fails_re_execution_although_its_hashes_match() {
	let case = case(Tolerance { abs_e9: 10_000, rel_e9: 0 });
	// A byzantine quorum's output: hashed and recorded consistently, only re-execution can tell.
	let wrong = result(&case, nudged(&case.output, 0.5));
	let checks = compare(case.engine, &case.model, &case.bytes, &case.input, &wrong).unwrap();
	let failed = failed(&checks);
	assert_eq!(failed.len(), 1, "{checks:?}");
	assert!(failed[0].starts_with("local re-execution"), "{failed:?}");
	assert!(failed[0].contains("disagrees with the result"), "{failed:?}");
	let last = tensor::decode_owned(&case.output, usize::MAX).unwrap()[0].data.len() / 4 - 1;
	let why = format!("element {last} of output tensor 0 differs beyond the tolerance");
	assert!(failed[0].ends_with(&why), "{failed:?}");
	let err = report(&checks).unwrap_err();
	assert!(err.contains("local re-execution"), "{err}");
	// Within the model's tolerance (1e-5) a different last bit is an agreeing result.
	let close = result(&case, nudged(&case.output, 1e-6));
	let checks = compare(case.engine, &case.model, &case.bytes, &case.input, &close).unwrap();
	assert!(report(&checks).is_ok(), "{checks:?}");
	// Not within a tolerance the request demanded (1e-7); a demand looser than the model's
	// cannot loosen the check.
	let tight = Some(Tolerance { abs_e9: 100, rel_e9: 0 });
	let checks =
		compare_under(case.engine, &case.model, &case.bytes, &case.input, &close, tight).unwrap();
	assert!(report(&checks).is_err(), "{checks:?}");
	let loose = Some(Tolerance { abs_e9: u64::MAX, rel_e9: u64::MAX });
	let checks =
		compare_under(case.engine, &case.model, &case.bytes, &case.input, &wrong, loose).unwrap();
	assert!(report(&checks).is_err(), "{checks:?}");
}

#[test]
fn a_result_that_does_not_match_its_model_input_or_hashes_fails() {
	let case = case(Tolerance { abs_e9: 0, rel_e9: 0 });
	let honest = result(&case, case.output.clone());
	let mut other_model = honest.clone();
	other_model.model = H256([1; 32]);
	let mut other_input = honest.clone();
	other_input.input_hash = H256([2; 32]);
	let mut other_output_hash = honest.clone();
	other_output_hash.output_hash = H256([3; 32]);
	let mut other_bytes = case.bytes.clone();
	*other_bytes.last_mut().unwrap() ^= 1;
	// A node that shows the model with another tolerance than its id pins.
	let mut looser = case.model.clone();
	looser.tolerance_abs_e9 = 1_000_000_000;
	let checks = compare(case.engine, &looser, &case.bytes, &case.input, &honest).unwrap();
	assert_eq!(failed(&checks).len(), 1, "{checks:?}");
	assert!(failed(&checks)[0].contains("the model id"), "{checks:?}");
	for (what, result, bytes) in [
		("the model id", &other_model, &case.bytes),
		("input hashes", &other_input, &case.bytes),
		("output hashes", &other_output_hash, &case.bytes),
		("model bytes hash", &honest, &other_bytes),
	] {
		// Changed model bytes do not even load (the engine checks them against the code hash):
		// an error, never a pass.
		match compare(case.engine, &case.model, bytes, &case.input, result) {
			Ok(checks) => {
				assert!(failed(&checks).iter().any(|f| f.contains(what)), "{what}: {checks:?}");
				assert!(report(&checks).is_err());
			}
			Err(e) => assert!(
				std::ptr::eq(bytes, &other_bytes) && e.contains("HashMismatch"),
				"{what}: {e}"
			),
		}
	}
}
