//! A node without ONNX Runtime fails with an error that names the fix (separate process: the
//! library can be loaded once per process).
use verity_engine::{library_path, Engine, EngineConfig};

#[test]
fn missing_library_names_the_fix() {
	let err =
		library_path(Some(std::path::Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
	assert!(err.contains("./scripts/setup.sh"), "{err}");
	assert!(err.contains("--onnxruntime-lib"), "{err}");

	let not_a_library = std::env::temp_dir().join(format!("not-ort-{}.so", std::process::id()));
	std::fs::write(&not_a_library, b"not a shared library").unwrap();
	let err =
		Engine::new(EngineConfig::new(not_a_library.clone())).err().expect("loading garbage fails");
	assert!(err.contains("cannot load ONNX Runtime"), "{err}");
	let _ = std::fs::remove_file(not_a_library);
}
