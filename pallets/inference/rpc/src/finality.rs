//! Finality evidence: what lets a receipt be checked with no node at all, only a chain spec.
//!
//! A receipt proves a result against the state root of a block B. That B is final is shown by
//! a GRANDPA justification of a block F at or above B (precommits of more than two thirds of
//! the authority set's weight, each signed for the round and the set id), the headers from B up
//! to F (each the parent of the next), and which authority set signed: the set of the chain
//! spec's genesis, moved forward by every authority-set change before F, each change proven
//! by the justification of the block that enacts it, signed by the set before it (the chain of
//! a GRANDPA warp-sync proof).
//!
//! The verifier trusts only the chain spec (its genesis hash and genesis authorities, see
//! [`TrustedGenesis`]); everything else is checked. Forced authority-set changes (which GRANDPA
//! makes without a justification, after a stall) are not supported: a receipt past one fails.
use std::collections::{BTreeMap, HashMap};

use codec::{Decode, Encode};
use sc_client_api::{blockchain::Backend as _, Backend as BackendT};
use sc_consensus_grandpa::{AuthoritySetChanges, GrandpaJustification, SharedAuthoritySet};
use serde::{Deserialize, Serialize};
use sp_blockchain::HeaderBackend;
use sp_consensus_grandpa::{AuthorityList, GRANDPA_ENGINE_ID};
use sp_core::{
	storage::{ChildInfo, Storage, StorageChild},
	Bytes, H256,
};
use sp_runtime::{
	traits::{BlakeTwo256, Block as BlockT, Hash as _, Header as HeaderT, NumberFor, One, Zero},
	StateVersion,
};

/// The header of the chains these receipts are for (u32 numbers, BlakeTwo256).
pub type Header = sp_runtime::generic::Header<u32, BlakeTwo256>;
/// Blocks of such headers (only their headers matter here).
type Block = sp_runtime::generic::Block<Header, sp_runtime::OpaqueExtrinsic>;

/// Why a receipt is final, in a form checked against a chain spec alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalityEvidence {
	/// The chain's genesis block hash.
	pub genesis_hash: H256,
	/// Each authority-set change before `justification`'s block, oldest first: the SCALE header
	/// of the block enacting it (with its GRANDPA `ScheduledChange` digest) and that block's
	/// SCALE justification, signed by the set before the change.
	pub set_changes: Vec<SetChange>,
	/// SCALE headers after the receipt's block up to the justified block, in order (empty when
	/// the receipt's block is the justified one).
	pub headers: Vec<Bytes>,
	/// SCALE GRANDPA justification of the last of `headers` (or of the receipt's block).
	pub justification: Bytes,
}

/// One authority-set change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChange {
	pub header: Bytes,
	pub justification: Bytes,
}

/// What an offline verifier trusts: a chain spec's genesis hash and genesis GRANDPA authorities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedGenesis {
	pub genesis_hash: H256,
	pub authorities: AuthorityList,
}

/// Why finality evidence does not check.
#[derive(Debug, PartialEq, Eq)]
pub enum FinalityError {
	/// The receipt carries no finality evidence (a node without GRANDPA served it).
	Missing,
	/// The receipt is of another chain than the chain spec's.
	OtherChain { receipt: H256, spec: H256 },
	/// Authority-set change `index` does not check.
	SetChange { index: usize, reason: String },
	/// Header `index` after the receipt's block does not decode or is not the child of the one
	/// before it.
	BrokenHeaderChain { index: usize },
	/// The justification is for a block other than the last header's.
	JustificationForAnotherBlock { justified: u32, expected: u32 },
	/// The justification does not check against the authority set `set_id`.
	Justification { set_id: u64, reason: String },
}

impl core::fmt::Display for FinalityError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Self::Missing => write!(f, "the receipt carries no finality evidence"),
			Self::OtherChain { receipt, spec } => write!(
				f,
				"the receipt is of the chain with genesis {receipt:?}, the chain spec's genesis \
				 is {spec:?}"
			),
			Self::SetChange { index, reason } => {
				write!(f, "authority-set change {index} does not check: {reason}")
			}
			Self::BrokenHeaderChain { index } => write!(
				f,
				"header {index} after the receipt's block does not decode or is not the child of \
				 the one before it"
			),
			Self::JustificationForAnotherBlock { justified, expected } => write!(
				f,
				"the justification finalizes block #{justified}, not #{expected} at the end of \
				 the receipt's headers"
			),
			Self::Justification { set_id, reason } => {
				write!(f, "the GRANDPA justification does not check against authority set {set_id}: {reason}")
			}
		}
	}
}

/// The storage key of `Grandpa::Authorities` (pallet-grandpa's authorities, under the
/// runtime's pallet name `Grandpa`).
pub fn grandpa_authorities_key() -> Vec<u8> {
	[sp_crypto_hashing::twox_128(b"Grandpa"), sp_crypto_hashing::twox_128(b"Authorities")].concat()
}

fn hex_bytes(value: &str) -> Result<Vec<u8>, String> {
	sp_core::bytes::from_hex(value).map_err(|e| format!("{value:.20}: {e}"))
}

fn hex_map(
	value: Option<&serde_json::Value>,
	what: &str,
) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
	let Some(map) = value.and_then(|v| v.as_object()) else {
		return Err(format!("{what} is not an object"));
	};
	map.iter()
		.map(|(k, v)| {
			let v = v
				.as_str()
				.ok_or_else(|| format!("{what}: the value of {k:.20} is not a string"))?;
			Ok((hex_bytes(k)?, hex_bytes(v)?))
		})
		.collect()
}

impl TrustedGenesis {
	/// Reads a raw chain spec (`verity-node export-chain-spec --chain <chain> --raw`): its genesis
	/// storage gives the genesis block (hash of the header with the state root of that storage,
	/// state version 1, as `sc-chain-spec` builds it) and `Grandpa::Authorities`.
	pub fn from_raw_chain_spec(spec: &serde_json::Value) -> Result<Self, String> {
		let Some(raw) = spec.pointer("/genesis/raw") else {
			return Err("not a raw chain spec (no genesis.raw): export one with \
			            `verity-node export-chain-spec --chain <chain> --raw`"
				.into());
		};
		let top = hex_map(raw.get("top"), "genesis.raw.top")?;
		let mut children_default = HashMap::new();
		if let Some(children) = raw.get("childrenDefault").and_then(|c| c.as_object()) {
			for (key, data) in children {
				let key = hex_bytes(key)?;
				let data = hex_map(Some(data), "genesis.raw.childrenDefault")?;
				let child_info = ChildInfo::new_default(&key);
				children_default.insert(key, StorageChild { data, child_info });
			}
		}
		let authorities = top
			.get(&grandpa_authorities_key())
			.ok_or("the chain spec has no GRANDPA authorities (Grandpa::Authorities)")?;
		let authorities = AuthorityList::decode(&mut &authorities[..])
			.map_err(|e| format!("the chain spec's GRANDPA authorities do not decode: {e}"))?;
		let backend = sp_state_machine::InMemoryBackend::<BlakeTwo256>::from((
			Storage { top, children_default },
			StateVersion::V1,
		));
		let extrinsics_root = BlakeTwo256::trie_root(Vec::new(), StateVersion::V1);
		let genesis = Header::new(
			0,
			extrinsics_root,
			*backend.root(),
			Default::default(),
			Default::default(),
		);
		Ok(TrustedGenesis { genesis_hash: genesis.hash(), authorities })
	}
}

/// Checks that the block `block` (`number`) is final by `evidence`, trusting only `trusted`.
/// Returns the id of the authority set that finalized it.
pub fn verify(
	evidence: &FinalityEvidence,
	block: H256,
	number: u32,
	trusted: &TrustedGenesis,
) -> Result<u64, FinalityError> {
	if evidence.genesis_hash != trusted.genesis_hash {
		return Err(FinalityError::OtherChain {
			receipt: evidence.genesis_hash,
			spec: trusted.genesis_hash,
		});
	}
	// From the receipt's block up the headers to the justified block.
	let (mut hash, mut at) = (block, number);
	for (index, bytes) in evidence.headers.iter().enumerate() {
		let header = Header::decode(&mut &bytes[..])
			.ok()
			.filter(|h| *h.parent_hash() == hash && Some(*h.number()) == at.checked_add(1))
			.ok_or(FinalityError::BrokenHeaderChain { index })?;
		(hash, at) = (header.hash(), *header.number());
	}
	let justification = GrandpaJustification::<Block>::decode(&evidence.justification)
		.map_err(|e| FinalityError::Justification { set_id: 0, reason: e.to_string() })?;
	let (justified, justified_hash) = justification.target();
	if (justified, justified_hash) != (at, hash) {
		return Err(FinalityError::JustificationForAnotherBlock { justified, expected: at });
	}
	// The authority set of the justified block: genesis, then every change before it.
	let (mut set_id, mut authorities) = (0u64, trusted.authorities.clone());
	let mut last = 0u32;
	for (index, change) in evidence.set_changes.iter().enumerate() {
		let fail = |reason: String| FinalityError::SetChange { index, reason };
		let header = Header::decode(&mut &change.header[..])
			.map_err(|e| fail(format!("the header does not decode: {e}")))?;
		let n = *header.number();
		if n <= last || n >= at {
			return Err(fail(format!(
				"block #{n} is not between the previous change (#{last}) and the justified \
				 block (#{at})"
			)));
		}
		let proof = GrandpaJustification::<Block>::decode(&change.justification)
			.map_err(|e| fail(format!("the justification does not decode: {e}")))?;
		if proof.target() != (n, header.hash()) {
			return Err(fail(format!("the justification is not of block #{n}")));
		}
		proof.verify(set_id, &authorities).map_err(|e| {
			fail(format!("the justification does not check against set {set_id}: {e}"))
		})?;
		let scheduled = sc_consensus_grandpa::find_scheduled_change::<Block>(&header)
			.filter(|c| c.delay.is_zero())
			.ok_or_else(|| {
				fail(format!(
					"block #{n} enacts no authority-set change (no scheduled change digest)"
				))
			})?;
		authorities = scheduled.next_authorities;
		set_id += 1;
		last = n;
	}
	justification
		.verify(set_id, &authorities)
		.map_err(|e| FinalityError::Justification { set_id, reason: e.to_string() })?;
	Ok(set_id)
}

/// Most headers between a receipt's block and its justified block (GRANDPA stores a
/// justification every `justification_period` blocks, 512 in this node, and at every
/// authority-set change, and keeps the latest).
pub const MAX_HEADERS: usize = 4096;
/// Most authority-set changes a receipt carries (each a header and a justification: about 17
/// KB with 100 authorities); a chain with more gives receipts without finality evidence.
pub const MAX_SET_CHANGES: usize = 256;

/// Builds finality evidence on a node: the first GRANDPA justification stored at or above the
/// block (the node stores one every justification period and at each authority-set change, and
/// keeps the latest), the headers up to it, and every authority-set change before it.
pub struct FinalityProver<B, Blk: BlockT> {
	backend: std::sync::Arc<B>,
	authority_set: SharedAuthoritySet<Blk::Hash, NumberFor<Blk>>,
}

impl<B, Blk> FinalityProver<B, Blk>
where
	Blk: BlockT<Hash = H256>,
	B: BackendT<Blk>,
{
	pub fn new(
		backend: std::sync::Arc<B>,
		authority_set: SharedAuthoritySet<Blk::Hash, NumberFor<Blk>>,
	) -> Self {
		FinalityProver { backend, authority_set }
	}

	/// Evidence that the finalized block `number` is final.
	pub fn prove(&self, number: NumberFor<Blk>) -> Result<FinalityEvidence, String> {
		let chain = self.backend.blockchain();
		// The latest justification first: the finalized head read after it is at or above it.
		let latest = sc_consensus_grandpa::best_justification::<_, Blk>(&*self.backend)
			.map_err(|e| e.to_string())?
			.map(|j| (j.target().0, j.encode()));
		let finalized = chain.info().finalized_number;
		let mut headers = Vec::new();
		let mut n = number;
		let justification = loop {
			if n > finalized || headers.len() >= MAX_HEADERS {
				return Err(format!(
					"no GRANDPA justification is stored from block #{number} to #{n} (finalized \
					 head #{finalized})"
				));
			}
			let (hash, header) = self.block(n)?;
			if n > number {
				headers.push(header);
			}
			match (self.justification(hash)?, &latest) {
				(Some(j), _) => break j,
				(None, Some((target, j))) if *target == n => break j.clone(),
				_ => n += One::one(),
			}
		};
		// The last block of every authority set before the current one, oldest first: a full
		// history has one per set.
		let incomplete =
			"this node lacks the history of authority-set changes (it was warp-synced)";
		let changes: AuthoritySetChanges<NumberFor<Blk>> =
			self.authority_set.authority_set_changes();
		let history: Vec<NumberFor<Blk>> =
			changes.iter_from(Zero::zero()).ok_or(incomplete)?.map(|(_, last)| *last).collect();
		if history.len() != self.authority_set.set_id() as usize {
			return Err(incomplete.into());
		}
		let before = history.iter().take_while(|last| **last < n);
		if before.clone().count() > MAX_SET_CHANGES {
			return Err(format!("more than {MAX_SET_CHANGES} authority-set changes since genesis"));
		}
		let set_changes = before
			.map(|last| {
				let (hash, header) = self.block(*last)?;
				let justification = self.justification(hash)?.ok_or_else(|| {
					format!("no justification of the authority-set change at #{last}")
				})?;
				Ok(SetChange { header, justification: Bytes(justification) })
			})
			.collect::<Result<Vec<_>, String>>()?;
		Ok(FinalityEvidence {
			genesis_hash: chain.info().genesis_hash,
			set_changes,
			headers,
			justification: Bytes(justification),
		})
	}

	/// The hash and the encoded header of block `n` of the best chain.
	fn block(&self, n: NumberFor<Blk>) -> Result<(Blk::Hash, Bytes), String> {
		let chain = self.backend.blockchain();
		let hash =
			chain.hash(n).map_err(|e| e.to_string())?.ok_or_else(|| format!("no block #{n}"))?;
		let header = chain
			.header(hash)
			.map_err(|e| e.to_string())?
			.ok_or_else(|| format!("no header #{n}"))?;
		Ok((hash, Bytes(header.encode())))
	}

	/// The GRANDPA justification stored with block `hash`, if any.
	fn justification(&self, hash: Blk::Hash) -> Result<Option<Vec<u8>>, String> {
		Ok(self
			.backend
			.blockchain()
			.justifications(hash)
			.map_err(|e| e.to_string())?
			.and_then(|j| j.into_justification(GRANDPA_ENGINE_ID)))
	}
}

#[cfg(test)]
pub(crate) mod tests {
	use super::*;
	use finality_grandpa::{Message, Precommit, SignedPrecommit};
	use sp_consensus_grandpa::{AuthorityId, AuthoritySignature, ConsensusLog, ScheduledChange};
	use sp_core::{ed25519, Pair};
	use sp_runtime::{generic::DigestItem, Digest};

	pub(crate) fn pairs(seed: u8, n: u8) -> Vec<ed25519::Pair> {
		(0..n).map(|i| ed25519::Pair::from_seed(&[seed.wrapping_add(i); 32])).collect()
	}

	pub(crate) fn authorities(pairs: &[ed25519::Pair]) -> AuthorityList {
		pairs.iter().map(|p| (AuthorityId::from(p.public()), 1)).collect()
	}

	pub(crate) fn genesis() -> (Header, TrustedGenesis, Vec<ed25519::Pair>) {
		let signers = pairs(1, 3);
		let header =
			Header::new(0, H256::zero(), H256::repeat_byte(1), H256::zero(), Default::default());
		let trusted =
			TrustedGenesis { genesis_hash: header.hash(), authorities: authorities(&signers) };
		(header, trusted, signers)
	}

	/// The child of `parent`, with `digest`.
	pub(crate) fn child(parent: &Header, digest: Digest) -> Header {
		Header::new(parent.number + 1, H256::zero(), H256::repeat_byte(2), parent.hash(), digest)
	}

	/// `n` children in a row from `parent`.
	pub(crate) fn chain(parent: &Header, n: usize) -> Vec<Header> {
		let mut headers: Vec<Header> = Vec::new();
		for _ in 0..n {
			let next = child(headers.last().unwrap_or(parent), Default::default());
			headers.push(next);
		}
		headers
	}

	/// A justification of `target` by `signers` in set `set_id`.
	pub(crate) fn justify(target: &Header, set_id: u64, signers: &[ed25519::Pair]) -> Bytes {
		let round = 7;
		let precommit = Precommit { target_hash: target.hash(), target_number: target.number };
		let precommits = signers
			.iter()
			.map(|pair| {
				let payload = sp_consensus_grandpa::localized_payload(
					round,
					set_id,
					&Message::<H256, u32>::Precommit(precommit.clone()),
				);
				SignedPrecommit {
					precommit: precommit.clone(),
					signature: AuthoritySignature::from(pair.sign(&payload)),
					id: AuthorityId::from(pair.public()),
				}
			})
			.collect();
		let justification = sp_consensus_grandpa::GrandpaJustification::<Header> {
			round,
			commit: sp_consensus_grandpa::Commit::<Header> {
				target_hash: target.hash(),
				target_number: target.number,
				precommits,
			},
			votes_ancestries: Vec::new(),
		};
		Bytes(justification.encode())
	}

	pub(crate) fn evidence(
		genesis: &TrustedGenesis,
		after: &[Header],
		justification: Bytes,
		set_changes: Vec<SetChange>,
	) -> FinalityEvidence {
		FinalityEvidence {
			genesis_hash: genesis.genesis_hash,
			set_changes,
			headers: after.iter().map(|h| Bytes(h.encode())).collect(),
			justification,
		}
	}

	#[test]
	fn a_justified_descendant_proves_a_block_final() {
		let (g, trusted, signers) = genesis();
		let blocks = chain(&g, 5);
		let (block, after) = (&blocks[2], &blocks[3..]);
		let ev = evidence(&trusted, after, justify(&blocks[4], 0, &signers), vec![]);
		assert_eq!(verify(&ev, block.hash(), 3, &trusted), Ok(0));
		// The justified block itself, with no headers after it.
		let ev = evidence(&trusted, &[], justify(&blocks[4], 0, &signers), vec![]);
		assert_eq!(verify(&ev, blocks[4].hash(), 5, &trusted), Ok(0));
		let json = serde_json::to_string(&ev).unwrap();
		assert_eq!(serde_json::from_str::<FinalityEvidence>(&json).unwrap(), ev);
	}

	#[test]
	fn forged_and_short_justifications_are_refused() {
		let (g, trusted, signers) = genesis();
		let blocks = chain(&g, 3);
		let target = &blocks[2];
		// One signature changed.
		let mut forged = justify(target, 0, &signers);
		let at = forged.0.len() - 40;
		forged.0[at] ^= 1;
		let err = verify(&evidence(&trusted, &[], forged, vec![]), target.hash(), 3, &trusted);
		assert!(
			matches!(&err, Err(FinalityError::Justification { set_id: 0, reason }) if reason.contains("signature")),
			"{err:?}"
		);
		// Two of three authorities: below the threshold of more than two thirds.
		let short = justify(target, 0, &signers[..2]);
		let err = verify(&evidence(&trusted, &[], short, vec![]), target.hash(), 3, &trusted);
		assert!(
			matches!(&err, Err(FinalityError::Justification { set_id: 0, reason }) if reason.contains("invalid commit")),
			"{err:?}"
		);
		// Signed by strangers, or by the right keys for another set id.
		let strangers = justify(target, 0, &pairs(50, 3));
		let err = verify(&evidence(&trusted, &[], strangers, vec![]), target.hash(), 3, &trusted);
		assert!(matches!(err, Err(FinalityError::Justification { .. })), "{err:?}");
		let other_set = justify(target, 1, &signers);
		let err = verify(&evidence(&trusted, &[], other_set, vec![]), target.hash(), 3, &trusted);
		assert!(matches!(err, Err(FinalityError::Justification { .. })), "{err:?}");
		// Not decodable.
		let err =
			verify(&evidence(&trusted, &[], Bytes(vec![1, 2]), vec![]), target.hash(), 3, &trusted);
		assert!(matches!(err, Err(FinalityError::Justification { .. })), "{err:?}");
	}

	#[test]
	fn evidence_of_another_chain_or_block_is_refused() {
		let (g, trusted, signers) = genesis();
		let blocks = chain(&g, 4);
		let good = evidence(&trusted, &blocks[2..], justify(&blocks[3], 0, &signers), vec![]);
		assert_eq!(verify(&good, blocks[1].hash(), 2, &trusted), Ok(0));
		// Another chain (same authorities, as every development chain has).
		let other = TrustedGenesis { genesis_hash: H256::repeat_byte(9), ..trusted.clone() };
		assert_eq!(
			verify(&good, blocks[1].hash(), 2, &other),
			Err(FinalityError::OtherChain {
				receipt: trusted.genesis_hash,
				spec: other.genesis_hash
			})
		);
		// The headers do not start at the receipt's block.
		assert_eq!(
			verify(&good, blocks[0].hash(), 1, &trusted),
			Err(FinalityError::BrokenHeaderChain { index: 0 })
		);
		let mut gap = good.clone();
		gap.headers.remove(0);
		assert_eq!(
			verify(&gap, blocks[1].hash(), 2, &trusted),
			Err(FinalityError::BrokenHeaderChain { index: 0 })
		);
		// A justification of a block other than the last header.
		let wrong = evidence(&trusted, &blocks[2..], justify(&blocks[2], 0, &signers), vec![]);
		assert_eq!(
			verify(&wrong, blocks[1].hash(), 2, &trusted),
			Err(FinalityError::JustificationForAnotherBlock { justified: 3, expected: 4 })
		);
	}

	#[test]
	fn authority_set_changes_are_followed_and_checked() {
		let (g, trusted, old) = genesis();
		let new = pairs(100, 4);
		let log = ConsensusLog::ScheduledChange(ScheduledChange {
			next_authorities: authorities(&new),
			delay: 0u32,
		});
		let blocks = chain(&g, 2);
		let change = child(
			&blocks[1],
			Digest { logs: vec![DigestItem::Consensus(GRANDPA_ENGINE_ID, log.encode())] },
		);
		let after = chain(&change, 3);
		let target = &after[2];
		let proven_change =
			SetChange { header: Bytes(change.encode()), justification: justify(&change, 0, &old) };
		// The block after the change, final by the new set (3 of 4 is more than two thirds).
		let ev = evidence(
			&trusted,
			&after[1..],
			justify(target, 1, &new[..3]),
			vec![proven_change.clone()],
		);
		assert_eq!(verify(&ev, after[0].hash(), 4, &trusted), Ok(1));

		// Without the change, the new set's justification does not check against genesis'.
		let skipped = FinalityEvidence { set_changes: vec![], ..ev.clone() };
		assert!(matches!(
			verify(&skipped, after[0].hash(), 4, &trusted),
			Err(FinalityError::Justification { set_id: 0, .. })
		));
		// A change not signed by the set before it.
		let mut unsigned = ev.clone();
		unsigned.set_changes[0].justification = justify(&change, 0, &new);
		assert!(matches!(
			verify(&unsigned, after[0].hash(), 4, &trusted),
			Err(FinalityError::SetChange { index: 0, .. })
		));
		// A block without the change digest passed off as a change.
		let mut no_digest = ev.clone();
		no_digest.set_changes[0] = SetChange {
			header: Bytes(blocks[1].encode()),
			justification: justify(&blocks[1], 0, &old),
		};
		let err = verify(&no_digest, after[0].hash(), 4, &trusted);
		assert!(
			matches!(&err, Err(FinalityError::SetChange { index: 0, reason }) if reason.contains("no scheduled change")),
			"{err:?}"
		);
		// A change at or after the justified block.
		let late = evidence(&trusted, &[], justify(&change, 0, &old), vec![proven_change]);
		assert!(matches!(
			verify(&late, change.hash(), 3, &trusted),
			Err(FinalityError::SetChange { index: 0, .. })
		));
	}

	#[test]
	fn the_authorities_key_is_pallet_grandpas() {
		let key = pallet_grandpa::Authorities::<verity_runtime::Runtime>::hashed_key();
		assert_eq!(grandpa_authorities_key(), key.to_vec());
	}

	#[test]
	fn chain_specs_that_are_not_raw_or_lack_authorities_are_refused() {
		let plain = serde_json::json!({ "genesis": { "runtimeGenesis": {} } });
		assert!(TrustedGenesis::from_raw_chain_spec(&plain)
			.unwrap_err()
			.contains("not a raw chain spec"));
		let no_authorities =
			serde_json::json!({ "genesis": { "raw": { "top": { "0x01": "0x02" } } } });
		assert!(TrustedGenesis::from_raw_chain_spec(&no_authorities)
			.unwrap_err()
			.contains("no GRANDPA authorities"));
		// The genesis hash is that of the header over the storage's state root.
		let signers = pairs(1, 2);
		let key = grandpa_authorities_key();
		let value = authorities(&signers).encode();
		let spec = serde_json::json!({ "genesis": { "raw": {
			"top": { sp_core::bytes::to_hex(&key, false): sp_core::bytes::to_hex(&value, false) },
			"childrenDefault": {}
		} } });
		let trusted = TrustedGenesis::from_raw_chain_spec(&spec).unwrap();
		assert_eq!(trusted.authorities, authorities(&signers));
		let root = BlakeTwo256::trie_root(vec![(key, value)], StateVersion::V1);
		let extrinsics_root = BlakeTwo256::trie_root(Vec::new(), StateVersion::V1);
		let header = Header::new(0, extrinsics_root, root, H256::zero(), Default::default());
		assert_eq!(trusted.genesis_hash, header.hash());
	}
}
