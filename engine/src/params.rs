//! The engine options of every command line that runs models, with one set of defaults: the
//! running node (`verity-node`, flattened into its inference options), `verity-node inference
//! run|verify` and `verity verify --reexecute`. (Feature `cli`.)
use std::{path::PathBuf, time::Duration};

use crate::{library_path, Engine, EngineConfig};

/// Default time limit of one run, in milliseconds: what validators allow.
pub const DEFAULT_MAX_INFERENCE_MS: u64 = 2_000;

#[derive(Debug, Clone, clap::Args)]
pub struct EngineParams {
	/// Path of `libonnxruntime.so` (else `ORT_DYLIB_PATH`, else the folder scripts/setup.sh fills).
	#[arg(long, value_name = "PATH")]
	pub onnxruntime_lib: Option<PathBuf>,
	/// Threads inside one ONNX operator. Validators should all use the same value (default 1).
	#[arg(long, default_value_t = 1, value_name = "N")]
	pub inference_threads: usize,
	/// Longest model run before it is terminated, in milliseconds (validators' default).
	#[arg(long, default_value_t = DEFAULT_MAX_INFERENCE_MS, value_name = "MS")]
	pub max_inference_ms: u64,
}

impl EngineParams {
	/// Validator settings with these options (library, threads, time limit).
	pub fn config(&self) -> Result<EngineConfig, String> {
		let mut config = EngineConfig::new(library_path(self.onnxruntime_lib.as_deref())?);
		config.intra_threads = self.inference_threads;
		config.max_run = Duration::from_millis(self.max_inference_ms);
		Ok(config)
	}

	/// An engine in this process with these settings and no output limit (a local run, not a
	/// validator's).
	pub fn engine(&self) -> Result<Engine, String> {
		let mut config = self.config()?;
		config.max_output_bytes = usize::MAX;
		Engine::new(config)
	}
}
