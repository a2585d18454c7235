//! The Verity node.
#![warn(missing_docs)]

mod chain_spec;
mod cli;
mod command;
mod inference_cmd;
mod rpc;
mod service;

fn main() -> sc_cli::Result<()> {
	command::run()
}
