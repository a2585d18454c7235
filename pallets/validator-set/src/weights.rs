//! Weights of `pallet-validator-set`.
//!
//! Both calls read and write one bounded `Validators` vector and one flag; their cost is
//! dominated by decoding/encoding the vector (linear in its length `v`). The constants below are
//! conservative estimates (measured numbers come from the pallet's benchmarks, see
//! `benchmarking.rs` and docs/benchmarks.md).
use frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed by `pallet-validator-set`.
pub trait WeightInfo {
	fn add_validator(v: u32) -> Weight;
	fn remove_validator(v: u32) -> Weight;
}

/// Weights for a runtime using a RocksDB/ParityDB-like backend.
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn add_validator(v: u32) -> Weight {
		Weight::from_parts(15_000_000, 1_500)
			.saturating_add(Weight::from_parts(60_000, 32).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads_writes(1, 2))
	}
	fn remove_validator(v: u32) -> Weight {
		Weight::from_parts(15_000_000, 1_500)
			.saturating_add(Weight::from_parts(60_000, 32).saturating_mul(v.into()))
			.saturating_add(T::DbWeight::get().reads_writes(1, 2))
	}
}

// For tests.
impl WeightInfo for () {
	fn add_validator(v: u32) -> Weight {
		Weight::from_parts(15_000_000, 1_500)
			.saturating_add(Weight::from_parts(60_000, 32).saturating_mul(v.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(1, 2))
	}
	fn remove_validator(v: u32) -> Weight {
		Self::add_validator(v)
	}
}
