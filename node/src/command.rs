//! Dispatches the command line to the node service or a sub-command.
use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;
#[cfg(feature = "fault-injection")]
use std::sync::Arc;
#[cfg(feature = "fault-injection")]
use verity_primitives::host::InferenceEngine;
use verity_runtime::opaque::Block;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Verity Node".into()
	}

	fn impl_version() -> String {
		env!("SUBSTRATE_CLI_IMPL_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"the project's issue tracker".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
		Ok(match id {
			"dev" => Box::new(chain_spec::development()?),
			"" | "local" => Box::new(chain_spec::local_testnet()?),
			"local5" => Box::new(chain_spec::local_testnet_5()?),
			path => {
				Box::new(chain_spec::ChainSpec::from_json_file(std::path::PathBuf::from(path))?)
			}
		})
	}
}

/// Parses the command line and runs it.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::ExportChainSpec(cmd)) => {
			let chain_spec = cli.load_spec(&cmd.chain)?;
			cmd.run(chain_spec)
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client, _, blocks| {
					sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		}
		Some(Subcommand::Inference(cmd)) => crate::inference_cmd::run(cmd),
		Some(Subcommand::InferenceWorker { spec }) => verity_engine::worker::worker_main(spec),
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => {
			use frame_benchmarking_cli::BenchmarkCmd;
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| match cmd {
				// The executor gets the node's inference host functions too: the runtime blob
				// imports them (they are only ever called by the off-chain worker).
				BenchmarkCmd::Pallet(cmd) => cmd
					.run_with_spec::<sp_runtime::traits::HashingFor<Block>, verity_primitives::host::inference::HostFunctions>(
						Some(config.chain_spec),
					),
				_ => Err("only `benchmark pallet` is wired into this node".into()),
			})
		}
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let params = cli.inference.clone();
			let votes_behind = cli.finality.grandpa_votes_behind;
			runner.run_node_until_exit(|config| async move {
				let (engine, fetch) = match crate::service::inference_engine(&params, &config)? {
					Some((engine, fetch)) => (Some(engine), Some(fetch)),
					None => (None, None),
				};
				#[cfg(feature = "fault-injection")]
				let engine = match engine {
					Some(e) if params.fault_corrupt_outputs => {
						log::warn!(target: "verity", "FAULT INJECTION: this validator corrupts its outputs");
						Some(Arc::new(crate::fault::CorruptingEngine(e)) as Arc<dyn InferenceEngine>)
					}
					other => other,
				};
				#[cfg(feature = "fault-injection")]
				let (engine, copy_answers) = if params.fault_copy_answers {
					(Some(Arc::new(crate::fault::SilentEngine) as Arc<dyn InferenceEngine>), true)
				} else {
					(engine, false)
				};
				#[cfg(not(feature = "fault-injection"))]
				let copy_answers = false;
				match config.network.network_backend {
					sc_network::config::NetworkBackendType::Libp2p => {
						service::new_full::<
							sc_network::NetworkWorker<
								Block,
								<Block as sp_runtime::traits::Block>::Hash,
							>,
						>(config, engine, fetch, copy_answers, votes_behind)
						.map_err(sc_cli::Error::Service)
					}
					sc_network::config::NetworkBackendType::Litep2p => {
						service::new_full::<sc_network::Litep2pNetworkBackend>(
							config,
							engine,
							fetch,
							copy_answers,
							votes_behind,
						)
						.map_err(sc_cli::Error::Service)
					}
				}
			})
		}
	}
}
