//! `inference_*` JSON-RPC methods of pallet-inference, laid out as `pallet-transaction-payment-rpc`:
//! the [`InferenceApi`] trait (jsonrpsee generates [`InferenceApiServer`], which the node serves,
//! and [`InferenceApiClient`], which the `verity` CLI and other Rust clients call), the JSON
//! [`views`] and provenance [`receipt`]s beside it, and the server [`Inference`], generic over the
//! block and the runtime.
//!
//! Models, requests, results, a subscription to finalized results and receipts with storage
//! proofs. Every read goes through the runtime (`pallet_inference_runtime_api::InferenceApi`) or
//! the state of a block, at the best block unless `at` names one; unknown ids, bad pages and
//! unknown blocks are JSON-RPC errors ([`codes`]), never panics.
use std::{marker::PhantomData, sync::Arc};

use codec::Decode;
use futures::StreamExt;
use jsonrpsee::{
	core::{async_trait, RpcResult, SubscriptionResult},
	proc_macros::rpc,
	types::{ErrorObject, ErrorObjectOwned},
	PendingSubscriptionSink, SubscriptionMessage,
};
use pallet_inference::{ModelOf, RequestOf, ResultOf};
use pallet_inference_runtime_api::InferenceApi as InferenceRuntimeApi;
use sc_client_api::{
	BlockBackend, BlockchainEvents, HeaderBackend, ProofProvider, StorageProvider,
};
use sp_api::ProvideRuntimeApi;
use sp_core::{crypto::Ss58Codec, storage::StorageKey, Bytes, H256};
use sp_runtime::traits::{Block as BlockT, Header as _};
use verity_primitives::InferenceAuthorityId;

pub mod finality;
pub mod receipt;
pub mod views;

use receipt::Receipt;
use views::{ModelPage, ModelView, RequestView, ResultFilter, ResultNotice, ResultView, Stage};

/// A runtime whose pallet-inference these methods serve: H256 hashes, accounts shown in SS58,
/// events that convert back to the pallet's.
pub trait InferenceRuntime:
	pallet_inference::Config
	+ frame_system::Config<
		Hash = H256,
		AccountId: Ss58Codec,
		RuntimeEvent: TryInto<pallet_inference::Event<Self>>,
	>
{
}

impl<T> InferenceRuntime for T where
	T: pallet_inference::Config
		+ frame_system::Config<
			Hash = H256,
			AccountId: Ss58Codec,
			RuntimeEvent: TryInto<pallet_inference::Event<T>>,
		>
{
}

/// Storage key of `System::Events` (the item's type is private to frame-system; the key is the
/// standard `twox128("System") ++ twox128("Events")`).
pub fn events_storage_key() -> Vec<u8> {
	[sp_crypto_hashing::twox_128(b"System"), sp_crypto_hashing::twox_128(b"Events")].concat()
}

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

#[rpc(client, server, namespace = "inference")]
pub trait InferenceApi {
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

	/// The ONNX bytes of an active, probing, retired or suspended model (what validators run
	/// and re-checkers re-run).
	#[method(name = "getModelBytes")]
	fn get_model_bytes(&self, model: H256, at: Option<H256>) -> RpcResult<Bytes>;

	/// The encoded input tensors of a request (docs/tensor-format.md) until it is pruned.
	#[method(name = "getRequestInput")]
	fn get_request_input(&self, request_id: u64, at: Option<H256>) -> RpcResult<Bytes>;

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

	/// Pushes every result twice: when the block holding it becomes the best block (`stage`
	/// `attested`: the quorum agreed, contracts can use it) and when GRANDPA finalizes that
	/// block (`final`: irreversible); optionally only one stage, or the results of a model or
	/// a requester.
	#[subscription(name = "subscribeResults" => "result", unsubscribe = "unsubscribeResults", item = ResultNotice)]
	async fn subscribe_results(&self, filter: Option<ResultFilter>) -> SubscriptionResult;
}

/// The `inference_*` methods over a client `C` of blocks `Block` (its backend `B`) of the
/// runtime `R`.
pub struct Inference<C, B, Block: BlockT, R> {
	client: Arc<C>,
	/// Builds the finality evidence of receipts (none on a node without GRANDPA).
	finality: Option<finality::FinalityProver<B, Block>>,
	_types: Types<B, Block, R>,
}

/// The types the server is generic over, owned by none of its fields.
type Types<B, Block, R> = PhantomData<fn() -> (B, Block, R)>;

impl<C, B, Block: BlockT, R> Inference<C, B, Block, R> {
	pub fn new(client: Arc<C>) -> Self {
		Inference { client, finality: None, _types: PhantomData }
	}

	/// Receipts carry GRANDPA finality evidence from `prover`.
	pub fn with_finality(mut self, prover: finality::FinalityProver<B, Block>) -> Self {
		self.finality = Some(prover);
		self
	}
}

impl<C, B, Block, R> Inference<C, B, Block, R>
where
	Block: BlockT<Hash = H256>,
	R: InferenceRuntime,
	C: HeaderBackend<Block> + StorageProvider<Block, B> + ProvideRuntimeApi<Block> + 'static,
	B: sc_client_api::Backend<Block> + 'static,
	C::Api: InferenceRuntimeApi<Block, R::AccountId, ModelOf<R>, RequestOf<R>, ResultOf<R>>,
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

	fn api<T>(
		&self,
		at: Option<H256>,
		f: impl FnOnce(&C::Api, H256) -> Result<T, sp_api::ApiError>,
	) -> RpcResult<T> {
		let at = self.block(at)?;
		f(&self.client.runtime_api(), at).map_err(internal)
	}

	/// Views of the results in the block `hash` that pass `filter`.
	fn matching_results(&self, hash: H256, filter: &ResultFilter) -> Vec<ResultView> {
		self.results_in_block(hash)
			.into_iter()
			.filter(|(_, result, requester)| filter.matches::<R>(result, requester))
			.map(|(id, result, _)| ResultView::new::<R>(id, &result))
			.collect()
	}

	/// Finalized results in the block `hash`, with their requesters.
	fn results_in_block(&self, hash: H256) -> Vec<(u64, ResultOf<R>, R::AccountId)> {
		let key = StorageKey(events_storage_key());
		let Ok(Some(data)) = self.client.storage(hash, &key) else { return Vec::new() };
		let Ok(events) = Vec::<
			frame_system::EventRecord<<R as frame_system::Config>::RuntimeEvent, H256>,
		>::decode(&mut &data.0[..]) else {
			return Vec::new();
		};
		let api = self.client.runtime_api();
		events
			.into_iter()
			.filter_map(|record| match record.event.try_into() {
				Ok(pallet_inference::Event::<R>::InferenceAttested { request_id, .. }) => {
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
impl<C, B, Block, R> InferenceApiServer for Inference<C, B, Block, R>
where
	Block: BlockT<Hash = H256>,
	R: InferenceRuntime,
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
	C::Api: InferenceRuntimeApi<Block, R::AccountId, ModelOf<R>, RequestOf<R>, ResultOf<R>>,
{
	fn get_model(&self, model: H256, at: Option<H256>) -> RpcResult<ModelView> {
		let at = self.block(at)?;
		let api = self.client.runtime_api();
		let m = api
			.model(at, model)
			.map_err(internal)?
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no model {model:?}")))?;
		// Blocks of a runtime without readiness probes have no profiles.
		Ok(ModelView::new::<R>(model, &m, api.model_profile(at, model).ok().flatten()))
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
				models.push(ModelView::new::<R>(id, &m, api.model_profile(at, id).ok().flatten()));
			}
		}
		Ok(ModelPage { page, page_size, models })
	}

	fn get_request(&self, request_id: u64, at: Option<H256>) -> RpcResult<RequestView> {
		self.api(at, |api, at| api.request(at, request_id))?
			.map(|r| RequestView::new::<R>(request_id, &r))
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no request {request_id} (or pruned)")))
	}

	fn get_result(&self, request_id: u64, at: Option<H256>) -> RpcResult<ResultView> {
		self.api(at, |api, at| api.result(at, request_id))?
			.map(|r| ResultView::new::<R>(request_id, &r))
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no result for request {request_id}")))
	}

	fn get_model_bytes(&self, model: H256, at: Option<H256>) -> RpcResult<Bytes> {
		self.api(at, |api, at| api.model_bytes(at, model))?
			.map(Bytes)
			.ok_or_else(|| error(codes::NOT_FOUND, format!("no bytes of model {model:?}")))
	}

	fn get_request_input(&self, request_id: u64, at: Option<H256>) -> RpcResult<Bytes> {
		self.api(at, |api, at| api.request_input(at, request_id))?.map(Bytes).ok_or_else(|| {
			error(codes::NOT_FOUND, format!("no input of request {request_id} (or pruned)"))
		})
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
		let number = *header.number();
		let canonical = self.client.hash(number).map_err(internal)?;
		if number > info.finalized_number || canonical != Some(at) {
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
		// The result, and the genesis hash the state holds (what binds the receipt to a chain
		// for a verifier that trusts only a chain spec).
		let keys = [receipt::result_storage_key::<R>(request_id), receipt::genesis_hash_key::<R>()];
		let proof =
			self.client.read_proof(at, &mut keys.iter().map(|k| &k[..])).map_err(internal)?;
		// Best effort: a receipt without it still verifies against a trusted node.
		let finality = self.finality.as_ref().and_then(|prover| {
			prover
				.prove(number)
				.inspect_err(|e| {
					log::warn!("receipt of request {request_id} without finality evidence: {e}")
				})
				.ok()
		});
		Ok(receipt::build::<R, _>(
			request_id,
			&result,
			&header,
			proof.into_iter_nodes().collect(),
			finality,
		))
	}

	async fn subscribe_results(
		&self,
		pending: PendingSubscriptionSink,
		filter: Option<ResultFilter>,
	) -> SubscriptionResult {
		let filter = filter.unwrap_or_default();
		// A new best block, with the blocks a re-organisation enacted before it, in order.
		let best = self.client.import_notification_stream().filter_map(|n| {
			let hashes = n.is_new_best.then(|| {
				let enacted =
					n.tree_route.as_ref().map(|r| r.enacted().to_vec()).unwrap_or_default();
				enacted.into_iter().map(|b| b.hash).chain(std::iter::once(n.hash)).collect()
			});
			futures::future::ready(hashes.map(|h: Vec<H256>| (Stage::Attested, h)))
		});
		// A finalized block, with the blocks it finalized implicitly first, in order.
		let finalized = self.client.finality_notification_stream().map(|n| {
			let implicit = n.tree_route.iter().copied();
			(Stage::Final, implicit.chain(std::iter::once(n.hash)).collect::<Vec<_>>())
		});
		// New best blocks first: a block is imported before it can be final, and its result is
		// announced as attested before it is announced as final even when both wait.
		let mut blocks = futures::stream::select_with_strategy(best, finalized, |_: &mut ()| {
			futures::stream::PollNext::Left
		});
		let sink = pending.accept().await?;
		while let Some((stage, hashes)) = blocks.next().await {
			if !filter.wants(stage) {
				continue;
			}
			for block_hash in hashes {
				for result in self.matching_results(block_hash, &filter) {
					let notice = ResultNotice { stage, block_hash, result };
					if sink.send(SubscriptionMessage::from_json(&notice)?).await.is_err() {
						return Ok(());
					}
				}
			}
		}
		Ok(())
	}
}
