//! Engine settings and where ONNX Runtime is found.
use std::{
	path::{Path, PathBuf},
	time::Duration,
};

/// Version of ONNX Runtime the engine is built and tested against (C API 31).
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";

/// Engine settings; the defaults are what validators run.
#[derive(Clone, Debug)]
pub struct EngineConfig {
	/// Path of `libonnxruntime.so.*`.
	pub library: PathBuf,
	/// Threads inside one operator. Every validator should use the same number.
	pub intra_threads: usize,
	/// Longest run before it is terminated.
	pub max_run: Duration,
	/// Sessions kept in memory (least recently used is dropped first).
	pub cache_capacity: usize,
	/// Models are kept here as `<hash>.onnx` so a restarted node need not fetch them again.
	pub model_dir: Option<PathBuf>,
	/// Most elements of one input tensor.
	pub max_input_elements: usize,
	/// Most bytes of the encoded output.
	pub max_output_bytes: usize,
	/// Apply ONNX Runtime's basic graph optimisations (constant folding, redundant node
	/// elimination), as validators do. Off only to test validators whose results differ in the
	/// last bits (another build or CPU): fused and unfused graphs round differently.
	pub optimize_graph: bool,
}

impl EngineConfig {
	/// Validator defaults for the library at `library`.
	pub fn new(library: PathBuf) -> Self {
		EngineConfig {
			library,
			intra_threads: 1,
			max_run: Duration::from_millis(2_000),
			cache_capacity: 8,
			model_dir: None,
			max_input_elements: 1 << 20,
			// The chain's `MaxOutputBytes` (1 MiB): a larger output is an agreed failure.
			max_output_bytes: 1024 * 1024,
			optimize_graph: true,
		}
	}

	/// Where a model is kept in the model folder (`<hash>.onnx`).
	pub fn model_file(&self, id: &[u8; 32]) -> Option<PathBuf> {
		self.model_dir
			.as_ref()
			.map(|d| d.join(format!("{}.onnx", sp_core::hexdisplay::HexDisplay::from(id))))
	}
}

/// Where the ONNX Runtime library is: `explicit` (the `--onnxruntime-lib` flag), else
/// `ORT_DYLIB_PATH`, else the folder `scripts/setup.sh` fills. The error names the fix.
pub fn library_path(explicit: Option<&Path>) -> Result<PathBuf, String> {
	let candidate =
		explicit
			.map(Path::to_path_buf)
			.or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
			.or_else(|| {
				let home = std::env::var_os("HOME")?;
				let cache = std::env::var_os("VERITY_CACHE")
					.map(PathBuf::from)
					.unwrap_or_else(|| PathBuf::from(home).join(".cache/verity"));
				Some(cache.join(format!(
					"onnxruntime/{v}/libonnxruntime.so.{v}",
					v = ONNXRUNTIME_VERSION
				)))
			})
			.ok_or_else(|| "cannot locate ONNX Runtime: HOME is not set".to_string())?;
	if candidate.is_file() {
		Ok(candidate)
	} else {
		Err(format!(
			"ONNX Runtime library not found at {}: run ./scripts/setup.sh (it installs \
			 libonnxruntime.so.{ONNXRUNTIME_VERSION} from the PyPI onnxruntime wheel), or pass \
			 --onnxruntime-lib PATH / set ORT_DYLIB_PATH",
			candidate.display()
		))
	}
}

/// What ONNX Runtime reads to start no telemetry: version 1.31 otherwise starts a 1DS
/// telemetry thread with an HTTP client, and writes a device-id database under
/// `~/.cache/Microsoft/DeveloperTools`, whatever `with_telemetry(false)` says. Workers get it in
/// their environment; [`disable_onnxruntime_telemetry`] sets it for a process that loads ONNX
/// Runtime itself.
pub const TELEMETRY_OFF: (&str, &str) = ("ORT_DISABLE_TELEMETRY", "1");

/// Sets [`TELEMETRY_OFF`] in this process's environment. Call it at the start of `main`, before
/// any thread exists (the environment is not thread-safe) and before ONNX Runtime is loaded.
pub fn disable_onnxruntime_telemetry() {
	std::env::set_var(TELEMETRY_OFF.0, TELEMETRY_OFF.1);
}
