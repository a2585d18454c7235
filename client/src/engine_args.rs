//! Engine options of the command lines that run models (`verity verify --reexecute`,
//! `verity-node inference run|verify`): the validators' engine and settings, locally.
use std::{path::PathBuf, time::Duration};
use verity_engine::{library_path, Engine, EngineConfig};

#[derive(Debug, Clone, clap::Args)]
pub struct EngineArgs {
	/// Path of `libonnxruntime.so` (else `ORT_DYLIB_PATH`, else the folder scripts/setup.sh fills).
	#[arg(long, value_name = "PATH")]
	pub onnxruntime_lib: Option<PathBuf>,
	/// Threads inside one ONNX operator (validators use 1).
	#[arg(long, default_value_t = 1, value_name = "N")]
	pub inference_threads: usize,
	/// Longest run before it is terminated, in milliseconds.
	#[arg(long, default_value_t = 60_000, value_name = "MS")]
	pub max_inference_ms: u64,
}

impl EngineArgs {
	/// An engine with these settings and no output limit (a local run, not a validator's).
	pub fn engine(&self) -> Result<Engine, String> {
		let mut config = EngineConfig::new(library_path(self.onnxruntime_lib.as_deref())?);
		config.intra_threads = self.inference_threads;
		config.max_run = Duration::from_millis(self.max_inference_ms);
		config.max_output_bytes = usize::MAX;
		Engine::new(config)
	}
}
