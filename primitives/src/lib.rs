//! Types shared by the Verity runtime, its pallets, the node and clients.
//!
//! Kept `no_std` and dependency-light: everything here is compiled into the runtime blob.
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod agreement;
pub mod host;
pub mod spec;
pub mod tensor;

use sp_core::crypto::KeyTypeId;

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

/// Block time of every Verity chain, in milliseconds. Aura's slot duration and the timestamp
/// pallet's minimum period derive from this one constant.
pub const MILLISECS_PER_BLOCK: u64 = 6_000;

/// Number of blocks in a session: how fast a changed validator set takes effect (it becomes
/// active at the start of the session after the next one).
pub const SESSION_PERIOD_BLOCKS: u32 = 10;
