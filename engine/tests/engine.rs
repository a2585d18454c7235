//! The engine on real ONNX models (scripts/gen_models.py), compared with Python onnxruntime.
mod common;

use common::*;
use std::time::Duration;
use verity_engine::{EngineError, InferenceEngine};
use verity_primitives::{
	agreement::compare_encoded,
	tensor::{self, decode_owned, encode_owned, Tensor},
};

const MODELS: [&str; 6] = ["linear", "mlp", "cnn", "argmax", "two_io", "heavy"];

fn load(engine: &verity_engine::Engine, name: &str) -> [u8; 32] {
	let bytes = read(&format!("{name}.onnx"));
	let id = hash(&bytes);
	engine.load(&id, &bytes).unwrap();
	id
}

#[test]
fn every_model_matches_python_onnxruntime() {
	let engine = engine();
	for name in MODELS {
		let id = load(engine, name);
		let output = engine.run(&id, &read(&format!("{name}.input.vtns"))).unwrap();
		let expected = read(&format!("{name}.expected.vtns"));
		assert_eq!(
			compare_encoded(&output, &expected, tolerance(name), 1 << 20),
			Ok(()),
			"{name}: engine output differs from Python onnxruntime"
		);
		// Same names, dtypes and shapes, in the model's output order.
		let got = decode_owned(&output, 1 << 20).unwrap();
		let want = decode_owned(&expected, 1 << 20).unwrap();
		let layout = |ts: &[Tensor]| {
			ts.iter().map(|t| (t.name.clone(), t.dtype, t.shape.clone())).collect::<Vec<_>>()
		};
		assert_eq!(layout(&got), layout(&want), "{name}");
	}
}

#[test]
fn integer_outputs_are_exact() {
	let engine = engine();
	let id = load(engine, "argmax");
	let output = engine.run(&id, &read("argmax.input.vtns")).unwrap();
	assert_eq!(output, read("argmax.expected.vtns"));
}

#[test]
fn runs_are_deterministic_on_one_machine() {
	let engine = engine();
	let id = load(engine, "mlp");
	let input = read("mlp.input.vtns");
	let first = engine.run(&id, &input).unwrap();
	for _ in 0..5 {
		assert_eq!(engine.run(&id, &input).unwrap(), first);
	}
}

#[test]
fn cache_hits_never_reload_and_evictions_reload_from_the_model_folder() {
	let dir = std::env::temp_dir().join(format!("verity-model-cache-{}", std::process::id()));
	let engine = engine_with(|c| {
		c.cache_capacity = 2;
		c.model_dir = Some(dir.clone());
	});
	std::fs::create_dir_all(&dir).unwrap();
	let ids: Vec<[u8; 32]> = ["linear", "mlp", "cnn"].iter().map(|m| load(&engine, m)).collect();
	assert_eq!(engine.session_loads(), 3);
	// cnn and mlp are cached: running them loads nothing.
	engine.run(&ids[2], &read("cnn.input.vtns")).unwrap();
	engine.run(&ids[1], &read("mlp.input.vtns")).unwrap();
	assert_eq!(engine.session_loads(), 3);
	// linear was evicted; it comes back from the model folder (hash-checked).
	assert!(engine.has_model(&ids[0]));
	engine.run(&ids[0], &read("linear.input.vtns")).unwrap();
	assert_eq!(engine.session_loads(), 4);
	// A tampered file in the folder is refused and removed.
	let cnn_file = dir.join(format!("{}.onnx", sp_core::hexdisplay::HexDisplay::from(&ids[2])));
	let fresh = engine_with(|c| c.model_dir = Some(dir.clone()));
	std::fs::write(&cnn_file, b"tampered").unwrap();
	assert_eq!(fresh.run(&ids[2], &read("cnn.input.vtns")), Err(EngineError::HashMismatch));
	assert!(!cnn_file.exists());
	// Without a model folder an evicted model must be loaded again.
	let small = engine_with(|c| {
		c.cache_capacity = 1;
		c.model_dir = None;
	});
	let a = load(&small, "linear");
	load(&small, "mlp");
	assert!(!small.has_model(&a));
	assert_eq!(small.run(&a, &read("linear.input.vtns")), Err(EngineError::ModelNotLoaded));
	let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn limits_end_runs_with_errors() {
	// Time: the heavy model on a batch of 1024 rows takes tens of milliseconds on any CPU, far
	// beyond 1 ms (and its 1 MiB output would exceed the output limit if it were not stopped).
	let fast = engine_with(|c| c.max_run = Duration::from_millis(1));
	let id = load(&fast, "heavy");
	let big_batch =
		encode_owned(&[Tensor::from_f32("x", vec![1024, 256], &vec![0.25; 1024 * 256])]);
	assert_eq!(fast.run(&id, &big_batch), Err(EngineError::Timeout));
	// Input elements.
	let tight = engine_with(|c| c.max_input_elements = 3);
	let id = load(&tight, "linear");
	assert_eq!(tight.run(&id, &read("linear.input.vtns")), Err(EngineError::TooLarge));
	// Output bytes.
	let tiny = engine_with(|c| c.max_output_bytes = 10);
	let id = load(&tiny, "mlp");
	assert_eq!(tiny.run(&id, &read("mlp.input.vtns")), Err(EngineError::TooLarge));
}

#[test]
fn malformed_models_and_inputs_are_errors() {
	let engine = engine();
	let garbage = b"definitely not an onnx model".to_vec();
	assert_eq!(engine.load(&hash(&garbage), &garbage), Err(EngineError::BadModel));
	let linear = read("linear.onnx");
	assert_eq!(engine.load(&[0u8; 32], &linear), Err(EngineError::HashMismatch));
	assert_eq!(
		engine.run(&[9u8; 32], &read("linear.input.vtns")),
		Err(EngineError::ModelNotLoaded)
	);
	let id = load(engine, "linear");
	assert_eq!(engine.run(&id, b"junk"), Err(EngineError::BadInput));
	let wrong = |t: Tensor| engine.run(&id, &encode_owned(&[t]));
	assert_eq!(wrong(Tensor::from_f32("nope", vec![1, 4], &[0.0; 4])), Err(EngineError::BadInput));
	assert_eq!(wrong(Tensor::from_i64("x", vec![1, 4], &[0; 4])), Err(EngineError::BadInput));
	assert_eq!(wrong(Tensor::from_f32("x", vec![1, 3], &[0.0; 3])), Err(EngineError::BadInput));
	assert_eq!(wrong(Tensor::from_f32("x", vec![4], &[0.0; 4])), Err(EngineError::BadInput));
	assert_eq!(engine.run(&id, &tensor::encode_owned(&[])), Err(EngineError::BadInput));
	// The dynamic batch dimension accepts other batch sizes.
	let batch =
		engine.run(&id, &encode_owned(&[Tensor::from_f32("x", vec![3, 4], &[0.5; 12])])).unwrap();
	assert_eq!(decode_owned(&batch, 64).unwrap()[0].shape, vec![3, 1]);
}

mod fuzz {
	use super::*;
	use proptest::prelude::*;

	proptest! {
		#![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

		/// Random bytes, and real models with random bytes flipped, never panic the loader.
		#[test]
		fn loader_never_panics(garbage in proptest::collection::vec(any::<u8>(), 0..512), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
			let engine = engine();
			let _ = engine.load(&hash(&garbage), &garbage);
			let mut model = read("mlp.onnx");
			for (at, byte) in flips {
				let len = model.len();
				model[at % len] ^= byte | 1;
			}
			let id = hash(&model);
			if engine.load(&id, &model).is_ok() {
				let _ = engine.run(&id, &read("mlp.input.vtns"));
			}
		}

		/// Random inputs never panic a run.
		#[test]
		fn runs_never_panic_on_garbage_input(garbage in proptest::collection::vec(any::<u8>(), 0..256)) {
			let engine = engine();
			let id = load(engine, "linear");
			let mut input = b"VTNS\x01\x01".to_vec();
			input.extend(garbage.iter());
			prop_assert!(engine.run(&id, &garbage).is_err() || tensor::decode(&garbage, 1 << 20).is_ok());
			let _ = engine.run(&id, &input);
		}
	}
}
