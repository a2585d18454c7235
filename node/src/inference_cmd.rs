//! `verity-node inference run|verify`: anyone can run a model, or re-execute a finalized result,
//! with exactly the engine and settings validators use.
use std::{path::PathBuf, time::Instant};
use verity_client::{formats, rpc::hex};
use verity_engine::EngineParams;
use verity_primitives::tensor;

use crate::cli::InferenceCmd;

/// Runs `verity-node inference ...`.
pub fn run(cmd: &InferenceCmd) -> sc_cli::Result<()> {
	let result = match cmd {
		InferenceCmd::Run { model, inputs, output_dir, engine } => {
			run_model(model, inputs, output_dir.as_ref(), engine)
		}
		InferenceCmd::Verify { request, rpc, engine } => verify(*request, rpc, engine),
	};
	result.map_err(sc_cli::Error::Input)
}

fn run_model(
	model: &PathBuf,
	inputs: &[String],
	output_dir: Option<&PathBuf>,
	args: &EngineParams,
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

fn verify(request: u64, rpc: &str, args: &EngineParams) -> Result<(), String> {
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
