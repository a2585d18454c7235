//! The validators' inference engine.
//!
//! Wraps ONNX Runtime (through `ort` with `load-dynamic`: nothing is downloaded at build time;
//! the shared library is found at run time, see [`library_path`]). One engine per process
//! (ONNX Runtime allows one environment), shared by the off-chain worker host functions and the
//! `verity-node inference` commands, so anyone re-executing a result uses exactly the
//! validators' code path and settings.
//!
//! Determinism settings, fixed for every session (docs/engine.md):
//! - `intra_threads` threads inside an operator (default 1) and one inter-op thread, sequential
//!   execution: thread count changes reduction order, so every validator uses the same;
//! - deterministic compute on (ONNX Runtime then avoids non-deterministic kernels);
//! - graph optimization pinned to `Level1` (constant folding, redundant node elimination;
//!   `EngineConfig::optimize_graph` turns it off for tests of validators that differ):
//!   higher levels fuse kernels in CPU-specific ways. It costs some speed on large models.
//!
//! Kernels still differ across CPU features (AVX2, AVX-512, VNNI) in the last bits, which is why
//! results are compared under each model's tolerance.
//!
//! Limits: input elements, output bytes and run time (`max_run`): a run past its time is
//! terminated by ONNX Runtime and reported as [`EngineError::Timeout`], never a hang. Malformed
//! models or inputs are errors, never panics. Every model file is screened ([`screen_model`]:
//! no external data, allowed operator domains and versions only) before ONNX Runtime sees it.
//!
//! Parts: [`config`](EngineConfig) (settings, where the library is), `engine` (sessions with the
//! deterministic settings), `cache` (the session cache), `watchdog` (the run-time limit),
//! `convert` (Verity tensors to and from ONNX Runtime values), [`screen`] (what a model file
//! may contain), [`worker`] (models run in worker processes) and [`sandbox`] (what a worker
//! process may do). With the feature `cli`, for command lines (`verity-node inference run`, the
//! `verity` CLI): [`params`] (the engine flags) and [`tensor_files`] (tensors read from and
//! written to npy, TensorProto and JSON files). No ONNX Runtime type is part of this API.
mod cache;
mod config;
mod convert;
mod engine;
#[cfg(feature = "cli")]
pub mod params;
pub mod sandbox;
pub mod screen;
#[cfg(feature = "cli")]
pub mod tensor_files;
mod watchdog;
pub mod worker;

pub use config::{
	disable_onnxruntime_telemetry, library_path, EngineConfig, ONNXRUNTIME_VERSION, TELEMETRY_OFF,
};
pub use engine::{Engine, Model};
#[cfg(feature = "cli")]
pub use params::EngineParams;
pub use screen::{screen_model, ScreenError};
pub use verity_primitives::host::{EngineError, InferenceEngine};
