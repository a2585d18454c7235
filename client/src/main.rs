//! `verity`: the command line for people using a Verity chain. Register a model from an `.onnx`
//! file, request inference on `.npy`/`.pb`/JSON inputs and wait for the result, print results,
//! fetch provenance receipts and verify them against a trusted finalized block (optionally
//! re-running the model locally with the validators' engine).
use clap::{Parser, Subcommand};
use codec::Encode;
use pallet_inference_rpc::{
	finality::TrustedGenesis,
	receipt::{self, Receipt, Trust, TrustedChain},
	views::{ModelStatus, RequestStatus, ResultView},
};
use sp_core::{crypto::Ss58Codec, Get, H256};
use std::{
	io::Write,
	path::PathBuf,
	time::{Duration, Instant},
};
use verity_client::{
	check,
	node::{hex, Node},
	tx::{self, Signer},
};
use verity_engine::{tensor_files as formats, EngineParams};
use verity_primitives::{agreement::Tolerance, tensor};
use verity_runtime::{Runtime, RuntimeCall, RuntimeEvent};

#[derive(Debug, Parser)]
#[command(
	name = "verity",
	version,
	about = "Use a Verity chain: models, inference requests, results and their proofs."
)]
struct Cli {
	/// HTTP JSON-RPC endpoint of a node.
	#[arg(long, global = true, default_value = "http://127.0.0.1:9944")]
	rpc: String,
	#[command(subcommand)]
	command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
	/// List registered models.
	Models {
		#[arg(long, default_value_t = 0)]
		page: u32,
		#[arg(long, default_value_t = 20)]
		page_size: u32,
	},
	/// Register a model from an `.onnx` file and upload it in chunks (resumes an unfinished
	/// upload of the same file, owner, fee and tolerance). Input and output specs are read from
	/// the model; the id printed pins all of them.
	Register {
		#[arg(long)]
		model: PathBuf,
		/// Fee per request, in the chain's smallest unit.
		#[arg(long, default_value_t = 1_000_000_000)]
		fee: u128,
		/// Absolute tolerance under which two floating-point outputs agree.
		#[arg(long, default_value_t = 1e-5)]
		abs_tol: f64,
		/// Relative tolerance under which two floating-point outputs agree.
		#[arg(long, default_value_t = 1e-6)]
		rel_tol: f64,
		/// Secret URI of the owner's key (e.g. `//Alice` on a dev chain).
		#[arg(long)]
		suri: String,
		/// `NAME=FILE` or bare `FILE`s: the input of the model's readiness probe, which the
		/// validators run before the model takes requests (default: zeros of the input shapes,
		/// dynamic dimensions at 1). A representative input gives a representative run budget.
		#[arg(long = "probe-input", value_name = "[NAME=]FILE")]
		probe_inputs: Vec<String>,
		/// Longest wait for the readiness probe, in seconds.
		#[arg(long = "wait-secs", default_value_t = 120)]
		wait_secs: u64,
		/// Host the model instead of uploading it (up to 2 GiB; uploads stop at 16 MiB): the
		/// validators' nodes fetch the file from these URLs (http or https, tried in order, up
		/// to 4), checking its size and hash, before they run its readiness probe.
		#[arg(long = "url", value_name = "URL")]
		urls: Vec<String>,
	},
	/// Request inference and (unless --no-wait) wait for the result: by default until a quorum
	/// agreed (contracts can use it from that block on), with --final also until GRANDPA made
	/// that block final (irreversible).
	Request {
		/// Model id (as `verity register` printed it: a hash of the owner, the ONNX bytes'
		/// hash, the specs, the tolerance and the fee).
		#[arg(long)]
		model: H256,
		/// `NAME=FILE` or bare `FILE`s filling the model's inputs in order (`.npy`, `.pb`,
		/// `.json`, `.vtns`).
		#[arg(long = "input", value_name = "[NAME=]FILE", required = true)]
		inputs: Vec<String>,
		/// Most the request may cost (default: `inference_quote`, the model's fee or the fee
		/// floor for this input, whichever is higher).
		#[arg(long)]
		max_fee: Option<u128>,
		/// Blocks the validators have (default: the chain's).
		#[arg(long)]
		timeout: Option<u32>,
		/// Demand at least this many agreeing validators (up to the committee; `all`: every
		/// member), enforced by the chain; default: the chain's quorum.
		#[arg(long, value_parser = parse_min_attesters)]
		min_attesters: Option<u32>,
		/// Demand agreement within this absolute and relative tolerance, each at most the
		/// model's (default: the model's tolerance).
		#[arg(long, num_args = 2, value_names = ["ABS", "REL"])]
		tolerance: Option<Vec<f64>>,
		#[arg(long)]
		suri: String,
		/// Return once the request is in a block.
		#[arg(long)]
		no_wait: bool,
		/// Also wait until the result's block is final (GRANDPA), not only agreed.
		#[arg(long = "final", conflicts_with = "no_wait")]
		wait_final: bool,
		/// Give up waiting after this many seconds.
		#[arg(long, default_value_t = 300)]
		wait_secs: u64,
		/// Write the outputs as `.pb`, `.npy` and `outputs.vtns` here.
		#[arg(long)]
		output_dir: Option<PathBuf>,
	},
	/// Generate typed bindings of a model for contracts and front ends: a Solidity library
	/// (`<NAME>.sol`: `encodeInput(...)` from typed arrays, a `read<Output>` per output, floats as
	/// fixed point) with `VerityTensor.sol` beside it, and TypeScript types (`<NAME>.ts`).
	Bindings {
		/// A registered model's id (0x..., read from --rpc) or an `.onnx` file.
		#[arg(long)]
		model: String,
		/// The library's name (default: from the file name, e.g. `LinearModel`, or `Model` and
		/// the id's first bytes).
		#[arg(long)]
		name: Option<String>,
		/// Decimals of the fixed-point numbers standing for floats.
		#[arg(long, default_value_t = 6)]
		decimals: u8,
		/// The folder to write to.
		#[arg(long)]
		out: PathBuf,
	},
	/// Print a request's status and, once attested, its result.
	Result {
		#[arg(long)]
		request: u64,
		#[arg(long)]
		output_dir: Option<PathBuf>,
	},
	/// Print (or write) the provenance receipt of an attested result.
	Receipt {
		#[arg(long)]
		request: u64,
		/// Write the receipt JSON here instead of printing it.
		#[arg(long)]
		out: Option<PathBuf>,
	},
	/// Verify a receipt, with no node at all against a chain spec (--chain-spec) or against the
	/// finalized chain of a node you trust; exits non-zero if any check fails.
	Verify {
		/// Fetch the receipt of this request from --rpc ...
		#[arg(long, conflicts_with = "receipt", required_unless_present = "receipt")]
		request: Option<u64>,
		/// ... or read it from this file.
		#[arg(long)]
		receipt: Option<PathBuf>,
		/// Node that tells which blocks are finalized (default: --rpc). Use your own node or
		/// a light client's endpoint so that the serving node is not trusted.
		#[arg(long, conflicts_with = "chain_spec")]
		trusted_rpc: Option<String>,
		/// Trust only this raw chain spec (`verity-node export-chain-spec --chain <chain> --raw`): the
		/// receipt's GRANDPA justification, headers and authority-set changes must show its
		/// block final from the spec's genesis authorities; no RPC is made (but for
		/// --reexecute, which reads the model and the input from --rpc and checks their hashes).
		#[arg(long)]
		chain_spec: Option<PathBuf>,
		/// Also re-run the model on the request's input and compare under its tolerance (a
		/// hosted model's file is fetched from its URLs, size and hash checked).
		#[arg(long)]
		reexecute: bool,
		/// With --reexecute: fetch hosted models from loopback and private addresses too (by
		/// default only public ones: the model's owner chose its URLs).
		#[arg(long)]
		allow_private_model_hosts: bool,
		#[clap(flatten)]
		engine: EngineParams,
	},
}

fn main() {
	// Before any thread: `register` and `verify --reexecute` load ONNX Runtime in this process.
	verity_engine::disable_onnxruntime_telemetry();
	let cli = Cli::parse();
	if let Err(e) = run(cli) {
		eprintln!("error: {e}");
		std::process::exit(1);
	}
}

/// A tolerance or spread given ×1e9 on chain, as `1e-5 abs, 1e-6 rel`.
fn abs_rel(abs_e9: u64, rel_e9: u64) -> String {
	format!("{:e} abs, {:e} rel", abs_e9 as f64 / 1e9, rel_e9 as f64 / 1e9)
}

fn run(cli: Cli) -> Result<(), String> {
	let rpc = Node::new(&cli.rpc)?;
	match cli.command {
		Command::Models { page, page_size } => {
			let page = rpc.models(page, page_size)?;
			for m in &page.models {
				let spread = m.profile.as_ref().map_or(String::new(), |p| {
					format!(
						"  probe spread {} ({} dissenter(s))",
						abs_rel(p.spread_abs_e9, p.spread_rel_e9),
						p.dissenters
					)
				});
				println!(
					"{}  {}  {} bytes  fee {}  owner {}  tolerance {}{spread}",
					hex(&m.id.0),
					m.status,
					m.size,
					m.fee,
					m.owner,
					abs_rel(m.tolerance_abs_e9, m.tolerance_rel_e9),
				);
			}
			println!("page {} ({} model(s))", page.page, page.models.len());
			Ok(())
		}
		Command::Register { model, fee, abs_tol, rel_tol, suri, probe_inputs, wait_secs, urls } => {
			let signer = Signer::from_suri(&suri)?;
			let probe = Probe { inputs: probe_inputs, wait: Duration::from_secs(wait_secs) };
			register(&rpc, &model, fee, tolerance(abs_tol, rel_tol)?, &signer, &probe, &urls)
		}
		Command::Request {
			model,
			inputs,
			max_fee,
			timeout,
			min_attesters,
			tolerance: tight,
			suri,
			no_wait,
			wait_final,
			wait_secs,
			output_dir,
		} => {
			let signer = Signer::from_suri(&suri)?;
			let rules = pallet_inference::RequestRules {
				min_attesters: min_attesters.unwrap_or(0),
				tolerance: tight.map(|t| tolerance(t[0], t[1])).transpose()?,
			};
			let id = request(&rpc, model, &inputs, max_fee, timeout, rules, &signer)?;
			if no_wait {
				return Ok(());
			}
			let started = Instant::now();
			let limit = Duration::from_secs(wait_secs);
			wait_for_result(&rpc, id, limit)?;
			show_result(&rpc, id, output_dir.as_ref())?;
			if wait_final {
				wait_for_finality(&rpc, id, started, limit)?;
			}
			Ok(())
		}
		Command::Bindings { model, name, decimals, out } => {
			bindings(&rpc, &model, name, decimals, &out)
		}
		Command::Result { request, output_dir } => show_result(&rpc, request, output_dir.as_ref()),
		Command::Receipt { request, out } => {
			let receipt = rpc.receipt(request)?;
			let json = serde_json::to_string_pretty(&receipt).map_err(|e| e.to_string())?;
			match out {
				Some(path) => {
					std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
					println!(
						"receipt of request {request} (block #{}) written to {}",
						receipt.block_number,
						path.display()
					);
				}
				None => println!("{json}"),
			}
			Ok(())
		}
		Command::Verify {
			request,
			receipt,
			trusted_rpc,
			chain_spec,
			reexecute,
			allow_private_model_hosts,
			engine,
		} => {
			let receipt: Receipt = match (request, receipt) {
				(Some(id), _) => {
					let receipt = rpc.receipt(id)?;
					// The serving node is not trusted to answer the question asked.
					if receipt.result.request_id != id {
						return Err(format!(
							"FAIL the node served a receipt for request {} when asked for {id}",
							receipt.result.request_id
						));
					}
					if chain_spec.is_none() && trusted_rpc.as_deref().is_none_or(|t| t == rpc.url())
					{
						eprintln!(
							"warning: {} both serves the receipt and says which block is final; \
							 pass --trusted-rpc with a node you run yourself",
							rpc.url()
						);
					}
					receipt
				}
				(None, Some(path)) => {
					let text = std::fs::read_to_string(&path)
						.map_err(|e| format!("{}: {e}", path.display()))?;
					serde_json::from_str(&text)
						.map_err(|e| format!("{}: not a receipt: {e}", path.display()))?
				}
				(None, None) => return Err("give --request or --receipt".into()),
			};
			// Re-execution reads the model and input from the trusted node, if there is one (they
			// are checked against the proven hashes either way).
			let other = trusted_rpc.as_deref().map(Node::new).transpose()?;
			let node = other.as_ref().unwrap_or(&rpc);
			let trust = match chain_spec {
				Some(path) => trust_chain_spec(&path)?,
				None => trust_node(node, &receipt)?,
			};
			let rerun = check::Rerun { node, engine: &engine, allow_private_model_hosts };
			verify(&trust, &receipt, reexecute.then_some(rerun))
		}
	}
}

/// `--min-attesters`: a number, or `all` for the whole committee.
fn parse_min_attesters(value: &str) -> Result<u32, String> {
	match value {
		"all" => Ok(pallet_inference::UNANIMITY),
		n => n.parse().map_err(|_| format!("{n}: a number of validators, or `all`")),
	}
}

fn tolerance(abs: f64, rel: f64) -> Result<Tolerance, String> {
	let scale = |x: f64, name: &str| {
		if x.is_finite() && (0.0..=1e9).contains(&x) {
			Ok((x * 1e9).round() as u64)
		} else {
			Err(format!("--{name} must be a number from 0 to 1e9"))
		}
	};
	Ok(Tolerance { abs_e9: scale(abs, "abs-tol")?, rel_e9: scale(rel, "rel-tol")? })
}

fn progress(done: u64, total: u64, started: Instant) {
	let width = 30;
	let filled = (done * width / total.max(1)) as usize;
	print!(
		"\r[{}{}] {:.2}/{:.2} MiB ({}%) {:.0}s",
		"#".repeat(filled),
		".".repeat(width as usize - filled),
		done as f64 / 1048576.0,
		total as f64 / 1048576.0,
		done * 100 / total.max(1),
		started.elapsed().as_secs_f64()
	);
	std::io::stdout().flush().ok();
}

fn submit(rpc: &Node, signer: &Signer, call: RuntimeCall) -> Result<tx::Included, String> {
	let nonce = rpc.next_nonce(&signer.account)?;
	let xt = tx::sign(rpc, signer, call, nonce)?;
	tx::submit_and_wait(rpc, &xt, Duration::from_secs(120))
}

/// How `register` runs the readiness probe: its input files, and how long to wait for it.
struct Probe {
	inputs: Vec<String>,
	wait: Duration,
}

fn register(
	rpc: &Node,
	path: &PathBuf,
	fee: u128,
	tolerance: Tolerance,
	signer: &Signer,
	probe: &Probe,
	urls: &[String],
) -> Result<(), String> {
	let urls = hosted_urls(urls)?;
	let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
	let code_hash = H256(sp_crypto_hashing::blake2_256(&bytes));
	let size = u32::try_from(bytes.len()).map_err(|_| "the model is larger than 4 GiB")?;
	let (limit, what) = match urls {
		Some(_) => (<Runtime as pallet_inference::Config>::MaxHostedModelBytes::get(), "hosted"),
		None => (<Runtime as pallet_inference::Config>::MaxModelBytes::get(), "uploaded"),
	};
	if size > limit {
		return Err(format!(
			"the model has {size} bytes, more than the {limit} of an {what} model{}",
			if urls.is_none() { "; serve it over HTTP(S) and register it with --url" } else { "" }
		));
	}
	// Refused here for the reason the validators' engine would refuse it.
	verity_engine::screen_model(&bytes)
		.map_err(|e| format!("validators would refuse this model: {e}"))?;
	// The chain records the specs ONNX Runtime reads from the model itself.
	let engine = local_engine()?;
	let opened =
		engine.open(&bytes).map_err(|e| format!("ONNX Runtime refused the model: {e:?}"))?;
	let (inputs, outputs) = specs_of(&opened)?;
	// The id pins the owner, the bytes and the rules: the same file registered with another
	// tolerance or fee, or by another account, is another model.
	let id = verity_primitives::model_id(
		&signer.account.encode(),
		&code_hash,
		&inputs,
		&outputs,
		&tolerance,
		fee,
	);
	println!(
		"model {} ({} bytes, code hash {}), id {}",
		path.display(),
		bytes.len(),
		hex(&code_hash.0),
		hex(&id.0)
	);

	// Only "not found" means "not registered": a node that cannot be reached is an error.
	let existing = rpc.model(id, None)?;
	let probe_input = match probe.inputs.is_empty() {
		true => None,
		false => {
			let input = formats::collect_inputs(&probe.inputs, &opened.inputs())?;
			check_input_size("probe input", input.len())?;
			Some(input)
		}
	};
	let mut uploaded = match existing {
		Some(m) if m.status == ModelStatus::Probing => {
			println!("already uploaded; its readiness probe runs");
			return wait_for_probe(rpc, id, probe.wait);
		}
		Some(m) if m.status != ModelStatus::Uploading => {
			println!("already registered ({}); nothing to do", m.status);
			return Ok(());
		}
		Some(m) => {
			println!("resuming the upload at byte {}", m.uploaded);
			m.uploaded as usize
		}
		None if urls.is_some() => {
			let call = RuntimeCall::Inference(pallet_inference::Call::register_hosted_model {
				code_hash,
				size,
				urls: urls.expect("matched"),
				inputs,
				outputs,
				tolerance,
				fee,
				probe_input,
			});
			let included = submit_registration(rpc, signer, call, id)?;
			println!(
				"registered as a hosted model in block #{}; the validators fetch it and run its \
				 readiness probe",
				included.block_number
			);
			return wait_for_probe(rpc, id, probe.wait);
		}
		None => {
			for (side, specs) in [("input ", &inputs), ("output", &outputs)] {
				for s in specs.iter() {
					println!(
						"  {side} {} {} {}",
						String::from_utf8_lossy(&s.name),
						s.dtype.name(),
						verity_client::bindings::shape_text(s)
					);
				}
			}
			let call = RuntimeCall::Inference(pallet_inference::Call::register_model {
				code_hash,
				size,
				inputs,
				outputs,
				tolerance,
				fee,
			});
			let included = submit_registration(rpc, signer, call, id)?;
			println!("registered in block #{}", included.block_number);
			0
		}
	};
	let chunk_size = <Runtime as pallet_inference::Config>::MaxChunkBytes::get() as usize;
	let started = Instant::now();
	progress(uploaded as u64, bytes.len() as u64, started);
	while uploaded < bytes.len() {
		let end = (uploaded + chunk_size).min(bytes.len());
		let call = RuntimeCall::Inference(pallet_inference::Call::upload_model_chunk {
			model: id,
			chunk: frame_support::BoundedVec::truncate_from(bytes[uploaded..end].to_vec()),
		});
		submit(rpc, signer, call)?;
		uploaded = end;
		progress(uploaded as u64, bytes.len() as u64, started);
	}
	println!();
	let included = submit(
		rpc,
		signer,
		RuntimeCall::Inference(pallet_inference::Call::complete_model_upload {
			model: id,
			probe_input,
		}),
	)?;
	let probe_request = included.events.iter().find_map(|e| match e {
		RuntimeEvent::Inference(pallet_inference::Event::ModelProbing { model, request_id })
			if *model == id =>
		{
			Some(*request_id)
		}
		_ => None,
	});
	let Some(probe_request) = probe_request else {
		return Err("the upload completed but the model's readiness probe did not start".into());
	};
	println!(
		"upload complete (block #{}); the validators run its readiness probe (request {probe_request})",
		included.block_number
	);
	wait_for_probe(rpc, id, probe.wait)
}

/// Submits a registration of model `id` and checks that it registered that id.
fn submit_registration(
	rpc: &Node,
	signer: &Signer,
	call: RuntimeCall,
	id: H256,
) -> Result<tx::Included, String> {
	let included = submit(rpc, signer, call)?;
	let registered = included.events.iter().any(|e| {
		matches!(e, RuntimeEvent::Inference(pallet_inference::Event::ModelRegistered { model, .. }) if *model == id)
	});
	if !registered {
		return Err(format!("the registration landed without registering model {id:?}"));
	}
	Ok(included)
}

/// `--url`s as the chain takes them (None: none given, the model is uploaded), refused here
/// for the reason the chain would refuse them.
fn hosted_urls(urls: &[String]) -> Result<Option<pallet_inference::ModelUrls>, String> {
	if urls.is_empty() {
		return Ok(None);
	}
	let mut list = Vec::new();
	for url in urls {
		if !pallet_inference::is_model_url(url.as_bytes()) {
			return Err(format!("--url {url}: the chain takes http:// and https:// URLs of printable ASCII without spaces"));
		}
		list.push(frame_support::BoundedVec::try_from(url.as_bytes().to_vec()).map_err(|_| {
			format!("--url {url}: longer than {} bytes", pallet_inference::MAX_URL_BYTES)
		})?);
	}
	frame_support::BoundedVec::try_from(list)
		.map(Some)
		.map_err(|_| format!("at most {} --url", pallet_inference::MAX_MODEL_URLS))
}

/// Waits until the readiness probe of model `id` ended: prints its profile once it is active,
/// fails with the probe's outcome if it was rejected.
fn wait_for_probe(rpc: &Node, id: H256, limit: Duration) -> Result<(), String> {
	let started = Instant::now();
	loop {
		let model = rpc.model(id, None)?.ok_or(format!("model {} is gone", hex(&id.0)))?;
		match (model.status, &model.profile) {
			(ModelStatus::Probing, _) if started.elapsed() > limit => {
				return Err(format!("the readiness probe did not end within {limit:?}"))
			}
			(ModelStatus::Probing, _) => std::thread::sleep(Duration::from_millis(500)),
			(ModelStatus::Active, profile) => {
				if let Some(p) = profile {
					println!(
						"probe (request {}): load {:.1} ms, run {:.1} ms, peak memory {} MiB; \
						 runs may take up to {} ms",
						p.request_id,
						p.load_micros as f64 / 1e3,
						p.run_micros as f64 / 1e3,
						p.peak_memory_kib / 1024,
						p.run_budget_ms
					);
					let tolerance = model.tolerance();
					println!(
						"probe spread across validators: {}, {} dissenter(s) (tolerance {})",
						abs_rel(p.spread_abs_e9, p.spread_rel_e9),
						p.dissenters,
						abs_rel(tolerance.abs_e9, tolerance.rel_e9)
					);
					let spread = verity_primitives::agreement::Spread {
						abs_e9: p.spread_abs_e9,
						rel_e9: p.spread_rel_e9,
					};
					if p.dissenters > 0 || spread.may_exceed(tolerance) {
						eprintln!(
							"warning: the tolerance may be tighter than the validators' measured \
							 spread ({} dissenter(s); the spread counts dissenters' outputs, \
							 which a faulty validator can make arbitrary): requests may find no \
							 quorum; compare the outputs of your own runs on different machines \
							 before registering a looser one",
							p.dissenters
						);
					}
				}
				println!("model {} is active", hex(&id.0));
				return Ok(());
			}
			(status, _) => {
				return Err(format!(
					"model {} is {status}: its readiness probe failed or found no agreement (see \
					 the Inference.ModelRejected event); remove it with remove_model to release \
					 its deposit",
					hex(&id.0)
				))
			}
		}
	}
}

/// Refuses an input over the chain's `MaxInputBytes` before anything is sent (the chain would
/// fail the transaction with `InputTooLarge`, and charge its fee).
fn check_input_size(what: &str, len: usize) -> Result<(), String> {
	let max = <Runtime as pallet_inference::Config>::MaxInputBytes::get() as usize;
	if len > max {
		return Err(format!(
			"the {what} is {len} bytes encoded; the chain takes at most {max} (MaxInputBytes): \
			 send a smaller tensor (a smaller image, batch or sequence)"
		));
	}
	Ok(())
}

fn request(
	rpc: &Node,
	model: H256,
	inputs: &[String],
	max_fee: Option<u128>,
	timeout: Option<u32>,
	rules: pallet_inference::RequestRules,
	signer: &Signer,
) -> Result<u64, String> {
	let info = rpc.model(model, None)?.ok_or(format!("no model {}", hex(&model.0)))?;
	let wanted: Vec<(String, Option<tensor::DType>)> =
		info.inputs.iter().map(|s| (s.name.clone(), tensor::DType::from_name(&s.dtype))).collect();
	let input = formats::collect_inputs(inputs, &wanted)?;
	check_input_size("input", input.len())?;
	let max_fee = match max_fee {
		Some(fee) => fee,
		// The model's fee, or the fee floor for this input when that is higher.
		None => rpc
			.quote(model, input.len().try_into().unwrap_or(u32::MAX))?
			.ok_or("the model takes no requests now (or no validators run models)")?,
	};
	if let Some(t) = rules.tolerance {
		if t.abs_e9 > info.tolerance_abs_e9 || t.rel_e9 > info.tolerance_rel_e9 {
			return Err(format!(
				"--tolerance is looser than the model's ({} {}): a request may only tighten it",
				info.tolerance_abs_e9 as f64 / 1e9,
				info.tolerance_rel_e9 as f64 / 1e9
			));
		}
	}
	let call = RuntimeCall::Inference(if rules == Default::default() {
		pallet_inference::Call::request_inference { model, input, max_fee, timeout }
	} else {
		pallet_inference::Call::request_inference_with_rules {
			model,
			input,
			max_fee,
			timeout,
			rules,
		}
	});
	let included = submit(rpc, signer, call)?;
	included
		.events
		.iter()
		.find_map(|e| match e {
			RuntimeEvent::Inference(pallet_inference::Event::InferenceRequested { request_id, committee, quorum, deadline, .. }) => {
				println!(
					"request {request_id} in block #{}: {committee} validator(s), quorum {quorum}, deadline #{deadline}",
					included.block_number
				);
				Some(*request_id)
			},
			_ => None,
		})
		.ok_or("the request was included but no InferenceRequested event was found".into())
}

/// The kind of failure the committee agreed on for request `id` (its `InferenceFailed` event,
/// in blocks `from..=to`).
fn failure_kind(rpc: &Node, id: u64, from: u32, to: u32) -> Option<pallet_inference::FailureKind> {
	(from..=to).rev().find_map(|number| {
		let hash = rpc.block_hash(number).ok()??;
		tx::block_events(rpc, hash).ok()?.into_iter().find_map(|record| match record.event {
			RuntimeEvent::Inference(pallet_inference::Event::InferenceFailed {
				request_id,
				kind,
				..
			}) if request_id == id => Some(kind),
			_ => None,
		})
	})
}

fn wait_for_result(rpc: &Node, id: u64, limit: Duration) -> Result<(), String> {
	let started = Instant::now();
	let mut last_block = 0;
	loop {
		let best = rpc.block_number(rpc.best_head()?)?.unwrap_or(0);
		let request = rpc.request(id)?.ok_or(format!("no request {id} (or pruned)"))?;
		if best != last_block {
			println!(
				"block #{best}: request {id} {} ({:.0}s)",
				request.status,
				started.elapsed().as_secs_f64()
			);
			last_block = best;
		}
		match request.status {
			RequestStatus::Attested => return Ok(()),
			RequestStatus::Expired => {
				return Err(format!("request {id} expired without a quorum; its fee was refunded"))
			}
			RequestStatus::Failed => {
				let kind = failure_kind(rpc, id, request.created_at, best).map_or_else(
					|| "see its Inference.InferenceFailed event".into(),
					|k| format!("{k:?}"),
				);
				return Err(format!(
					"request {id} failed: a quorum of validators could not run the model on this \
					 input ({kind}); the fee paid them"
				));
			}
			_ if started.elapsed() > limit => return Err(format!("no result after {limit:?}")),
			_ => std::thread::sleep(Duration::from_millis(500)),
		}
	}
}

/// Waits until GRANDPA finalized the block holding request `id`'s result, on the same chain.
fn wait_for_finality(rpc: &Node, id: u64, started: Instant, limit: Duration) -> Result<(), String> {
	let result = rpc.result(id, None)?.ok_or(format!("request {id} has no result"))?;
	loop {
		let finalized = rpc.block_number(rpc.finalized_head()?)?.unwrap_or(0);
		if finalized >= result.attested_at {
			// The result must be in the final chain, not on a fork that lost.
			let at = rpc.block_hash(result.attested_at)?.ok_or("the result's block is unknown")?;
			let final_result = rpc.result(id, Some(at))?;
			if final_result.is_none_or(|r| r.output_hash != result.output_hash) {
				return Err(format!("request {id}'s result is not in the final chain"));
			}
			println!(
				"result block #{} is final (GRANDPA, finalized head #{finalized}) after {:.0}s",
				result.attested_at,
				started.elapsed().as_secs_f64()
			);
			return Ok(());
		}
		if started.elapsed() > limit {
			return Err(format!("block #{} not final after {limit:?}", result.attested_at));
		}
		std::thread::sleep(Duration::from_millis(500));
	}
}

fn show_result(rpc: &Node, id: u64, output_dir: Option<&PathBuf>) -> Result<(), String> {
	let request = rpc.request(id)?.ok_or(format!("no request {id} (or pruned)"))?;
	println!(
		"request {id}: {} (model {}, by {})",
		request.status,
		hex(&request.model.0),
		request.requester
	);
	if request.status != RequestStatus::Attested {
		return Ok(());
	}
	let result = rpc.result(id, None)?.ok_or(format!("request {id} has no result"))?;
	println!(
		"attested in block #{} by {} attester(s), {} dissenter(s); output blake2-256 {}",
		result.attested_at,
		result.attesters.len(),
		result.dissenters.len(),
		hex(&result.output_hash.0)
	);
	let outputs = tensor::decode_owned(&result.output, usize::MAX).map_err(|e| format!("{e:?}"))?;
	for line in formats::summarize(&outputs) {
		println!("{line}");
	}
	if let Some(dir) = output_dir {
		formats::write_outputs(dir, &result.output, &outputs)?;
		println!("wrote {} output(s) to {}", outputs.len(), dir.display());
	}
	Ok(())
}

/// Trust the finalized chain of the node `trusted`.
fn trust_node(trusted: &Node, receipt: &Receipt) -> Result<Trust, String> {
	let finalized = trusted.finalized_head()?;
	let finalized_number =
		trusted.block_number(finalized)?.ok_or("the trusted node lost its finalized head")?;
	let hash_at_receipt_height = if receipt.block_number <= finalized_number {
		trusted.block_hash(receipt.block_number)?
	} else {
		None
	};
	println!(
		"receipt of request {} against block #{} {}; trusted finalized head #{finalized_number} ({})",
		receipt.result.request_id,
		receipt.block_number,
		hex(&receipt.block_hash.0),
		trusted.url()
	);
	Ok(Trust::Node(TrustedChain { finalized_number, hash_at_receipt_height }))
}

/// Trust only a raw chain spec's genesis.
fn trust_chain_spec(path: &std::path::Path) -> Result<Trust, String> {
	let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
	let spec: serde_json::Value =
		serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
	let genesis = TrustedGenesis::from_raw_chain_spec(&spec)
		.map_err(|e| format!("{}: {e}", path.display()))?;
	println!(
		"trusting only the chain spec {}: genesis {}, {} GRANDPA authorities",
		path.display(),
		hex(&genesis.genesis_hash.0),
		genesis.authorities.len()
	);
	let dev: Vec<&str> = ["Alice", "Bob", "Charlie", "Dave", "Eve", "Ferdie"]
		.into_iter()
		.filter(|name| {
			use sp_core::Pair as _;
			let Ok(pair) = sp_core::ed25519::Pair::from_string(&format!("//{name}"), None) else {
				return false;
			};
			genesis
				.authorities
				.iter()
				.any(|(id, _)| AsRef::<[u8]>::as_ref(id) == AsRef::<[u8]>::as_ref(&pair.public()))
		})
		.collect();
	if !dev.is_empty() {
		eprintln!(
			"warning: the chain spec's GRANDPA authorities include the development keys of {}: \
			 their secret keys are public, so anyone can sign a justification for this chain; \
			 only a spec of a chain with secret authority keys makes an offline check meaningful",
			dev.join(", ")
		);
	}
	Ok(Trust::ChainSpec(genesis))
}

fn verify(trust: &Trust, receipt: &Receipt, reexecute: Option<check::Rerun>) -> Result<(), String> {
	let result = receipt::verify::<Runtime>(receipt, trust).map_err(|e| format!("FAIL {e}"))?;
	match (trust, &receipt.finality) {
		(Trust::ChainSpec(_), Some(evidence)) => println!(
			"ok   block #{} {} is final: GRANDPA justification of block #{} checked against the \
			 chain spec's authorities and {} authority-set change(s)",
			receipt.block_number,
			hex(&receipt.block_hash.0),
			receipt.block_number as usize + evidence.headers.len(),
			evidence.set_changes.len()
		),
		_ => println!("ok   header hashes to the block hash, which is finalized and canonical"),
	}
	println!(
		"ok   storage proof of Inference::Results({}) checks against the state root",
		receipt.result.request_id
	);
	println!(
		"ok   the proven result is the receipt's (output, hashes, attesters, block #{})",
		result.attested_at
	);
	println!(
		"     model {}, input {}, {} attester(s): {}",
		hex(&result.model.0),
		hex(&result.input_hash.0),
		result.attesters.len(),
		result.attesters.iter().map(|a| a.account.to_ss58check()).collect::<Vec<_>>().join(", ")
	);
	if let Some(rerun) = reexecute {
		// The proven result, not the one the receipt claims; the model and input read from
		// `node` are checked against its hashes.
		let proven = ResultView::new::<Runtime>(receipt.result.request_id, &result);
		let checks = check::reexecute(&rerun, &proven, receipt.block_hash)?;
		check::report(&checks)?;
	}
	println!("verified");
	Ok(())
}

fn bindings(
	rpc: &Node,
	model: &str,
	name: Option<String>,
	decimals: u8,
	out: &std::path::Path,
) -> Result<(), String> {
	let (id, default_name, (inputs, outputs)) = if model.starts_with("0x") {
		let id: H256 = model.parse().map_err(|e| format!("--model {model}: {e:?}"))?;
		let view = rpc.model(id, None)?.ok_or(format!("no model {model}"))?;
		(Some(id), format!("Model{}", &hex(&id.0)[2..10]), view.specs()?)
	} else {
		let path = std::path::Path::new(model);
		let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
		let opened = local_engine()?
			.open(&bytes)
			.map_err(|e| format!("ONNX Runtime refused the model: {e:?}"))?;
		(None, verity_client::bindings::name_from_file(path), specs_of(&opened)?)
	};
	let name = name.unwrap_or(default_name);
	let spec = verity_client::bindings::Model {
		name: &name,
		id,
		inputs: &inputs,
		outputs: &outputs,
		decimals,
	};
	let sol = verity_client::bindings::solidity(&spec)?;
	let ts = verity_client::bindings::typescript(&spec)?;
	std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
	for (file, text) in [
		(format!("{name}.sol"), sol.as_str()),
		(format!("{name}.ts"), ts.as_str()),
		("VerityTensor.sol".to_string(), verity_client::bindings::VERITY_TENSOR_SOL),
	] {
		let path = out.join(&file);
		std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
		println!("wrote {}", path.display());
	}
	Ok(())
}

type Specs = verity_primitives::spec::TensorSpecs;

/// The validators' engine, to read a model file's specs here.
fn local_engine() -> Result<verity_engine::Engine, String> {
	EngineParams { onnxruntime_lib: None, inference_threads: 1, max_inference_ms: 60_000 }.engine()
}

/// The input and output specs ONNX Runtime reads from an opened model.
fn specs_of(opened: &verity_engine::Model) -> Result<(Specs, Specs), String> {
	let (inputs, outputs) = opened.specs().map_err(|e| {
		if e.contains("Sequence") || e.contains("Map") {
			format!(
				"{e}: inputs and outputs must be tensors (a scikit-learn classifier converted by \
				 skl2onnx outputs a sequence of maps unless converted with \
				 options={{id(model): {{'zipmap': False}}}})"
			)
		} else {
			e
		}
	})?;
	Ok((
		inputs.try_into().map_err(|_| "the model has too many inputs")?,
		outputs.try_into().map_err(|_| "the model has too many outputs")?,
	))
}
