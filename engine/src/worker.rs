//! Models run in worker processes, not in the node.
//!
//! Modelled on Polkadot's PVF host (`polkadot/node/core/pvf`): the node keeps a small pool of
//! long-lived worker processes, each holding its own [`Engine`] (so a model's session is loaded
//! once per worker, not per run), talks to them over their stdin/stdout, and enforces the limits
//! from outside:
//!
//! - **memory**: each worker sets `RLIMIT_AS` on itself before ONNX Runtime is loaded (default
//!   2 GiB, node flag `--inference-memory-mib`); an allocation past it fails inside the worker
//!   ([`EngineError::OutOfMemory`]) or kills it, never the node;
//! - **time**: ONNX Runtime's own terminate flag stops a run between operators; one operator that
//!   runs on (a single huge `MatMul`) is stopped by the host killing the worker when the run's
//!   time plus [`KILL_GRACE`] is up ([`EngineError::Timeout`]); a fresh worker is spawned for the
//!   next run;
//! - **one model per worker**: a worker loads and runs a single model for its whole life; a
//!   model that took over its process through a bug of ONNX Runtime never sees or answers the
//!   runs of other models (a pool of `max_workers` keeps the most recently used models'
//!   workers and replaces the least recently used one when another model needs a worker);
//! - **crashes**: a worker that dies mid-run is reported as [`EngineError::WorkerDied`] and
//!   replaced;
//! - **files and secrets**: the worker starts with an empty environment (but for the switch
//!   that keeps ONNX Runtime's telemetry off, [`crate::TELEMETRY_OFF`]), in the model folder as
//!   its working directory, with stdin/stdout as its only channel (its stdout is moved away from
//!   fd 1 so that nothing a library prints can corrupt the protocol), exits when its stdin
//!   closes (the node stopped; `PR_SET_PDEATHSIG` is not used: it fires when the *thread* that
//!   spawned the worker ends, and off-chain-worker threads come and go), and never sees the
//!   keystore: only the host signs. Models are also screened before loading
//!   ([`crate::screen_model`]);
//! - **sandbox**: once ONNX Runtime is loaded, the worker restricts itself with Landlock (file
//!   access to the model folder only, no TCP) and seccomp (no sockets, no `execve`, no other
//!   process's memory), see [`crate::sandbox`].
//!
//! Messages are SCALE-encoded [`WorkerRequest`]s and `Result<Vec<u8>, EngineError>` answers,
//! each framed by a little-endian `u32` length. Answers are bounded by the output limit.
use crate::{
	engine::{budget, micros},
	Engine, EngineConfig, EngineError, InferenceEngine,
};
use codec::{Decode, DecodeAll, Encode};
use std::{
	ffi::OsString,
	io::{Read, Write},
	os::fd::AsRawFd,
	path::PathBuf,
	process::{Child, ChildStdin, ChildStdout, Command, Stdio},
	sync::{Condvar, Mutex},
	time::{Duration, Instant},
};
use verity_primitives::host::RunProfile;

/// Extra time a worker has, past the run's own limit, before it is killed.
pub const KILL_GRACE: Duration = Duration::from_millis(500);
/// Default memory cap of a worker.
pub const DEFAULT_MEMORY_MIB: u64 = 2048;
/// Largest request the worker accepts (a model file travels in one).
const MAX_REQUEST: usize = 1 << 31;

/// What a worker answers: a run of a model whose session it does not hold first says
/// `Loading`, then `Started` once it has the session (so that loading is timed apart from
/// running); every request ends with `Done` and its result. A run of a loaded model is one
/// `Done` frame.
#[derive(Debug, Encode, Decode)]
pub enum WorkerAnswer {
	Started,
	Done(Result<Vec<u8>, EngineError>),
	Loading,
}

/// What the host asks a worker.
#[derive(Debug, Encode, Decode)]
pub enum WorkerRequest {
	/// Verify `bytes` against `id` and load them (kept in the model folder for later workers).
	Load { id: [u8; 32], bytes: Vec<u8> },
	/// Run model `id` (from memory or the model folder) on encoded inputs within `max_millis`
	/// (0: the worker's own limit, which also caps it).
	Run { id: [u8; 32], input: Vec<u8>, max_millis: u32 },
}

/// How a worker is configured: what it passes to its [`Engine`], and its memory cap. Travels to
/// the worker as one JSON argument.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
	pub engine: EngineConfig,
	/// `RLIMIT_AS` of the worker, in bytes (0: none).
	pub memory_bytes: u64,
}

impl WorkerSpec {
	/// The argument the worker parses with [`WorkerSpec::from_arg`].
	pub fn to_arg(&self) -> String {
		let e = &self.engine;
		serde_json::json!({
			"library": e.library,
			"intra_threads": e.intra_threads,
			"max_run_ms": e.max_run.as_millis() as u64,
			"model_dir": e.model_dir,
			"cache_capacity": e.cache_capacity,
			"max_input_elements": e.max_input_elements,
			"max_output_bytes": e.max_output_bytes,
			"optimize_graph": e.optimize_graph,
			"memory_bytes": self.memory_bytes,
		})
		.to_string()
	}

	pub fn from_arg(arg: &str) -> Result<Self, String> {
		let v: serde_json::Value = serde_json::from_str(arg).map_err(|e| e.to_string())?;
		let num = |key: &str| v[key].as_u64().ok_or(format!("worker spec: {key} missing"));
		let mut engine =
			EngineConfig::new(v["library"].as_str().ok_or("worker spec: library missing")?.into());
		engine.intra_threads = num("intra_threads")? as usize;
		engine.max_run = Duration::from_millis(num("max_run_ms")?);
		engine.model_dir = v["model_dir"].as_str().map(PathBuf::from);
		engine.cache_capacity = num("cache_capacity")? as usize;
		engine.max_input_elements = num("max_input_elements")? as usize;
		engine.max_output_bytes = num("max_output_bytes")? as usize;
		engine.optimize_graph =
			v["optimize_graph"].as_bool().ok_or("worker spec: optimize_graph missing")?;
		Ok(WorkerSpec { engine, memory_bytes: num("memory_bytes")? })
	}
}

/// `message` framed by its length.
fn frame(message: &impl Encode) -> std::io::Result<Vec<u8>> {
	let len = u32::try_from(message.encoded_size())
		.map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"))?;
	let mut frame = Vec::with_capacity(4 + len as usize);
	frame.extend_from_slice(&len.to_le_bytes());
	message.encode_to(&mut frame);
	Ok(frame)
}

/// `message` framed by its length, in one write.
fn write_frame(out: &mut impl Write, message: &impl Encode) -> std::io::Result<()> {
	out.write_all(&frame(message)?)?;
	out.flush()
}

/// Waits until `fd` is ready for `events` or `deadline` passed; whether it is ready.
fn wait_for(fd: i32, events: libc::c_short, deadline: Instant) -> bool {
	let left = deadline.saturating_duration_since(Instant::now());
	if left.is_zero() {
		return false;
	}
	let mut pollfd = libc::pollfd { fd, events, revents: 0 };
	let millis = left.as_millis().saturating_add(1).min(i32::MAX as u128) as i32;
	// SAFETY: one valid pollfd for the duration of the call.
	unsafe { libc::poll(&mut pollfd, 1, millis) > 0 }
}

/// One frame, or `None` at a clean end of stream. Frames over `max` are an error.
fn read_frame(input: &mut impl Read, max: usize) -> std::io::Result<Option<Vec<u8>>> {
	let mut len = [0u8; 4];
	match input.read_exact(&mut len) {
		Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
		other => other?,
	}
	let len = u32::from_le_bytes(len) as usize;
	if len > max {
		return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "frame too large"));
	}
	let mut buf = vec![0u8; len];
	input.read_exact(&mut buf)?;
	Ok(Some(buf))
}

// ---------------------------------------------------------------------------------------------
// The worker side.

/// The worker process: limits itself, then answers requests on stdin until it closes. Never
/// returns; exits 0 at the end of its input, non-zero on a protocol error.
pub fn worker_main(arg: &str) -> ! {
	let code = match serve(arg) {
		Ok(()) => 0,
		Err(e) => {
			eprintln!("verity inference worker: {e}");
			2
		}
	};
	std::process::exit(code)
}

fn serve(arg: &str) -> Result<(), String> {
	let spec = WorkerSpec::from_arg(arg)?;
	// SAFETY: plain system calls on this process, before any other thread exists.
	let mut protocol_out = unsafe {
		// A session of its own: no controlling terminal to type into.
		libc::setsid();
		// Never dump a model's memory to disk.
		let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
		libc::setrlimit(libc::RLIMIT_CORE, &none);
		if spec.memory_bytes > 0 {
			let cap = libc::rlimit { rlim_cur: spec.memory_bytes, rlim_max: spec.memory_bytes };
			if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0 {
				return Err("cannot set the memory limit (RLIMIT_AS)".into());
			}
		}
		// The protocol gets its own descriptor; fd 1 becomes stderr for whatever else prints.
		let fd = libc::dup(1);
		if fd < 0 || libc::dup2(2, 1) < 0 {
			return Err("cannot set up the protocol channel".into());
		}
		<std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
	};
	let model_dir = spec.engine.model_dir.clone().ok_or("worker spec: model_dir missing")?;
	let engine = Engine::new(spec.engine)?;
	// ONNX Runtime is loaded and the model folder exists: from here on the worker reads and
	// writes that folder only (one thread so far, see `crate::sandbox`).
	let applied = crate::sandbox::enter(&model_dir)?;
	if let Some(warning) = applied.warning() {
		eprintln!("verity inference worker: {warning}");
	}
	let mut stdin = std::io::stdin().lock();
	loop {
		wait_briefly_for_input();
		let Some(frame) = read_frame(&mut stdin, MAX_REQUEST).map_err(|e| e.to_string())? else {
			break;
		};
		let mut answer =
			|a: WorkerAnswer| write_frame(&mut protocol_out, &a).map_err(|e| e.to_string());
		match WorkerRequest::decode(&mut &frame[..]) {
			Ok(WorkerRequest::Load { id, bytes }) => {
				answer(WorkerAnswer::Done(engine.load(&id, &bytes).map(|()| Vec::new())))?
			}
			Ok(WorkerRequest::Run { id, input, max_millis }) => {
				let prepared = if engine.is_loaded(&id) {
					Ok(())
				} else {
					answer(WorkerAnswer::Loading)?;
					let prepared = engine.prepare(&id);
					if prepared.is_ok() {
						answer(WorkerAnswer::Started)?;
					}
					prepared
				};
				match prepared {
					Ok(()) => {
						let budget = crate::engine::budget(max_millis, engine.config().max_run);
						answer(WorkerAnswer::Done(engine.run_within(&id, &input, budget)))?
					}
					Err(e) => answer(WorkerAnswer::Done(Err(e)))?,
				}
			}
			Err(_) => return Err("undecodable request".into()),
		}
	}
	Ok(())
}

/// How long a worker that just answered watches its input before it sleeps in `read`: runs come
/// in bursts (one per request of a block), and waking a sleeping process costs tens of
/// microseconds (more on virtual machines) where a model may run for one millisecond.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(200);

/// Watches standard input for up to [`SPIN_BEFORE_SLEEP`] without sleeping.
fn wait_briefly_for_input() {
	let until = Instant::now() + SPIN_BEFORE_SLEEP;
	let mut fd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
	// SAFETY: one valid pollfd; a zero timeout never blocks.
	while unsafe { libc::poll(&mut fd, 1, 0) } == 0 && Instant::now() < until {
		// SAFETY: no arguments; lets another thread of this core run meanwhile.
		unsafe { libc::sched_yield() };
	}
}

// ---------------------------------------------------------------------------------------------
// The host side.

/// How the host starts workers.
#[derive(Clone, Debug)]
pub struct PoolConfig {
	/// The executable (e.g. `verity-node`) and the arguments before the worker spec
	/// (e.g. `["inference-worker"]`).
	pub program: PathBuf,
	pub args: Vec<OsString>,
	pub spec: WorkerSpec,
	/// Most workers alive at once (runs beyond wait for one).
	pub max_workers: usize,
	/// Longest a model load may take before the worker is killed.
	pub load_limit: Duration,
}

struct Worker {
	child: Child,
	stdin: ChildStdin,
	/// The worker's answers, read without blocking (`O_NONBLOCK`, like its input) by the
	/// thread that asked.
	stdout: ChildStdout,
	/// Bytes read but not yet taken as frames.
	inbox: Vec<u8>,
	/// The only model this worker ever loads or runs (`None` until its first request): a model
	/// that took over its worker through a bug of ONNX Runtime must not see, or forge, the runs
	/// of other models.
	model: Option<[u8; 32]>,
}

/// Why no frame came.
enum NoFrame {
	/// Not within the time given.
	Late,
	/// The worker closed its end or sent more than a frame may hold.
	Gone,
}

impl Worker {
	/// Writes `message` as one frame to the worker's input (non-blocking), waiting for room
	/// until `deadline` at most.
	fn send(&mut self, message: &impl Encode, deadline: Instant) -> Result<(), NoFrame> {
		let frame = frame(message).map_err(|_| NoFrame::Gone)?;
		let mut written = 0;
		while written < frame.len() {
			match self.stdin.write(&frame[written..]) {
				Ok(0) => return Err(NoFrame::Gone),
				Ok(n) => written += n,
				Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
				Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
					if !wait_for(self.stdin.as_raw_fd(), libc::POLLOUT, deadline) {
						return Err(NoFrame::Late);
					}
				}
				Err(_) => return Err(NoFrame::Gone),
			}
		}
		Ok(())
	}

	/// The next frame of at most `max` bytes, waiting (`poll(2)`) until `deadline` at most;
	/// the first [`SPIN_BEFORE_SLEEP`] without sleeping, which answers of small models take.
	fn next_frame(&mut self, deadline: Instant, max: usize) -> Result<Vec<u8>, NoFrame> {
		let spin_until = Instant::now() + SPIN_BEFORE_SLEEP;
		loop {
			if self.inbox.len() >= 4 {
				let len = u32::from_le_bytes(self.inbox[..4].try_into().expect("4 bytes")) as usize;
				if len > max {
					return Err(NoFrame::Gone);
				}
				if self.inbox.len() >= 4 + len {
					let frame = self.inbox[4..4 + len].to_vec();
					self.inbox.drain(..4 + len);
					return Ok(frame);
				}
			}
			let start = self.inbox.len();
			self.inbox.resize(start + READ_CHUNK, 0);
			let read = self.stdout.read(&mut self.inbox[start..]);
			self.inbox.truncate(start + *read.as_ref().unwrap_or(&0));
			match read {
				Ok(0) => return Err(NoFrame::Gone),
				Ok(_) => {}
				Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
				Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
					let now = Instant::now();
					let left = deadline.saturating_duration_since(now);
					if left.is_zero() {
						return Err(NoFrame::Late);
					}
					if now < spin_until {
						// SAFETY: no arguments; lets another thread of this core run meanwhile.
						unsafe { libc::sched_yield() };
						continue;
					}
					wait_for(self.stdout.as_raw_fd(), libc::POLLIN, deadline);
				}
				Err(_) => return Err(NoFrame::Gone),
			}
		}
	}
}

/// How much the host reads from a worker at a time.
const READ_CHUNK: usize = 64 * 1024;

impl Drop for Worker {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

/// The node's engine: runs every model in a pool of worker processes.
pub struct WorkerPool {
	config: PoolConfig,
	idle: Mutex<Vec<Worker>>,
	/// Workers alive (idle or busy), guarded for the wait on `freed`.
	alive: Mutex<usize>,
	freed: Condvar,
	spawned: std::sync::atomic::AtomicU64,
	/// How long the last load of each model took (for [`InferenceEngine::run_measured`]); at
	/// most `LOAD_TIMES_KEPT` models.
	load_times: Mutex<Vec<([u8; 32], Duration)>>,
}

/// Models whose load time the pool remembers.
const LOAD_TIMES_KEPT: usize = 64;

/// How a run went, as the host saw it.
struct Answered {
	result: Result<Vec<u8>, EngineError>,
	/// From the request to `Started` (the session's load from the folder; zero when the worker
	/// had the session).
	to_start: Duration,
	/// From `Started` (or the request) to the result.
	run: Duration,
	/// Peak resident set of the worker since the request, in KiB, where measured.
	peak_kib: u32,
}

impl WorkerPool {
	/// A pool; workers are started on first use. Checks that one starts and answers.
	pub fn new(config: PoolConfig) -> Result<Self, String> {
		if config.spec.engine.model_dir.is_none() {
			return Err("worker pool: a model folder is needed (workers share it)".into());
		}
		let pool = WorkerPool {
			config,
			idle: Mutex::new(Vec::new()),
			alive: Mutex::new(0),
			freed: Condvar::new(),
			spawned: Default::default(),
			load_times: Mutex::new(Vec::new()),
		};
		// A first worker must start and answer (its ONNX Runtime loads): asked to run a model
		// nobody has, it says so.
		match InferenceEngine::run(&pool, &[0; 32], &[]) {
			Err(EngineError::ModelNotLoaded) => {
				// It loaded no model: it may serve the first real one.
				for worker in pool.idle.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
					worker.model = None;
				}
				Ok(pool)
			}
			other => Err(format!(
				"the inference worker ({}) did not start properly ({other:?}); its error is in \
				 the log above",
				pool.config.program.display()
			)),
		}
	}

	/// How many workers were started so far (replacements included).
	pub fn workers_spawned(&self) -> u64 {
		self.spawned.load(std::sync::atomic::Ordering::Relaxed)
	}

	/// Process ids of the idle workers (for tests and diagnostics).
	pub fn idle_pids(&self) -> Vec<u32> {
		self.idle.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|w| w.child.id()).collect()
	}

	fn spawn(&self) -> Result<Worker, String> {
		let dir = self.config.spec.engine.model_dir.as_ref().expect("checked in new");
		std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
		let mut child = Command::new(&self.config.program)
			.args(&self.config.args)
			.arg(self.config.spec.to_arg())
			.env_clear()
			// No telemetry thread: the worker must be single-threaded to enter its sandbox.
			.env(crate::TELEMETRY_OFF.0, crate::TELEMETRY_OFF.1)
			.current_dir(dir)
			.stdin(Stdio::piped())
			.stdout(Stdio::piped())
			.stderr(Stdio::inherit())
			.spawn()
			.map_err(|e| format!("cannot start {}: {e}", self.config.program.display()))?;
		let stdin = child.stdin.take().expect("piped");
		let stdout = child.stdout.take().expect("piped");
		// SAFETY: fcntl on descriptors this process owns.
		let nonblocking = [stdin.as_raw_fd(), stdout.as_raw_fd()].into_iter().all(|fd| unsafe {
			let flags = libc::fcntl(fd, libc::F_GETFL);
			flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) == 0
		});
		self.spawned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
		let worker = Worker { child, stdin, stdout, inbox: Vec::new(), model: None };
		if !nonblocking {
			return Err("cannot make the worker's pipes non-blocking".into());
		}
		Ok(worker)
	}

	/// A worker for `model`: an idle one bound to it (or bound to none yet), a new one if fewer
	/// than `max_workers` are alive, else a new one in place of an idle worker of another model
	/// (the least recently used), else waits for one. Each worker serves one model only.
	fn take(&self, model: [u8; 32]) -> Result<Worker, EngineError> {
		loop {
			let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
			let mine = idle.iter().rposition(|w| w.model == Some(model));
			if let Some(i) = mine.or_else(|| idle.iter().rposition(|w| w.model.is_none())) {
				let mut worker = idle.remove(i);
				worker.model = Some(model);
				return Ok(worker);
			}
			let mut alive = self.alive.lock().unwrap_or_else(|e| e.into_inner());
			if *alive >= self.config.max_workers.max(1) && !idle.is_empty() {
				// The least recently used idle worker of another model makes room.
				drop(idle.remove(0));
				*alive -= 1;
			}
			drop(idle);
			if *alive < self.config.max_workers.max(1) {
				// Counted before it exists, so that concurrent callers never start too many.
				*alive += 1;
				drop(alive);
				let spawned = self.spawn().map(|mut worker| {
					worker.model = Some(model);
					worker
				});
				return spawned.map_err(|e| {
					log::error!(target: "verity-engine", "{e}");
					*self.alive.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
					EngineError::WorkerDied
				});
			}
			let _ = self
				.freed
				.wait_timeout(alive, Duration::from_millis(100))
				.unwrap_or_else(|e| e.into_inner());
		}
	}

	fn give_back(&self, worker: Worker) {
		self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(worker);
		self.freed.notify_one();
	}

	fn retire(&self, worker: Worker) {
		drop(worker);
		*self.alive.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
		self.freed.notify_one();
	}

	/// Sends one request and waits for its answer. A run has `run_limit` plus [`KILL_GRACE`]
	/// from the moment it is sent, or, when the worker says it must load the model first,
	/// `load_limit` for the load and then the run's limit from `Started`; a load has
	/// `load_limit`. A worker that is late, dies or answers garbage is killed; the next call
	/// starts a fresh one. With `measure`, the worker's peak resident set is reset before and
	/// read after.
	fn ask(&self, request: WorkerRequest, run_limit: Duration, measure: bool) -> Answered {
		let answered =
			|result, to_start, run, peak_kib| Answered { result, to_start, run, peak_kib };
		let target = match &request {
			WorkerRequest::Load { id, .. } | WorkerRequest::Run { id, .. } => *id,
		};
		let mut worker = match self.take(target) {
			Ok(worker) => worker,
			Err(e) => return answered(Err(e), Duration::ZERO, Duration::ZERO, 0),
		};
		let pid = worker.child.id();
		if measure {
			reset_peak_memory(pid);
		}
		let run_limit = run_limit + KILL_GRACE;
		let (mut limit, model) = match &request {
			WorkerRequest::Load { .. } => (self.config.load_limit, None),
			WorkerRequest::Run { id, .. } => (run_limit, Some(*id)),
		};
		let sent = Instant::now();
		// Within the same limit: a worker that stops reading cannot hold the host in `write`.
		match worker.send(&request, sent + limit) {
			Ok(()) => {}
			Err(NoFrame::Late) => {
				log::warn!(target: "verity-engine", "worker {pid} killed: it did not read");
				self.retire(worker);
				return answered(Err(EngineError::Timeout), Duration::ZERO, Duration::ZERO, 0);
			}
			Err(NoFrame::Gone) => {
				self.retire(worker);
				return answered(Err(EngineError::WorkerDied), Duration::ZERO, Duration::ZERO, 0);
			}
		}
		drop(request);
		// When the run started (after the load, if the worker had to load) and the deadline.
		let mut started = sent;
		let max = self.config.spec.engine.max_output_bytes.saturating_add(1024);
		// A run may say `Loading` once, then `Started` once; anything else out of that order is
		// a worker that misbehaves (it must not extend its own time).
		let (mut loading, mut restarted) = (false, false);
		let is_run = model.is_some();
		loop {
			let frame = worker.next_frame(started + limit, max);
			let (to_start, run) = (started - sent, started.elapsed());
			let fault = match frame {
				Ok(frame) => match WorkerAnswer::decode_all(&mut &frame[..]) {
					Ok(WorkerAnswer::Loading) if is_run && !loading => {
						loading = true;
						limit = self.config.load_limit;
						continue;
					}
					Ok(WorkerAnswer::Started) if loading && !restarted => {
						restarted = true;
						started = Instant::now();
						limit = run_limit;
						continue;
					}
					// Nothing may follow the answer: bytes after it are a worker that misbehaves.
					Ok(WorkerAnswer::Done(result)) if worker.inbox.is_empty() => {
						let peak_kib = if measure { peak_memory_kib(pid) } else { 0 };
						self.give_back(worker);
						return answered(result, to_start, run, peak_kib);
					}
					_ => {
						log::warn!(target: "verity-engine", "worker {pid} broke the protocol");
						EngineError::WorkerDied
					}
				},
				Err(NoFrame::Late) => {
					log::warn!(
						target: "verity-engine",
						"worker {pid} killed: no answer within {limit:?}"
					);
					EngineError::Timeout
				}
				Err(NoFrame::Gone) => {
					let status = worker.child.try_wait().ok().flatten();
					log::warn!(target: "verity-engine", "worker {pid} died: {status:?}");
					EngineError::WorkerDied
				}
			};
			self.retire(worker);
			return answered(Err(fault), to_start, run, 0);
		}
	}

	fn remember_load(&self, model: &[u8; 32], took: Duration) {
		let mut times = self.load_times.lock().unwrap_or_else(|e| e.into_inner());
		times.retain(|(id, _)| id != model);
		if times.len() >= LOAD_TIMES_KEPT {
			times.remove(0);
		}
		times.push((*model, took));
	}

	fn load_time(&self, model: &[u8; 32]) -> Duration {
		let times = self.load_times.lock().unwrap_or_else(|e| e.into_inner());
		times.iter().find(|(id, _)| id == model).map_or(Duration::ZERO, |(_, took)| *took)
	}
}

/// Resets the peak resident set ("VmHWM") of process `pid` (Linux ≥ 4.0; ignored elsewhere).
fn reset_peak_memory(pid: u32) {
	let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), b"5");
}

/// Peak resident set of process `pid` in KiB, 0 where unknown.
fn peak_memory_kib(pid: u32) -> u32 {
	std::fs::read_to_string(format!("/proc/{pid}/status"))
		.ok()
		.and_then(|status| {
			let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
			line.split_whitespace().nth(1)?.parse().ok()
		})
		.unwrap_or(0)
}

impl InferenceEngine for WorkerPool {
	fn has_model(&self, model: &[u8; 32]) -> bool {
		self.config.spec.engine.model_file(model).is_some_and(|f| f.is_file())
	}

	fn load_model(&self, model: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		if &sp_crypto_hashing::blake2_256(bytes) != model {
			return Err(EngineError::HashMismatch);
		}
		let started = Instant::now();
		let request = WorkerRequest::Load { id: *model, bytes: bytes.to_vec() };
		let answered = self.ask(request, Duration::ZERO, false);
		if answered.result.is_ok() {
			self.remember_load(model, started.elapsed());
		}
		answered.result.map(|_| ())
	}

	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		let request = WorkerRequest::Run { id: *model, input: input.to_vec(), max_millis: 0 };
		self.ask(request, self.config.spec.engine.max_run, false).result
	}

	/// The time a run may take is enforced by the worker's watchdog and, for one operator that
	/// does not stop, by killing the worker; its cost is measured from outside: load time (the
	/// last load of the model in this pool, or the session's load from the folder in this run),
	/// run time from the worker's `Started` to its result, and the worker's peak resident set
	/// during the run (`VmHWM`, reset before it).
	fn run_measured(
		&self,
		model: &[u8; 32],
		input: &[u8],
		max_millis: u32,
	) -> Result<(Vec<u8>, RunProfile), EngineError> {
		let limit = budget(max_millis, self.config.spec.engine.max_run);
		let request = WorkerRequest::Run { id: *model, input: input.to_vec(), max_millis };
		let answered = self.ask(request, limit, true);
		let output = answered.result?;
		let load = self.load_time(model).max(answered.to_start);
		let profile = RunProfile {
			load_micros: micros(load),
			run_micros: micros(answered.run),
			peak_memory_kib: answered.peak_kib,
		};
		Ok((output, profile))
	}
}
