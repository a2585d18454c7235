//! # Inference pallet
//!
//! Turns "run this model on this input" into a result that a quorum of validators has checked.
//!
//! This first version holds the executor set: the validators' `infr` session keys, kept in step
//! with `pallet-session` through [`OneSessionHandler`]. Models, requests, result submission and
//! quorum finalization build on it.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use frame_support::{traits::OneSessionHandler, BoundedVec};
use verity_primitives::InferenceAuthorityId;

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// Upper bound on the number of inference executors (active validators).
		#[pallet::constant]
		type MaxExecutors: Get<u32>;
	}

	/// The executors of the current session: the `infr` keys of the active validators, in
	/// session order. Requests are attested by these keys.
	#[pallet::storage]
	pub type Executors<T: Config> =
		StorageValue<_, BoundedVec<InferenceAuthorityId, T::MaxExecutors>, ValueQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A new session started with `count` inference executors.
		ExecutorsChanged { count: u32 },
	}
}

impl<T: Config> Pallet<T> {
	/// Stores the session's executor keys, keeping the first `MaxExecutors` (the session pallet
	/// orders validators; a larger set would be cut, which `try_state` can flag).
	fn set_executors<'a, I>(keys: I)
	where
		I: Iterator<Item = &'a InferenceAuthorityId>,
	{
		let bounded: BoundedVec<_, T::MaxExecutors> =
			BoundedVec::truncate_from(keys.cloned().collect::<alloc::vec::Vec<_>>());
		let count = bounded.len() as u32;
		Executors::<T>::put(bounded);
		Self::deposit_event(Event::ExecutorsChanged { count });
	}
}

impl<T: Config> sp_runtime::BoundToRuntimeAppPublic for Pallet<T> {
	type Public = InferenceAuthorityId;
}

impl<T: Config> OneSessionHandler<T::AccountId> for Pallet<T> {
	type Key = InferenceAuthorityId;

	fn on_genesis_session<'a, I: 'a>(validators: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)>,
	{
		let keys: alloc::vec::Vec<_> = validators.map(|(_, k)| k).collect();
		Self::set_executors(keys.iter());
	}

	fn on_new_session<'a, I: 'a>(changed: bool, validators: I, _queued: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)>,
	{
		if changed {
			let keys: alloc::vec::Vec<_> = validators.map(|(_, k)| k).collect();
			Self::set_executors(keys.iter());
		}
	}

	fn on_disabled(_validator_index: u32) {}
}
