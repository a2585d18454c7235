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
pub struct FullDeps<C, P> {
	/// The client.
	pub client: Arc<C>,
	/// The transaction pool.
	pub pool: Arc<P>,
}

/// Builds the RPC extensions (`B`: the client's database backend).
pub fn create_full<C, P, B>(
	deps: FullDeps<C, P>,
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
	use pallet_inference_rpc::{Inference, InferenceApiServer};
	use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
	use substrate_frame_rpc_system::{System, SystemApiServer};

	let mut module = RpcModule::new(());
	let FullDeps { client, pool } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(Inference::<C, B, Block, verity_runtime::Runtime>::new(client).into_rpc())?;
	Ok(module)
}
