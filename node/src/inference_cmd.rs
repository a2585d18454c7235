//! `verity-node inference run|verify`: anyone can run a model, or re-execute a finalized result,
//! with exactly the engine and settings validators use.
use codec::{Decode, Encode};
use std::{
	io::{Read, Write},
	path::PathBuf,
	sync::Arc,
	time::{Duration, Instant},
};
use verity_engine::{describe_inputs, formats, library_path, Engine, EngineConfig};
use verity_primitives::{
	agreement::compare_encoded,
	tensor::{self, Tensor},
};

/// Engine options shared by the sub-commands.
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
	fn engine(&self) -> Result<Engine, String> {
		let mut config = EngineConfig::new(library_path(self.onnxruntime_lib.as_deref())?);
		config.intra_threads = self.inference_threads;
		config.max_run = Duration::from_millis(self.max_inference_ms);
		config.max_output_bytes = usize::MAX;
		Engine::new(config)
	}
}

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
pub fn node_engine(
	params: &crate::cli::InferenceParams,
	config: &sc_service::Configuration,
) -> Result<Option<Arc<Engine>>, sc_cli::Error> {
	if params.no_inference || !config.role.is_authority() {
		log::info!(target: "verity", "inference disabled on this node");
		return Ok(None);
	}
	let library = library_path(params.onnxruntime_lib.as_deref()).map_err(sc_cli::Error::Input)?;
	let mut engine = EngineConfig::new(library);
	engine.intra_threads = params.inference_threads;
	engine.max_run = Duration::from_millis(params.max_inference_ms);
	engine.model_dir = Some(
		params.model_cache_dir.clone().unwrap_or_else(|| config.base_path.path().join("models")),
	);
	let engine = Engine::new(engine).map_err(sc_cli::Error::Input)?;
	log::info!(
		target: "verity",
		"inference engine ready: ONNX Runtime from {}, {} thread(s), {} ms limit, models in {}",
		engine.config().library.display(),
		engine.config().intra_threads,
		engine.config().max_run.as_millis(),
		engine.config().model_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
	);
	Ok(Some(Arc::new(engine)))
}

fn hex(bytes: &[u8]) -> String {
	format!("0x{}", sp_core::hexdisplay::HexDisplay::from(&bytes))
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
	let mut session = engine
		.session_from_bytes(&bytes)
		.map_err(|e| format!("{}: ONNX Runtime refused the model: {e:?}", model.display()))?;
	let wanted = describe_inputs(&session);
	let mut tensors: Vec<Tensor> = Vec::new();
	let mut next = 0;
	for arg in inputs {
		let (name, file) = match arg.split_once('=') {
			Some((name, file)) => (Some(name.to_string()), PathBuf::from(file)),
			None => (None, PathBuf::from(arg)),
		};
		if file.extension().is_some_and(|e| e == "vtns") {
			let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
			let all = tensor::decode_owned(&data, usize::MAX)
				.map_err(|e| format!("{}: {e:?}", file.display()))?;
			next += all.len();
			tensors.extend(all);
			continue;
		}
		let name = match name {
			Some(name) => name,
			None => {
				let (name, _) = wanted.get(next).ok_or(format!(
					"{}: the model has only {} inputs",
					file.display(),
					wanted.len()
				))?;
				next += 1;
				name.clone()
			}
		};
		let hint = wanted.iter().find(|(n, _)| *n == name).and_then(|(_, d)| *d);
		tensors.push(formats::read_tensor(&file, &name, hint)?);
	}
	let input = tensor::encode_owned(&tensors);
	let started = Instant::now();
	let output =
		engine.run_session(&mut session, &input).map_err(|e| format!("run failed: {e:?}"))?;
	let elapsed = started.elapsed();
	let outputs = tensor::decode_owned(&output, usize::MAX).map_err(|e| format!("{e:?}"))?;
	println!("model   {} ({} bytes, blake2-256 {})", model.display(), bytes.len(), hex(&id));
	println!("input   blake2-256 {}", hex(&sp_crypto_hashing::blake2_256(&input)));
	println!("output  blake2-256 {}  ({elapsed:?})", hex(&sp_crypto_hashing::blake2_256(&output)));
	for t in &outputs {
		let n = t.data.len() / t.dtype.size();
		let values: Vec<f64> = (0..n).map(|i| formats::value_at(t, i)).collect();
		let shown: Vec<String> = values.iter().take(8).map(|v| format!("{v}")).collect();
		let (min, max) = values
			.iter()
			.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
		let mean = values.iter().sum::<f64>() / n.max(1) as f64;
		println!(
			"  {} {} {:?}: [{}{}]  min {min} max {max} mean {mean}",
			t.name,
			t.dtype.name(),
			t.shape,
			shown.join(", "),
			if n > 8 { ", ..." } else { "" }
		);
	}
	if let Some(dir) = output_dir {
		std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
		for t in &outputs {
			std::fs::write(dir.join(format!("{}.pb", t.name)), formats::write_tensor_proto(t))
				.map_err(|e| e.to_string())?;
			std::fs::write(dir.join(format!("{}.npy", t.name)), formats::write_npy(t))
				.map_err(|e| e.to_string())?;
		}
		std::fs::write(dir.join("outputs.vtns"), &output).map_err(|e| e.to_string())?;
		println!("wrote {} output(s) to {}", outputs.len(), dir.display());
	}
	Ok(())
}

/// One JSON-RPC call over plain HTTP/1.1 (loopback or a trusted endpoint; no TLS).
fn rpc_call(
	url: &str,
	method: &str,
	params: serde_json::Value,
) -> Result<serde_json::Value, String> {
	let rest = url.strip_prefix("http://").ok_or("--rpc must be an http:// URL")?;
	let (host, path) =
		rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
	let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
		.to_string();
	let mut stream = std::net::TcpStream::connect(host).map_err(|e| format!("{url}: {e}"))?;
	stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
	write!(
		stream,
		"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
		body.len()
	)
	.map_err(|e| e.to_string())?;
	let mut response = Vec::new();
	stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
	let text = String::from_utf8_lossy(&response);
	let (head, payload) = text.split_once("\r\n\r\n").ok_or("malformed HTTP response")?;
	let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
		dechunk(payload)
	} else {
		payload.to_string()
	};
	let reply: serde_json::Value =
		serde_json::from_str(&payload).map_err(|e| format!("{method}: {e}"))?;
	if let Some(error) = reply.get("error") {
		return Err(format!("{method}: {error}"));
	}
	Ok(reply["result"].clone())
}

fn dechunk(body: &str) -> String {
	let mut out = String::new();
	let mut rest = body;
	while let Some((size, tail)) = rest.split_once("\r\n") {
		let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
		if n == 0 || tail.len() < n {
			break;
		}
		out.push_str(&tail[..n]);
		rest = tail[n..].trim_start_matches("\r\n");
	}
	out
}

/// Calls a runtime API function through `state_call` at `at` and decodes its answer.
fn api<T: Decode>(rpc: &str, method: &str, args: impl Encode, at: &str) -> Result<T, String> {
	let result = rpc_call(rpc, "state_call", serde_json::json!([method, hex(&args.encode()), at]))?;
	let text = result.as_str().ok_or("state_call returned no hex")?;
	let bytes = sp_core::bytes::from_hex(text).map_err(|e| format!("{method}: {e:?}"))?;
	T::decode(&mut &bytes[..]).map_err(|e| format!("{method}: cannot decode the answer: {e}"))
}

fn verify(request: u64, rpc: &str, args: &EngineArgs) -> Result<(), String> {
	let finalized = rpc_call(rpc, "chain_getFinalizedHead", serde_json::json!([]))?;
	let at = finalized.as_str().ok_or("no finalized head")?.to_string();
	let result: Option<verity_runtime::InferenceResult> =
		api(rpc, "InferenceApi_result", request, &at)?;
	let result = result
		.ok_or(format!("request {request} has no finalized result at the finalized block {at}"))?;
	let input: Option<Vec<u8>> = api(rpc, "InferenceApi_request_input", request, &at)?;
	let input = input.ok_or("the request's input is gone (pruned)")?;
	let model: Option<verity_runtime::InferenceModel> =
		api(rpc, "InferenceApi_model", result.model, &at)?;
	let model =
		model.ok_or("the model was removed; re-run it from its file with `inference run`")?;
	let bytes: Option<Vec<u8>> = api(rpc, "InferenceApi_model_bytes", result.model, &at)?;
	let bytes = bytes.ok_or("the model's bytes are not available")?;

	let mut failures = Vec::new();
	let mut check = |what: &str, ok: bool| {
		println!("{} {what}", if ok { "ok  " } else { "FAIL" });
		if !ok {
			failures.push(what.to_string());
		}
	};
	check(
		"model bytes hash to the model id",
		sp_crypto_hashing::blake2_256(&bytes) == result.model.0,
	);
	check(
		"input hashes to the recorded input hash",
		sp_crypto_hashing::blake2_256(&input) == result.input_hash.0,
	);
	check(
		"output hashes to the recorded output hash",
		sp_crypto_hashing::blake2_256(&result.output) == result.output_hash.0,
	);

	let engine = args.engine()?;
	engine.load(&result.model.0, &bytes).map_err(|e| format!("loading the model: {e:?}"))?;
	let local =
		engine.run(&result.model.0, &input).map_err(|e| format!("re-execution failed: {e:?}"))?;
	let agreement = compare_encoded(&local, &result.output, model.tolerance, usize::MAX);
	check(
		&format!(
			"local re-execution agrees with the result (tolerance abs {}e-9, rel {}e-9){}",
			model.tolerance.abs_e9,
			model.tolerance.rel_e9,
			agreement.as_ref().err().map(|e| format!(": {e:?}")).unwrap_or_default()
		),
		agreement.is_ok(),
	);
	println!(
		"request {request}: model {}, finalized in block #{} by {} attester(s), {} dissenter(s)",
		hex(&result.model.0),
		result.finalized_at,
		result.attesters.len(),
		result.dissenters.len()
	);
	if failures.is_empty() {
		println!("verified");
		Ok(())
	} else {
		Err(format!("verification failed: {}", failures.join("; ")))
	}
}
