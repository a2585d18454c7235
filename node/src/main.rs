//! The Verity node.
#![warn(missing_docs)]
// sc-cli and sc-service errors are large by design; boxing them at every call site of the SDK
// API would only add noise.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
#[cfg(feature = "fault-injection")]
mod fault;
mod hosted;
mod inference_cmd;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	// Before any thread: `inference run` loads ONNX Runtime in this process.
	verity_engine::disable_onnxruntime_telemetry();
	command::run()
}
