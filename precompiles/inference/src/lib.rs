//! The inference precompile: Solidity contracts call `pallet-inference` at a fixed address
//! (`0x000000000000000000000000000000000a010000`) through the interface in `IInference.sol`
//! (beside this crate; the Rust types are generated from that file).
//!
//! The requester of a request made through the precompile is the calling account: a contract
//! pays the fee from its own balance (held in escrow like any request). Requests through
//! DELEGATECALL revert with `DelegateCallDenied`: there the caller would be the delegating
//! contract's caller, whose balance that contract must never be able to spend. Pallet errors revert
//! with their name, so `try`/`catch` in Solidity sees e.g. `Error("UnknownModel")`.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use alloy_core::{
	primitives::{FixedBytes, U256},
	sol,
	sol_types::{SolCall, SolValue},
};
use core::{marker::PhantomData, num::NonZero};
use frame_support::pallet_prelude::Encode;
use frame_support::traits::Get;
use pallet_inference::{
	weights::WeightInfo, ModelStatus, RequestRules, RequestStatus, ResultCallback as _, Tolerance,
};
use pallet_revive::precompiles::{AddressMatcher, Error, Ext, Precompile};
use sp_core::H256;
use sp_runtime::{DispatchError, Weight};

// The interface exactly as Solidity contracts import it: one source, no copy to drift. Every
// function of it must have an arm in `call` (the match over `IInferenceCalls` is exhaustive).
sol!("IInference.sol");

/// Revert reason of a request made through DELEGATECALL.
pub const DELEGATE_CALL_DENIED: &str = "DelegateCallDenied";

/// The `u16` of the precompile's fixed address `0x…0a01_0000`.
pub const ADDRESS_INDEX: u16 = 0x0A01;

/// The precompile, for a runtime with both pallets.
pub struct InferencePrecompile<T>(PhantomData<T>);

/// A revert carrying `reason`, as Solidity's `revert(reason)`.
fn revert(reason: &str) -> Error {
	Error::Revert(reason.into())
}

/// Pallet errors revert with their name; anything else traps.
fn dispatch_error(e: DispatchError) -> Error {
	match e {
		DispatchError::Module(m) => revert(m.message.unwrap_or("InferenceError")),
		DispatchError::Token(_) | DispatchError::Arithmetic(_) => revert("InsufficientBalance"),
		other => Error::from(other),
	}
}

/// `requestStatus`'s number for a request's status (`None`: unknown), as `IInference.sol`
/// documents it.
pub fn request_status_code(status: Option<RequestStatus>) -> u8 {
	match status {
		None => 0,
		Some(RequestStatus::Pending) => 1,
		Some(RequestStatus::Attested) => 2,
		Some(RequestStatus::Expired) => 3,
		Some(RequestStatus::Failed) => 4,
	}
}

/// `modelRules`'s number for a model's status, as `IInference.sol` documents it.
pub fn model_status_code(status: ModelStatus) -> u8 {
	match status {
		ModelStatus::Uploading => 0,
		ModelStatus::Active => 1,
		ModelStatus::Retired => 2,
		ModelStatus::Suspended => 3,
		ModelStatus::Probing => 4,
		ModelStatus::Rejected => 5,
	}
}

/// Storage reads a view charges for (a request or a result, and the model).
/// Most bytes of a stored request (`Inference::Requests`' proof size in the generated weights).
const REQUEST_BYTES: u64 = 1170;

fn read_weight<T: frame_system::Config>(reads: u64, bytes: u64) -> Weight {
	T::DbWeight::get()
		.reads(reads)
		.saturating_add(Weight::from_parts(bytes.saturating_mul(100), bytes))
}

/// `requestInferenceWithRules`' demands: `type(uint64).max` in both tolerance parts keeps the
/// model's tolerance.
pub fn request_rules(min_attesters: u32, abs_e9: u64, rel_e9: u64) -> RequestRules {
	let tolerance = (abs_e9, rel_e9) != (u64::MAX, u64::MAX);
	RequestRules { min_attesters, tolerance: tolerance.then_some(Tolerance { abs_e9, rel_e9 }) }
}

/// `requestInference`, `requestInferenceWithCallback` and `requestInferenceWithRules`: the caller is the requester and pays
/// the fee; with a callback, it also prepays the callback's weight as gas, now.
fn request<T>(
	env: &mut impl Ext<T = T>,
	model: &FixedBytes<32>,
	input: &alloy_core::primitives::Bytes,
	max_fee: &U256,
	timeout: u32,
	callback: Option<Weight>,
	rules: RequestRules,
) -> Result<Vec<u8>, Error>
where
	T: pallet_revive::Config + pallet_inference::Config,
	pallet_inference::BalanceOf<T>: TryFrom<u128>,
{
	// In a DELEGATECALL the caller is the delegating contract's caller: any contract a user
	// calls could hold that user's balance as a fee. Only direct calls may request.
	if env.is_delegate_call() {
		return Err(revert(DELEGATE_CALL_DENIED));
	}
	if env.is_read_only() {
		return Err(revert("StateChangeDenied"));
	}
	env.charge(<T as pallet_inference::Config>::WeightInfo::request_inference(
		input.len() as u32,
		<T as pallet_inference::Config>::MaxCommittee::get(),
	))?;
	if let Some(limit) = callback {
		if !limit.all_lte(<T as pallet_inference::Config>::ResultCallback::max_weight()) {
			return Err(revert("CallbackTooHeavy"));
		}
		env.charge(
			limit.saturating_add(pallet_inference::Pallet::<T>::register_callback_weight()),
		)?;
	}
	let requester = env.caller().account_id().map_err(dispatch_error)?.clone();
	let max_fee = u128::try_from(*max_fee)
		.ok()
		.and_then(|fee| pallet_inference::BalanceOf::<T>::try_from(fee).ok())
		.ok_or_else(|| revert("FeeOutOfRange"))?;
	let timeout = (timeout != 0).then(|| timeout.into());
	// An input over `MaxInputBytes` reverts with the pallet's `InputTooLarge`.
	let id = pallet_inference::Pallet::<T>::do_request(
		requester,
		H256(model.0),
		input.to_vec(),
		max_fee,
		timeout,
		rules,
	)
	.map_err(dispatch_error)?;
	if let Some(limit) = callback {
		// The gas was paid by the transaction's signer: it gets back what the callback leaves.
		let payer = match env.origin() {
			pallet_revive::ExecOrigin::Signed(account) => Some(account.clone()),
			pallet_revive::ExecOrigin::Root => None,
		};
		pallet_inference::Pallet::<T>::register_callback(id, limit, payer)
			.map_err(dispatch_error)?;
	}
	Ok(id.abi_encode())
}

impl<T> Precompile for InferencePrecompile<T>
where
	T: pallet_revive::Config + pallet_inference::Config,
	pallet_inference::BalanceOf<T>: TryFrom<u128> + Into<u128>,
{
	type T = T;
	type Interface = IInference::IInferenceCalls;
	const MATCHER: AddressMatcher = AddressMatcher::Fixed(NonZero::new(ADDRESS_INDEX).unwrap());
	const HAS_CONTRACT_INFO: bool = false;

	fn call(
		_address: &[u8; 20],
		input: &Self::Interface,
		env: &mut impl Ext<T = Self::T>,
	) -> Result<Vec<u8>, Error> {
		use IInference::*;
		match input {
			IInferenceCalls::requestInference(requestInferenceCall {
				model,
				input,
				maxFee,
				timeout,
			}) => request::<T>(env, model, input, maxFee, *timeout, None, Default::default()),
			IInferenceCalls::requestInferenceWithCallback(requestInferenceWithCallbackCall {
				model,
				input,
				maxFee,
				timeout,
				callbackRefTime,
				callbackProofSize,
			}) => {
				let limit = Weight::from_parts(*callbackRefTime, *callbackProofSize);
				request::<T>(env, model, input, maxFee, *timeout, Some(limit), Default::default())
			}
			IInferenceCalls::requestInferenceWithRules(requestInferenceWithRulesCall {
				model,
				input,
				maxFee,
				timeout,
				callbackRefTime,
				callbackProofSize,
				minAttesters,
				toleranceAbsE9,
				toleranceRelE9,
			}) => {
				let limit = Weight::from_parts(*callbackRefTime, *callbackProofSize);
				let callback = (limit != Weight::zero()).then_some(limit);
				let rules = request_rules(*minAttesters, *toleranceAbsE9, *toleranceRelE9);
				request::<T>(env, model, input, maxFee, *timeout, callback, rules)
			}
			IInferenceCalls::maxCallbackWeight(maxCallbackWeightCall {}) => {
				let max = <T as pallet_inference::Config>::ResultCallback::max_weight();
				Ok((max.ref_time(), max.proof_size()).abi_encode_params())
			}
			IInferenceCalls::requestStatus(requestStatusCall { requestId }) => {
				env.charge(read_weight::<T>(1, 1200))?;
				let status = request_status_code(
					pallet_inference::Requests::<T>::get(*requestId).map(|r| r.status),
				);
				Ok(U256::from(status).abi_encode())
			}
			IInferenceCalls::getResult(getResultCall { requestId }) => {
				// Charged for the stored result's size (its output, up to 1 MiB, is most of it),
				// known before it is read: a contract reading a small result pays for that.
				env.charge(read_weight::<T>(1, 0))?;
				let len = pallet_inference::Pallet::<T>::result_encoded_len(*requestId)
					.ok_or_else(|| revert("NoResult"))?;
				env.charge(read_weight::<T>(0, len.into()))?;
				let r = pallet_inference::Results::<T>::get(*requestId)
					.ok_or_else(|| revert("NoResult"))?;
				let attested_at: u32 =
					frame_support::sp_runtime::SaturatedConversion::saturated_into(r.attested_at);
				Ok((
					alloy_core::primitives::Bytes::from(r.output.into_inner()),
					FixedBytes::<32>::from(r.output_hash.0),
					r.attesters.len() as u32,
					attested_at,
				)
					.abi_encode_params())
			}
			IInferenceCalls::getAgreement(getAgreementCall { requestId }) => {
				env.charge(read_weight::<T>(2, REQUEST_BYTES))?;
				let result = pallet_inference::Pallet::<T>::result_encoded_len(*requestId)
					.ok_or_else(|| revert("NoResult"))?;
				env.charge(read_weight::<T>(0, result.into()))?;
				let (r, request) = pallet_inference::Results::<T>::get(*requestId)
					.zip(pallet_inference::Requests::<T>::get(*requestId))
					.ok_or_else(|| revert("NoResult"))?;
				Ok((
					r.attesters.len() as u32,
					r.dissenters.len() as u32,
					request.committee.len() as u32,
					request.quorum,
					r.max_difference_e9,
				)
					.abi_encode_params())
			}
			IInferenceCalls::getModel(getModelCall { model }) => {
				env.charge(read_weight::<T>(1, 3600))?;
				let m = pallet_inference::Models::<T>::get(H256(model.0))
					.ok_or_else(|| revert("UnknownModel"))?;
				let fee: u128 = m.fee.into();
				Ok((
					m.status == ModelStatus::Active,
					U256::from(fee),
					m.inputs.len() as u32,
					m.outputs.len() as u32,
				)
					.abi_encode_params())
			}
			IInferenceCalls::modelRules(modelRulesCall { model }) => {
				env.charge(read_weight::<T>(1, 3600))?;
				let m = pallet_inference::Models::<T>::get(H256(model.0))
					.ok_or_else(|| revert("UnknownModel"))?;
				// The 32 bytes of the owner's account id (SCALE of `AccountId32` is its bytes).
				let owner = m
					.owner
					.using_encoded(|b| <[u8; 32]>::try_from(b).ok())
					.ok_or_else(|| revert("BadOwner"))?;
				let status = model_status_code(m.status);
				let fee: u128 = m.fee.into();
				Ok((
					FixedBytes::<32>::from(owner),
					// A uint8 is one word, like any uint (alloy has no `SolValue` for u8).
					U256::from(status),
					m.tolerance.abs_e9,
					m.tolerance.rel_e9,
					U256::from(fee),
				)
					.abi_encode_params())
			}
			IInferenceCalls::quote(quoteCall { model, inputBytes }) => {
				env.charge(read_weight::<T>(2, 3600))?;
				let id = H256(model.0);
				if !pallet_inference::Models::<T>::contains_key(id) {
					return Err(revert("UnknownModel"));
				}
				let fee: u128 = pallet_inference::Pallet::<T>::quote(id, *inputBytes)
					.ok_or_else(|| revert("NoExecutors"))?
					.into();
				Ok(U256::from(fee).abi_encode())
			}
		}
	}
}

/// Most weight a contract's `onInferenceResult` may be given: 50 ms and 1 MiB of proof.
pub const MAX_CALLBACK_WEIGHT: Weight = Weight::from_parts(50_000_000_000, 1024 * 1024);

/// Calls `onInferenceResult(requestId, output)` (or, for an agreed failure,
/// `onInferenceFailure(requestId, kind)`, for an expiry `onInferenceExpired(requestId,
/// reason)`) on the contract that made a request, as the
/// contract itself (`msg.sender == address(this)`), within the weight it prepaid; storage the
/// callback writes is paid from the contract's balance. A revert or an exhausted limit is
/// reported (`CallbackDelivered { success: false }`) and rolled back; the result stands.
pub struct ContractCallback<T>(PhantomData<T>);

impl<T> pallet_inference::ResultCallback<T::AccountId> for ContractCallback<T>
where
	T: pallet_revive::Config + pallet_inference::Config,
{
	fn max_weight() -> Weight {
		MAX_CALLBACK_WEIGHT
	}

	fn deliver(
		request_id: pallet_inference::RequestId,
		requester: &T::AccountId,
		output: &[u8],
		limit: Weight,
	) -> (bool, Weight) {
		let data = IInferenceConsumer::onInferenceResultCall {
			requestId: request_id,
			output: output.to_vec().into(),
		}
		.abi_encode();
		call_back::<T>(requester, data, limit)
	}

	fn deliver_failure(
		request_id: pallet_inference::RequestId,
		requester: &T::AccountId,
		kind: pallet_inference::FailureKind,
		limit: Weight,
	) -> (bool, Weight) {
		let data =
			IInferenceConsumer::onInferenceFailureCall { requestId: request_id, kind: kind as u8 }
				.abi_encode();
		call_back::<T>(requester, data, limit)
	}

	fn deliver_expiry(
		request_id: pallet_inference::RequestId,
		requester: &T::AccountId,
		reason: pallet_inference::ExpiryReason,
		limit: Weight,
	) -> (bool, Weight) {
		let reason = match reason {
			pallet_inference::ExpiryReason::Deadline => 0,
			pallet_inference::ExpiryReason::NoAgreement => 1,
		};
		let data = IInferenceConsumer::onInferenceExpiredCall { requestId: request_id, reason }
			.abi_encode();
		call_back::<T>(requester, data, limit)
	}
}

/// Calls the requesting contract with `data` as the contract itself, within `limit`.
fn call_back<T>(requester: &T::AccountId, data: Vec<u8>, limit: Weight) -> (bool, Weight)
where
	T: pallet_revive::Config + pallet_inference::Config,
{
	use pallet_revive::AddressMapper as _;
	let contract = <T as pallet_revive::Config>::AddressMapper::to_address(requester);
	let outcome = pallet_revive::Pallet::<T>::bare_call(
		frame_system::RawOrigin::Signed(requester.clone()).into(),
		contract,
		Default::default(),
		pallet_revive::TransactionLimits::WeightAndDeposit {
			weight_limit: limit,
			deposit_limit: sp_runtime::traits::Bounded::max_value(),
		},
		data,
		&pallet_revive::ExecConfig::new_substrate_tx_without_bump(),
	);
	let success = matches!(&outcome.result, Ok(r) if !r.did_revert());
	(success, outcome.weight_consumed.min(limit))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn request_rules_keep_the_models_tolerance_only_when_both_parts_are_the_maximum() {
		assert_eq!(
			request_rules(3, u64::MAX, u64::MAX),
			RequestRules { min_attesters: 3, tolerance: None }
		);
		let partly = request_rules(0, u64::MAX, 5);
		assert_eq!(partly.tolerance, Some(Tolerance { abs_e9: u64::MAX, rel_e9: 5 }));
		assert_eq!(request_rules(u32::MAX, 0, 0).tolerance, Some(Tolerance::default()));
	}

	/// The numbers `IInference.sol` documents for `name`'s statuses: "N word" pairs (N < 10)
	/// in the doc comment before the function.
	fn documented(name: &str) -> Vec<(u8, String)> {
		let sol = include_str!("../IInference.sol");
		let at = sol.find(&format!("function {name}(")).expect("function in IInference.sol");
		let doc: String = sol[..at]
			.lines()
			.rev()
			.skip(1)
			.take_while(|l| l.trim_start().starts_with("///"))
			.collect::<Vec<_>>()
			.into_iter()
			.rev()
			.collect::<Vec<_>>()
			.join(" ");
		let words: Vec<&str> =
			doc.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
		words
			.windows(2)
			.filter_map(|w| Some((w[0].parse::<u8>().ok()?, w[1].to_lowercase())))
			.filter(|(n, _)| *n < 10)
			.collect()
	}

	#[test]
	fn request_status_numbers_are_the_documented_ones() {
		let doc = documented("requestStatus");
		let ours: Vec<(u8, String)> = [
			(None, "unknown"),
			(Some(RequestStatus::Pending), "pending"),
			(Some(RequestStatus::Attested), "attested"),
			(Some(RequestStatus::Expired), "expired"),
			(Some(RequestStatus::Failed), "failed"),
		]
		.into_iter()
		.map(|(s, word)| (request_status_code(s), word.to_string()))
		.collect();
		assert_eq!(doc, ours);
	}

	#[test]
	fn model_status_numbers_are_the_documented_ones() {
		let doc = documented("modelRules");
		let ours: Vec<(u8, String)> = [
			(ModelStatus::Uploading, "uploading"),
			(ModelStatus::Active, "active"),
			(ModelStatus::Retired, "retired"),
			(ModelStatus::Suspended, "suspended"),
			(ModelStatus::Probing, "probing"),
			(ModelStatus::Rejected, "rejected"),
		]
		.into_iter()
		.map(|(s, word)| (model_status_code(s), word.to_string()))
		.collect();
		assert_eq!(doc, ours);
	}
}
