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

/// Runs `f` until at least `budget` has passed (and at least 20 times); returns the median.
fn measure(budget: Duration, mut f: impl FnMut()) -> Duration {
	for _ in 0..3 {
		f();
	}
	let started = Instant::now();
	let mut samples = Vec::new();
	while samples.len() < 20 || started.elapsed() < budget {
		let t = Instant::now();
		f();
		samples.push(t.elapsed());
		if samples.len() >= 2000 {
			break;
		}
	}
	median(samples)
}

fn main() {
	let mut args = std::env::args().skip(1);
	let dir = std::path::PathBuf::from(args.next().expect("MODELS_DIR"));
	let names: Vec<String> = args.collect();
	let names =
		if names.is_empty() { vec!["mlp".into(), "heavy8".into(), "heavy".into()] } else { names };
	let engine =
		Engine::new(EngineConfig::new(library_path(None).expect("ONNX Runtime"))).expect("engine");
	println!("model,bytes,engine_us,direct_us,ratio,session_loads_during_runs");
	for name in names {
		let bytes = std::fs::read(dir.join(format!("{name}.onnx"))).expect("model");
		let input = std::fs::read(dir.join(format!("{name}.input.vtns"))).expect("input");
		let id = sp_crypto_hashing::blake2_256(&bytes);
		engine.load(&id, &bytes).expect("load");
		let loads = engine.session_loads();
		let budget = Duration::from_secs(3);
		let a = measure(budget, || {
			engine.run(&id, &input).expect("engine run");
		});
		let loads_during = engine.session_loads() - loads;

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
		let b = measure(budget, || {
			let inputs: Vec<(&str, ort::session::SessionInputValue)> =
				values.iter().map(|(n, v)| (n.as_str(), v.view().into())).collect();
			let out = session.run(inputs).expect("direct run");
			std::hint::black_box(out);
		});
		println!(
			"{name},{},{:.1},{:.1},{:.3},{loads_during}",
			bytes.len(),
			a.as_secs_f64() * 1e6,
			b.as_secs_f64() * 1e6,
			a.as_secs_f64() / b.as_secs_f64()
		);
	}
}
