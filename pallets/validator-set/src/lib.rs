//! # Validator set
//!
//! A validator set that an authorized origin (root on development chains, governance later)
//! changes at run time, without a restart or a runtime upgrade. It is the `SessionManager` of
//! `pallet-session`: a change made during session `n` is handed to the session pallet at the
//! next rotation and becomes active one session later, once the new validators' session keys
//! (Aura, GRANDPA, inference) are known. Validators without session keys are skipped by
//! `pallet-session` itself.
//!
//! The set is bounded by `MaxValidators` and never drops below `MinValidators`, so the chain
//! cannot remove its last block producer by mistake.
//!
//! It also **rotates the sessions** (`Config::SessionRotation`), in its `on_initialize`:
//! `pallet-session` rotating on its own counts the rotation block as full (its `on_initialize`
//! returns `max_block`), so no transaction gets into that block. With 2-second blocks and
//! 10-block sessions that delayed every tenth block's answers and requests by a block (issue 17).
//! The runtime sets `pallet-session`'s `ShouldEndSession` to [`NeverEndSession`] and this pallet
//! charges the rotation what `SessionRotation::rotate` returns.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use frame_support::weights::Weight;
use sp_staking::SessionIndex;

/// Rotates the sessions on a schedule (the runtime: `pallet-session`'s rotation on
/// `PeriodicSessions`).
pub trait SessionRotation<BlockNumber> {
	/// Whether a session ends at block `now`.
	fn should_rotate(now: BlockNumber) -> bool;
	/// Rotates the session; returns the weight of a rotation of the largest validator set.
	fn rotate() -> Weight;
}

/// No rotation (tests of this pallet alone).
impl<BlockNumber> SessionRotation<BlockNumber> for () {
	fn should_rotate(_: BlockNumber) -> bool {
		false
	}
	fn rotate() -> Weight {
		Weight::zero()
	}
}

/// `pallet-session`'s `ShouldEndSession` when this pallet rotates the sessions.
pub struct NeverEndSession;
impl<BlockNumber> pallet_session::ShouldEndSession<BlockNumber> for NeverEndSession {
	fn should_end_session(_: BlockNumber) -> bool {
		false
	}
}

#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use frame_support::pallet_prelude::*;
	use frame_system::pallet_prelude::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: frame_system::Config {
		/// Who may add and remove validators.
		type AddRemoveOrigin: EnsureOrigin<Self::RuntimeOrigin>;
		/// Upper bound on the validator set.
		#[pallet::constant]
		type MaxValidators: Get<u32>;
		/// The set never shrinks below this many validators.
		#[pallet::constant]
		type MinValidators: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
		/// When and how sessions rotate (in this pallet's `on_initialize`).
		type SessionRotation: SessionRotation<BlockNumberFor<Self>>;
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			if T::SessionRotation::should_rotate(now) {
				T::SessionRotation::rotate()
			} else {
				Weight::zero()
			}
		}
	}

	/// The validators the next session rotation hands to `pallet-session`.
	#[pallet::storage]
	pub type Validators<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxValidators>, ValueQuery>;

	/// Whether `Validators` changed since the last rotation (so the rotation reports a new set).
	#[pallet::storage]
	pub type SetChanged<T: Config> = StorageValue<_, bool, ValueQuery>;

	#[pallet::genesis_config]
	#[derive(frame_support::DefaultNoBound)]
	pub struct GenesisConfig<T: Config> {
		/// The validators of the genesis session.
		pub initial_validators: Vec<T::AccountId>,
	}

	#[pallet::genesis_build]
	impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
		fn build(&self) {
			let mut unique = self.initial_validators.clone();
			unique.sort();
			unique.dedup();
			assert_eq!(unique.len(), self.initial_validators.len(), "duplicate genesis validator");
			let bounded =
				BoundedVec::<_, T::MaxValidators>::try_from(self.initial_validators.clone())
					.expect("genesis validators exceed MaxValidators");
			Validators::<T>::put(bounded);
		}
	}

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A validator was added; it becomes active two session rotations from now.
		ValidatorAdded { who: T::AccountId },
		/// A validator was removed; it leaves the active set two session rotations from now.
		ValidatorRemoved { who: T::AccountId },
		/// A new validator set was handed to the session pallet for `session`.
		NewSetPlanned { session: SessionIndex, validators: u32 },
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account is already a validator.
		AlreadyValidator,
		/// The account is not a validator.
		NotValidator,
		/// The set already holds `MaxValidators` validators.
		TooManyValidators,
		/// Removing the validator would leave fewer than `MinValidators`.
		TooFewValidators,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Add `who` to the validator set. It needs session keys (`session.set_keys`) to take
		/// part; the change takes effect two session rotations later.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::add_validator(T::MaxValidators::get()))]
		pub fn add_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AddRemoveOrigin::ensure_origin(origin)?;
			Validators::<T>::try_mutate(|set| -> DispatchResult {
				ensure!(!set.contains(&who), Error::<T>::AlreadyValidator);
				set.try_push(who.clone()).map_err(|_| Error::<T>::TooManyValidators)?;
				Ok(())
			})?;
			SetChanged::<T>::put(true);
			Self::deposit_event(Event::ValidatorAdded { who });
			Ok(())
		}

		/// Remove `who` from the validator set; it stops producing blocks two session rotations
		/// later.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::remove_validator(T::MaxValidators::get()))]
		pub fn remove_validator(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
			T::AddRemoveOrigin::ensure_origin(origin)?;
			Validators::<T>::try_mutate(|set| -> DispatchResult {
				let position =
					set.iter().position(|v| v == &who).ok_or(Error::<T>::NotValidator)?;
				ensure!(set.len() as u32 > T::MinValidators::get(), Error::<T>::TooFewValidators);
				set.remove(position);
				Ok(())
			})?;
			SetChanged::<T>::put(true);
			Self::deposit_event(Event::ValidatorRemoved { who });
			Ok(())
		}
	}
}

impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
	fn new_session(new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		if !SetChanged::<T>::take() {
			return None;
		}
		let validators = Validators::<T>::get().into_inner();
		Self::deposit_event(Event::NewSetPlanned {
			session: new_index,
			validators: validators.len() as u32,
		});
		Some(validators)
	}

	fn new_session_genesis(_new_index: SessionIndex) -> Option<Vec<T::AccountId>> {
		Some(Validators::<T>::get().into_inner())
	}

	fn end_session(_end_index: SessionIndex) {}
	fn start_session(_start_index: SessionIndex) {}
}
