//! Callbacks: a contract that asks for one prepays its weight as gas of the requesting
//! transaction (the precompile charges it then); the request's end (result, agreed failure or
//! expiry) calls the contract back within that weight, and the fee paid for the weight the
//! callback did not use goes back to the account that paid it.
//!
//! The refund never exceeds what was paid for the unused weight. The transaction paid
//! `multiplier × weight_to_fee(total)`, and `weight_to_fee` is the larger (or the mean) of a
//! ref-time part and a proof-size part, each linear in its own dimension: growing a weight by
//! `u` raises such a fee by at least the smaller of `u`'s two parts priced alone. The refund is
//! that smaller part at the multiplier of the block that paid, less one unit for rounding. A
//! callback that paid nothing (a root call) refunds nothing; a refund that would leave a new
//! account below the existential deposit is not made.
use crate::*;
use codec::MaxEncodedLen;
use frame_support::ensure;
use sp_runtime::{traits::One, DispatchResult, FixedPointNumber};

impl<T: Config> Pallet<T> {
	/// Asks for the requester of `id` to be called back when the request ends, within `limit`
	/// prepaid by `payer` (the precompile does this for contracts, which prepay `limit` as gas).
	/// Made from inside a callback, the request's callback inherits that callback's payer and
	/// fee multiplier instead (the outer callback's weight paid for it). Reads the request and
	/// the callback being delivered, writes the callback ([`Self::register_callback_weight`]).
	pub fn register_callback(
		id: RequestId,
		limit: Weight,
		payer: Option<T::AccountId>,
	) -> DispatchResult {
		ensure!(limit.all_lte(T::ResultCallback::max_weight()), Error::<T>::CallbackTooHeavy);
		let request = Requests::<T>::get(id).ok_or(Error::<T>::UnknownRequest)?;
		ensure!(request.status == RequestStatus::Pending, Error::<T>::RequestNotPending);
		let callback = match DeliveringCallback::<T>::get() {
			Some(outer) => {
				Callback { limit, payer: outer.payer, fee_multiplier: outer.fee_multiplier }
			}
			None => Callback { limit, payer, fee_multiplier: T::CallbackFee::multiplier() },
		};
		Callbacks::<T>::insert(id, callback);
		Ok(())
	}

	/// Weight of [`Self::register_callback`]: two reads, one write of at most a callback's size.
	pub fn register_callback_weight() -> Weight {
		T::DbWeight::get().reads_writes(2, 1).saturating_add(Weight::from_parts(
			0,
			3 * Callback::<T::AccountId>::max_encoded_len() as u64,
		))
	}

	/// Runs `deliver` (a callback) with `callback` as [`DeliveringCallback`].
	pub(crate) fn delivering<R>(
		callback: &Callback<T::AccountId>,
		deliver: impl FnOnce() -> R,
	) -> R {
		DeliveringCallback::<T>::put(callback);
		let outcome = deliver();
		DeliveringCallback::<T>::kill();
		outcome
	}

	/// Most weight one callback takes: the largest prepaid limit, its context and its refund.
	/// Charged up front wherever a request may end; what is not used is returned.
	pub fn callback_weight() -> Weight {
		T::ResultCallback::max_weight()
			.saturating_add(Self::callback_context_weight())
			.saturating_add(Self::callback_refund_weight())
	}

	/// [`DeliveringCallback`] put and removed around a delivery.
	pub(crate) fn callback_context_weight() -> Weight {
		T::DbWeight::get().writes(2)
	}

	/// A refund: the payer's account and the total issuance, read and written (each at most
	/// 128 bytes of proof: a `System::Account` entry is 80 bytes of key and value).
	pub(crate) fn callback_refund_weight() -> Weight {
		T::DbWeight::get().reads_writes(2, 2).saturating_add(Weight::from_parts(0, 2 * 128))
	}

	/// Records a callback's outcome (`CallbackDelivered`) and refunds what it did not use;
	/// returns the weight it took with its context (at most [`Self::callback_weight`]).
	pub(crate) fn callback_delivered(
		id: RequestId,
		(success, used): (bool, Weight),
		callback: &Callback<T::AccountId>,
	) -> Weight {
		let used = used.min(callback.limit);
		Self::deposit_event(Event::CallbackDelivered {
			request_id: id,
			success,
			weight_used: used,
		});
		used.saturating_add(Self::callback_context_weight())
			.saturating_add(Self::refund_callback(id, callback, used))
	}

	/// Refunds the payer of `callback` the fee of the weight it prepaid beyond `used` (all of
	/// it for a callback that was never delivered); returns the weight this took.
	pub(crate) fn refund_callback(
		id: RequestId,
		callback: &Callback<T::AccountId>,
		used: Weight,
	) -> Weight {
		let Some(payer) = &callback.payer else { return Weight::zero() };
		let unused = callback.limit.saturating_sub(used);
		let amount = Self::unused_fee(unused, callback.fee_multiplier);
		if amount.is_zero() {
			return Weight::zero();
		}
		// Fees were withdrawn from the payer (and burnt or paid out): the refund is minted.
		if T::Currency::mint_into(payer, amount).is_ok() {
			Self::deposit_event(Event::CallbackRefunded {
				request_id: id,
				payer: payer.clone(),
				unused,
				amount,
			});
		}
		Self::callback_refund_weight()
	}

	/// At most what a transaction paid for `unused` of its weight (see the module docs).
	pub fn unused_fee(unused: Weight, multiplier: sp_runtime::FixedU128) -> BalanceOf<T> {
		let ref_time = T::CallbackFee::weight_to_fee(&Weight::from_parts(unused.ref_time(), 0));
		let proof = T::CallbackFee::weight_to_fee(&Weight::from_parts(0, unused.proof_size()));
		let fee = multiplier.saturating_mul_int(ref_time.min(proof));
		fee.saturating_sub(One::one())
	}
}
