//! Provenance receipts: a finalized result plus a storage read proof of it against a block's
//! state root, and the GRANDPA evidence that the block is final ([`crate::finality`]), so that
//! anyone can check the result without trusting the node that served the receipt: either
//! against the finalized chain of a node they trust ([`Trust::Node`]), or with no node at all,
//! against a chain spec ([`Trust::ChainSpec`]).
//!
//! Checks, in order: the header hashes to the claimed block hash; that block is final (it is
//! the finalized hash the trusted node has at that height, or the receipt's justification,
//! headers and authority-set changes check against the chain spec's genesis); the proof (nodes of the state trie) leads from the
//! header's state root to the value stored under `Inference::Results(request_id)`, a key the
//! verifier derives itself; the value decodes to a result whose fields are the receipt's; the
//! output hashes to the recorded output hash.
use codec::Decode;
use frame_system::pallet_prelude::HeaderFor;
use pallet_inference::ResultOf;
use serde::{Deserialize, Serialize};
use sp_core::{Bytes, H256};
use sp_runtime::traits::{Hash as _, Header as HeaderT, UniqueSaturatedInto};

use crate::{
	finality::{FinalityError, FinalityEvidence, TrustedGenesis},
	views::ResultView,
	InferenceRuntime,
};

/// Receipt format version.
pub const RECEIPT_VERSION: u32 = 1;

/// What `inference_getReceipt` returns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
	pub version: u32,
	/// The result as the node claims it (everything is re-derived from the proof).
	pub result: ResultView,
	/// The block whose state the proof is against (a finalized block).
	pub block_number: u32,
	pub block_hash: H256,
	/// SCALE-encoded header of that block: its hash is `blockHash`, it holds the state root.
	pub header: Bytes,
	/// Storage key of `Inference::Results(requestId)`.
	pub storage_key: Bytes,
	/// Trie nodes from the state root to the value.
	pub proof: Vec<Bytes>,
	/// Why the block is final, checkable against a chain spec alone (absent from receipts of
	/// nodes that run no GRANDPA).
	#[serde(default, skip_serializing_if = "Option::is_none")]
	pub finality: Option<FinalityEvidence>,
}

/// Why a receipt does not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum ReceiptError {
	UnsupportedVersion(u32),
	BadHeader,
	HeaderHashMismatch,
	BlockNumberMismatch,
	/// The block is above the trusted finalized height.
	NotFinalized {
		block: u32,
		finalized: u32,
	},
	/// The trusted chain has another block at this height.
	NotCanonical,
	WrongStorageKey,
	BadProof(String),
	/// The proof shows that no result is stored under the key.
	NoResultInState,
	BadValue,
	/// The proven result differs from what the receipt claims.
	ResultMismatch(&'static str),
	OutputHashMismatch,
	/// The finality evidence does not check against the chain spec.
	Finality(FinalityError),
}

impl core::fmt::Display for ReceiptError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::UnsupportedVersion(v) => write!(f, "unsupported receipt version {v}"),
			Self::BadHeader => write!(f, "the header does not decode"),
			Self::HeaderHashMismatch => write!(f, "the header does not hash to the block hash"),
			Self::BlockNumberMismatch => write!(f, "the header's number is not the block number"),
			Self::NotFinalized { block, finalized } => {
				write!(f, "block #{block} is not finalized (finalized head #{finalized})")
			}
			Self::NotCanonical => write!(f, "the block is not the finalized block at its height"),
			Self::WrongStorageKey => write!(f, "the storage key is not that of this request"),
			Self::BadProof(e) => write!(f, "the storage proof does not check: {e}"),
			Self::NoResultInState => write!(f, "the proof shows no result for this request"),
			Self::BadValue => write!(f, "the proven value is not a result"),
			Self::ResultMismatch(field) => write!(f, "the receipt's {field} is not the proven one"),
			Self::OutputHashMismatch => write!(f, "the output does not hash to the output hash"),
			Self::Finality(e) => write!(f, "the block is not shown final: {e}"),
		}
	}
}

/// What the verifier trusts: the finalized head's number and the finalized block hash at the
/// receipt's height (`None` when the trusted chain has not finalized that height).
#[derive(Clone, Debug)]
pub struct TrustedChain {
	pub finalized_number: u32,
	pub hash_at_receipt_height: Option<H256>,
}

/// Whom a verifier trusts for finality.
#[derive(Clone, Debug)]
pub enum Trust {
	/// A node's finalized chain.
	Node(TrustedChain),
	/// Only a chain spec: the receipt's own finality evidence must check against it.
	ChainSpec(TrustedGenesis),
}

/// Storage key of `System::BlockHash(0)`: the genesis hash, which frame-system never prunes.
pub fn genesis_hash_key<R: InferenceRuntime>() -> Vec<u8> {
	frame_system::BlockHash::<R>::hashed_key_for(
		<frame_system::pallet_prelude::BlockNumberFor<R> as sp_runtime::traits::Zero>::zero(),
	)
}

/// Storage key of `Inference::Results(request_id)`.
pub fn result_storage_key<R: InferenceRuntime>(request_id: u64) -> Vec<u8> {
	pallet_inference::Results::<R>::hashed_key_for(request_id)
}

/// Builds a receipt from a result, the header of the block it is proven in, and the proof.
pub fn build<R: InferenceRuntime, Header: HeaderT<Hash = H256>>(
	request_id: u64,
	result: &ResultOf<R>,
	header: &Header,
	proof: Vec<Vec<u8>>,
	finality: Option<FinalityEvidence>,
) -> Receipt {
	Receipt {
		version: RECEIPT_VERSION,
		result: ResultView::new::<R>(request_id, result),
		block_number: (*header.number()).unique_saturated_into(),
		block_hash: header.hash(),
		header: Bytes(header.encode()),
		storage_key: Bytes(result_storage_key::<R>(request_id)),
		proof: proof.into_iter().map(Bytes).collect(),
		finality,
	}
}

/// Verifies a receipt; on success returns the proven result.
pub fn verify<R: InferenceRuntime>(
	receipt: &Receipt,
	trust: &Trust,
) -> Result<ResultOf<R>, ReceiptError> {
	if receipt.version != RECEIPT_VERSION {
		return Err(ReceiptError::UnsupportedVersion(receipt.version));
	}
	let header =
		HeaderFor::<R>::decode(&mut &receipt.header[..]).map_err(|_| ReceiptError::BadHeader)?;
	if R::Hashing::hash(&receipt.header) != receipt.block_hash {
		return Err(ReceiptError::HeaderHashMismatch);
	}
	if UniqueSaturatedInto::<u32>::unique_saturated_into(*header.number()) != receipt.block_number {
		return Err(ReceiptError::BlockNumberMismatch);
	}
	match trust {
		Trust::Node(trusted) => {
			if receipt.block_number > trusted.finalized_number {
				return Err(ReceiptError::NotFinalized {
					block: receipt.block_number,
					finalized: trusted.finalized_number,
				});
			}
			if trusted.hash_at_receipt_height != Some(receipt.block_hash) {
				return Err(ReceiptError::NotCanonical);
			}
		}
		Trust::ChainSpec(genesis) => {
			let evidence =
				receipt.finality.as_ref().ok_or(ReceiptError::Finality(FinalityError::Missing))?;
			crate::finality::verify(evidence, receipt.block_hash, receipt.block_number, genesis)
				.map_err(ReceiptError::Finality)?;
		}
	}
	let key = result_storage_key::<R>(receipt.result.request_id);
	if receipt.storage_key.0 != key {
		return Err(ReceiptError::WrongStorageKey);
	}
	let proof = sp_trie::StorageProof::new(receipt.proof.iter().map(|n| n.0.clone()));
	// With only a chain spec to trust, the state must also show the spec's genesis hash: the
	// finality evidence's own `genesisHash` is the serving node's word.
	let genesis_key = genesis_hash_key::<R>();
	let keys: Vec<&[u8]> = match trust {
		Trust::ChainSpec(_) => vec![&key, &genesis_key],
		Trust::Node(_) => vec![&key],
	};
	let mut values =
		sp_state_machine::read_proof_check::<R::Hashing, _>(*header.state_root(), proof, keys)
			.map_err(|e| ReceiptError::BadProof(e.to_string()))?;
	if let Trust::ChainSpec(spec) = trust {
		let proven = values
			.remove(&genesis_key)
			.flatten()
			.and_then(|v| H256::decode(&mut &v[..]).ok())
			.unwrap_or_default();
		if proven != spec.genesis_hash {
			let other = FinalityError::OtherChain { receipt: proven, spec: spec.genesis_hash };
			return Err(ReceiptError::Finality(other));
		}
	}
	let value = values.remove(&key).flatten().ok_or(ReceiptError::NoResultInState)?;
	let proven = ResultOf::<R>::decode(&mut &value[..]).map_err(|_| ReceiptError::BadValue)?;

	let claimed = &receipt.result;
	let view = ResultView::new::<R>(claimed.request_id, &proven);
	let fields: [(&'static str, bool); 8] = [
		("model", view.model == claimed.model),
		("input hash", view.input_hash == claimed.input_hash),
		("output", view.output == claimed.output),
		("output hash", view.output_hash == claimed.output_hash),
		("attesters", view.attesters == claimed.attesters),
		("dissenters", view.dissenters == claimed.dissenters),
		("finalization block", view.attested_at == claimed.attested_at),
		("largest difference", view.max_difference_e9 == claimed.max_difference_e9),
	];
	if let Some((field, _)) = fields.iter().find(|(_, same)| !same) {
		return Err(ReceiptError::ResultMismatch(field));
	}
	if sp_crypto_hashing::blake2_256(&proven.output) != proven.output_hash.0 {
		return Err(ReceiptError::OutputHashMismatch);
	}
	Ok(proven)
}

#[cfg(test)]
mod tests {
	use super::*;
	use codec::Encode;
	use frame_support::BoundedVec;
	use sp_runtime::traits::BlakeTwo256;
	use sp_state_machine::InMemoryBackend;
	use verity_runtime::{opaque::Header, InferenceResult, Runtime};

	fn result_storage_key(id: u64) -> Vec<u8> {
		super::result_storage_key::<Runtime>(id)
	}

	fn verify(r: &Receipt, trusted: &TrustedChain) -> Result<InferenceResult, ReceiptError> {
		super::verify::<Runtime>(r, &Trust::Node(trusted.clone()))
	}

	fn result() -> InferenceResult {
		let output = vec![1u8, 2, 3, 4];
		InferenceResult {
			output_hash: H256(sp_crypto_hashing::blake2_256(&output)),
			output: BoundedVec::truncate_from(output),
			model: H256::repeat_byte(7),
			input_hash: H256::repeat_byte(9),
			attesters: BoundedVec::truncate_from(vec![pallet_inference::Executor {
				account: sp_core::crypto::AccountId32::new([1; 32]),
				key: sp_core::sr25519::Public::from_raw([2; 32]).into(),
			}]),
			dissenters: BoundedVec::default(),
			attested_at: 5,
			max_difference_e9: 0,
		}
	}

	/// A real state trie holding the result (and an unrelated entry), its header and a proof.
	fn receipt_for(id: u64, stored: &InferenceResult, number: u32) -> Receipt {
		receipt_in_chain(id, stored, number, H256::repeat_byte(0x66))
	}

	/// [`receipt_for`] in a state whose `System::BlockHash(0)` is `genesis` (proven too).
	fn receipt_in_chain(id: u64, stored: &InferenceResult, number: u32, genesis: H256) -> Receipt {
		let key = result_storage_key(id);
		let genesis_key = genesis_hash_key::<Runtime>();
		let backend = InMemoryBackend::<BlakeTwo256>::from((
			vec![(
				None,
				vec![
					(key.clone(), Some(stored.encode())),
					(genesis_key.clone(), Some(genesis.encode())),
					(b"other".to_vec(), Some(vec![0; 40])),
				],
			)],
			sp_core::storage::StateVersion::V1,
		));
		let root = *backend.root();
		let proof = sp_state_machine::prove_read(backend, [&key, &genesis_key]).unwrap();
		let header =
			Header::new(number, H256::zero(), root, H256::repeat_byte(3), Default::default());
		build::<Runtime, _>(id, stored, &header, proof.into_iter_nodes().collect(), None)
	}

	fn trusted(r: &Receipt) -> TrustedChain {
		TrustedChain {
			finalized_number: r.block_number + 2,
			hash_at_receipt_height: Some(r.block_hash),
		}
	}

	#[test]
	fn a_valid_receipt_verifies() {
		let r = receipt_for(42, &result(), 10);
		assert_eq!(verify(&r, &trusted(&r)).unwrap(), result());
		let json = serde_json::to_string(&r).unwrap();
		assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), r);
	}

	#[test]
	fn a_tampered_output_is_rejected() {
		let mut r = receipt_for(42, &result(), 10);
		r.result.output.0[0] ^= 1;
		assert_eq!(verify(&r, &trusted(&r)), Err(ReceiptError::ResultMismatch("output")));
		let mut r = receipt_for(42, &result(), 10);
		r.result.attesters.clear();
		assert_eq!(verify(&r, &trusted(&r)), Err(ReceiptError::ResultMismatch("attesters")));
	}

	#[test]
	fn a_tampered_proof_is_rejected() {
		let r = receipt_for(42, &result(), 10);
		let mut refused = 0;
		for node in 0..r.proof.len() {
			let mut bad = r.clone();
			let last = bad.proof[node].0.len() - 1;
			bad.proof[node].0[last] ^= 0x55;
			match verify(&bad, &trusted(&r)) {
				Err(
					ReceiptError::BadProof(_)
					| ReceiptError::BadValue
					| ReceiptError::NoResultInState,
				) => refused += 1,
				// Only a node off the result's path (the genesis hash's, which a node-trusting
				// verifier does not read) may be anything: without it the proof still checks.
				Ok(_) => {
					let mut without = r.clone();
					without.proof.remove(node);
					assert!(
						verify(&without, &trusted(&r)).is_ok(),
						"tampered node {node} accepted"
					);
				}
				Err(e) => panic!("tampered node {node}: {e}"),
			}
		}
		assert!(refused >= 2, "the root and the result's leaf are checked");
		let mut empty = r.clone();
		empty.proof.clear();
		assert!(matches!(verify(&empty, &trusted(&r)), Err(ReceiptError::BadProof(_))));
	}

	#[test]
	fn a_stored_value_that_differs_from_the_claim_is_rejected() {
		// The node proves a genuine state whose result differs from the one it claims.
		let mut other = result();
		other.output = BoundedVec::truncate_from(vec![9u8; 4]);
		other.output_hash = H256(sp_crypto_hashing::blake2_256(&other.output));
		let genuine = receipt_for(42, &other, 10);
		let mut r = genuine.clone();
		r.result = ResultView::new::<Runtime>(42, &result());
		assert_eq!(verify(&r, &trusted(&genuine)), Err(ReceiptError::ResultMismatch("output")));
	}

	#[test]
	fn header_and_finality_are_checked() {
		let r = receipt_for(42, &result(), 10);
		let not_final = TrustedChain { finalized_number: 9, hash_at_receipt_height: None };
		assert_eq!(
			verify(&r, &not_final),
			Err(ReceiptError::NotFinalized { block: 10, finalized: 9 })
		);
		let fork = TrustedChain {
			finalized_number: 12,
			hash_at_receipt_height: Some(H256::repeat_byte(1)),
		};
		assert_eq!(verify(&r, &fork), Err(ReceiptError::NotCanonical));
		let mut bad = r.clone();
		bad.block_hash = H256::repeat_byte(4);
		assert_eq!(verify(&bad, &trusted(&bad)), Err(ReceiptError::HeaderHashMismatch));
		let mut bad = r.clone();
		bad.block_number = 11;
		assert_eq!(verify(&bad, &trusted(&bad)), Err(ReceiptError::BlockNumberMismatch));
		let mut bad = r.clone();
		bad.header.0.truncate(10);
		assert_eq!(verify(&bad, &trusted(&r)), Err(ReceiptError::BadHeader));
		let mut bad = r.clone();
		bad.version = 2;
		assert_eq!(verify(&bad, &trusted(&r)), Err(ReceiptError::UnsupportedVersion(2)));
	}

	#[test]
	fn a_receipt_for_another_request_is_rejected() {
		let r = receipt_for(42, &result(), 10);
		let mut bad = r.clone();
		bad.result.request_id = 43;
		assert_eq!(verify(&bad, &trusted(&r)), Err(ReceiptError::WrongStorageKey));
		// With the key of 43 but the proof of 42, the proof shows nothing for 43.
		bad.storage_key = Bytes(result_storage_key(43));
		assert!(matches!(
			verify(&bad, &trusted(&r)),
			Err(ReceiptError::NoResultInState | ReceiptError::BadProof(_))
		));
	}

	#[test]
	fn with_only_a_chain_spec_the_receipts_own_finality_evidence_decides() {
		use crate::finality::tests as f;
		let (g, genesis, signers) = f::genesis();
		// The receipt's block is #3 of a chain justified at #5.
		let mut r = receipt_in_chain(42, &result(), 1, genesis.genesis_hash);
		let block = Header::decode(&mut &r.header[..]).unwrap();
		let block = Header::new(3, H256::zero(), *block.state_root(), g.hash(), Default::default());
		r = build::<Runtime, _>(
			42,
			&result(),
			&block,
			r.proof.iter().map(|n| n.0.clone()).collect(),
			None,
		);
		let spec = Trust::ChainSpec(genesis.clone());
		assert_eq!(
			super::verify::<Runtime>(&r, &spec),
			Err(ReceiptError::Finality(FinalityError::Missing))
		);
		let blocks = f::chain(&block, 2);
		r.finality =
			Some(f::evidence(&genesis, &blocks, f::justify(&blocks[1], 0, &signers), vec![]));
		assert_eq!(super::verify::<Runtime>(&r, &spec).unwrap(), result());
		let json = serde_json::to_string(&r).unwrap();
		assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), r);
		// Final, but the result claimed is not the one proven.
		let mut tampered = r.clone();
		tampered.result.output.0[0] ^= 1;
		assert_eq!(
			super::verify::<Runtime>(&tampered, &spec),
			Err(ReceiptError::ResultMismatch("output"))
		);
		// The evidence names the spec's genesis, but the proven state is another chain's.
		let mut other = receipt_in_chain(42, &result(), 1, H256::repeat_byte(0x66));
		let other_block = Header::new(
			3,
			H256::zero(),
			*Header::decode(&mut &other.header[..]).unwrap().state_root(),
			g.hash(),
			Default::default(),
		);
		other = build::<Runtime, _>(
			42,
			&result(),
			&other_block,
			other.proof.iter().map(|n| n.0.clone()).collect(),
			None,
		);
		let chain = f::chain(&other_block, 2);
		other.finality =
			Some(f::evidence(&genesis, &chain, f::justify(&chain[1], 0, &signers), vec![]));
		assert_eq!(
			super::verify::<Runtime>(&other, &spec),
			Err(ReceiptError::Finality(FinalityError::OtherChain {
				receipt: H256::repeat_byte(0x66),
				spec: genesis.genesis_hash
			}))
		);
		// Short of signatures.
		let mut short = r.clone();
		short.finality.as_mut().unwrap().justification = f::justify(&blocks[1], 0, &signers[..2]);
		assert!(matches!(
			super::verify::<Runtime>(&short, &spec),
			Err(ReceiptError::Finality(FinalityError::Justification { .. }))
		));
	}
}
