//! Verity client library: JSON views of the pallet's data (shared with the node's RPC server),
//! provenance receipts and their verification, a small JSON-RPC client and signed
//! transactions, for the `verity` command line and other Rust clients.
pub mod check;
pub mod formats;
pub mod receipt;
pub mod rpc;
pub mod tx;
pub mod views;

/// Storage key of `System::Events` (the pallet keeps the item's type private; the key is the
/// standard `twox128("System") ++ twox128("Events")`).
pub fn events_storage_key() -> Vec<u8> {
	[sp_crypto_hashing::twox_128(b"System"), sp_crypto_hashing::twox_128(b"Events")].concat()
}
