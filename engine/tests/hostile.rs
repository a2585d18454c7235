//! Hostile model files (scripts/gen_models.py writes them to `hostile/`): each is refused before
//! ONNX Runtime reads it, with the screen's reason, and the engine keeps serving normal models.
mod common;

use common::*;
use verity_engine::{screen_model, EngineError, InferenceEngine, ScreenError};

/// The file `hostile/external_relative.onnx` names as its external data (relative path).
const PROBE_FILE: &str = "verity-probe.bin";

fn hostile(name: &str) -> Vec<u8> {
	read(&format!("hostile/{name}.onnx"))
}

/// Removes the probe file however the test ends.
struct Remove(std::path::PathBuf);
impl Drop for Remove {
	fn drop(&mut self) {
		let _ = std::fs::remove_file(&self.0);
	}
}

/// A model whose initializer is "external data" at a relative path: ONNX Runtime alone reads it
/// from the process's working directory (a validator's keystore, when the node runs from its
/// base path) and the model outputs it. Here the file exists, so only the screen stops it.
#[test]
fn external_data_never_reads_the_validators_files() {
	let probe = std::env::current_dir().unwrap().join(PROBE_FILE);
	std::fs::write(&probe, b"SECRET-KEYSTORE!").unwrap();
	let _cleanup = Remove(probe);
	for name in ["external_relative", "external_absolute", "external_parent"] {
		let bytes = hostile(name);
		assert_eq!(
			screen_model(&bytes),
			Err(ScreenError::ExternalData { tensor: "secret".into() }),
			"{name}"
		);
		let id = hash(&bytes);
		assert_eq!(engine().load(&id, &bytes), Err(EngineError::BadModel), "{name}");
		assert!(!engine().has_model(&id));
		assert_eq!(engine().open(&bytes).err(), Some(EngineError::BadModel));
	}
}

#[test]
fn unknown_domains_and_broken_files_are_refused_with_their_reason() {
	let unknown = hostile("unknown_domain");
	assert_eq!(
		screen_model(&unknown),
		Err(ScreenError::Domain { domain: "com.example".into(), op: "(opset import)".into() })
	);
	for name in ["truncated", "random"] {
		assert!(matches!(screen_model(&hostile(name)), Err(ScreenError::Malformed(_))), "{name}");
	}
	for name in ["unknown_domain", "truncated", "random"] {
		let bytes = hostile(name);
		assert_eq!(engine().load(&hash(&bytes), &bytes), Err(EngineError::BadModel), "{name}");
	}
	// After the refusals the engine runs a normal model as before.
	let linear = read("linear.onnx");
	let id = hash(&linear);
	engine().load(&id, &linear).unwrap();
	assert!(engine().run(&id, &read("linear.input.vtns")).is_ok());
}

/// The screen's limits are those of the pinned ONNX Runtime, not stricter: the newest IR version
/// and `ai.onnx` opset it supports load and run.
#[test]
fn the_newest_supported_versions_pass_the_screen() {
	let bytes = hostile("opset_max");
	assert_eq!(screen_model(&bytes), Ok(()));
	let id = hash(&bytes);
	engine().load(&id, &bytes).expect("ONNX Runtime loads the newest supported opset");
	let input =
		verity_primitives::tensor::encode_owned(&[verity_primitives::tensor::Tensor::from_f32(
			"x",
			vec![1],
			&[-2.0],
		)]);
	let output = engine().run(&id, &input).unwrap();
	let out = verity_primitives::tensor::decode_owned(&output, 16).unwrap();
	assert_eq!(out[0].name, "y");
}
