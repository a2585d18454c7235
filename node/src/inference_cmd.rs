//! `verity-node inference run|verify`: anyone can run a model, or re-execute a finalized result,
//! with exactly the engine and settings validators use.
use std::{
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};
use verity_client::{formats, rpc::hex};
use verity_engine::{
	library_path,
	worker::{PoolConfig, WorkerPool, WorkerSpec},
	EngineConfig, InferenceEngine,
};
use verity_primitives::tensor;

pub use verity_client::engine_args::EngineArgs;

/// `verity-node inference ...`
#[derive(Debug, clap::Subcommand)]
pub enum InferenceCmd {
	/// Run a model on input files and print (and optionally write) its outputs.
	Run {
		/// The `.onnx` file.
		#[arg(long)]
		model: PathBuf,
		/// `NAME=FILE` or a bare `FILE` (bare files fill the model's inputs in order). Files:
		/// `.npy`, `.pb` (ONNX TensorProto), `.json`, or `.vtns` (all tensors at once).
		#[arg(long = "input", value_name = "[NAME=]FILE")]
		inputs: Vec<String>,
		/// Write every output as `<name>.pb` and `<name>.npy` (and `outputs.vtns`) here.
		#[arg(long)]
		output_dir: Option<PathBuf>,
		#[clap(flatten)]
		engine: EngineArgs,
	},
	/// Re-execute a finalized request from a node's state and compare under the model's
	/// tolerance. Exits non-zero on any mismatch.
	Verify {
		/// The request id.
		#[arg(long)]
		request: u64,
		/// HTTP JSON-RPC endpoint of a node.
		#[arg(long, default_value = "http://127.0.0.1:9944")]
		rpc: String,
		#[clap(flatten)]
		engine: EngineArgs,
	},
}

impl InferenceCmd {
	/// Runs the sub-command.
	pub fn run(&self) -> sc_cli::Result<()> {
		let result = match self {
			InferenceCmd::Run { model, inputs, output_dir, engine } => {
				run_model(model, inputs, output_dir.as_ref(), engine)
			}
			InferenceCmd::Verify { request, rpc, engine } => verify(*request, rpc, engine),
		};
		result.map_err(sc_cli::Error::Input)
	}
}

/// The engine of a running node, if it should run models: validators unless `--no-inference`.
/// Models run in worker processes (`verity-node inference-worker`, see
/// `verity_engine::worker`), never in the node.
pub fn node_engine(
	params: &crate::cli::InferenceParams,
	config: &sc_service::Configuration,
) -> Result<Option<Arc<dyn InferenceEngine>>, sc_cli::Error> {
	if params.no_inference || !config.role.is_authority() {
		log::info!(target: "verity", "inference disabled on this node");
		return Ok(None);
	}
	let library = library_path(params.onnxruntime_lib.as_deref()).map_err(sc_cli::Error::Input)?;
	let mut engine = EngineConfig::new(library);
	engine.intra_threads = params.inference_threads;
	engine.max_run = Duration::from_millis(params.max_inference_ms);
	#[cfg(feature = "fault-injection")]
	if params.fault_unoptimized_graph {
		log::warn!(target: "verity", "FAULT INJECTION: this validator runs unoptimized graphs");
		engine.optimize_graph = false;
	}
	let model_dir =
		params.model_cache_dir.clone().unwrap_or_else(|| config.base_path.path().join("models"));
	// Absolute: workers run in this folder, and read the model files by their full path.
	std::fs::create_dir_all(&model_dir).map_err(|e| sc_cli::Error::Input(e.to_string()))?;
	let model_dir = std::fs::canonicalize(&model_dir)?;
	// Workers may write in their folder: it must hold nothing of the node's (keystore, database).
	std::fs::create_dir_all(config.base_path.path())?;
	let base = std::fs::canonicalize(config.base_path.path())?;
	if base.starts_with(&model_dir) {
		return Err(sc_cli::Error::Input(format!(
			"--model-cache-dir {} holds the node's base path {}: inference workers may write in \
			 it; give them a folder of their own",
			model_dir.display(),
			base.display()
		)));
	}
	engine.model_dir = Some(model_dir.clone());
	let memory_bytes = params
		.inference_memory_mib
		.checked_mul(1 << 20)
		.ok_or_else(|| sc_cli::Error::Input("--inference-memory-mib is too large".into()))?;
	let pool = PoolConfig {
		program: std::env::current_exe()?,
		args: vec!["inference-worker".into()],
		spec: WorkerSpec { engine, memory_bytes },
		max_workers: params.inference_workers,
		load_limit: Duration::from_secs(60),
	};
	let summary = format!(
		"ONNX Runtime from {}, {} thread(s), {} ms limit, up to {} worker(s) of {} MiB, models in {}",
		pool.spec.engine.library.display(),
		pool.spec.engine.intra_threads,
		pool.spec.engine.max_run.as_millis(),
		pool.max_workers,
		params.inference_memory_mib,
		model_dir.display(),
	);
	let pool = WorkerPool::new(pool).map_err(sc_cli::Error::Input)?;
	log::info!(target: "verity", "inference engine ready: {summary}");
	Ok(Some(Arc::new(pool)))
}

fn run_model(
	model: &PathBuf,
	inputs: &[String],
	output_dir: Option<&PathBuf>,
	args: &EngineArgs,
) -> Result<(), String> {
	let engine = args.engine()?;
	let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
	let id = sp_crypto_hashing::blake2_256(&bytes);
	let mut opened = engine
		.open(&bytes)
		.map_err(|e| format!("{}: ONNX Runtime refused the model: {e:?}", model.display()))?;
	let input = formats::collect_inputs(inputs, &opened.inputs())?;
	let started = Instant::now();
	let output = engine.run_model(&mut opened, &input).map_err(|e| format!("run failed: {e:?}"))?;
	let elapsed = started.elapsed();
	let outputs = tensor::decode_owned(&output, usize::MAX).map_err(|e| format!("{e:?}"))?;
	println!("model   {} ({} bytes, blake2-256 {})", model.display(), bytes.len(), hex(&id));
	println!("input   blake2-256 {}", hex(&sp_crypto_hashing::blake2_256(&input)));
	println!("output  blake2-256 {}  ({elapsed:?})", hex(&sp_crypto_hashing::blake2_256(&output)));
	for line in formats::summarize(&outputs) {
		println!("{line}");
	}
	if let Some(dir) = output_dir {
		formats::write_outputs(dir, &output, &outputs)?;
		println!("wrote {} output(s) to {}", outputs.len(), dir.display());
	}
	Ok(())
}

fn verify(request: u64, rpc: &str, args: &EngineArgs) -> Result<(), String> {
	let rpc = verity_client::rpc::Rpc::new(rpc)?;
	let at = rpc.finalized_head()?;
	let result: Option<verity_runtime::InferenceResult> =
		rpc.api("InferenceApi_result", request, at)?;
	let result = result.ok_or(format!(
		"request {request} has no finalized result at the finalized block {at:?}"
	))?;
	let checks = verity_client::check::reexecute(&rpc, &args.engine()?, request, &result, at)?;
	println!(
		"request {request}: model {}, finalized in block #{} by {} attester(s), {} dissenter(s)",
		hex(&result.model.0),
		result.attested_at,
		result.attesters.len(),
		result.dissenters.len()
	);
	verity_client::check::report(&checks)?;
	println!("verified");
	Ok(())
}
