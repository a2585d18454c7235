//! Engine overhead benchmark (docs/benchmarks.md): the same model and input through
//! (a) the engine path (tensor codec in and out, session cache lookup, limits, watchdog),
//! (b) a direct `ort` call on prepared tensors, same session settings, and (w) the validators'
//! path: the engine in a worker process, the input and output crossing its pipes.
//!
//! `cargo run --release -p verity-engine --example overhead -- MODELS_DIR [NAME...]`
//! (scripts/bench-engine.sh runs it next to Python onnxruntime).
use std::time::{Duration, Instant};
use verity_engine::{
	library_path,
	worker::{PoolConfig, WorkerPool, WorkerSpec},
	Engine, EngineConfig, InferenceEngine,
};

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

/// Medians of each of `runs`, measured in alternating rounds of 10 runs (after 3 warm-ups
/// each) until `budget` has passed and each has at least 20 samples: drift in the machine's
/// speed (other processes, frequency) hits all alike.
fn measure(budget: Duration, runs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
	for run in runs.iter_mut() {
		for _ in 0..3 {
			run();
		}
	}
	let started = Instant::now();
	let mut samples = vec![Vec::new(); runs.len()];
	while samples[0].len() < 20 || (started.elapsed() < budget && samples[0].len() < 2000) {
		for (run, samples) in runs.iter_mut().zip(samples.iter_mut()) {
			for _ in 0..10 {
				let t = Instant::now();
				run();
				samples.push(t.elapsed());
			}
		}
	}
	samples.into_iter().map(median).collect()
}

fn main() {
	let mut args = std::env::args().skip(1);
	let dir = std::path::PathBuf::from(args.next().expect("MODELS_DIR"));
	let names: Vec<String> = args.collect();
	let names = if names.is_empty() {
		["mlp", "heavy8", "heavy", "heavy32"].map(String::from).to_vec()
	} else {
		names
	};
	let config = EngineConfig::new(library_path(None).expect("ONNX Runtime"));
	let engine = Engine::new(config.clone()).expect("engine");
	// (w) the validators' path since issue 12: the same engine in a worker process
	// (`verity-inference-worker`, built beside this example by scripts/bench-engine.sh).
	let worker_bin =
		std::env::current_exe().unwrap().parent().unwrap().join("../verity-inference-worker");
	let mut worker_config = config;
	worker_config.model_dir = Some(std::env::temp_dir().join("verity-bench-worker-models"));
	let pool = WorkerPool::new(PoolConfig {
		program: worker_bin,
		args: vec![],
		spec: WorkerSpec { engine: worker_config, memory_bytes: 2048 << 20 },
		max_workers: 1,
		load_limit: Duration::from_secs(60),
	})
	.expect("worker pool (cargo build --release -p verity-engine --bins)");
	println!(
		"model,bytes,engine_us,direct_us,ratio,worker_us,worker_ratio,session_loads_during_runs"
	);
	for name in names {
		let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).expect("model");
		let input = std::fs::read(dir.join(format!("{name}.input.vtns"))).expect("input");
		let id = sp_crypto_hashing::blake2_256(&bytes);
		engine.load(&id, &bytes).expect("load");

		// (b) direct ort: same settings, tensors built once, outputs not converted.
		let mut direct = engine.direct_runner(&bytes, &input).expect("session");
		pool.load_model(&id, &bytes).expect("worker load");
		let loads = engine.session_loads();
		let medians = measure(
			Duration::from_secs(6),
			&mut [
				&mut || {
					std::hint::black_box(engine.run(&id, &input).expect("engine run"));
				},
				&mut direct,
				&mut || {
					std::hint::black_box(pool.run(&id, &input).expect("worker run"));
				},
			],
		);
		let loads_during = engine.session_loads() - loads;
		let [a, b, w] = [0, 1, 2].map(|i| medians[i].as_secs_f64());
		println!(
			"{name},{},{:.1},{:.1},{:.3},{:.1},{:.3},{loads_during}",
			bytes.len(),
			a * 1e6,
			b * 1e6,
			a / b,
			w * 1e6,
			w / b
		);
	}
}
