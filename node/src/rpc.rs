//! The node's JSON-RPC extensions (on top of the standard `system_*`, `chain_*`, `state_*`,
//! `author_*` methods that `sc-service` provides).
use std::sync::Arc;

use jsonrpsee::RpcModule;
use sc_client_api::{BlockBackend, BlockchainEvents, ProofProvider, StorageProvider};
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_block_builder::BlockBuilder;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use verity_runtime::{opaque::Block, AccountId, Balance, Nonce};

/// What the RPC extensions need.
pub struct FullDeps<C, P, B> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
	/// What receipts' GRANDPA finality evidence is read from (none: receipts without it).
	pub finality: Option<FinalityDeps<B>>,
}

/// The database and GRANDPA's authority-set history, for finality evidence.
pub struct FinalityDeps<B> {
	pub backend: Arc<B>,
	pub authority_set: sc_consensus_grandpa::SharedAuthoritySet<
		<Block as sp_runtime::traits::Block>::Hash,
		sp_runtime::traits::NumberFor<Block>,
	>,
}

/// Builds the RPC extensions (`B`: the client's database backend).
pub fn create_full<C, P, B>(
	deps: FullDeps<C, P, B>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ BlockBackend<Block>
		+ StorageProvider<Block, B>
		+ ProofProvider<Block>
		+ BlockchainEvents<Block>
		+ Send
		+ Sync
		+ 'static,
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
	C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>,
	C::Api: pallet_inference_runtime_api::InferenceApi<
		Block,
		AccountId,
		verity_runtime::InferenceModel,
		verity_runtime::InferenceRequest,
		verity_runtime::InferenceResult,
	>,
	C::Api: pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
	C::Api: BlockBuilder<Block>,
	P: TransactionPool + 'static,
{
	use pallet_inference_rpc::{finality::FinalityProver, Inference, InferenceApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool, finality } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	let mut inference = Inference::<C, B, Block, verity_runtime::Runtime>::new(client);
	if let Some(FinalityDeps { backend, authority_set }) = finality {
		inference = inference.with_finality(FinalityProver::new(backend, authority_set));
	}
	module.merge(inference.into_rpc())?;
	Ok(module)
}
