//! The engine: sessions with the deterministic settings, the cache, the limits of one run.
use crate::{
	cache::SessionCache,
	convert::{check_inputs, describe_inputs, describe_model, dtype_of, from_value, to_value},
	screen_model,
	watchdog::Watchdog,
	EngineConfig,
};
use ort::{
	session::{builder::GraphOptimizationLevel, RunOptions, Session},
	value::DynValue,
};
use std::{
	path::PathBuf,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use verity_primitives::{
	host::{EngineError, InferenceEngine, RunProfile},
	spec::TensorSpec,
	tensor::{self, DType},
};

/// The time a run may take: `max_millis` (0: none asked) within the node's `max_run`.
pub fn budget(max_millis: u32, max_run: Duration) -> Duration {
	match max_millis {
		0 => max_run,
		ms => Duration::from_millis(ms.into()).min(max_run),
	}
}

/// Whole microseconds, saturating.
pub(crate) fn micros(d: Duration) -> u32 {
	u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// A model loaded outside the cache (the `inference run` and `register` commands): what the
/// engine needs to describe and run it. ONNX Runtime's types stay inside the engine.
pub struct Model {
	session: Session,
}

impl Model {
	/// Names and element types of the model's inputs, in its order (`None`: a type the Verity
	/// format cannot carry).
	pub fn inputs(&self) -> Vec<(String, Option<DType>)> {
		describe_inputs(&self.session)
	}

	/// The model's input and output specs as the chain records them (`-1` dimensions are
	/// dynamic). Errors name the first tensor whose type the Verity format cannot carry.
	pub fn specs(&self) -> Result<(Vec<TensorSpec>, Vec<TensorSpec>), String> {
		describe_model(&self.session)
	}
}

/// The engine. Cheap to share (`Arc<Engine>`); sessions run one at a time each.
pub struct Engine {
	env: ort::environment::Environment,
	config: EngineConfig,
	cache: SessionCache,
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
			.with_telemetry(false)
			.build()
			.map_err(|e| format!("ONNX Runtime environment: {e}"))?;
		if let Some(dir) = &config.model_dir {
			std::fs::create_dir_all(dir)
				.map_err(|e| format!("model cache {}: {e}", dir.display()))?;
		}
		Ok(Engine {
			env,
			cache: SessionCache::new(config.cache_capacity),
			config,
			loads: Default::default(),
			watchdog: Watchdog::new(),
		})
	}

	/// Another engine on the same ONNX Runtime environment (one per process), with its own
	/// settings and cache; `config.library` is ignored.
	pub fn sibling(&self, config: EngineConfig) -> Engine {
		Engine {
			env: self.env.clone(),
			cache: SessionCache::new(config.cache_capacity),
			config,
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
		self.cache.get(id)
	}

	fn model_file(&self, id: &[u8; 32]) -> Option<PathBuf> {
		self.config.model_file(id)
	}

	/// Whether the session of a model is in memory (a run needs no load).
	pub fn is_loaded(&self, id: &[u8; 32]) -> bool {
		self.cached(id).is_some()
	}

	/// Makes the session of a model ready (from memory, else from the model folder).
	pub fn prepare(&self, id: &[u8; 32]) -> Result<(), EngineError> {
		self.session(id).map(|_| ())
	}

	/// Screens a model ([`screen_model`]) and loads it with the deterministic settings, outside
	/// the cache.
	pub fn open(&self, bytes: &[u8]) -> Result<Model, EngineError> {
		self.session_from_bytes(bytes).map(|session| Model { session })
	}

	/// Runs a model from [`Engine::open`] on encoded inputs, under the same limits as any run.
	pub fn run_model(&self, model: &mut Model, input: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.run_session(&mut model.session, input, self.config.max_run)
	}

	/// For the overhead benchmark only (`examples/overhead.rs`): the baseline of a direct
	/// ONNX Runtime call, with the same session settings and the input tensors converted once;
	/// the outputs are not converted.
	#[doc(hidden)]
	pub fn direct_runner(
		&self,
		bytes: &[u8],
		input: &[u8],
	) -> Result<Box<dyn FnMut() + '_>, EngineError> {
		let mut session = self.session_from_bytes(bytes)?;
		let tensors = tensor::decode(input, usize::MAX).map_err(|_| EngineError::BadInput)?;
		let values: Vec<(String, DynValue)> = tensors
			.iter()
			.map(|t| Ok((t.name.to_string(), to_value(t)?)))
			.collect::<Result<_, EngineError>>()?;
		Ok(Box::new(move || {
			let inputs: Vec<(&str, ort::session::SessionInputValue)> =
				values.iter().map(|(n, v)| (n.as_str(), v.view().into())).collect();
			std::hint::black_box(session.run(inputs).expect("direct run"));
		}))
	}

	fn session_from_bytes(&self, bytes: &[u8]) -> Result<Session, EngineError> {
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
			.with_optimization_level(if self.config.optimize_graph {
				GraphOptimizationLevel::Level1
			} else {
				GraphOptimizationLevel::Disable
			})
			.map_err(load_error)?;
		let session = builder.commit_from_memory(bytes).map_err(load_error)?;
		self.loads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		Ok(session)
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
		Ok(self.cache.insert(*id, session))
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
		self.cache.insert(*id, session);
		Ok(())
	}

	/// Runs a cached (or on-disk) model on encoded input tensors.
	pub fn run(&self, id: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		self.run_within(id, input, self.config.max_run)
	}

	/// [`Engine::run`] within `budget` (never more than the engine's `max_run`).
	pub fn run_within(
		&self,
		id: &[u8; 32],
		input: &[u8],
		budget: Duration,
	) -> Result<Vec<u8>, EngineError> {
		let session = self.session(id)?;
		let mut session = session.lock().unwrap_or_else(|e| e.into_inner());
		self.run_session(&mut session, input, budget.min(self.config.max_run))
	}

	/// Runs a session on encoded inputs: checks them against the model's inputs, enforces the
	/// limits, and encodes the outputs.
	fn run_session(
		&self,
		session: &mut Session,
		input: &[u8],
		budget: Duration,
	) -> Result<Vec<u8>, EngineError> {
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
		let watch = self.watchdog.watch(options.clone(), budget);
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

	fn run_measured(
		&self,
		model: &[u8; 32],
		input: &[u8],
		max_millis: u32,
	) -> Result<(Vec<u8>, RunProfile), EngineError> {
		let started = Instant::now();
		self.prepare(model)?;
		let loaded = Instant::now();
		let output = self.run_within(model, input, budget(max_millis, self.config.max_run))?;
		let profile = RunProfile {
			load_micros: micros(loaded - started),
			run_micros: micros(loaded.elapsed()),
			peak_memory_kib: 0,
		};
		Ok((output, profile))
	}
}
