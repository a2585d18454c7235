//! Engine overhead benchmark (docs/benchmarks.md): the same model and input through
//! (a) the validators' engine path (tensor codec in and out, session cache lookup, limits,
//!     watchdog) and (b) a direct `ort` call on prepared tensors, same session settings.
//!
//! `cargo run --release -p verity-engine --example overhead -- MODELS_DIR [NAME...]`
//! (scripts/bench-engine.sh runs it next to Python onnxruntime).
use std::time::{Duration, Instant};
use verity_engine::{library_path, Engine, EngineConfig};
use verity_primitives::tensor;

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

/// Medians of `a` and `b`, measured in alternating rounds of 10 runs (after 3 warm-ups each)
/// until `budget` has passed and each has at least 20 samples: drift in the machine's speed
/// (other processes, frequency) hits both alike.
fn measure_pair(
	budget: Duration,
	mut a: impl FnMut(),
	mut b: impl FnMut(),
) -> (Duration, Duration) {
	for _ in 0..3 {
		a();
		b();
	}
	let started = Instant::now();
	let (mut sa, mut sb) = (Vec::new(), Vec::new());
	while sa.len() < 20 || (started.elapsed() < budget && sa.len() < 2000) {
		for _ in 0..10 {
			let t = Instant::now();
			a();
			sa.push(t.elapsed());
		}
		for _ in 0..10 {
			let t = Instant::now();
			b();
			sb.push(t.elapsed());
		}
	}
	(median(sa), median(sb))
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
	let engine =
		Engine::new(EngineConfig::new(library_path(None).expect("ONNX Runtime"))).expect("engine");
	println!("model,bytes,engine_us,direct_us,ratio,session_loads_during_runs");
	for name in names {
		let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).expect("model");
		let input = std::fs::read(dir.join(format!("{name}.input.vtns"))).expect("input");
		let id = sp_crypto_hashing::blake2_256(&bytes);
		engine.load(&id, &bytes).expect("load");

		// (b) direct ort: same settings, tensors built once, outputs not converted.
		let mut session = engine.session_from_bytes(&bytes).expect("session");
		let decoded = tensor::decode(&input, usize::MAX).expect("input");
		let values: Vec<(String, ort::value::DynValue)> = decoded
			.iter()
			.map(|t| {
				let shape: Vec<i64> = t.shape.iter().map(|d| *d as i64).collect();
				let data: Vec<f32> = t
					.data
					.chunks_exact(4)
					.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
					.collect();
				(
					t.name.to_string(),
					ort::value::Tensor::from_array((shape, data)).unwrap().into_dyn(),
				)
			})
			.collect();
		let loads = engine.session_loads();
		let (a, b) = measure_pair(
			Duration::from_secs(6),
			|| {
				std::hint::black_box(engine.run(&id, &input).expect("engine run"));
			},
			|| {
				let inputs: Vec<(&str, ort::session::SessionInputValue)> =
					values.iter().map(|(n, v)| (n.as_str(), v.view().into())).collect();
				let out = session.run(inputs).expect("direct run");
				std::hint::black_box(out);
			},
		);
		let loads_during = engine.session_loads() - loads;
		println!(
			"{name},{},{:.1},{:.1},{:.3},{loads_during}",
			bytes.len(),
			a.as_secs_f64() * 1e6,
			b.as_secs_f64() * 1e6,
			a.as_secs_f64() / b.as_secs_f64()
		);
	}
}
