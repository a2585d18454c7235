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

/// Re-executes `result` (of `request_id`) from the state at `at`.
pub fn reexecute(
	node: &Node,
	engine: &Engine,
	result: &ResultView,
	at: H256,
) -> Result<Vec<Check>, String> {
	let input = node
		.request_input(result.request_id, at)?
		.ok_or("the request's input is gone (pruned after its retention)")?;
	let model = node
		.model(result.model, Some(at))?
		.ok_or("the model was removed; re-run it from its file with `verity-node inference run`")?;
	let bytes = node.model_bytes(result.model, at)?.ok_or("the model's bytes are not available")?;
	// A tolerance the request demanded (request rules), as long as the node keeps the request.
	let demanded = node.request(result.request_id)?.and_then(|r| r.tolerance());
	compare_under(engine, &model, &bytes, &input, result, demanded)
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
