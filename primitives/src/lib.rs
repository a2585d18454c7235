//! Types shared by the Verity runtime, its pallets, the node and clients.
//!
//! Kept `no_std` and dependency-light: everything here is compiled into the runtime blob.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod agreement;
pub mod host;
pub mod spec;
pub mod tensor;

use codec::Encode;
use sp_core::{crypto::KeyTypeId, H256};

/// Domain of [`model_id`].
pub const MODEL_ID_CONTEXT: &[u8; 15] = b"verity/model/v1";

/// The id of a registered model: blake2-256 over its owner (the account's SCALE bytes), the
/// blake2-256 of its ONNX bytes (`code_hash`), its input and output specs, its tolerance and its
/// fee. A contract or client that pins the id pins all of them: nobody can register the same id
/// with other rules, and no other owner can squat it.
pub fn model_id(
	owner: &[u8],
	code_hash: &H256,
	inputs: &spec::TensorSpecs,
	outputs: &spec::TensorSpecs,
	tolerance: &agreement::Tolerance,
	fee: u128,
) -> H256 {
	H256(sp_crypto_hashing::blake2_256(
		&(MODEL_ID_CONTEXT, owner, code_hash, inputs, outputs, tolerance, fee).encode(),
	))
}

/// Session key type of inference executors: validators sign their results with it.
///
/// A dedicated key (rather than reusing Aura's) lets an operator keep the block-production key
/// and the attestation key apart, and lets the off-chain worker find its key in the keystore.
pub const INFERENCE_KEY_TYPE: KeyTypeId = KeyTypeId(*b"infr");

/// The application crypto of inference executors (sr25519 under the `infr` key type).
pub mod crypto {
	use super::INFERENCE_KEY_TYPE;
	use sp_application_crypto::{app_crypto, sr25519};
	app_crypto!(sr25519, INFERENCE_KEY_TYPE);
}

/// Public key identifying an inference executor.
pub type InferenceAuthorityId = crypto::Public;
/// Signature made with an inference executor key.
pub type InferenceAuthoritySignature = crypto::Signature;

/// Block time of every Verity chain, in milliseconds. Aura's slot duration, the timestamp
/// pallet's minimum period, the block's compute budget and every window the runtime measures
/// in blocks (request timeouts, the commit window) derive from this one constant. 2 s since
/// issue 17 (it was 6 s): a result is attested two blocks after its request (commit, reveal)
/// and final one GRANDPA round later (docs/finality.md).
pub const MILLISECS_PER_BLOCK: u64 = 2_000;

/// Number of blocks in a session: how fast a changed validator set takes effect (it becomes
/// active at the start of the session after the next one).
pub const SESSION_PERIOD_BLOCKS: u32 = 10;
