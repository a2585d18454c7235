//! Models run in worker processes (`verity_engine::worker`): the same outputs as the in-process
//! engine, and hostile models (scripts/gen_models.py, `hostile/`) that end in a typed failure
//! within their limit while the host stays untouched and the next run succeeds.
mod common;

use common::*;
use std::{
	path::PathBuf,
	sync::atomic::{AtomicU32, Ordering},
	time::{Duration, Instant},
};
use verity_engine::{
	library_path,
	worker::{PoolConfig, WorkerPool, WorkerSpec, KILL_GRACE},
	EngineConfig, EngineError, InferenceEngine,
};
use verity_primitives::{
	agreement::compare_encoded,
	tensor::{decode_owned, encode_owned, Tensor},
};

const MIB: u64 = 1024 * 1024;

/// A pool of one worker with its own model folder, run limit and memory cap.
fn pool(max_run: Duration, memory_mib: u64) -> (WorkerPool, PathBuf) {
	static N: AtomicU32 = AtomicU32::new(0);
	let dir = std::env::temp_dir().join(format!(
		"verity-worker-test-{}-{}",
		std::process::id(),
		N.fetch_add(1, Ordering::Relaxed)
	));
	// Not `common::engine()`: no ONNX Runtime in this test process, so that its memory shows
	// only what the host side of the pool costs.
	let mut engine =
		EngineConfig::new(library_path(None).expect("ONNX Runtime (scripts/setup.sh)"));
	engine.model_dir = Some(dir.clone());
	engine.max_run = max_run;
	let pool = WorkerPool::new(PoolConfig {
		program: env!("CARGO_BIN_EXE_verity-inference-worker").into(),
		args: vec![],
		spec: WorkerSpec { engine, memory_bytes: memory_mib * MIB },
		max_workers: 1,
		load_limit: Duration::from_secs(30),
	})
	.expect("a worker starts");
	(pool, dir)
}

fn load(pool: &WorkerPool, file: &str) -> [u8; 32] {
	let bytes = read(file);
	let id = hash(&bytes);
	pool.load_model(&id, &bytes).unwrap_or_else(|e| panic!("{file}: {e:?}"));
	id
}

/// Resident memory of this (the host) process, in bytes.
fn host_rss() -> u64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap();
	let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
	line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Outputs equal Python onnxruntime's; a worker loads its model once and serves every run of
/// it, and never another model: each model gets a worker of its own (one alive at a time here),
/// a model used again gets a fresh one that loads it from the model folder.
#[test]
fn workers_answer_as_onnxruntime_and_load_each_model_once() {
	let (pool, _) = pool(Duration::from_secs(2), 2048);
	let mut pids = Vec::new();
	for name in ["linear", "mlp", "cnn", "argmax", "two_io"] {
		let id = load(&pool, &format!("{name}.onnx"));
		pids.push(pool.idle_pids()[0]);
		assert!(pool.has_model(&id), "{name} is kept in the model folder");
		let input = read(&format!("{name}.input.vtns"));
		let first = pool.run(&id, &input).unwrap();
		assert_eq!(
			compare_encoded(
				&first,
				&read(&format!("{name}.expected.vtns")),
				tolerance(name),
				1 << 20
			),
			Ok(()),
			"{name}: the worker's output differs from Python onnxruntime"
		);
		for _ in 0..3 {
			assert_eq!(pool.run(&id, &input).unwrap(), first, "{name}");
		}
	}
	// The start-up check's worker served the first model; each later model got its own.
	assert_eq!(pool.workers_spawned(), 5, "one worker per model");
	pids.dedup();
	assert_eq!(pids.len(), 5, "no worker ran two models: {pids:?}");
	// Bad inputs are the engine's own errors, the worker stays.
	let two_io = hash(&read("two_io.onnx"));
	assert_eq!(pool.run(&two_io, b"junk"), Err(EngineError::BadInput));
	assert_eq!(pool.load_model(&[7; 32], b"not the model"), Err(EngineError::HashMismatch));
	assert_eq!(pool.workers_spawned(), 5);
	// `linear` again: a fresh worker (not two_io's) loads it from the folder and answers.
	let linear = hash(&read("linear.onnx"));
	let (out, profile) = pool.run_measured(&linear, &read("linear.input.vtns"), 0).unwrap();
	assert_eq!(out, pool.run(&linear, &read("linear.input.vtns")).unwrap());
	assert_eq!(pool.workers_spawned(), 6);
	assert!(!pids.contains(&pool.idle_pids()[0]));
	assert!(profile.load_micros > 0, "{profile:?}");
	assert_eq!(pool.run(&[7; 32], &read("linear.input.vtns")), Err(EngineError::ModelNotLoaded));
}

/// The worker holds no secrets of the node: an empty environment, the model folder as working
/// directory, the memory cap set on itself, and its sandbox.
#[test]
fn workers_start_without_environment_in_the_model_folder_with_a_memory_cap() {
	let (pool, dir) = pool(Duration::from_secs(2), 1536);
	let pid = pool.idle_pids()[0];
	let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
	// Nothing of the node's environment, only the switch that keeps ONNX Runtime's telemetry
	// off (which would otherwise start a thread before the sandbox).
	assert_eq!(environ, b"ORT_DISABLE_TELEMETRY=1\0", "{:?}", String::from_utf8_lossy(&environ));
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
	assert!(status.contains("Threads:\t1\n"), "no thread before its first run: {status}");
	let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap();
	assert_eq!(cwd, std::fs::canonicalize(&dir).unwrap());
	let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
	let line = limits.lines().find(|l| l.starts_with("Max address space")).unwrap();
	assert!(line.contains(&(1536 * MIB).to_string()), "{line}");
	// In its sandbox (engine/tests/sandbox.rs tries what it forbids): seccomp filter mode and
	// no_new_privs, which Landlock needs too.
	let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
	assert!(status.contains("NoNewPrivs:\t1"), "{status}");
	assert!(status.contains("Seccomp:\t2"), "{status}");
}

/// `ConstantOfShape` sized by the input: [50000, 50000] asks for 10 GB. The worker's cap stops
/// it with a typed failure; the node's memory does not move; the next run succeeds.
#[test]
fn a_memory_bomb_fails_typed_and_the_next_run_succeeds() {
	let (pool, _) = pool(Duration::from_secs(5), 1024);
	let id = load(&pool, "hostile/memory_bomb.onnx");
	let shape = |n: i64| encode_owned(&[Tensor::from_i64("shape", vec![2], &[n, n])]);
	let before = host_rss();
	let started = Instant::now();
	let failure = pool.run(&id, &shape(50_000)).unwrap_err();
	assert!(matches!(failure, EngineError::OutOfMemory | EngineError::WorkerDied), "{failure:?}");
	assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
	assert!(host_rss() < before + 64 * MIB, "the host's memory grew");
	let out = decode_owned(&pool.run(&id, &shape(100)).unwrap(), 16).unwrap();
	assert_eq!(out[0].data, 10_000f32.to_le_bytes());
}

/// One `MatMul` of two 8000 x 8000 matrices (about a trillion multiply-adds) cannot be
/// interrupted between operators: the host kills the worker at the limit, a new worker serves
/// the next run. In-process, ONNX Runtime's terminate flag would only act after it.
#[test]
fn one_long_operator_is_killed_at_its_limit() {
	let limit = Duration::from_millis(1000);
	let (pool, _) = pool(limit, 2048);
	let id = load(&pool, "hostile/huge_matmul.onnx");
	let started = Instant::now();
	let size = encode_owned(&[Tensor::from_i64("size", vec![1], &[8000])]);
	assert_eq!(pool.run(&id, &size), Err(EngineError::Timeout));
	let took = started.elapsed();
	assert!(took < limit + KILL_GRACE + Duration::from_secs(1), "{took:?}");
	let small = encode_owned(&[Tensor::from_i64("size", vec![1], &[4])]);
	let out = decode_owned(&pool.run(&id, &small).unwrap(), 16).unwrap();
	assert_eq!(out[0].data, 64f32.to_le_bytes(), "4x4 ones squared sum to 64");
	assert_eq!(pool.workers_spawned(), 2, "the killed worker was replaced");
}

/// A run's own budget (a model's, from its readiness probe) stops it long before the node's
/// limit, the same way; measured runs report their load time, run time and the worker's peak
/// memory, which grows with what the run allocates.
#[test]
fn a_run_budget_stops_a_run_early_and_runs_are_measured() {
	let (pool, _) = pool(Duration::from_secs(20), 2048);
	let id = load(&pool, "hostile/huge_matmul.onnx");
	let size = |n: i64| encode_owned(&[Tensor::from_i64("size", vec![1], &[n])]);
	let (out, small) = pool.run_measured(&id, &size(4), 0).unwrap();
	assert_eq!(decode_owned(&out, 16).unwrap()[0].data, 64f32.to_le_bytes());
	assert!(small.load_micros > 0, "the load of this model was timed: {small:?}");
	assert!(small.run_micros > 0 && small.run_micros < 1_000_000, "{small:?}");
	assert!(small.peak_memory_kib > 1024, "{small:?}");
	// 1500 x 1500: the ones matrix and the product, 9 MB each (measured: +18 MB).
	let (_, large) = pool.run_measured(&id, &size(1500), 0).unwrap();
	assert!(large.peak_memory_kib > small.peak_memory_kib + 15 * 1024, "{small:?} {large:?}");
	assert!(large.run_micros > small.run_micros, "{small:?} {large:?}");

	let started = Instant::now();
	assert_eq!(pool.run_measured(&id, &size(8000), 100).err(), Some(EngineError::Timeout));
	let took = started.elapsed();
	assert!(
		took < Duration::from_millis(100) + KILL_GRACE + Duration::from_millis(500),
		"{took:?}"
	);
	assert!(pool.run_measured(&id, &size(4), 100).is_ok(), "a fresh worker serves the next run");
}

#[test]
fn an_endless_loop_times_out() {
	let limit = Duration::from_millis(500);
	let (pool, _) = pool(limit, 2048);
	let id = load(&pool, "hostile/endless_loop.onnx");
	let started = Instant::now();
	let x = encode_owned(&[Tensor::from_f32("x", vec![1], &[0.0])]);
	assert_eq!(pool.run(&id, &x), Err(EngineError::Timeout));
	assert!(started.elapsed() < limit + KILL_GRACE + Duration::from_secs(1));
	let linear = load(&pool, "linear.onnx");
	assert!(pool.run(&linear, &read("linear.input.vtns")).is_ok());
}

/// A worker killed from outside (the system's OOM killer, a crash) is a typed failure for the
/// run it had, and the next run gets a fresh worker that loads the model from the folder.
#[test]
fn a_killed_worker_is_replaced() {
	let (pool, _) = pool(Duration::from_secs(2), 2048);
	let id = load(&pool, "mlp.onnx");
	let input = read("mlp.input.vtns");
	let expected = pool.run(&id, &input).unwrap();
	let pid = pool.idle_pids()[0];
	// SAFETY: kill(2) of our own child process.
	assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
	std::thread::sleep(Duration::from_millis(200));
	assert_eq!(pool.run(&id, &input), Err(EngineError::WorkerDied));
	assert_eq!(pool.run(&id, &input).unwrap(), expected);
	assert_eq!(pool.workers_spawned(), 2);
}

/// A stand-in worker that breaks the protocol (a worker taken over by a model could): it answers
/// the pool's start-up check properly, then behaves as `mode` says. Python, from the venv the
/// test models come from.
fn fake_pool(mode: &str, max_run: Duration, load_limit: Duration) -> WorkerPool {
	let script = format!(
		r#"
import struct, sys, time
inp, out = sys.stdin.buffer, sys.stdout.buffer
def frame(payload):
    out.write(struct.pack("<I", len(payload)) + payload); out.flush()
def request():
    n = struct.unpack("<I", inp.read(4))[0]; return inp.read(n)
request(); frame(b"\x01\x01\x01")  # Done(Err(ModelNotLoaded)): the pool's start-up check
mode = "{mode}"
if mode == "deaf":
    time.sleep(60)                   # never reads again
request()
if mode == "chatty":
    frame(b"\x02")                   # Loading
    for _ in range(600):
        frame(b"\x00"); time.sleep(0.1)  # Started, again and again: a clock that never runs out
if mode == "trailing":
    frame(b"\x01\x00\x00" + b"\x00\x00\x00\x00")  # Done(Ok([])) and 4 more bytes
    time.sleep(60)
"#
	);
	let venv = std::env::var_os("VERITY_VENV").map(PathBuf::from).unwrap_or_else(|| {
		PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/verity/venv")
	});
	let mut engine = EngineConfig::new(PathBuf::from("/nonexistent"));
	engine.model_dir =
		Some(std::env::temp_dir().join(format!("verity-fake-{}", std::process::id())));
	engine.max_run = max_run;
	WorkerPool::new(PoolConfig {
		program: venv.join("bin/python"),
		args: vec!["-c".into(), script.into()],
		spec: WorkerSpec { engine, memory_bytes: 0 },
		max_workers: 1,
		load_limit,
	})
	.expect("the fake worker passes the start-up check")
}

/// A worker that keeps saying it (re)starts cannot extend its own time, one that stops reading
/// cannot hold the host in `write`, and bytes after an answer are not taken as the next answer:
/// each is killed with a typed failure within its limit. (Before, a `Started` frame reset the
/// run's clock every time and requests were written with a blocking `write`.)
#[test]
fn a_worker_that_breaks_the_protocol_is_killed_within_its_limit() {
	let (limit, load) = (Duration::from_millis(300), Duration::from_secs(1));
	let input = encode_owned(&[Tensor::from_f32("x", vec![1], &[0.0])]);
	let pool = fake_pool("chatty", limit, load);
	let started = Instant::now();
	assert_eq!(pool.run(&[1; 32], &input), Err(EngineError::WorkerDied));
	assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());

	let pool = fake_pool("deaf", limit, load);
	let started = Instant::now();
	// 8 MiB does not fit the pipe: the write must give up at the load limit.
	assert_eq!(pool.load_model(&hash(&[7; 8 << 20]), &[7; 8 << 20]), Err(EngineError::Timeout));
	let took = started.elapsed();
	assert!(took >= load && took < load + Duration::from_millis(500), "{took:?}");

	let pool = fake_pool("trailing", limit, load);
	assert_eq!(pool.run(&[1; 32], &input), Err(EngineError::WorkerDied));
}
