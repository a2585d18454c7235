//! A node's JSON-RPC, for the CLI and other blocking Rust clients: the clients jsonrpsee
//! generates from the RPC traits (`pallet_inference_rpc::InferenceApi`, and the SDK's
//! `chain_*`, `state_*`, `author_*` and `system_*` traits) over its HTTP transport (`http://`
//! or `https://`), each call run to completion on a private Tokio runtime. No method name is
//! written here: the traits are the one source of the interface.
use std::{future::Future, time::Duration};

use jsonrpsee::{
	core::ClientError,
	http_client::{HttpClient, HttpClientBuilder},
};
use pallet_inference_rpc::{
	codes,
	receipt::Receipt,
	views::{ModelPage, ModelView, RequestView, ResultView},
	InferenceApiClient,
};
use sc_rpc_api::{author::AuthorApiClient, chain::ChainApiClient, state::StateApiClient};
use sp_core::{storage::StorageKey, Bytes, H256};
use sp_rpc::{list::ListOrValue, number::NumberOrHex};
use sp_version::RuntimeVersion;
use verity_runtime::{opaque, AccountId, Nonce};

/// The longest a call may take (a model's bytes, a large block).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest request (a model chunk of up to 1 MiB, hex-encoded) and answer (a model's
/// bytes, hex-encoded) this client exchanges.
const MAX_MESSAGE_BYTES: u32 = 512 * 1024 * 1024;

/// A block as `chain_getBlock` answers it.
type SignedBlock = sp_runtime::generic::SignedBlock<opaque::Block>;

/// 0x-prefixed lower-case hex of every byte (not `sp_core::hexdisplay::HexDisplay`, which is
/// for logs and elides the middle of anything from 1027 bytes on).
pub fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

/// A connection to one node.
pub struct Node {
	url: String,
	client: HttpClient,
	runtime: tokio::runtime::Runtime,
}

impl Node {
	/// A client of the node at `url` (`http://` or `https://`); nothing is sent yet.
	pub fn new(url: &str) -> Result<Self, String> {
		if !(url.starts_with("http://") || url.starts_with("https://")) {
			return Err(format!("{url}: the RPC endpoint must be an http:// or https:// URL"));
		}
		let runtime = tokio::runtime::Builder::new_current_thread()
			.enable_all()
			.build()
			.map_err(|e| format!("cannot start the RPC client: {e}"))?;
		// The builder spawns nothing, but its transport wants a runtime to be current.
		let client = runtime
			.block_on(async {
				HttpClientBuilder::default()
					.request_timeout(CALL_TIMEOUT)
					.max_request_size(MAX_MESSAGE_BYTES)
					.max_response_size(MAX_MESSAGE_BYTES)
					.build(url)
			})
			.map_err(|e| format!("{url}: {e}"))?;
		Ok(Node { url: url.to_string(), client, runtime })
	}

	pub fn url(&self) -> &str {
		&self.url
	}

	/// Runs one call; errors name the node and the call.
	fn run<T>(
		&self,
		what: &str,
		call: impl Future<Output = Result<T, ClientError>>,
	) -> Result<T, String> {
		self.runtime.block_on(call).map_err(|e| format!("{}: {what}: {e}", self.url))
	}

	/// Runs one `inference_*` call; `None` when the node answers that the model, request or
	/// result does not exist. Any other failure, a refused connection included, is an error.
	fn optional<T>(
		&self,
		what: &str,
		call: impl Future<Output = Result<T, ClientError>>,
	) -> Result<Option<T>, String> {
		match self.runtime.block_on(call) {
			Ok(value) => Ok(Some(value)),
			Err(ClientError::Call(e)) if e.code() == codes::NOT_FOUND => Ok(None),
			Err(e) => Err(format!("{}: {what}: {e}", self.url)),
		}
	}

	// --- inference_* ---------------------------------------------------------------------

	pub fn models(&self, page: u32, page_size: u32) -> Result<ModelPage, String> {
		self.run("listing models", self.client.list_models(page, Some(page_size), None))
	}

	/// A model at `at` (None: the best block); None: unknown there.
	pub fn model(&self, id: H256, at: Option<H256>) -> Result<Option<ModelView>, String> {
		self.optional("reading the model", self.client.get_model(id, at))
	}

	pub fn model_bytes(&self, id: H256, at: H256) -> Result<Option<Vec<u8>>, String> {
		let bytes =
			self.optional("reading the model's bytes", self.client.get_model_bytes(id, Some(at)))?;
		Ok(bytes.map(|b| b.0))
	}

	/// The URLs of a hosted model at `at` (None: not hosted, or no such model), read from
	/// storage (`Inference::HostedModels`).
	pub fn hosted_urls(&self, id: H256, at: H256) -> Result<Option<Vec<String>>, String> {
		let key = pallet_inference::HostedModels::<verity_runtime::Runtime>::hashed_key_for(id);
		let Some(raw) = self.storage(&key, Some(at))? else { return Ok(None) };
		let urls = <pallet_inference::ModelUrls as codec::Decode>::decode(&mut &raw[..])
			.map_err(|e| format!("decoding the model's URLs: {e}"))?;
		Ok(Some(urls.iter().map(|u| String::from_utf8_lossy(u).into_owned()).collect()))
	}

	pub fn request(&self, id: u64) -> Result<Option<RequestView>, String> {
		self.optional("reading the request", self.client.get_request(id, None))
	}

	pub fn request_input(&self, id: u64, at: H256) -> Result<Option<Vec<u8>>, String> {
		let input = self
			.optional("reading the request's input", self.client.get_request_input(id, Some(at)))?;
		Ok(input.map(|b| b.0))
	}

	/// The result of a request at `at` (None: the best block); None: no result there.
	pub fn result(&self, id: u64, at: Option<H256>) -> Result<Option<ResultView>, String> {
		self.optional("reading the result", self.client.get_result(id, at))
	}

	/// The fee a request of `input_bytes` to `model` pays now (None: no such model or no
	/// executors).
	pub fn quote(&self, model: H256, input_bytes: u32) -> Result<Option<u128>, String> {
		let Some(fee) =
			self.optional("quoting the fee", self.client.quote(model, input_bytes, None))?
		else {
			return Ok(None);
		};
		fee.parse().map(Some).map_err(|e| format!("{}: the quoted fee {fee}: {e}", self.url))
	}

	pub fn receipt(&self, id: u64) -> Result<Receipt, String> {
		self.run("fetching the receipt", self.client.get_receipt(id, None))
	}

	// --- chain_*, state_*, author_*, system_* ----------------------------------------------

	pub fn finalized_head(&self) -> Result<H256, String> {
		self.run(
			"reading the finalized head",
			ChainApiClient::<u32, H256, opaque::Header, SignedBlock>::finalized_head(&self.client),
		)
	}

	pub fn best_head(&self) -> Result<H256, String> {
		self.block_hash_of(None)?.ok_or_else(|| format!("{}: the node has no best block", self.url))
	}

	/// Hash of the canonical block at `number`.
	pub fn block_hash(&self, number: u32) -> Result<Option<H256>, String> {
		self.block_hash_of(Some(number))
	}

	fn block_hash_of(&self, number: Option<u32>) -> Result<Option<H256>, String> {
		let at = number.map(|n| ListOrValue::Value(NumberOrHex::Number(n.into())));
		match self.run(
			"reading a block hash",
			ChainApiClient::<u32, H256, opaque::Header, SignedBlock>::block_hash(&self.client, at),
		)? {
			ListOrValue::Value(hash) => Ok(hash),
			ListOrValue::List(_) => Err(format!("{}: a list for one block hash", self.url)),
		}
	}

	/// Number of a block (None: it is unknown to the node).
	pub fn block_number(&self, hash: H256) -> Result<Option<u32>, String> {
		let header = self.run(
			"reading a header",
			ChainApiClient::<u32, H256, opaque::Header, SignedBlock>::header(
				&self.client,
				Some(hash),
			),
		)?;
		Ok(header.map(|h| h.number))
	}

	/// The extrinsics of a block, each encoded as submitted (None: unknown to the node).
	pub fn block_extrinsics(&self, hash: H256) -> Result<Option<Vec<Vec<u8>>>, String> {
		let block = self.run(
			"reading a block",
			ChainApiClient::<u32, H256, opaque::Header, SignedBlock>::block(
				&self.client,
				Some(hash),
			),
		)?;
		Ok(block.map(|b| b.block.extrinsics.iter().map(codec::Encode::encode).collect()))
	}

	/// Raw storage at `at` (None: the best block).
	pub fn storage(&self, key: &[u8], at: Option<H256>) -> Result<Option<Vec<u8>>, String> {
		let value = self.run(
			"reading storage",
			StateApiClient::<H256>::storage(&self.client, StorageKey(key.to_vec()), at),
		)?;
		Ok(value.map(|v| v.0))
	}

	pub fn runtime_version(&self) -> Result<RuntimeVersion, String> {
		self.run(
			"reading the runtime version",
			StateApiClient::<H256>::runtime_version(&self.client, None),
		)
	}

	/// Submits a signed, encoded extrinsic; its hash.
	pub fn submit(&self, extrinsic: Vec<u8>) -> Result<H256, String> {
		self.run(
			"submitting the transaction",
			AuthorApiClient::<H256, H256>::submit_extrinsic(&self.client, Bytes(extrinsic)),
		)
	}

	/// The account's next nonce, counting its transactions in the pool.
	pub fn next_nonce(&self, account: &AccountId) -> Result<Nonce, String> {
		use substrate_frame_rpc_system::SystemApiClient;
		self.run(
			"reading the account's nonce",
			SystemApiClient::<H256, AccountId, Nonce>::nonce(&self.client, account.clone()),
		)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every size round-trips, the sizes of model chunks and large inputs included (the log
	/// formatter the first client used elided the middle of anything from 1027 bytes on).
	#[test]
	fn hex_round_trips_every_size() {
		for len in [0usize, 1, 32, 1026, 1027, 1028, 70_000, 1 << 20] {
			let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
			let text = hex(&bytes);
			assert_eq!(text.len(), 2 + 2 * len, "length {len}");
			assert!(text.starts_with("0x") && !text.contains('.'));
			assert_eq!(sp_core::bytes::from_hex(&text).unwrap(), bytes, "length {len}");
		}
	}
}
