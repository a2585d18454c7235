//! JSON views of the pallet's models, requests and results: what the `inference_*` RPC methods
//! answer and what the `verity` CLI prints. Hashes and bytes are 0x-hex, accounts SS58, balances
//! decimal strings (they overflow JavaScript numbers).
use serde::{Deserialize, Serialize};
use sp_core::{crypto::Ss58Codec, Bytes, H256};
use verity_primitives::spec::Dim;
use verity_runtime::{AccountId, InferenceModel, InferenceRequest, InferenceResult};

/// A validator of a committee: its account (paid) and its `infr` key (signs results).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorView {
	pub account: String,
	pub key: H256,
}

/// One tensor of a model's input or output spec; `null` dimensions are dynamic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TensorSpecView {
	pub name: String,
	pub dtype: String,
	pub shape: Vec<Option<u32>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelView {
	pub id: H256,
	pub owner: String,
	/// blake2-256 of the ONNX bytes.
	pub code_hash: H256,
	pub size: u32,
	pub uploaded: u32,
	pub chunks: u32,
	pub inputs: Vec<TensorSpecView>,
	pub outputs: Vec<TensorSpecView>,
	/// Absolute and relative tolerance, times 1e9.
	pub tolerance_abs_e9: u64,
	pub tolerance_rel_e9: u64,
	pub fee: String,
	pub deposit: String,
	/// `uploading`, `probing` (its readiness probe runs), `active`, `retired`, `suspended`
	/// (agreed failures in a row) or `rejected` (its probe failed).
	pub status: String,
	pub registered_at: u32,
	/// What its readiness probe measured, once it passed.
	pub profile: Option<ProfileView>,
}

/// A model's readiness profile (medians of the attesters' reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
	/// The probe request.
	pub request_id: u64,
	/// blake2-256 of the attested probe output.
	pub output_hash: H256,
	pub load_micros: u32,
	pub run_micros: u32,
	pub peak_memory_kib: u32,
	/// Milliseconds a validator lets one run of the model take (20 times the probe's run, at
	/// least 100; the node's own limit caps it).
	pub run_budget_ms: u32,
	pub probed_at: u32,
}

impl ProfileView {
	pub fn new(p: &pallet_inference::ModelProfile<u32>) -> Self {
		ProfileView {
			request_id: p.request_id,
			output_hash: p.output_hash,
			load_micros: p.load_micros,
			run_micros: p.run_micros,
			peak_memory_kib: p.peak_memory_kib,
			run_budget_ms: p.run_budget_millis(),
			probed_at: p.probed_at,
		}
	}
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestView {
	pub id: u64,
	pub requester: String,
	pub model: H256,
	pub input_hash: H256,
	pub fee: String,
	pub committee: Vec<ExecutorView>,
	pub quorum: u32,
	pub created_at: u32,
	pub deadline: u32,
	/// `pending`, `attested`, `failed` or `expired`.
	pub status: String,
	/// Block whose start fixed the committee (the next one when it was drawn).
	pub drawn_at: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultView {
	pub request_id: u64,
	pub model: H256,
	pub input_hash: H256,
	/// Output tensors in the Verity tensor format (docs/tensor-format.md).
	pub output: Bytes,
	pub output_hash: H256,
	pub attesters: Vec<ExecutorView>,
	pub dissenters: Vec<ExecutorView>,
	pub attested_at: u32,
}

/// One page of `inference_listModels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPage {
	pub page: u32,
	pub page_size: u32,
	pub models: Vec<ModelView>,
}

/// Filter of `inference_subscribeResults` (both optional; both must match when given).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultFilter {
	pub model: Option<H256>,
	/// SS58 address of the requester.
	pub requester: Option<String>,
}

impl ResultFilter {
	/// Whether a result of a request by `requester` passes.
	pub fn matches(&self, result: &InferenceResult, requester: &AccountId) -> bool {
		self.model.is_none_or(|m| m == result.model)
			&& self.requester.as_ref().is_none_or(|r| *r == requester.to_ss58check())
	}
}

fn executors(list: &[pallet_inference::Executor<AccountId>]) -> Vec<ExecutorView> {
	list.iter()
		.map(|e| ExecutorView {
			account: e.account.to_ss58check(),
			key: H256::from_slice(AsRef::<[u8]>::as_ref(&e.key)),
		})
		.collect()
}

fn specs(list: &verity_primitives::spec::TensorSpecs) -> Vec<TensorSpecView> {
	list.iter()
		.map(|s| TensorSpecView {
			name: String::from_utf8_lossy(&s.name).into_owned(),
			dtype: s.dtype.name().into(),
			shape: s
				.shape
				.iter()
				.map(|d| match d {
					Dim::Fixed(n) => Some(*n),
					Dim::Dynamic => None,
				})
				.collect(),
		})
		.collect()
}

impl ModelView {
	pub fn new(
		id: H256,
		m: &InferenceModel,
		profile: Option<pallet_inference::ModelProfile<u32>>,
	) -> Self {
		use pallet_inference::ModelStatus::*;
		ModelView {
			id,
			owner: m.owner.to_ss58check(),
			code_hash: m.code_hash,
			size: m.size,
			uploaded: m.uploaded,
			chunks: m.chunks,
			inputs: specs(&m.inputs),
			outputs: specs(&m.outputs),
			tolerance_abs_e9: m.tolerance.abs_e9,
			tolerance_rel_e9: m.tolerance.rel_e9,
			fee: m.fee.to_string(),
			deposit: m.deposit.to_string(),
			status: match m.status {
				Uploading => "uploading",
				Active => "active",
				Retired => "retired",
				Suspended => "suspended",
				Probing => "probing",
				Rejected => "rejected",
			}
			.into(),
			registered_at: m.registered_at,
			profile: profile.as_ref().map(ProfileView::new),
		}
	}
}

impl RequestView {
	pub fn new(id: u64, r: &InferenceRequest) -> Self {
		use pallet_inference::RequestStatus::*;
		RequestView {
			id,
			requester: r.requester.to_ss58check(),
			model: r.model,
			input_hash: r.input_hash,
			fee: r.fee.to_string(),
			committee: executors(&r.committee),
			quorum: r.quorum,
			created_at: r.created_at,
			drawn_at: r.drawn_at,
			deadline: r.deadline,
			status: match r.status {
				Pending => "pending",
				Attested => "attested",
				Expired => "expired",
				Failed => "failed",
			}
			.into(),
		}
	}
}

impl ResultView {
	pub fn new(request_id: u64, r: &InferenceResult) -> Self {
		ResultView {
			request_id,
			model: r.model,
			input_hash: r.input_hash,
			output: Bytes(r.output.to_vec()),
			output_hash: r.output_hash,
			attesters: executors(&r.attesters),
			dissenters: executors(&r.dissenters),
			attested_at: r.attested_at,
		}
	}
}
