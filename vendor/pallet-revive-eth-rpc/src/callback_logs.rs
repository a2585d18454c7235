// Verity's addition to the vendored adapter (see README.md): logs that contracts emit outside
// Ethereum transactions.
//
// Verity's chain calls a contract back (`onInferenceResult`, `onInferenceFailure`,
// `onInferenceExpired`) from the validators' answer transactions or from `on_idle`, not from an
// `eth_transact`; pallet-revive records what the contract emits there as
// `Revive.ContractEmitted` events of that extrinsic, which upstream's receipt extraction skips
// (it keeps the events of Ethereum transactions only). Here they become logs of a synthetic
// transaction: index = the extrinsic's index, hash = [`callback_transaction_hash`]. They are
// stored with the block's other logs, so `eth_getLogs`, `eth_subscribe("logs")` and ethers /
// viem event listeners see them, and `eth_getTransactionReceipt` of the synthetic hash answers
// a receipt of those logs (from the zero address to the first contract that emitted, no gas);
// `eth_getTransactionByHash` has no answer (no signed Ethereum transaction exists), and the
// block's transaction list and count leave it out.
use crate::{
	ClientError, H160, Log, ReceiptExtractor, ReceiptInfo, ReviveEvent, client::SubstrateBlock,
	decode_revive_event, extract_eth_transacts, extract_revive_events,
};
use pallet_revive::evm::{H256, U256};
use sp_crypto_hashing::keccak_256;
use std::collections::HashSet;
use subxt::events::Phase;

/// The hash that stands for extrinsic `extrinsic_index` of the Substrate block `block_hash` in
/// the logs it emitted: `keccak256("verity/callback" ++ block_hash ++ index as u32 LE)`. The
/// block's hooks have their own indices past its extrinsics: `on_initialize` (`Initialization`)
/// `extrinsics + 1`, `on_idle` / `on_finalize` (`Finalization`, where expiry callbacks run)
/// `extrinsics`.
pub fn callback_transaction_hash(block_hash: H256, extrinsic_index: usize) -> H256 {
	let mut preimage = b"verity/callback".to_vec();
	preimage.extend_from_slice(block_hash.as_bytes());
	preimage.extend_from_slice(&(extrinsic_index as u32).to_le_bytes());
	H256(keccak_256(&preimage))
}

impl ReceiptExtractor {
	/// The logs contracts emitted in `block` outside its Ethereum transactions: in other
	/// extrinsics (the validators' answers, Substrate-signed `Revive.call`s) and in the block's
	/// hooks (expiry callbacks, from `on_idle`).
	pub async fn extract_callback_logs(
		&self,
		block: &SubstrateBlock,
		eth_block_hash: H256,
	) -> Result<Vec<Log>, ClientError> {
		if self.is_before_first_evm_block(block.block_number()) {
			return Ok(vec![]);
		}
		let extrinsics = block.extrinsics().fetch().await?;
		let count = extrinsics.len();
		let (eth_transacts, _) = extract_eth_transacts(&extrinsics, block.block_number())?;
		let eth_indices: HashSet<usize> = eth_transacts.into_iter().map(|(_, i)| i).collect();
		let events = block.events().fetch().await?;
		let block_hash = block.block_hash();
		let eth_block_number = U256::from(block.block_number());
		let (_, logs_by_extrinsic) = extract_revive_events(
			&events,
			block.block_number(),
			eth_block_number,
			eth_block_hash,
			|index| {
				(!eth_indices.contains(&index)).then(|| callback_transaction_hash(block_hash, index))
			},
		);
		let mut logs: Vec<Log> = logs_by_extrinsic.into_values().flatten().collect();
		// Upstream's extraction keeps `ApplyExtrinsic` events only.
		for event in events.iter().flatten() {
			let index = match event.phase() {
				Phase::Finalization => count,
				Phase::Initialization => count + 1,
				Phase::ApplyExtrinsic(_) => continue,
			};
			let hash = callback_transaction_hash(block_hash, index);
			if let Some(ReviveEvent::Log(log)) =
				decode_revive_event(&event, eth_block_number, hash, index, eth_block_hash)
			{
				logs.push(log);
			}
		}
		logs.sort_by_key(|log| log.log_index);
		Ok(logs)
	}

	/// The receipt of the synthetic transaction `transaction_hash` of `block`: its logs, from
	/// the zero address to the first contract that emitted one, no gas used. `None` when no log
	/// of `block` has that hash.
	pub async fn extract_callback_receipt(
		&self,
		block: &SubstrateBlock,
		transaction_hash: H256,
	) -> Result<Option<ReceiptInfo>, ClientError> {
		let eth_block_hash =
			self.resolve_eth_block_hash(block.block_hash(), block.block_number()).await;
		let logs: Vec<Log> = self
			.extract_callback_logs(block, eth_block_hash)
			.await?
			.into_iter()
			.filter(|log| log.transaction_hash == transaction_hash)
			.collect();
		let Some(first) = logs.first() else { return Ok(None) };
		let (to, index) = (first.address, first.transaction_index);
		Ok(Some(ReceiptInfo::new(
			eth_block_hash,
			block.block_number().into(),
			None,
			H160::zero(),
			logs,
			Some(to),
			U256::zero(),
			U256::zero(),
			true,
			transaction_hash,
			index,
			Default::default(),
		)))
	}
}
