//! Re-execution of a finalized result: fetch the model bytes and the input at a block, check
//! them against the hashes the result records, run the model with the validators' engine and
//! compare under the model's tolerance.
use pallet_inference_rpc::views::{ModelView, ResultView};
use sp_core::H256;
use verity_engine::Engine;
use verity_primitives::agreement::{compare_encoded, Tolerance};

use crate::node::{hex, Node};

/// One named check and whether it passed.
pub type Check = (String, bool);

/// What `verify --reexecute` re-runs with: the node that serves model and input, the engine
/// settings, and whether a hosted model may be fetched from private addresses.
pub struct Rerun<'a> {
	pub node: &'a Node,
	pub engine: &'a verity_engine::EngineParams,
	pub allow_private_model_hosts: bool,
}

/// Re-executes `result` (of `request_id`) from the state at `at`.
pub fn reexecute(rerun: &Rerun, result: &ResultView, at: H256) -> Result<Vec<Check>, String> {
	let node = rerun.node;
	let input = node
		.request_input(result.request_id, at)?
		.ok_or("the request's input is gone (pruned after its retention)")?;
	let model = node
		.model(result.model, Some(at))?
		.ok_or("the model was removed; re-run it from its file with `verity-node inference run`")?;
	let bytes = match node.hosted_urls(result.model, at)? {
		Some(urls) => fetch_hosted(&model, urls, rerun.allow_private_model_hosts)?,
		None => node.model_bytes(result.model, at)?.ok_or("the model's bytes are not available")?,
	};
	let engine = rerun.engine.engine()?;
	let engine = &engine;
	// A tolerance the request demanded (request rules), as long as the node keeps the request.
	let demanded = node.request(result.request_id)?.and_then(|r| r.tolerance());
	compare_under(engine, &model, &bytes, &input, result, demanded)
}

/// The file of a hosted model, fetched from its URLs (size and hash checked while streaming)
/// into `<temp>/verity-models/<code hash>.onnx`, where a later check finds it.
fn fetch_hosted(
	model: &ModelView,
	urls: Vec<String>,
	allow_private: bool,
) -> Result<Vec<u8>, String> {
	let code_hash = model.code_hash.0;
	let dir = std::env::temp_dir().join("verity-models");
	std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
	let file = dir.join(format!("{}.onnx", hex(&code_hash).trim_start_matches("0x")));
	if let Ok(bytes) = std::fs::read(&file) {
		if sp_crypto_hashing::blake2_256(&bytes) == code_hash {
			return Ok(bytes);
		}
	}
	eprintln!("fetching the hosted model ({} bytes) from {}", model.size, urls.join(", "));
	let source = verity_model_fetch::Source { urls, code_hash, size: model.size.into() };
	let limits = verity_model_fetch::Limits { allow_private, ..Default::default() };
	let runtime = tokio::runtime::Builder::new_current_thread()
		.enable_all()
		.build()
		.map_err(|e| format!("starting the download: {e}"))?;
	let received = std::sync::atomic::AtomicU64::new(0);
	runtime
		.block_on(verity_model_fetch::Client::new(limits).fetch(&source, &file, &received))
		.map_err(|errors| {
			let reasons: Vec<String> =
				errors.iter().map(|(url, e)| format!("{url}: {e}")).collect();
			format!("the hosted model could not be fetched: {}", reasons.join("; "))
		})?;
	std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))
}

/// The checks of a result against the model (`bytes`) and input it names, re-running the model.
pub fn compare(
	engine: &Engine,
	model: &ModelView,
	bytes: &[u8],
	input: &[u8],
	result: &ResultView,
) -> Result<Vec<Check>, String> {
	compare_under(engine, model, bytes, input, result, None)
}

/// [`compare`] under the tolerance a request demanded, where tighter than the model's (the
/// node reporting it is not trusted to loosen anything: each part is at most the model's, which
/// the model id proves).
pub fn compare_under(
	engine: &Engine,
	model: &ModelView,
	bytes: &[u8],
	input: &[u8],
	result: &ResultView,
	demanded: Option<Tolerance>,
) -> Result<Vec<Check>, String> {
	// Never looser than the model's (which the model id proves).
	let own = model.tolerance();
	let tolerance = demanded.map_or(own, |d| d.tightest(own));
	let derived = model.derived_id()?;
	let mut checks = vec![
		(
			"model bytes hash to the model's code hash".to_string(),
			sp_crypto_hashing::blake2_256(bytes) == model.code_hash.0,
		),
		(
			"the model id is the hash of its owner, code hash, specs, tolerance and fee"
				.to_string(),
			derived == result.model,
		),
		(
			"input hashes to the recorded input hash".to_string(),
			sp_crypto_hashing::blake2_256(input) == result.input_hash.0,
		),
		(
			"output hashes to the recorded output hash".to_string(),
			sp_crypto_hashing::blake2_256(&result.output) == result.output_hash.0,
		),
	];
	engine.load(&model.code_hash.0, bytes).map_err(|e| format!("loading the model: {e:?}"))?;
	let local =
		engine.run(&model.code_hash.0, input).map_err(|e| format!("re-execution failed: {e:?}"))?;
	let agreement = compare_encoded(&local, &result.output, tolerance, usize::MAX);
	checks.push((
		format!(
			"local re-execution of model {} {} the result (tolerance abs {}e-9, rel {}e-9){}",
			hex(&result.model.0),
			if agreement.is_ok() { "agrees with" } else { "disagrees with" },
			tolerance.abs_e9,
			tolerance.rel_e9,
			agreement.as_ref().err().map(|e| format!(": {e}")).unwrap_or_default()
		),
		agreement.is_ok(),
	));
	Ok(checks)
}

/// Prints checks as `ok`/`FAIL` lines; `Err` lists the failed ones.
pub fn report(checks: &[Check]) -> Result<(), String> {
	let mut failed = Vec::new();
	for (what, ok) in checks {
		println!("{} {what}", if *ok { "ok  " } else { "FAIL" });
		if !ok {
			failed.push(what.clone());
		}
	}
	if failed.is_empty() {
		Ok(())
	} else {
		Err(format!("verification failed: {}", failed.join("; ")))
	}
}
