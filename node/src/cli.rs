//! Command line of `verity-node`.

/// Sub-commands of `verity-node`; with none, the node runs.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management: generate, inspect and insert keys (e.g. an `infr` inference key).
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),
	/// Export the chain specification (`--chain dev|local|PATH`) as JSON.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),
	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),
	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),
	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),
	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),
	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),
	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),
	/// Database metadata.
	ChainInfo(sc_cli::ChainInfoCmd),
}

/// The command line of `verity-node`.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A sub-command; without one the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of the running node.
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}
