//! Signed transactions from the command line: build and sign a runtime call natively (the
//! runtime's own types, so the encoding cannot drift), submit it, and wait until a block
//! includes it, reporting the dispatch outcome from that block's events.
use codec::{Decode, Encode};
use sp_core::{sr25519, Pair, H256};
use sp_runtime::{generic, traits::IdentifyAccount, MultiSignature, MultiSigner};
use std::time::{Duration, Instant};
use verity_runtime::{AccountId, RuntimeCall, RuntimeEvent, TxExtension, UncheckedExtrinsic};

use crate::node::Node;

/// A key that signs transactions (`//Alice`, a mnemonic, or a raw seed: any secret URI).
pub struct Signer {
	pair: sr25519::Pair,
	pub account: AccountId,
}

impl Signer {
	pub fn from_suri(suri: &str) -> Result<Self, String> {
		let pair = sr25519::Pair::from_string(suri, None)
			.map_err(|e| format!("--suri is not a valid secret URI: {e:?}"))?;
		let account = MultiSigner::from(pair.public()).into_account();
		Ok(Signer { pair, account })
	}
}

/// What a signature commits to besides the call.
struct ChainParams {
	genesis: H256,
	spec_version: u32,
	tx_version: u32,
}

fn chain_params(node: &Node) -> Result<ChainParams, String> {
	let genesis: H256 = node.block_hash(0)?.ok_or("the node has no genesis block")?;
	let version = node.runtime_version()?;
	Ok(ChainParams {
		genesis,
		spec_version: version.spec_version,
		tx_version: version.transaction_version,
	})
}

/// Signs `call` as `signer` with the given nonce (immortal, no tip).
pub fn sign(
	node: &Node,
	signer: &Signer,
	call: RuntimeCall,
	nonce: u32,
) -> Result<UncheckedExtrinsic, String> {
	let params = chain_params(node)?;
	let extension: TxExtension = verity_runtime::tx_extension(nonce, 0);
	let implicit = (
		(),
		(),
		params.spec_version,
		params.tx_version,
		params.genesis,
		params.genesis,
		(),
		(),
		(),
		(),
		(),
	);
	let payload =
		verity_runtime::SignedPayload::from_raw(call.clone(), extension.clone(), implicit);
	let signature = payload.using_encoded(|bytes| signer.pair.sign(bytes));
	Ok(pallet_revive::evm::runtime::UncheckedExtrinsic(generic::UncheckedExtrinsic::new_signed(
		call,
		signer.account.clone().into(),
		MultiSignature::Sr25519(signature),
		extension,
	)))
}

/// Where a transaction landed and what it did.
pub struct Included {
	pub block_hash: H256,
	pub block_number: u32,
	pub events: Vec<RuntimeEvent>,
}

/// Events of a block.
pub fn block_events(
	node: &Node,
	at: H256,
) -> Result<Vec<frame_system::EventRecord<RuntimeEvent, H256>>, String> {
	let key = pallet_inference_rpc::events_storage_key();
	let Some(data) = node.storage(&key, Some(at))? else { return Ok(Vec::new()) };
	Vec::decode(&mut &data[..]).map_err(|e| format!("cannot decode the events of {at:?}: {e}"))
}

/// Submits `xt` and waits (up to `timeout`) for a block to include it. A failed dispatch is an
/// error naming the pallet error.
pub fn submit_and_wait(
	node: &Node,
	xt: &UncheckedExtrinsic,
	timeout: Duration,
) -> Result<Included, String> {
	let encoded = xt.encode();
	let tx_hash = H256(sp_crypto_hashing::blake2_256(&encoded));
	let start_number = node.block_number(node.best_head()?)?.unwrap_or(0);
	node.submit(encoded.clone())?;
	let started = Instant::now();
	let mut next = start_number + 1;
	loop {
		let best = node.block_number(node.best_head()?)?.unwrap_or(0);
		while next <= best {
			let Some(hash) = node.block_hash(next)? else { break };
			let extrinsics = node.block_extrinsics(hash)?.unwrap_or_default();
			for (index, bytes) in extrinsics.iter().enumerate() {
				if sp_crypto_hashing::blake2_256(bytes) != tx_hash.0 {
					continue;
				}
				let events: Vec<RuntimeEvent> = block_events(node, hash)?
					.into_iter()
					.filter(|r| r.phase == frame_system::Phase::ApplyExtrinsic(index as u32))
					.map(|r| r.event)
					.collect();
				for event in &events {
					if let RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
						dispatch_error,
						..
					}) = event
					{
						let named =
							verity_runtime::RuntimeError::from_dispatch_error(*dispatch_error)
								.map(|e| format!("{e:?}"))
								.unwrap_or_else(|| format!("{dispatch_error:?}"));
						return Err(format!("the transaction failed in block #{next}: {named}"));
					}
				}
				return Ok(Included { block_hash: hash, block_number: next, events });
			}
			next += 1;
		}
		if started.elapsed() > timeout {
			return Err(format!("transaction {tx_hash:?} not included after {timeout:?}"));
		}
		std::thread::sleep(Duration::from_millis(500));
	}
}
