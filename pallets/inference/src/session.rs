//! Session changes: the executors of a session are the active validators with their `infr`
//! keys (this pallet is a session handler for that key type).
use crate::*;

impl<T: Config> Pallet<T> {
	/// Stores the session's executors, keeping at most `MaxExecutors`.
	pub(crate) fn set_executors<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a T::AccountId, InferenceAuthorityId)>,
		T::AccountId: 'a,
	{
		let executors: Vec<Executor<T::AccountId>> =
			validators.map(|(account, key)| Executor { account: account.clone(), key }).collect();
		let bounded = BoundedVec::<_, T::MaxExecutors>::truncate_from(executors);
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

	fn on_genesis_session<'a, I>(validators: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)> + 'a,
	{
		Self::set_executors(validators);
	}

	fn on_new_session<'a, I>(changed: bool, validators: I, _queued: I)
	where
		I: Iterator<Item = (&'a T::AccountId, Self::Key)> + 'a,
	{
		if changed {
			Self::set_executors(validators);
		}
	}

	fn on_disabled(_validator_index: u32) {}
}
