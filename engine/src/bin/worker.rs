//! `verity-inference-worker SPEC`: one inference worker process (see `verity_engine::worker`).
fn main() {
	let arg = std::env::args().nth(1).unwrap_or_default();
	verity_engine::worker::worker_main(&arg)
}
