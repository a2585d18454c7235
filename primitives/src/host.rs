//! The `inference` host functions: how the off-chain worker reaches the node's ONNX Runtime.
//!
//! Why this is safe for consensus: the functions only work when the node registered an
//! [`InferenceExt`] extension, and the node registers it for off-chain-worker calls only
//! (`OffchainWorkerOptions::custom_extensions`), never for block import, authoring or
//! `validate_transaction`. Nothing a model computes can reach chain state except through a
//! signed result transaction, which every node validates like any other. In any other context
//! (and on a node started with `--no-inference`) the functions answer
//! `EngineError::Unavailable` instead of panicking.
//!
//! Every node must still register the *functions* (`HostFunctions`) in its executor: a runtime
//! whose imports the executor lacks is refused at load.
use alloc::vec::Vec;
use codec::{Decode, Encode};
use sp_runtime_interface::{
	pass_by::{
		AllocateAndReturnByCodec, PassFatPointerAndDecode, PassFatPointerAndRead,
		PassPointerAndReadCopy,
	},
	runtime_interface,
};

/// Why the engine could not produce an output.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum EngineError {
	/// No engine here: not an off-chain worker, or inference is disabled on this node.
	Unavailable,
	/// The model is not loaded (call `load_model` first).
	ModelNotLoaded,
	/// The model bytes do not hash to the model id.
	HashMismatch,
	/// ONNX Runtime refused the model.
	BadModel,
	/// The input is malformed or does not match the model's inputs.
	BadInput,
	/// Input or output beyond the engine's limits.
	TooLarge,
	/// The run took longer than its budget (the model's, from its probe) or the node's
	/// `--max-inference-ms`.
	Timeout,
	/// ONNX Runtime failed while running.
	RunFailed,
	/// The run needed more memory than the worker's cap (`--inference-memory-mib`).
	OutOfMemory,
	/// The worker process running the model died (crashed or was killed by the system); a
	/// fresh one serves the next run.
	WorkerDied,
}

/// What one run cost on the validator that ran it (the readiness probe of a model reports it;
/// see pallet-inference). Measured by the node, outside the worker process.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	codec::DecodeWithMemTracking,
	codec::MaxEncodedLen,
	scale_info::TypeInfo,
)]
pub struct RunProfile {
	/// Microseconds to load the model's session (0 when it was already loaded).
	pub load_micros: u32,
	/// Microseconds of the run itself.
	pub run_micros: u32,
	/// Peak resident memory of the worker process during the run, in KiB (0 where not
	/// measured).
	pub peak_memory_kib: u32,
}

/// Where the file of a hosted model stands on this node (see `fetch_model`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum FetchStatus {
	/// No fetching here: not an off-chain worker, or a node without inference.
	Unavailable,
	/// In the model folder with the right hash: it runs like any model.
	Ready,
	/// Being fetched (or waiting for a turn): bytes received so far.
	Fetching { received: u64 },
	/// Every URL failed (errors, wrong length or wrong bytes); the node's log says why.
	Failed,
}

/// What the node plugs in behind `fetch_model`: its downloads of hosted models.
#[cfg(feature = "std")]
pub trait ModelFetch: Send + Sync {
	/// Where the file of `code_hash` stands; the first ask starts fetching it from `urls`
	/// (never blocks on the network).
	fn status(&self, code_hash: &[u8; 32], size: u64, urls: &[Vec<u8>]) -> FetchStatus;
}

#[cfg(feature = "std")]
sp_externalities::decl_extension! {
	/// The node's model downloads, as an externalities extension of off-chain worker calls.
	pub struct ModelFetchExt(std::sync::Arc<dyn ModelFetch>);
}

#[cfg(feature = "std")]
impl ModelFetchExt {
	pub fn new(fetch: std::sync::Arc<dyn ModelFetch>) -> Self {
		ModelFetchExt(fetch)
	}
}

/// What the node plugs in behind the host functions.
#[cfg(feature = "std")]
pub trait InferenceEngine: Send + Sync {
	/// Whether the model is ready to run (in memory or in the model cache folder).
	fn has_model(&self, model: &[u8; 32]) -> bool;
	/// Verifies `bytes` against `model` and makes it ready to run.
	fn load_model(&self, model: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError>;
	/// Runs a model on encoded input tensors; returns encoded output tensors.
	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError>;
	/// Runs a model within `max_millis` (0: the node's own limit; never beyond it) and says
	/// what the run cost. Engines that cannot measure report zeros.
	fn run_measured(
		&self,
		model: &[u8; 32],
		input: &[u8],
		max_millis: u32,
	) -> Result<(Vec<u8>, RunProfile), EngineError> {
		let _ = max_millis;
		self.run(model, input).map(|output| (output, RunProfile::default()))
	}
}

#[cfg(feature = "std")]
sp_externalities::decl_extension! {
	/// The engine, as an externalities extension of off-chain worker calls.
	pub struct InferenceExt(std::sync::Arc<dyn InferenceEngine>);
}

#[cfg(feature = "std")]
impl InferenceExt {
	/// Wraps an engine.
	pub fn new(engine: std::sync::Arc<dyn InferenceEngine>) -> Self {
		InferenceExt(engine)
	}
}

/// Host functions for running ONNX models from the off-chain worker.
#[runtime_interface]
pub trait Inference {
	/// Whether the node's engine has `model` ready.
	fn has_model(&mut self, model: PassPointerAndReadCopy<[u8; 32], 32>) -> bool {
		use sp_externalities::ExternalitiesExt;
		self.extension::<InferenceExt>().is_some_and(|e| e.0.has_model(&model))
	}

	/// Hands the model's bytes to the engine (which checks them against `model`).
	fn load_model(
		&mut self,
		model: PassPointerAndReadCopy<[u8; 32], 32>,
		bytes: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<(), EngineError>> {
		use sp_externalities::ExternalitiesExt;
		match self.extension::<InferenceExt>() {
			Some(engine) => engine.0.load_model(&model, bytes),
			None => Err(EngineError::Unavailable),
		}
	}

	/// Runs `model` on `input` (Verity tensor format); returns the output tensors.
	fn run(
		&mut self,
		model: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
	) -> AllocateAndReturnByCodec<Result<Vec<u8>, EngineError>> {
		use sp_externalities::ExternalitiesExt;
		match self.extension::<InferenceExt>() {
			Some(engine) => engine.0.run(&model, input),
			None => Err(EngineError::Unavailable),
		}
	}

	/// Where the file of a hosted model (`code_hash`, `size` bytes, from `urls`) stands on
	/// this node; the first ask starts fetching it in the background.
	fn fetch_model(
		&mut self,
		code_hash: PassPointerAndReadCopy<[u8; 32], 32>,
		size: u64,
		urls: PassFatPointerAndDecode<Vec<Vec<u8>>>,
	) -> AllocateAndReturnByCodec<FetchStatus> {
		use sp_externalities::ExternalitiesExt;
		match self.extension::<ModelFetchExt>() {
			Some(fetch) => fetch.0.status(&code_hash, size, &urls),
			None => FetchStatus::Unavailable,
		}
	}

	/// Runs `model` on `input` within `max_millis` (0: the node's limit, which also caps it)
	/// and returns the output tensors with what the run cost.
	fn run_measured(
		&mut self,
		model: PassPointerAndReadCopy<[u8; 32], 32>,
		input: PassFatPointerAndRead<&[u8]>,
		max_millis: u32,
	) -> AllocateAndReturnByCodec<Result<(Vec<u8>, RunProfile), EngineError>> {
		use sp_externalities::ExternalitiesExt;
		match self.extension::<InferenceExt>() {
			Some(engine) => engine.0.run_measured(&model, input, max_millis),
			None => Err(EngineError::Unavailable),
		}
	}
}
