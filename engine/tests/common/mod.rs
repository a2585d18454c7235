//! Shared helpers: the generated test models and one engine per test process.
#![allow(dead_code)]
use std::{path::PathBuf, process::Command, sync::OnceLock};
use verity_engine::{library_path, Engine, EngineConfig};

/// Folder of the models made by scripts/gen_models.py (generated once per test process unless
/// `VERITY_TEST_MODELS` names a folder that has them).
pub fn models() -> &'static PathBuf {
	static DIR: OnceLock<PathBuf> = OnceLock::new();
	DIR.get_or_init(|| {
		if let Some(dir) = std::env::var_os("VERITY_TEST_MODELS").map(PathBuf::from) {
			if dir.join("linear.onnx").is_file() {
				return dir;
			}
		}
		let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
		let dir = std::env::temp_dir().join(format!("verity-models-{}", std::process::id()));
		let venv = std::env::var_os("VERITY_VENV").map(PathBuf::from).unwrap_or_else(|| {
			PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/verity/venv")
		});
		let status = Command::new(venv.join("bin/python"))
			.arg(root.join("scripts/gen_models.py"))
			.arg(&dir)
			.status()
			.expect("run scripts/gen_models.py (run ./scripts/setup.sh first)");
		assert!(status.success(), "gen_models.py failed");
		dir
	})
}

pub fn read(name: &str) -> Vec<u8> {
	std::fs::read(models().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn hash(bytes: &[u8]) -> [u8; 32] {
	sp_crypto_hashing::blake2_256(bytes)
}

/// The process-wide engine (ONNX Runtime allows one environment per process).
pub fn engine() -> &'static Engine {
	static ENGINE: OnceLock<Engine> = OnceLock::new();
	ENGINE.get_or_init(|| {
		let lib = library_path(None).expect("ONNX Runtime library (run ./scripts/setup.sh)");
		Engine::new(EngineConfig::new(lib)).expect("engine starts")
	})
}

/// An engine with other settings on the shared environment.
pub fn engine_with(f: impl FnOnce(&mut EngineConfig)) -> Engine {
	let mut config = engine().config().clone();
	f(&mut config);
	engine().sibling(config)
}

/// Tolerance of a generated model, from its JSON spec.
pub fn tolerance(name: &str) -> verity_primitives::agreement::Tolerance {
	let spec = String::from_utf8(read(&format!("{name}.json"))).unwrap();
	let field = |key: &str| -> u64 {
		let at = spec.find(&format!("\"{key}\": ")).unwrap() + key.len() + 4;
		spec[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap()
	};
	verity_primitives::agreement::Tolerance { abs_e9: field("abs_e9"), rel_e9: field("rel_e9") }
}
