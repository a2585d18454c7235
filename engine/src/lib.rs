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
//! - graph optimization pinned to `Level1` (constant folding, redundant node elimination):
//!   higher levels fuse kernels in CPU-specific ways. It costs some speed on large models.
//!
//! Kernels still differ across CPU features (AVX2, AVX-512, VNNI) in the last bits, which is why
//! results are compared under each model's tolerance.
//!
//! Limits: input elements, output bytes and run time (`max_run`): a run past its time is
//! terminated by ONNX Runtime and reported as [`EngineError::Timeout`], never a hang. Malformed
//! models or inputs are errors, never panics. Every model file is screened ([`screen_model`]:
//! no external data, allowed operator domains and versions only) before ONNX Runtime sees it.
pub mod formats;
pub mod screen;
pub mod worker;

pub use screen::{screen_model, ScreenError};

use std::{
	collections::VecDeque,
	path::{Path, PathBuf},
	sync::{Arc, Condvar, Mutex},
	time::{Duration, Instant},
};

pub use ort::session::Session;
use ort::{
	session::{builder::GraphOptimizationLevel, RunOptions},
	value::{DynValue, Shape, Tensor, TensorElementType, ValueType},
};
pub use verity_primitives::host::{EngineError, InferenceEngine};
use verity_primitives::{
	spec::{tensor_spec, Dim, TensorSpec},
	tensor::{self, DType, TensorRef},
};

/// Version of ONNX Runtime the engine is built and tested against (C API 31).
pub const ONNXRUNTIME_VERSION: &str = "1.31.1";

/// Engine settings; the defaults are what validators run.
#[derive(Clone, Debug)]
pub struct EngineConfig {
	/// Path of `libonnxruntime.so.*`.
	pub library: PathBuf,
	/// Threads inside one operator. Every validator should use the same number.
	pub intra_threads: usize,
	/// Longest run before it is terminated.
	pub max_run: Duration,
	/// Sessions kept in memory (least recently used is dropped first).
	pub cache_capacity: usize,
	/// Models are kept here as `<hash>.onnx` so a restarted node need not fetch them again.
	pub model_dir: Option<PathBuf>,
	/// Most elements of one input tensor.
	pub max_input_elements: usize,
	/// Most bytes of the encoded output.
	pub max_output_bytes: usize,
}

impl EngineConfig {
	/// Validator defaults for the library at `library`.
	pub fn new(library: PathBuf) -> Self {
		EngineConfig {
			library,
			intra_threads: 1,
			max_run: Duration::from_millis(2_000),
			cache_capacity: 8,
			model_dir: None,
			max_input_elements: 1 << 20,
			max_output_bytes: 64 * 1024,
		}
	}

	/// Where a model is kept in the model folder (`<hash>.onnx`).
	pub fn model_file(&self, id: &[u8; 32]) -> Option<PathBuf> {
		self.model_dir
			.as_ref()
			.map(|d| d.join(format!("{}.onnx", sp_core::hexdisplay::HexDisplay::from(id))))
	}
}

/// Where the ONNX Runtime library is: `explicit` (the `--onnxruntime-lib` flag), else
/// `ORT_DYLIB_PATH`, else the folder `scripts/setup.sh` fills. The error names the fix.
pub fn library_path(explicit: Option<&Path>) -> Result<PathBuf, String> {
	let candidate =
		explicit
			.map(Path::to_path_buf)
			.or_else(|| std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from))
			.or_else(|| {
				let home = std::env::var_os("HOME")?;
				let cache = std::env::var_os("VERITY_CACHE")
					.map(PathBuf::from)
					.unwrap_or_else(|| PathBuf::from(home).join(".cache/verity"));
				Some(cache.join(format!(
					"onnxruntime/{v}/libonnxruntime.so.{v}",
					v = ONNXRUNTIME_VERSION
				)))
			})
			.ok_or_else(|| "cannot locate ONNX Runtime: HOME is not set".to_string())?;
	if candidate.is_file() {
		Ok(candidate)
	} else {
		Err(format!(
			"ONNX Runtime library not found at {}: run ./scripts/setup.sh (it installs \
			 libonnxruntime.so.{ONNXRUNTIME_VERSION} from the PyPI onnxruntime wheel), or pass \
			 --onnxruntime-lib PATH / set ORT_DYLIB_PATH",
			candidate.display()
		))
	}
}

struct CachedModel {
	id: [u8; 32],
	session: Arc<Mutex<Session>>,
}

/// The engine. Cheap to share (`Arc<Engine>`); sessions run one at a time each.
pub struct Engine {
	env: ort::environment::Environment,
	config: EngineConfig,
	cache: Mutex<VecDeque<CachedModel>>,
	loads: std::sync::atomic::AtomicU64,
	watchdog: Watchdog,
}

fn load_error(e: impl std::fmt::Display) -> EngineError {
	log::debug!(target: "verity-engine", "model refused: {e}");
	if is_allocation_failure(&e.to_string()) {
		EngineError::OutOfMemory
	} else {
		EngineError::BadModel
	}
}

/// Whether an ONNX Runtime error is an allocation that failed (the memory cap was reached).
fn is_allocation_failure(message: &str) -> bool {
	let m = message.to_ascii_lowercase();
	m.contains("bad_alloc") || m.contains("failed to allocate") || m.contains("out of memory")
}

impl Engine {
	/// Loads ONNX Runtime from `config.library`. Fails with a message naming the fix.
	pub fn new(config: EngineConfig) -> Result<Self, String> {
		let builder = ort::init_from(&config.library).map_err(|e| {
			format!("cannot load ONNX Runtime from {}: {e}", config.library.display())
		})?;
		let env = builder
			.with_name("verity")
			.build()
			.map_err(|e| format!("ONNX Runtime environment: {e}"))?;
		if let Some(dir) = &config.model_dir {
			std::fs::create_dir_all(dir)
				.map_err(|e| format!("model cache {}: {e}", dir.display()))?;
		}
		Ok(Engine {
			env,
			config,
			cache: Mutex::new(VecDeque::new()),
			loads: Default::default(),
			watchdog: Watchdog::new(),
		})
	}

	/// Another engine on the same ONNX Runtime environment (one per process), with its own
	/// settings and cache; `config.library` is ignored.
	pub fn sibling(&self, config: EngineConfig) -> Engine {
		Engine {
			env: self.env.clone(),
			config,
			cache: Mutex::new(VecDeque::new()),
			loads: Default::default(),
			watchdog: Watchdog::new(),
		}
	}

	/// The engine's settings.
	pub fn config(&self) -> &EngineConfig {
		&self.config
	}

	/// How many sessions were created so far (cache misses); a cache hit never adds one.
	pub fn session_loads(&self) -> u64 {
		self.loads.load(std::sync::atomic::Ordering::Relaxed)
	}

	fn cached(&self, id: &[u8; 32]) -> Option<Arc<Mutex<Session>>> {
		let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
		let pos = cache.iter().position(|m| &m.id == id)?;
		let entry = cache.remove(pos)?;
		let session = entry.session.clone();
		cache.push_front(entry);
		Some(session)
	}

	fn model_file(&self, id: &[u8; 32]) -> Option<PathBuf> {
		self.config.model_file(id)
	}

	/// Makes the session of a model ready (from memory, else from the model folder).
	pub fn prepare(&self, id: &[u8; 32]) -> Result<(), EngineError> {
		self.session(id).map(|_| ())
	}

	/// Screens the model ([`screen_model`]), then builds a session with the deterministic
	/// settings.
	pub fn session_from_bytes(&self, bytes: &[u8]) -> Result<Session, EngineError> {
		if let Err(reason) = screen_model(bytes) {
			log::warn!(target: "verity-engine", "model refused before loading: {reason}");
			return Err(EngineError::BadModel);
		}
		let mut builder = Session::builder(&self.env)
			.map_err(load_error)?
			.with_intra_threads(self.config.intra_threads)
			.map_err(load_error)?
			.with_inter_threads(1)
			.map_err(load_error)?
			.with_parallel_execution(false)
			.map_err(load_error)?
			.with_deterministic_compute(true)
			.map_err(load_error)?
			.with_optimization_level(GraphOptimizationLevel::Level1)
			.map_err(load_error)?;
		let session = builder.commit_from_memory(bytes).map_err(load_error)?;
		self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		Ok(session)
	}

	fn insert(&self, id: [u8; 32], session: Session) -> Arc<Mutex<Session>> {
		let session = Arc::new(Mutex::new(session));
		let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
		cache.retain(|m| m.id != id);
		cache.push_front(CachedModel { id, session: session.clone() });
		cache.truncate(self.config.cache_capacity.max(1));
		session
	}

	/// The session of a model: from memory, else from the model folder (hash-checked).
	fn session(&self, id: &[u8; 32]) -> Result<Arc<Mutex<Session>>, EngineError> {
		if let Some(session) = self.cached(id) {
			return Ok(session);
		}
		let file = self.model_file(id).ok_or(EngineError::ModelNotLoaded)?;
		let bytes = std::fs::read(&file).map_err(|_| EngineError::ModelNotLoaded)?;
		if &sp_crypto_hashing::blake2_256(&bytes) != id {
			let _ = std::fs::remove_file(&file);
			return Err(EngineError::HashMismatch);
		}
		let session = self.session_from_bytes(&bytes)?;
		Ok(self.insert(*id, session))
	}

	/// Verifies and loads a model; keeps its bytes in the model folder.
	pub fn load(&self, id: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		if &sp_crypto_hashing::blake2_256(bytes) != id {
			return Err(EngineError::HashMismatch);
		}
		if self.cached(id).is_some() {
			return Ok(());
		}
		let session = self.session_from_bytes(bytes)?;
		if let Some(file) = self.model_file(id) {
			if let Err(e) = std::fs::write(&file, bytes) {
				log::warn!(target: "verity-engine", "cannot keep model in {}: {e}", file.display());
			}
		}
		self.insert(*id, session);
		Ok(())
	}

	/// Runs a cached (or on-disk) model on encoded input tensors.
	pub fn run(&self, id: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		let session = self.session(id)?;
		let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
		self.run_session(&mut session, input)
	}

	/// Runs a session on encoded inputs: checks them against the model's inputs, enforces the
	/// limits, and encodes the outputs.
	pub fn run_session(&self, session: &mut Session, input: &[u8]) -> Result<Vec<u8>, EngineError> {
		let tensors = tensor::decode(input, self.config.max_input_elements).map_err(|e| {
			if e == tensor::CodecError::TooManyElements {
				EngineError::TooLarge
			} else {
				EngineError::BadInput
			}
		})?;
		check_inputs(session, &tensors)?;
		let values: Vec<(String, DynValue)> = tensors
			.iter()
			.map(|t| Ok((t.name.to_string(), to_value(t)?)))
			.collect::<Result<_, EngineError>>()?;
		let output_names: Vec<(String, DType)> = session
			.outputs()
			.iter()
			.map(|o| Ok((o.name().to_string(), dtype_of(o.dtype()).ok_or(EngineError::BadModel)?)))
			.collect::<Result<_, EngineError>>()?;

		let options = Arc::new(RunOptions::new().map_err(|_| EngineError::RunFailed)?);
		let watch = self.watchdog.watch(options.clone(), self.config.max_run);
		let started = Instant::now();
		let result = session.run_with_options(values, &options);
		let timed_out = self.watchdog.release(watch);
		let outputs = match result {
			Ok(outputs) => outputs,
			Err(e) => {
				log::debug!(target: "verity-engine", "run failed after {:?}: {e}", started.elapsed());
				return Err(if timed_out {
					EngineError::Timeout
				} else if is_allocation_failure(&e.to_string()) {
					EngineError::OutOfMemory
				} else {
					EngineError::RunFailed
				});
			}
		};

		let mut owned: Vec<tensor::Tensor> = Vec::with_capacity(output_names.len());
		for (name, dtype) in output_names {
			let value = outputs.get(&name).ok_or(EngineError::RunFailed)?;
			owned.push(from_value(&name, dtype, value)?);
		}
		let encoded = tensor::encode_owned(&owned);
		if encoded.len() > self.config.max_output_bytes {
			return Err(EngineError::TooLarge);
		}
		Ok(encoded)
	}
}

impl InferenceEngine for Engine {
	fn has_model(&self, model: &[u8; 32]) -> bool {
		self.cached(model).is_some() || self.model_file(model).is_some_and(|f| f.is_file())
	}

	fn load_model(&self, model: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		self.load(model, bytes)
	}

	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		Engine::run(self, model, input)
	}
}

/// Terminates runs that outlive their time budget. One thread per engine, started once: a
/// thread per run would cost more than a small model's whole run.
struct Watchdog {
	state: Arc<(Mutex<WatchState>, Condvar)>,
}

#[derive(Default)]
struct WatchState {
	next_id: u64,
	/// Running: id -> (deadline, its run options).
	runs: std::collections::BTreeMap<u64, (Instant, Arc<RunOptions>)>,
	/// Ids whose runs were terminated.
	fired: std::collections::BTreeSet<u64>,
	/// When the watchdog thread wakes next on its own: a run whose deadline is later needs no
	/// wake-up, so the common case (every run ends long before its budget) never switches
	/// threads (that cost tens of microseconds per run on small machines).
	next_wake: Option<Instant>,
}

/// How long the idle watchdog sleeps before it looks again.
const WATCHDOG_IDLE: Duration = Duration::from_millis(500);

impl Watchdog {
	fn new() -> Self {
		let state: Arc<(Mutex<WatchState>, Condvar)> = Default::default();
		let shared = Arc::downgrade(&state);
		let spawned =
			std::thread::Builder::new().name("verity-engine-watchdog".into()).spawn(move || {
				loop {
					// Stops once the engine (the only strong owner) is gone.
					let Some(state) = shared.upgrade() else { return };
					let (lock, cvar) = &*state;
					let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
					let now = Instant::now();
					let expired: Vec<u64> = guard
						.runs
						.iter()
						.filter(|(_, (deadline, _))| *deadline <= now)
						.map(|(id, _)| *id)
						.collect();
					for id in expired {
						if let Some((_, options)) = guard.runs.remove(&id) {
							let _ = options.terminate();
							guard.fired.insert(id);
						}
					}
					let wait = guard
						.runs
						.values()
						.map(|(deadline, _)| deadline.saturating_duration_since(now))
						.min()
						.unwrap_or(WATCHDOG_IDLE);
					guard.next_wake = Some(now + wait);
					let _ = cvar.wait_timeout(guard, wait).unwrap_or_else(|e| e.into_inner());
				}
			});
		if let Err(e) = spawned {
			log::warn!(target: "verity-engine", "no watchdog thread, runs are not time-limited: {e}");
		}
		Watchdog { state }
	}

	/// Starts watching a run; returns its id.
	fn watch(&self, options: Arc<RunOptions>, budget: Duration) -> u64 {
		let (lock, cvar) = &*self.state;
		let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
		guard.next_id += 1;
		let id = guard.next_id;
		let deadline = Instant::now() + budget;
		guard.runs.insert(id, (deadline, options));
		// Wake the thread only if it would otherwise sleep past this deadline.
		if guard.next_wake.is_none_or(|wake| deadline < wake) {
			guard.next_wake = Some(deadline);
			cvar.notify_all();
		}
		id
	}

	/// Stops watching a run; returns whether it was terminated.
	fn release(&self, id: u64) -> bool {
		let (lock, _) = &*self.state;
		let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
		guard.runs.remove(&id);
		guard.fired.remove(&id)
	}
}

/// Names and element types of a model's inputs, in the model's order (`None`: a type the
/// Verity format cannot carry).
pub fn describe_inputs(session: &Session) -> Vec<(String, Option<DType>)> {
	session.inputs().iter().map(|i| (i.name().to_string(), dtype_of(i.dtype()))).collect()
}

/// A model's input and output specs as the chain records them (`-1` dimensions are dynamic).
/// Errors name the first tensor whose type the Verity format cannot carry.
pub fn describe_model(session: &Session) -> Result<(Vec<TensorSpec>, Vec<TensorSpec>), String> {
	let specs = |outlets: &[ort::value::Outlet]| -> Result<Vec<TensorSpec>, String> {
		outlets
			.iter()
			.map(|o| {
				let dtype = dtype_of(o.dtype()).ok_or(format!(
					"tensor {}: element type {:?} is not supported",
					o.name(),
					o.dtype()
				))?;
				let ValueType::Tensor { shape, .. } = o.dtype() else {
					unreachable!("dtype_of checked")
				};
				let dims: Vec<Dim> = shape
					.iter()
					.map(|d| u32::try_from(*d).map(Dim::Fixed).unwrap_or(Dim::Dynamic))
					.collect();
				if o.name().len() > tensor::MAX_NAME_LEN || dims.len() > tensor::MAX_RANK {
					return Err(format!(
						"tensor {}: name or rank beyond the chain's bounds",
						o.name()
					));
				}
				Ok(tensor_spec(o.name(), dtype, &dims))
			})
			.collect()
	};
	let (inputs, outputs) = (specs(session.inputs())?, specs(session.outputs())?);
	if inputs.len() > tensor::MAX_TENSORS || outputs.len() > tensor::MAX_TENSORS {
		return Err(format!("more than {} inputs or outputs", tensor::MAX_TENSORS));
	}
	Ok((inputs, outputs))
}

fn dtype_of(ty: &ValueType) -> Option<DType> {
	match ty {
		ValueType::Tensor { ty, .. } => Some(match ty {
			TensorElementType::Float32 => DType::F32,
			TensorElementType::Float64 => DType::F64,
			TensorElementType::Int32 => DType::I32,
			TensorElementType::Int64 => DType::I64,
			TensorElementType::Uint8 => DType::U8,
			TensorElementType::Bool => DType::Bool,
			_ => return None,
		}),
		_ => None,
	}
}

/// Inputs must match the model's own inputs: same names (any order is fine, all must be
/// given), element types, ranks and fixed dimensions.
fn check_inputs(session: &Session, tensors: &[TensorRef<'_>]) -> Result<(), EngineError> {
	if tensors.len() != session.inputs().len() {
		return Err(EngineError::BadInput);
	}
	for t in tensors {
		let input =
			session.inputs().iter().find(|i| i.name() == t.name).ok_or(EngineError::BadInput)?;
		if dtype_of(input.dtype()) != Some(t.dtype) {
			return Err(EngineError::BadInput);
		}
		if let ValueType::Tensor { shape, .. } = input.dtype() {
			if shape.len() != t.shape.len() {
				return Err(EngineError::BadInput);
			}
			for (want, got) in shape.iter().zip(&t.shape) {
				if *want >= 0 && *want != i64::from(*got) {
					return Err(EngineError::BadInput);
				}
			}
		}
	}
	Ok(())
}

fn le_values<T, const N: usize>(data: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
	data.chunks_exact(N).map(|c| from(c.try_into().expect("chunks_exact gives N bytes"))).collect()
}

fn to_value(t: &TensorRef<'_>) -> Result<DynValue, EngineError> {
	let shape = Shape::new(t.shape.iter().map(|d| i64::from(*d)));
	let value =
		match t.dtype {
			DType::F32 => Tensor::from_array((shape, le_values(t.data, f32::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::F64 => Tensor::from_array((shape, le_values(t.data, f64::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::I32 => Tensor::from_array((shape, le_values(t.data, i32::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::I64 => Tensor::from_array((shape, le_values(t.data, i64::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::U8 => Tensor::from_array((shape, t.data.to_vec())).map(|v| v.into_dyn()),
			DType::Bool => {
				Tensor::from_array((shape, t.data.iter().map(|b| *b != 0).collect::<Vec<bool>>()))
					.map(|v| v.into_dyn())
			}
		};
	value.map_err(|_| EngineError::BadInput)
}

fn from_value(name: &str, dtype: DType, value: &DynValue) -> Result<tensor::Tensor, EngineError> {
	fn extract<T: ort::value::PrimitiveTensorElementType + Copy, const N: usize>(
		value: &DynValue,
		to: fn(T) -> [u8; N],
	) -> Result<(Vec<u32>, Vec<u8>), EngineError> {
		let (shape, data) = value.try_extract_tensor::<T>().map_err(|_| EngineError::RunFailed)?;
		let dims = shape
			.iter()
			.map(|d| u32::try_from(*d).map_err(|_| EngineError::TooLarge))
			.collect::<Result<_, _>>()?;
		// Sized once and filled in place: the loop vectorizes (no capacity check per element).
		let mut bytes = vec![0u8; data.len() * N];
		for (out, v) in bytes.chunks_exact_mut(N).zip(data) {
			out.copy_from_slice(&to(*v));
		}
		Ok((dims, bytes))
	}
	let (shape, data) = match dtype {
		DType::F32 => extract::<f32, 4>(value, f32::to_le_bytes)?,
		DType::F64 => extract::<f64, 8>(value, f64::to_le_bytes)?,
		DType::I32 => extract::<i32, 4>(value, i32::to_le_bytes)?,
		DType::I64 => extract::<i64, 8>(value, i64::to_le_bytes)?,
		DType::U8 => extract::<u8, 1>(value, |v| [v])?,
		DType::Bool => extract::<bool, 1>(value, |v| [v as u8])?,
	};
	if name.is_empty() || name.len() > tensor::MAX_NAME_LEN || shape.len() > tensor::MAX_RANK {
		return Err(EngineError::TooLarge);
	}
	Ok(tensor::Tensor { name: name.to_string(), dtype, shape, data })
}
