//! A small blocking JSON-RPC client over plain HTTP/1.1 (a local node or a trusted endpoint;
//! no TLS), enough for the CLI: calls, runtime API calls and storage reads.
use codec::{Decode, Encode};
use serde::de::DeserializeOwned;
use sp_core::H256;
use std::{
	io::{Read, Write},
	time::Duration,
};

/// 0x-prefixed lower-case hex of every byte. (Not `sp_core::hexdisplay::HexDisplay`: it is for
/// logs, and prints 1027 bytes or more as `first 512 ... last 512`.)
pub fn hex(bytes: &[u8]) -> String {
	sp_core::bytes::to_hex(bytes, false)
}

/// Decodes 0x-hex.
pub fn unhex(text: &str) -> Result<Vec<u8>, String> {
	sp_core::bytes::from_hex(text).map_err(|e| format!("bad hex {text:.20}: {e:?}"))
}

/// The `inference_*` error code for "no such model, request or result".
pub const NOT_FOUND: i64 = 4004;

/// An HTTP JSON-RPC endpoint of a node, e.g. `http://127.0.0.1:9944`.
#[derive(Clone, Debug)]
pub struct Rpc {
	url: String,
}

impl Rpc {
	pub fn new(url: &str) -> Result<Self, String> {
		if !url.starts_with("http://") {
			return Err(format!("{url}: the RPC endpoint must be an http:// URL"));
		}
		Ok(Rpc { url: url.to_string() })
	}

	pub fn url(&self) -> &str {
		&self.url
	}

	/// One call; a JSON-RPC error becomes `Err("method: {error}")`.
	pub fn call(
		&self,
		method: &str,
		params: serde_json::Value,
	) -> Result<serde_json::Value, String> {
		self.call_raw(method, params)?.map_err(|error| format!("{method}: {error}"))
	}

	/// One call: `Err` for a failed exchange, `Ok(Err(error object))` for a JSON-RPC error.
	fn call_raw(
		&self,
		method: &str,
		params: serde_json::Value,
	) -> Result<Result<serde_json::Value, serde_json::Value>, String> {
		let rest = &self.url["http://".len()..];
		let (host, path) =
			rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
		let body =
			serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
				.to_string();
		let mut stream =
			std::net::TcpStream::connect(host).map_err(|e| format!("{}: {e}", self.url))?;
		stream.set_read_timeout(Some(Duration::from_secs(120))).ok();
		write!(
			stream,
			"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
			body.len()
		)
		.map_err(|e| e.to_string())?;
		let mut response = Vec::new();
		stream.read_to_end(&mut response).map_err(|e| e.to_string())?;
		let text = String::from_utf8_lossy(&response);
		let (head, payload) = text.split_once("\r\n\r\n").ok_or("malformed HTTP response")?;
		let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
			dechunk(payload)
		} else {
			payload.to_string()
		};
		let reply: serde_json::Value =
			serde_json::from_str(&payload).map_err(|e| format!("{method}: {e}"))?;
		if let Some(error) = reply.get("error") {
			return Ok(Err(error.clone()));
		}
		Ok(Ok(reply["result"].clone()))
	}

	/// A call whose answer is deserialized into `T`; `None` when the node answers that the thing
	/// asked for does not exist (`inference_*` error 4004). Any other failure, a refused
	/// connection included, is an error.
	pub fn get_optional<T: DeserializeOwned>(
		&self,
		method: &str,
		params: serde_json::Value,
	) -> Result<Option<T>, String> {
		match self.call_raw(method, params)? {
			Err(error) if error.get("code").and_then(|c| c.as_i64()) == Some(NOT_FOUND) => Ok(None),
			Err(error) => Err(format!("{method}: {error}")),
			Ok(value) => serde_json::from_value(value)
				.map(Some)
				.map_err(|e| format!("{method}: unexpected answer: {e}")),
		}
	}

	/// A call whose answer is deserialized into `T`.
	pub fn get<T: DeserializeOwned>(
		&self,
		method: &str,
		params: serde_json::Value,
	) -> Result<T, String> {
		serde_json::from_value(self.call(method, params)?)
			.map_err(|e| format!("{method}: unexpected answer: {e}"))
	}

	/// A runtime API function through `state_call` at block `at`, its answer SCALE-decoded.
	pub fn api<T: Decode>(&self, method: &str, args: impl Encode, at: H256) -> Result<T, String> {
		let result =
			self.call("state_call", serde_json::json!([method, hex(&args.encode()), at]))?;
		let bytes = unhex(result.as_str().ok_or("state_call returned no hex")?)?;
		T::decode(&mut &bytes[..]).map_err(|e| format!("{method}: cannot decode the answer: {e}"))
	}

	/// Raw storage at `at` (None: latest).
	pub fn storage(&self, key: &[u8], at: Option<H256>) -> Result<Option<Vec<u8>>, String> {
		let value = self.call("state_getStorage", serde_json::json!([hex(key), at]))?;
		value.as_str().map(unhex).transpose()
	}

	pub fn finalized_head(&self) -> Result<H256, String> {
		self.get("chain_getFinalizedHead", serde_json::json!([]))
	}

	pub fn best_head(&self) -> Result<H256, String> {
		self.get("chain_getBlockHash", serde_json::json!([]))
	}

	/// Number of a block (None: it is unknown to the node).
	pub fn block_number(&self, hash: H256) -> Result<Option<u32>, String> {
		let header = self.call("chain_getHeader", serde_json::json!([hash]))?;
		header
			.get("number")
			.and_then(|n| n.as_str())
			.map(|n| u32::from_str_radix(n.trim_start_matches("0x"), 16).map_err(|e| e.to_string()))
			.transpose()
	}

	/// Hash of the canonical block at `number`.
	pub fn block_hash(&self, number: u32) -> Result<Option<H256>, String> {
		self.get("chain_getBlockHash", serde_json::json!([number]))
	}
}

fn dechunk(body: &str) -> String {
	let mut out = String::new();
	let mut rest = body;
	while let Some((size, tail)) = rest.split_once("\r\n") {
		let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
		if n == 0 || tail.len() < n {
			break;
		}
		out.push_str(&tail[..n]);
		rest = tail[n..].trim_start_matches("\r\n");
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;

	/// Every size round-trips, the sizes of model chunks and large inputs included (the log
	/// formatter this replaced elided the middle of anything from 1027 bytes on).
	#[test]
	fn hex_round_trips_every_size() {
		for len in [0usize, 1, 32, 1026, 1027, 1028, 70_000, 1 << 20] {
			let bytes: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
			let text = hex(&bytes);
			assert_eq!(text.len(), 2 + 2 * len, "length {len}");
			assert!(text.starts_with("0x") && !text.contains('.'));
			assert_eq!(unhex(&text).unwrap(), bytes, "length {len}");
		}
	}
}
