//! `inference_*` JSON-RPC methods: models, requests, results, a subscription to finalized
//! results and provenance receipts with storage proofs. Every read goes through the runtime
//! (`InferenceApi`) or the state of a block, at the best block unless `at` names one; unknown
//! ids, bad pages and unknown blocks are JSON-RPC errors, never panics.
use std::{marker::PhantomData, sync::Arc};

use codec::Decode;
use futures::StreamExt;
use jsonrpsee::{
	core::{async_trait, RpcResult, SubscriptionResult},
	proc_macros::rpc,
	types::{ErrorObject, ErrorObjectOwned},
	PendingSubscriptionSink, SubscriptionMessage,
};
use pallet_inference::runtime_api::InferenceApi;
use sc_client_api::{
	BlockBackend, BlockchainEvents, HeaderBackend, ProofProvider, StorageProvider,
};
use sp_api::ProvideRuntimeApi;
use sp_core::{storage::StorageKey, H256};
use verity_client::{
	receipt::{self, Receipt},
	views::{ModelPage, ModelView, RequestView, ResultFilter, ResultView},
};
use verity_primitives::InferenceAuthorityId;
use verity_runtime::{
	opaque::Block, AccountId, InferenceModel, InferenceRequest, InferenceResult, RuntimeEvent,
};

/// Most models per `inference_listModels` page.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Most request ids per `inference_pendingRequests` page.
pub const MAX_ASSIGNED_PAGE: u32 = 1024;

/// Error codes of the `inference_*` methods.
pub mod codes {
	/// No such model, request or result at that block.
	pub const NOT_FOUND: i32 = 4004;
	/// The page or page size is out of range.
	pub const OUT_OF_RANGE: i32 = 4000;
	/// The block is unknown to this node.
	pub const UNKNOWN_BLOCK: i32 = 4001;
	/// The runtime or the database failed.
	pub const INTERNAL: i32 = 5000;
}

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
	ErrorObject::owned(code, message.into(), None::<()>)
}

fn internal(e: impl std::fmt::Debug) -> ErrorObjectOwned {
	error(codes::INTERNAL, format!("{e:?}"))
}

#[rpc(server, namespace = "inference")]
pub trait InferenceRpc {
	/// A registered model.
	#[method(name = "getModel")]
	fn get_model(&self, model: H256, at: Option<H256>) -> RpcResult<ModelView>;

	/// Registered models, `pageSize` (1..=100, default 20) per page, pages from 0.
	#[method(name = "listModels")]
	fn list_models(
		&self,
		page: u32,
		page_size: Option<u32>,
		at: Option<H256>,
	) -> RpcResult<ModelPage>;

	/// A request (pending, attested, failed or expired) until it is pruned.
	#[method(name = "getRequest")]
	fn get_request(&self, request_id: u64, at: Option<H256>) -> RpcResult<RequestView>;

	/// The finalized result of a request.
	#[method(name = "getResult")]
	fn get_result(&self, request_id: u64, at: Option<H256>) -> RpcResult<ResultView>;

	/// Pending requests assigned to a validator's `infr` public key that it has not answered
	/// yet, in id order: at most `count` (1..=1024, default 100) from id `start` (default 0) on.
	#[method(name = "pendingRequests")]
	fn pending_requests(
		&self,
		key: H256,
		start: Option<u64>,
		count: Option<u32>,
		at: Option<H256>,
	) -> RpcResult<Vec<u64>>;

	/// What a request with `inputBytes` bytes of input to `model` would pay now (the model's
	/// fee or the fee floor, whichever is higher), as a decimal string: the `max_fee` to offer.
	#[method(name = "quote")]
	fn quote(&self, model: H256, input_bytes: u32, at: Option<H256>) -> RpcResult<String>;

	/// A provenance receipt: the result and a storage proof of it against a finalized block
	/// (the finalized head unless `at` names an older finalized block).
	#[method(name = "getReceipt")]
	fn get_receipt(&self, request_id: u64, at: Option<H256>) -> RpcResult<Receipt>;

	/// Pushes every result as its block is finalized, optionally only those of a model or a
	/// requester.
	#[subscription(name = "subscribeResults" => "result", unsubscribe = "unsubscribeResults", item = ResultView)]
	async fn subscribe_results(&self, filter: Option<ResultFilter>) -> SubscriptionResult;
}

/// The `inference_*` methods over a client.
pub struct Inference<C, B> {
	client: Arc<C>,
	_backend: PhantomData<fn() -> B>,
}

impl<C, B> Inference<C, B> {
	pub fn new(client: Arc<C>) -> Self {
		Inference { client, _backend: PhantomData }
	}
}

impl<C, B> Inference<C, B>
where
	C: HeaderBackend<Block> + StorageProvider<Block, B> + ProvideRuntimeApi<Block> + 'static,
	B: sc_client_api::Backend<Block> + 'static,
	C::Api: pallet_inference::runtime_api::InferenceApi<
		Block,
		AccountId,
		InferenceModel,
		InferenceRequest,
		InferenceResult,
	>,
{
	/// `at`, or the best block; an unknown block is an error.
	fn block(&self, at: Option<H256>) -> RpcResult<H256> {
		let hash = at.unwrap_or_else(|| self.client.info().best_hash);
		match self.client.header(hash) {
			Ok(Some(_)) => Ok(hash),
			Ok(None) => Err(error(codes::UNKNOWN_BLOCK, format!("unknown block {hash:?}"))),
			Err(e) => Err(internal(e)),
		}
	}

	fn api<R>(
		&self,
		at: Option<H256>,
		f: impl FnOnce(&C::Api, H256) -> Result<R, sp_api::ApiError>,
	) -> RpcResult<R> {
		let at = self.block(at)?;
		f(&self.client.runtime_api(), at).map_err(internal)
	}

	/// Finalized results in the block `hash`, with their requesters.
	fn results_in_block(&self, hash: H256) -> Vec<(u64, InferenceResult, AccountId)> {
		let key = StorageKey(verity_client::events_storage_key());
		let Ok(Some(data)) = self.client.storage(hash, &key) else { return Vec::new() };
		let Ok(events) =
			Vec::<frame_system::EventRecord<RuntimeEvent, H256>>::decode(&mut &data.0[..])
		else {
			return Vec::new();
		};
		let api = self.client.runtime_api();
		events
			.into_iter()
			.filter_map(|record| match record.event {
				RuntimeEvent::Inference(pallet_inference::Event::InferenceAttested {
					request_id,
					..
				}) => {
					let result = api.result(hash, request_id).ok().flatten()?;
					let request = api.request(hash, request_id).ok().flatten()?;
					Some((request_id, result, request.requester))
				}
				_ => None,
			})
			.collect()
	}
}

#[async_trait]
impl<C, B> InferenceRpcServer for Inference<C, B>
where
	C: HeaderBackend<Block>
		+ BlockBackend<Block>
		+ StorageProvider<Block, B>
		+ ProofProvider<Block>
		+ BlockchainEvents<Block>
		+ ProvideRuntimeApi<Block>
		+ Send
		+ Sync
		+ 'static,
	B: sc_client_api::Backend<Block> + Send + Sync + 'static,
	C::Api: pallet_inference::runtime_api::InferenceApi<
		Block,
		AccountId,
		InferenceModel,
		InferenceRequest,
		InferenceResult,
	>,
{
	fn get_model(&self, model: H256, at: Option<H256>) -> RpcResult<ModelView> {
		let at = self.block(at)?;
		let api = self.client.runtime_api();
		let m = api
			.model(at, model)
			.map_err(internal)?
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no model {model:?}")))?;
		// Blocks of a runtime without readiness probes have no profiles.
		Ok(ModelView::new(model, &m, api.model_profile(at, model).ok().flatten()))
	}

	fn list_models(
		&self,
		page: u32,
		page_size: Option<u32>,
		at: Option<H256>,
	) -> RpcResult<ModelPage> {
		let page_size = page_size.unwrap_or(20);
		if page_size == 0 || page_size > MAX_PAGE_SIZE {
			return Err(error(
				codes::OUT_OF_RANGE,
				format!("pageSize must be 1..={MAX_PAGE_SIZE}, not {page_size}"),
			));
		}
		let start = page
			.checked_mul(page_size)
			.ok_or_else(|| error(codes::OUT_OF_RANGE, format!("page {page} is out of range")))?;
		let at = self.block(at)?;
		let api = self.client.runtime_api();
		let ids = api.list_models(at, start, page_size).map_err(internal)?;
		if ids.is_empty() && page > 0 {
			return Err(error(codes::OUT_OF_RANGE, format!("page {page} is past the last model")));
		}
		let mut models = Vec::with_capacity(ids.len());
		for id in ids {
			if let Some(m) = api.model(at, id).map_err(internal)? {
				models.push(ModelView::new(id, &m, api.model_profile(at, id).ok().flatten()));
			}
		}
		Ok(ModelPage { page, page_size, models })
	}

	fn get_request(&self, request_id: u64, at: Option<H256>) -> RpcResult<RequestView> {
		self.api(at, |api, at| api.request(at, request_id))?
			.map(|r| RequestView::new(request_id, &r))
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no request {request_id} (or pruned)")))
	}

	fn get_result(&self, request_id: u64, at: Option<H256>) -> RpcResult<ResultView> {
		self.api(at, |api, at| api.result(at, request_id))?
			.map(|r| ResultView::new(request_id, &r))
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no result for request {request_id}")))
	}

	fn pending_requests(
		&self,
		key: H256,
		start: Option<u64>,
		count: Option<u32>,
		at: Option<H256>,
	) -> RpcResult<Vec<u64>> {
		let count = count.unwrap_or(100);
		if count == 0 || count > MAX_ASSIGNED_PAGE {
			return Err(error(
				codes::OUT_OF_RANGE,
				format!("count must be 1..={MAX_ASSIGNED_PAGE}, not {count}"),
			));
		}
		let key = InferenceAuthorityId::from(sp_core::sr25519::Public::from_raw(key.0));
		self.api(at, |api, at| api.assigned(at, key, start.unwrap_or(0), count))
	}

	fn quote(&self, model: H256, input_bytes: u32, at: Option<H256>) -> RpcResult<String> {
		self.api(at, |api, at| api.quote(at, model, input_bytes))?
			.map(|fee| fee.to_string())
			.ok_or_else(|| {
				error(codes::NOT_FOUND, format!("no model {model:?}, or no executors to run it"))
			})
	}

	fn get_receipt(&self, request_id: u64, at: Option<H256>) -> RpcResult<Receipt> {
		let info = self.client.info();
		let at = at.unwrap_or(info.finalized_hash);
		let header = self
			.client
			.header(at)
			.map_err(internal)?
			.ok_or_else(|| error(codes::UNKNOWN_BLOCK, format!("unknown block {at:?}")))?;
		// Only finalized blocks: a receipt against a block that may be reverted proves nothing.
		let canonical = self.client.hash(header.number).map_err(internal)?;
		if header.number > info.finalized_number || canonical != Some(at) {
			return Err(error(
				codes::UNKNOWN_BLOCK,
				format!(
					"block {at:?} is not finalized (finalized head #{})",
					info.finalized_number
				),
			));
		}
		let result =
			self.client.runtime_api().result(at, request_id).map_err(internal)?.ok_or_else(
				|| {
					error(
						codes::NOT_FOUND,
						format!("no finalized result for request {request_id} at {at:?}"),
					)
				},
			)?;
		let key = receipt::result_storage_key(request_id);
		let proof = self.client.read_proof(at, &mut std::iter::once(&key[..])).map_err(internal)?;
		Ok(receipt::build(request_id, &result, &header, proof.into_iter_nodes().collect()))
	}

	async fn subscribe_results(
		&self,
		pending: PendingSubscriptionSink,
		filter: Option<ResultFilter>,
	) -> SubscriptionResult {
		let filter = filter.unwrap_or_default();
		let mut finalized = self.client.finality_notification_stream();
		let sink = pending.accept().await?;
		while let Some(notification) = finalized.next().await {
			// Blocks finalized implicitly come first, in order.
			for hash in notification.tree_route.iter().chain(std::iter::once(&notification.hash)) {
				for (id, result, requester) in self.results_in_block(*hash) {
					if filter.matches(&result, &requester) {
						let message =
							SubscriptionMessage::from_json(&ResultView::new(id, &result))?;
						if sink.send(message).await.is_err() {
							return Ok(());
						}
					}
				}
			}
		}
		Ok(())
	}
}
