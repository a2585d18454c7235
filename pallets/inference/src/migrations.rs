//! Storage migrations.
use crate::*;
use frame_support::{
	migrations::VersionedMigration,
	traits::{Get, UncheckedOnRuntimeUpgrade},
	weights::Weight,
};

/// v0 → v1 (issue 14: 1 MiB outputs): `Submissions` held each member's output bytes; it holds
/// their hash now, and `SubmittedOutputs` each distinct output once. Only pending requests have
/// submissions (at most `MaxPendingRequests × MaxCommittee` entries). Commitments made before
/// the upgrade bound answers the v1 way (`verity/commit/v1`): their reveals no longer match, so
/// requests pending at the upgrade expire like any request without a quorum.
pub struct InnerMigrateV0ToV1<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for InnerMigrateV0ToV1<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut moved = 0u64;
		Submissions::<T>::translate::<BoundedVec<u8, T::MaxOutputBytes>, _>(|id, _, output| {
			moved += 1;
			let hash = output_hash(&output);
			SubmittedOutputs::<T>::insert(id, hash, output);
			Some(hash)
		});
		T::DbWeight::get().reads_writes(moved, moved.saturating_mul(2))
	}
}

/// [`InnerMigrateV0ToV1`], run once: from storage version 0 to 1.
pub type MigrateV0ToV1<T> = VersionedMigration<
	0,
	1,
	InnerMigrateV0ToV1<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;
