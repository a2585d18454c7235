//! What the runtime plugs into the pallet: a hook for dissenting validators and the delivery of
//! outcomes (result, agreed failure, expiry) to requesters that asked for a callback.
use crate::{ExpiryReason, FailureKind, RequestId};
use frame_support::weights::Weight;
use sp_runtime::{traits::Zero, FixedU128};

/// Called for each validator whose result disagreed with an attested result: a hook for
/// slashing or reputation. `()` only records the strike.
pub trait OnDissent<AccountId> {
	fn on_dissent(validator: &AccountId, request: RequestId, strikes: u32);
}

impl<AccountId> OnDissent<AccountId> for () {
	fn on_dissent(_: &AccountId, _: RequestId, _: u32) {}
}

/// Delivers an attested result to its requester, when the request asked for a callback (the
/// runtime calls the requesting contract's `onInferenceResult`). Whatever the callback does
/// (revert, run out of its weight), the attestation stands: the result is stored and paid before
/// the callback runs.
pub trait ResultCallback<AccountId> {
	/// Most weight one callback may be given; every result submission is charged this up front
	/// and refunded what the callback did not use.
	fn max_weight() -> Weight;
	/// Calls back `requester` with the result of `request_id`, within `limit`. Returns whether
	/// the callback succeeded and the weight it used.
	fn deliver(
		request_id: RequestId,
		requester: &AccountId,
		output: &[u8],
		limit: Weight,
	) -> (bool, Weight);
	/// Tells `requester` that request `request_id` ended as an agreed failure of `kind`,
	/// within `limit`. Returns whether the callback succeeded and the weight it used.
	fn deliver_failure(
		request_id: RequestId,
		requester: &AccountId,
		kind: FailureKind,
		limit: Weight,
	) -> (bool, Weight);
	/// Tells `requester` that request `request_id` expired for `reason` (its fee refunded but
	/// the share of the members that committed), within `limit`. Returns whether the callback
	/// succeeded and the weight it used.
	fn deliver_expiry(
		request_id: RequestId,
		requester: &AccountId,
		reason: ExpiryReason,
		limit: Weight,
	) -> (bool, Weight);
}

impl<AccountId> ResultCallback<AccountId> for () {
	fn max_weight() -> Weight {
		Weight::zero()
	}
	fn deliver(_: RequestId, _: &AccountId, _: &[u8], _: Weight) -> (bool, Weight) {
		(false, Weight::zero())
	}
	fn deliver_failure(_: RequestId, _: &AccountId, _: FailureKind, _: Weight) -> (bool, Weight) {
		(false, Weight::zero())
	}
	fn deliver_expiry(_: RequestId, _: &AccountId, _: ExpiryReason, _: Weight) -> (bool, Weight) {
		(false, Weight::zero())
	}
}

/// Prices prepaid callback weight, so that what a callback did not use can be refunded at the
/// price it was paid (the runtime's transaction fee: `pallet-transaction-payment`).
pub trait CallbackFee<Balance> {
	/// The fee multiplier the transactions of this block pay (recorded with each callback).
	fn multiplier() -> FixedU128;
	/// The fee for `weight` before the multiplier.
	fn weight_to_fee(weight: &Weight) -> Balance;
}

/// No fee was paid for callback weight: nothing is refunded.
impl<Balance: Zero> CallbackFee<Balance> for () {
	fn multiplier() -> FixedU128 {
		FixedU128::from_u32(1)
	}
	fn weight_to_fee(_: &Weight) -> Balance {
		Balance::zero()
	}
}
