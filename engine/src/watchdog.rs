//! The run-time limit inside one process: ONNX Runtime's terminate flag, set by one thread.
//! (A run that one operator holds past it is stopped by the worker host, `crate::worker`.)
use ort::session::RunOptions;
use std::{
	sync::{Arc, Condvar, Mutex},
	time::{Duration, Instant},
};

/// Terminates runs that outlive their time budget. One thread per engine, started once: a
/// thread per run would cost more than a small model's whole run.
pub(crate) struct Watchdog {
	state: Arc<(Mutex<WatchState>, Condvar)>,
	/// The thread starts with the first run, not with the engine: a worker process enters its
	/// sandbox while it still has a single thread (`crate::sandbox`).
	started: std::sync::Once,
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
	pub(crate) fn new() -> Self {
		Watchdog { state: Default::default(), started: std::sync::Once::new() }
	}

	fn start(&self) {
		let shared = Arc::downgrade(&self.state);
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
	}

	/// Starts watching a run; returns its id.
	pub(crate) fn watch(&self, options: Arc<RunOptions>, budget: Duration) -> u64 {
		self.started.call_once(|| self.start());
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
	pub(crate) fn release(&self, id: u64) -> bool {
		let (lock, _) = &*self.state;
		let mut guard = lock.lock().unwrap_or_else(|e| e.into_inner());
		guard.runs.remove(&id);
		guard.fired.remove(&id)
	}
}
