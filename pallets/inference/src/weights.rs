//! Weights of `pallet-inference`.
//!
//! The shape of each function (which parameters it is linear in, how many storage reads and
//! writes) follows the benchmarks in `benchmarking.rs`; the constants are conservative
//! estimates until the numbers from `frame-benchmarking` replace them (see
//! docs/benchmarks.md for the command and the status).
//!
//! Parameters: `c` chunk bytes, `s` model bytes, `n` chunks, `i` input bytes, `o` output bytes,
//! `k` committee members whose results are compared at finalization, `q` requests scheduled,
//! `e` requests expired, `p` requests pruned in a block.
use frame_support::weights::{constants::ParityDbWeight, Weight};

/// Weight functions needed by `pallet-inference`.
pub trait WeightInfo {
	fn register_model() -> Weight;
	fn upload_model_chunk(c: u32) -> Weight;
	fn complete_model_upload(s: u32) -> Weight;
	fn retire_model() -> Weight;
	fn remove_model(n: u32) -> Weight;
	fn request_inference(i: u32, k: u32) -> Weight;
	fn authorize_submit_result(o: u32) -> Weight;
	fn submit_result(o: u32, k: u32) -> Weight;
	fn on_initialize(q: u32, e: u32, p: u32) -> Weight;
}

/// Weights for the Verity runtime (ParityDB).
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);

/// The same formulas for tests.
impl WeightInfo for () {
	fn register_model() -> Weight {
		SubstrateWeight::<()>::register_model()
	}
	fn upload_model_chunk(c: u32) -> Weight {
		SubstrateWeight::<()>::upload_model_chunk(c)
	}
	fn complete_model_upload(s: u32) -> Weight {
		SubstrateWeight::<()>::complete_model_upload(s)
	}
	fn retire_model() -> Weight {
		SubstrateWeight::<()>::retire_model()
	}
	fn remove_model(n: u32) -> Weight {
		SubstrateWeight::<()>::remove_model(n)
	}
	fn request_inference(i: u32, k: u32) -> Weight {
		SubstrateWeight::<()>::request_inference(i, k)
	}
	fn authorize_submit_result(o: u32) -> Weight {
		SubstrateWeight::<()>::authorize_submit_result(o)
	}
	fn submit_result(o: u32, k: u32) -> Weight {
		SubstrateWeight::<()>::submit_result(o, k)
	}
	fn on_initialize(q: u32, e: u32, p: u32) -> Weight {
		SubstrateWeight::<()>::on_initialize(q, e, p)
	}
}

fn db(reads: u64, writes: u64) -> Weight {
	ParityDbWeight::get().reads_writes(reads, writes)
}

impl<T> WeightInfo for SubstrateWeight<T> {
	fn register_model() -> Weight {
		// Models r/w, Holds r/w, Account r/w.
		Weight::from_parts(60_000_000, 4_000).saturating_add(db(3, 3))
	}
	fn upload_model_chunk(c: u32) -> Weight {
		// Models r/w, ModelChunks w; linear in the chunk (encode + write).
		Weight::from_parts(25_000_000, 3_500)
			.saturating_add(Weight::from_parts(1_500, 1).saturating_mul(c.into()))
			.saturating_add(db(1, 2))
	}
	fn complete_model_upload(s: u32) -> Weight {
		// Models r/w, every chunk read, blake2-256 over `s` bytes.
		Weight::from_parts(30_000_000, 3_500)
			.saturating_add(Weight::from_parts(3_000, 1).saturating_mul(s.into()))
			.saturating_add(db(1 + u64::from(s / (256 * 1024)) + 1, 1))
	}
	fn retire_model() -> Weight {
		Weight::from_parts(20_000_000, 3_500).saturating_add(db(1, 1))
	}
	fn remove_model(n: u32) -> Weight {
		Weight::from_parts(60_000_000, 4_000)
			.saturating_add(db(4, 3))
			.saturating_add(db(0, 1).saturating_mul(n.into()))
	}
	fn request_inference(i: u32, k: u32) -> Weight {
		// Models, PendingCount, Executors, NextRequestId, ExpiryQueue, Holds, Account read;
		// Requests, RequestInputs, NextRequestId, PendingCount, PendingByModel, ExpiryQueue,
		// Holds, Account written. Linear in the input (decode, spec check, hash, write) and the
		// committee (draw, store).
		Weight::from_parts(90_000_000, 8_000)
			.saturating_add(Weight::from_parts(2_000, 1).saturating_mul(i.into()))
			.saturating_add(Weight::from_parts(500_000, 100).saturating_mul(k.into()))
			.saturating_add(db(8, 8))
	}
	fn authorize_submit_result(o: u32) -> Weight {
		// Requests, Submissions, Models read; decode and spec-check the output; sr25519 verify.
		Weight::from_parts(80_000_000, 6_000)
			.saturating_add(Weight::from_parts(1_000, 1).saturating_mul(o.into()))
			.saturating_add(db(3, 0))
	}
	fn submit_result(o: u32, k: u32) -> Weight {
		// The checks again, the submission write, then for finalization with `k` results:
		// k reads of submissions, O(k^2) comparisons of outputs of `o` bytes, k payouts and
		// strikes, result write, counters, k submission deletes.
		let k2 = u64::from(k).saturating_mul(u64::from(k));
		Weight::from_parts(60_000_000, 6_000)
			.saturating_add(Weight::from_parts(1_500, 1).saturating_mul(o.into()))
			.saturating_add(db(4, 1))
			.saturating_add(
				Weight::from_parts(3_000, 0).saturating_mul(u64::from(o).saturating_mul(k2)),
			)
			.saturating_add(Weight::from_parts(40_000_000, 2_000).saturating_mul(k.into()))
			.saturating_add(db(3, 3).saturating_mul(k.into()))
			.saturating_add(db(4, 6))
	}
	fn on_initialize(q: u32, e: u32, p: u32) -> Weight {
		// ExpiryQueue and PruneQueue take/insert; per expired request: request r/w, refund,
		// counters; per pruned request: three removals.
		Weight::from_parts(5_000_000, 1_000)
			.saturating_add(db(2, 3))
			.saturating_add(db(1, 0).saturating_mul(q.into()))
			.saturating_add(Weight::from_parts(50_000_000, 4_000).saturating_mul(e.into()))
			.saturating_add(db(4, 6).saturating_mul(e.into()))
			.saturating_add(Weight::from_parts(10_000_000, 0).saturating_mul(p.into()))
			.saturating_add(db(1, 3).saturating_mul(p.into()))
	}
}
