//! Command line of `verity-node` (clap types only: `command.rs` dispatches, `service.rs`
//! builds).
use std::path::PathBuf;
use verity_engine::EngineParams;

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
	/// Run a model locally with the validators' engine (`verity verify --reexecute` re-executes
	/// a finalized result).
	#[command(subcommand)]
	Inference(InferenceCmd),
	/// Runtime benchmarks (`benchmark pallet` writes a pallet's `weights.rs`). Only in a node
	/// built with `--features runtime-benchmarks`: see scripts/bench-pallet.sh.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),
	/// Internal: an inference worker process, started by the node itself (one JSON argument).
	#[command(hide = true)]
	InferenceWorker {
		/// The worker's settings, as the node writes them.
		spec: String,
	},
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
		engine: EngineParams,
	},
}

/// Inference settings of a running node (validators run models in their off-chain worker).
#[derive(Debug, Clone, clap::Args)]
pub struct InferenceParams {
	/// The engine: library, threads, time limit (the same options and defaults as
	/// `verity-node inference run|verify` and `verity verify --reexecute`).
	#[clap(flatten)]
	pub engine: EngineParams,
	/// Folder where models are kept as `<hash>.onnx` (default: `<base-path>/models`).
	#[arg(long, value_name = "DIR")]
	pub model_cache_dir: Option<PathBuf>,
	/// Memory cap of each inference worker process (its address space), in MiB.
	#[arg(long, default_value_t = verity_engine::worker::DEFAULT_MEMORY_MIB, value_name = "MIB")]
	pub inference_memory_mib: u64,
	/// Most inference worker processes alive at once (each serves one model).
	#[arg(long, default_value_t = 4, value_name = "N")]
	pub inference_workers: usize,
	/// Do not run models even if this node is a validator with an `infr` key.
	#[arg(long)]
	pub no_inference: bool,
	/// Fetch hosted models from loopback and private addresses too (a local test network, a
	/// model server inside the validators' own network). Off by default: a model's owner
	/// chooses its URLs, and every validator of its committee requests them.
	#[arg(long)]
	pub allow_private_model_hosts: bool,
	/// Test only (`fault-injection` builds): submit corrupted outputs, as a byzantine
	/// validator would.
	#[cfg(feature = "fault-injection")]
	#[arg(long)]
	pub fault_corrupt_outputs: bool,
	/// Test only (`fault-injection` builds): run no model; copy the other committee members'
	/// commitments and revealed answers under this validator's key, as a lazy validator would.
	#[cfg(feature = "fault-injection")]
	#[arg(long)]
	pub fault_copy_answers: bool,
	/// Test only (`fault-injection` builds): run models without ONNX Runtime's graph
	/// optimisations, as a validator on another build or CPU whose results differ in the last
	/// bits (honest, but not bit-identical).
	#[cfg(feature = "fault-injection")]
	#[arg(long)]
	pub fault_unoptimized_graph: bool,
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

	/// Inference options of the running node.
	#[clap(flatten)]
	pub inference: InferenceParams,

	/// Finality options of the running node.
	#[clap(flatten)]
	pub finality: FinalityParams,
}

/// How this node's GRANDPA voter votes (docs/finality.md).
#[derive(Debug, Clone, clap::Args)]
pub struct FinalityParams {
	/// Vote for the block this many blocks below the best block (2: Substrate's default voting
	/// rule). 0, the default, votes for the best block itself: results become final about one
	/// GRANDPA round after their block, not two blocks later (docs/benchmarks.md). Safety does
	/// not depend on it (docs/finality.md).
	#[arg(long, default_value_t = 0, value_name = "BLOCKS")]
	pub grandpa_votes_behind: u32,
}
