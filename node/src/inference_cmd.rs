//! `verity-node inference run`: anyone can run a model with exactly the engine and settings
//! validators use (`verity verify --reexecute` re-executes a finalized result the same way).
use sp_core::bytes::to_hex;
use std::{path::PathBuf, time::Instant};
use verity_engine::{tensor_files as formats, EngineParams};
use verity_primitives::tensor;

use crate::cli::InferenceCmd;

/// Runs `verity-node inference ...`.
pub fn run(cmd: &InferenceCmd) -> sc_cli::Result<()> {
	let result = match cmd {
		InferenceCmd::Run { model, inputs, output_dir, engine } => {
			run_model(model, inputs, output_dir.as_ref(), engine)
		}
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
	println!(
		"model   {} ({} bytes, blake2-256 {})",
		model.display(),
		bytes.len(),
		to_hex(&id, false)
	);
	println!("input   blake2-256 {}", to_hex(&sp_crypto_hashing::blake2_256(&input), false));
	println!(
		"output  blake2-256 {}  ({elapsed:?})",
		to_hex(&sp_crypto_hashing::blake2_256(&output), false)
	);
	for line in formats::summarize(&outputs) {
		println!("{line}");
	}
	if let Some(dir) = output_dir {
		formats::write_outputs(dir, &output, &outputs)?;
		println!("wrote {} output(s) to {}", outputs.len(), dir.display());
	}
	Ok(())
}
