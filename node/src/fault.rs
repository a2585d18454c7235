//! Fault injection for the end-to-end suite's byzantine scenario: a validator that answers
//! every request with a corrupted output (still well-formed, so the chain accepts it and must
//! outvote it). Compiled only with the `fault-injection` feature, never into the release node.
use std::sync::Arc;
use verity_primitives::{
	host::{EngineError, InferenceEngine, RunProfile},
	tensor::{self, DType},
};

/// An engine whose outputs are wrong: every tensor's last element is changed far beyond any
/// tolerance (floats: exponent bits flipped; integers: a high bit; bools: negated).
pub struct CorruptingEngine(pub Arc<dyn InferenceEngine>);

impl InferenceEngine for CorruptingEngine {
	fn has_model(&self, model: &[u8; 32]) -> bool {
		self.0.has_model(model)
	}

	fn load_model(&self, model: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		self.0.load_model(model, bytes)
	}

	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		Ok(corrupt(self.0.run(model, input)?))
	}

	fn run_measured(
		&self,
		model: &[u8; 32],
		input: &[u8],
		max_millis: u32,
	) -> Result<(Vec<u8>, RunProfile), EngineError> {
		let (honest, profile) = self.0.run_measured(model, input, max_millis)?;
		Ok((corrupt(honest), profile))
	}
}

/// An honest output with the last byte of each tensor flipped.
fn corrupt(honest: Vec<u8>) -> Vec<u8> {
	let Ok(mut tensors) = tensor::decode_owned(&honest, usize::MAX) else { return honest };
	for t in &mut tensors {
		let Some(last) = t.data.last_mut() else { continue };
		*last ^= if t.dtype == DType::Bool { 0x01 } else { 0x40 };
	}
	log::warn!(target: "verity", "fault injection: submitting a corrupted output");
	tensor::encode_owned(&tensors)
}

/// The engine of a copier: it runs nothing, so its off-chain worker never commits to an answer
/// of its own (the engine is "unavailable", which the worker reports to nobody).
pub struct SilentEngine;

impl InferenceEngine for SilentEngine {
	fn has_model(&self, _: &[u8; 32]) -> bool {
		false
	}

	fn load_model(&self, _: &[u8; 32], _: &[u8]) -> Result<(), EngineError> {
		Err(EngineError::Unavailable)
	}

	fn run(&self, _: &[u8; 32], _: &[u8]) -> Result<Vec<u8>, EngineError> {
		Err(EngineError::Unavailable)
	}
}

/// A copier (`--fault-copy-answers`): a validator that wants to be paid without running models.
/// It watches its transaction pool (answers are gossiped there before any block holds them) and
/// copies what the other committee members submit, under its own `infr` keys: their commitments
/// (the same hashes, in its own batch) and their revealed answers (the same output or failure
/// and salt, signed by itself). Without commit–reveal such a copy lands next to the original
/// and counts as an attestation. Commit–reveal must refuse
/// both where they would count: a commitment copied before anything is revealed cannot be
/// matched by any reveal (it covers the other member's key), and answers are visible only once
/// the commit phase is over. Every attempt and the pool's verdict is logged ("fault injection:
/// copied ...").
pub async fn copy_answers<P>(
	client: std::sync::Arc<crate::service::FullClient>,
	pool: std::sync::Arc<P>,
	keystore: sp_keystore::KeystorePtr,
) where
	P: sc_transaction_pool_api::TransactionPool<Block = verity_runtime::opaque::Block> + 'static,
{
	use codec::{Decode, Encode};
	use futures::StreamExt;
	use pallet_inference::{
		Call as InferenceCall, CommitBatch, FailureSubmission, ResultSubmission, Reveal,
		RevealBatch,
	};
	use sc_client_api::HeaderBackend;
	use sp_api::ProvideRuntimeApi;
	use verity_primitives::{InferenceAuthorityId, INFERENCE_KEY_TYPE};
	use verity_runtime::{Runtime, RuntimeCall};

	let genesis = client.info().genesis_hash;
	let mut imports = pool.import_notification_stream();
	log::warn!(target: "verity", "FAULT INJECTION: this validator copies other members' answers");
	while let Some(tx_hash) = imports.next().await {
		let Some(tx) = pool.ready_transaction(&tx_hash) else { continue };
		let best = client.info().best_hash;
		let keys: Vec<InferenceAuthorityId> = keystore
			.sr25519_public_keys(INFERENCE_KEY_TYPE)
			.into_iter()
			.map(InferenceAuthorityId::from)
			.collect();
		let sign = |key: &InferenceAuthorityId, payload: &[u8]| {
			keystore
				.sr25519_sign(INFERENCE_KEY_TYPE, key.as_ref(), payload)
				.ok()
				.flatten()
				.map(verity_primitives::InferenceAuthoritySignature::from)
		};
		let input_hash = |id: u64| {
			use pallet_inference_runtime_api::InferenceApi;
			client.runtime_api().request(best, id).ok().flatten().map(|r| r.input_hash)
		};
		let mut copies: Vec<(String, RuntimeCall)> = Vec::new();
		{
			use sc_transaction_pool_api::InPoolTransaction;
			let Ok(xt) = verity_runtime::UncheckedExtrinsic::decode(&mut &tx.data().encode()[..])
			else {
				continue;
			};
			let RuntimeCall::Inference(call) = xt.0.function else { continue };
			for key in &keys {
				match &call {
					InferenceCall::commit_answers { batch, .. } if &batch.executor != key => {
						let copy = CommitBatch {
							executor: key.clone(),
							commitments: batch.commitments.clone(),
						};
						let Some(signature) = sign(key, &copy.signing_payload(genesis)) else {
							continue;
						};
						let ids: Vec<u64> = copy.commitments.iter().map(|(id, _)| *id).collect();
						copies.push((
							format!("commitments to requests {ids:?}"),
							RuntimeCall::Inference(InferenceCall::commit_answers {
								batch: copy,
								signature,
							}),
						));
					}
					InferenceCall::submit_result { submission, .. }
						if &submission.executor != key =>
					{
						let Some(input) = input_hash(submission.request_id) else { continue };
						let copy = ResultSubmission { executor: key.clone(), ..submission.clone() };
						let Some(signature) = sign(key, &copy.signing_payload(genesis, &input))
						else {
							continue;
						};
						copies.push((
							format!("result of request {}", copy.request_id),
							RuntimeCall::Inference(InferenceCall::submit_result {
								submission: copy,
								signature,
							}),
						));
					}
					InferenceCall::reveal_answers { batch, .. } if &batch.executor != key => {
						let copy =
							RevealBatch { executor: key.clone(), reveals: batch.reveals.clone() };
						let Some(signature) = sign(key, &copy.signing_payload(genesis)) else {
							continue;
						};
						let ids: Vec<u64> = copy.reveals.iter().map(Reveal::request_id).collect();
						copies.push((
							format!("reveals of requests {ids:?}"),
							RuntimeCall::Inference(InferenceCall::reveal_answers {
								batch: copy,
								signature,
							}),
						));
					}
					InferenceCall::submit_failure { failure, .. } if &failure.executor != key => {
						let Some(input) = input_hash(failure.request_id) else { continue };
						let copy = FailureSubmission { executor: key.clone(), ..failure.clone() };
						let Some(signature) = sign(key, &copy.signing_payload(genesis, &input))
						else {
							continue;
						};
						copies.push((
							format!("failure of request {}", copy.request_id),
							RuntimeCall::Inference(InferenceCall::submit_failure {
								failure: copy,
								signature,
							}),
						));
					}
					_ => {}
				}
			}
		}
		for (what, call) in copies {
			use frame_system::offchain::CreateAuthorizedTransaction;
			let xt = <Runtime as CreateAuthorizedTransaction<RuntimeCall>>::create_authorized_transaction(call);
			let Ok(opaque) = sp_runtime::OpaqueExtrinsic::try_from_encoded_extrinsic(&xt.encode())
			else {
				continue;
			};
			let verdict = pool
				.submit_one(best, sc_transaction_pool_api::TransactionSource::External, opaque)
				.await;
			match verdict {
				Ok(_) => {
					log::warn!(target: "verity", "fault injection: copied {what}: accepted by the pool")
				}
				Err(e) => {
					log::warn!(target: "verity", "fault injection: copied {what}: refused ({e})")
				}
			}
		}
	}
}
