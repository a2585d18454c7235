//! `InferenceApi`: what the node, its RPC (`pallet-inference-rpc`) and clients read from
//! pallet-inference, as `pallet-transaction-payment-rpc-runtime-api` is for transaction payment.
#![cfg_attr(not(feature = "std"), no_std)]
extern crate alloc;

use alloc::vec::Vec;
use pallet_inference::{ModelId, ModelProfile, RequestId};
use verity_primitives::InferenceAuthorityId;

sp_api::decl_runtime_apis! {
	/// Read access to models, requests and results. Types are the pallet's storage types,
	/// SCALE-encoded: `Model`, `Request` and `Result` are `ModelInfo`, `Request` and
	/// `InferenceResult` as the runtime instantiates them.
	pub trait InferenceApi<AccountId, Model, Request, Result>
	where
		AccountId: codec::Codec,
		Model: codec::Codec,
		Request: codec::Codec,
		Result: codec::Codec,
	{
		/// A registered model.
		fn model(id: ModelId) -> Option<Model>;
		/// The ONNX bytes of an active or retired model (for validators and re-checkers).
		fn model_bytes(id: ModelId) -> Option<Vec<u8>>;
		/// Registered model ids, `count` from `start` (in storage order).
		fn list_models(start: u32, count: u32) -> Vec<ModelId>;
		/// A request, while it is kept.
		fn request(id: RequestId) -> Option<Request>;
		/// The encoded input tensors of a request.
		fn request_input(id: RequestId) -> Option<Vec<u8>>;
		/// The attested result of a request.
		fn result(id: RequestId) -> Option<Result>;
		/// Pending requests assigned to an executor key that it has not answered yet, in id
		/// order: at most `count` (capped at 1,024) from id `start` on.
		fn assigned(key: InferenceAuthorityId, start: RequestId, count: u32) -> Vec<RequestId>;
		/// The fee a request with `input_len` bytes of input to a model would pay now (the
		/// model's fee or the fee floor, whichever is higher): what to offer as `max_fee`.
		fn quote(model: ModelId, input_len: u32) -> Option<u128>;
		/// Strikes of a validator account.
		fn strikes(account: AccountId) -> u32;
		/// What a model's readiness probe measured (`None` until it passed).
		fn model_profile(id: ModelId) -> Option<ModelProfile<u32>>;
	}
}
