//! JSON views of the pallet's models, requests and results: what the `inference_*` RPC methods
//! answer and what the `verity` CLI prints. Hashes and bytes are 0x-hex, accounts SS58, balances
//! decimal strings (they overflow JavaScript numbers).
use codec::Encode;
use pallet_inference::{ModelOf, RequestOf, ResultOf};
use serde::{Deserialize, Serialize};
use sp_core::{crypto::Ss58Codec, Bytes, H256};
use sp_runtime::{traits::UniqueSaturatedInto, AccountId32};
use verity_primitives::{
	agreement::Tolerance,
	spec::{Dim, TensorSpec, TensorSpecs},
	tensor::DType,
};

use crate::InferenceRuntime;

/// A validator of a committee: its account (paid) and its `infr` key (signs results).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutorView {
	pub account: String,
	pub key: H256,
}

/// Where a model is in its life (`"uploading"` ... in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelStatus {
	/// Registered; its bytes are being uploaded.
	Uploading,
	/// Its readiness probe runs.
	Probing,
	/// Requests are accepted.
	Active,
	/// No new requests; pending ones still finish.
	Retired,
	/// Agreed failures in a row: no new requests.
	Suspended,
	/// Its readiness probe failed.
	Rejected,
}

impl From<pallet_inference::ModelStatus> for ModelStatus {
	fn from(status: pallet_inference::ModelStatus) -> Self {
		use pallet_inference::ModelStatus as S;
		match status {
			S::Uploading => Self::Uploading,
			S::Probing => Self::Probing,
			S::Active => Self::Active,
			S::Retired => Self::Retired,
			S::Suspended => Self::Suspended,
			S::Rejected => Self::Rejected,
		}
	}
}

impl ModelStatus {
	/// The status as JSON writes it.
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Uploading => "uploading",
			Self::Probing => "probing",
			Self::Active => "active",
			Self::Retired => "retired",
			Self::Suspended => "suspended",
			Self::Rejected => "rejected",
		}
	}
}

impl core::fmt::Display for ModelStatus {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(self.as_str())
	}
}

/// Where a request is in its life (`"pending"` ... in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
	/// Waiting for a quorum of agreeing results.
	Pending,
	/// A quorum agreed: the result is in `inference_getResult`.
	Attested,
	/// No quorum before the deadline; refunded.
	Expired,
	/// A quorum reported the same failure.
	Failed,
}

impl From<pallet_inference::RequestStatus> for RequestStatus {
	fn from(status: pallet_inference::RequestStatus) -> Self {
		use pallet_inference::RequestStatus as S;
		match status {
			S::Pending => Self::Pending,
			S::Attested => Self::Attested,
			S::Expired => Self::Expired,
			S::Failed => Self::Failed,
		}
	}
}

impl RequestStatus {
	/// The status as JSON writes it.
	pub fn as_str(self) -> &'static str {
		match self {
			Self::Pending => "pending",
			Self::Attested => "attested",
			Self::Expired => "expired",
			Self::Failed => "failed",
		}
	}
}

impl core::fmt::Display for RequestStatus {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(self.as_str())
	}
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
	pub status: ModelStatus,
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
	/// How far apart the validators' probe outputs were (every revealed one against the
	/// attested one), absolute and relative, times 1e9: the measured spread the model's
	/// tolerance must cover.
	#[serde(default)]
	pub spread_abs_e9: u64,
	#[serde(default)]
	pub spread_rel_e9: u64,
	/// Validators whose probe output was outside the tolerance.
	#[serde(default)]
	pub dissenters: u32,
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
			spread_abs_e9: p.spread.abs_e9,
			spread_rel_e9: p.spread.rel_e9,
			dissenters: p.dissenters,
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
	pub status: RequestStatus,
	/// Block whose start fixed the committee (the next one when it was drawn).
	pub drawn_at: u32,
	/// Agreeing members the requester demanded (0: the model's quorum; 4294967295: all).
	#[serde(default)]
	pub min_attesters: u32,
	/// The tighter tolerance the requester demanded, times 1e9 (none: the model's).
	#[serde(default)]
	pub tolerance_abs_e9: Option<u64>,
	#[serde(default)]
	pub tolerance_rel_e9: Option<u64>,
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
	/// The largest difference between the attesters' outputs, times 1e9 (0: identical).
	#[serde(default)]
	pub max_difference_e9: u64,
}

/// One page of `inference_listModels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelPage {
	pub page: u32,
	pub page_size: u32,
	pub models: Vec<ModelView>,
}

/// Filter of `inference_subscribeResults` (all optional; all must match when given).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultFilter {
	pub model: Option<H256>,
	/// SS58 address of the requester.
	pub requester: Option<String>,
	/// Only this moment of each result (default: both).
	pub stage: Option<Stage>,
}

/// The two moments of a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
	/// A quorum agreed in a block that just became the best block: contracts can use the result
	/// from that block on, but a fork could still drop the block.
	Attested,
	/// GRANDPA finalized the block holding the result: irreversible.
	Final,
}

/// One notification of `inference_subscribeResults`: the result (its fields at the top level,
/// as `inference_getResult` writes them), the moment and the block it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultNotice {
	pub stage: Stage,
	/// The block holding the result (`attestedAt` is its number).
	pub block_hash: H256,
	#[serde(flatten)]
	pub result: ResultView,
}

impl ResultFilter {
	/// Whether notices of `stage` pass.
	pub fn wants(&self, stage: Stage) -> bool {
		self.stage.is_none_or(|s| s == stage)
	}

	/// Whether a result of a request by `requester` passes.
	pub fn matches<R: InferenceRuntime>(
		&self,
		result: &ResultOf<R>,
		requester: &R::AccountId,
	) -> bool {
		self.model.is_none_or(|m| m == result.model)
			&& self.requester.as_ref().is_none_or(|r| *r == requester.to_ss58check())
	}
}

fn executors<AccountId: Ss58Codec>(
	list: &[pallet_inference::Executor<AccountId>],
) -> Vec<ExecutorView> {
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
	pub fn new<R: InferenceRuntime>(
		id: H256,
		m: &ModelOf<R>,
		profile: Option<pallet_inference::ModelProfile<u32>>,
	) -> Self {
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
			fee: UniqueSaturatedInto::<u128>::unique_saturated_into(m.fee).to_string(),
			deposit: UniqueSaturatedInto::<u128>::unique_saturated_into(m.deposit).to_string(),
			status: m.status.into(),
			registered_at: m.registered_at.unique_saturated_into(),
			profile: profile.as_ref().map(ProfileView::new),
		}
	}

	/// The model's tolerance.
	pub fn tolerance(&self) -> Tolerance {
		Tolerance { abs_e9: self.tolerance_abs_e9, rel_e9: self.tolerance_rel_e9 }
	}

	/// The input and output specs back from the view (`Err` for a field that does not parse).
	pub fn specs(&self) -> Result<(TensorSpecs, TensorSpecs), String> {
		Ok((spec_list(&self.inputs)?, spec_list(&self.outputs)?))
	}

	/// The id this view's owner, code hash, specs, tolerance and fee hash to
	/// (`verity_primitives::model_id`), for accounts of 32 bytes: equal to `id` unless the view
	/// is not that of the model it names. `Err` for a field that does not parse back.
	pub fn derived_id(&self) -> Result<H256, String> {
		let owner = AccountId32::from_ss58check(&self.owner)
			.map_err(|e| format!("owner {}: {e:?}", self.owner))?;
		let fee: u128 = self.fee.parse().map_err(|e| format!("fee {}: {e}", self.fee))?;
		let (inputs, outputs) = self.specs()?;
		Ok(verity_primitives::model_id(
			&owner.encode(),
			&self.code_hash,
			&inputs,
			&outputs,
			&self.tolerance(),
			fee,
		))
	}
}

/// Specs back from their views.
fn spec_list(views: &[TensorSpecView]) -> Result<TensorSpecs, String> {
	let specs = views
		.iter()
		.map(|v| {
			let dtype = DType::from_name(&v.dtype).ok_or(format!("unknown dtype {}", v.dtype))?;
			let shape: Vec<Dim> =
				v.shape.iter().map(|d| d.map(Dim::Fixed).unwrap_or(Dim::Dynamic)).collect();
			Ok(TensorSpec {
				name: v.name.as_bytes().to_vec().try_into().map_err(|_| "name too long")?,
				dtype,
				shape: shape.try_into().map_err(|_| "rank too high")?,
			})
		})
		.collect::<Result<Vec<_>, String>>()?;
	specs.try_into().map_err(|_| "too many tensors".to_string())
}

impl RequestView {
	/// The tolerance the request demanded (request rules), if any.
	pub fn tolerance(&self) -> Option<Tolerance> {
		Some(Tolerance { abs_e9: self.tolerance_abs_e9?, rel_e9: self.tolerance_rel_e9? })
	}

	pub fn new<R: InferenceRuntime>(id: u64, r: &RequestOf<R>) -> Self {
		RequestView {
			id,
			requester: r.requester.to_ss58check(),
			model: r.model,
			input_hash: r.input_hash,
			fee: UniqueSaturatedInto::<u128>::unique_saturated_into(r.fee).to_string(),
			committee: executors(&r.committee),
			quorum: r.quorum,
			created_at: r.created_at.unique_saturated_into(),
			drawn_at: r.drawn_at.unique_saturated_into(),
			deadline: r.deadline.unique_saturated_into(),
			status: r.status.into(),
			min_attesters: r.rules.min_attesters,
			tolerance_abs_e9: r.rules.tolerance.map(|t| t.abs_e9),
			tolerance_rel_e9: r.rules.tolerance.map(|t| t.rel_e9),
		}
	}
}

impl ResultView {
	pub fn new<R: InferenceRuntime>(request_id: u64, r: &ResultOf<R>) -> Self {
		ResultView {
			request_id,
			model: r.model,
			input_hash: r.input_hash,
			output: Bytes(r.output.to_vec()),
			output_hash: r.output_hash,
			attesters: executors(&r.attesters),
			dissenters: executors(&r.dissenters),
			attested_at: r.attested_at.unique_saturated_into(),
			max_difference_e9: r.max_difference_e9,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::BoundedVec;
	use verity_runtime::{InferenceModel, Runtime};

	fn model() -> InferenceModel {
		let spec = |name: &str, dtype, shape: Vec<Dim>| TensorSpec {
			name: BoundedVec::truncate_from(name.as_bytes().to_vec()),
			dtype,
			shape: BoundedVec::truncate_from(shape),
		};
		InferenceModel {
			owner: AccountId32::new([7; 32]),
			code_hash: H256::repeat_byte(1),
			size: 10,
			uploaded: 10,
			chunks: 1,
			inputs: BoundedVec::truncate_from(vec![
				spec("x", DType::F32, vec![Dim::Dynamic, Dim::Fixed(4)]),
				spec("mask", DType::Bool, vec![]),
			]),
			outputs: BoundedVec::truncate_from(vec![spec("y", DType::I64, vec![Dim::Fixed(1)])]),
			tolerance: Tolerance { abs_e9: 10_000, rel_e9: 7 },
			fee: u128::MAX - 3,
			deposit: 5,
			status: pallet_inference::ModelStatus::Probing,
			registered_at: 2,
		}
	}

	fn id(m: &InferenceModel) -> H256 {
		verity_primitives::model_id(
			&m.owner.encode(),
			&m.code_hash,
			&m.inputs,
			&m.outputs,
			&m.tolerance,
			m.fee,
		)
	}

	/// The view keeps everything the id pins: a client derives the id from the JSON alone.
	#[test]
	fn a_models_view_derives_its_id_and_a_changed_view_does_not() {
		let m = model();
		let view = ModelView::new::<Runtime>(id(&m), &m, None);
		let json = serde_json::to_value(&view).unwrap();
		assert_eq!(json["status"], "probing");
		assert_eq!(json["fee"], (u128::MAX - 3).to_string());
		let back: ModelView = serde_json::from_value(json).unwrap();
		assert_eq!(back.derived_id().unwrap(), id(&m));
		type Change = (&'static str, fn(&mut ModelView));
		let changes: [Change; 6] = [
			("tolerance", |v| v.tolerance_rel_e9 += 1),
			("fee", |v| v.fee = "1".into()),
			("dtype", |v| v.inputs[1].dtype = "u8".into()),
			("shape", |v| v.inputs[0].shape[0] = Some(1)),
			("name", |v| v.outputs[0].name = "z".into()),
			("code hash", |v| v.code_hash = H256::zero()),
		];
		for (what, change) in changes {
			let mut changed = back.clone();
			change(&mut changed);
			assert_ne!(changed.derived_id().unwrap(), id(&m), "{what}");
		}
		let mut bad = back.clone();
		bad.inputs[0].dtype = "f16x".into();
		assert_eq!(bad.derived_id().unwrap_err(), "unknown dtype f16x");
		bad = back;
		bad.owner = "not an address".into();
		assert!(bad.derived_id().unwrap_err().starts_with("owner not an address"));
	}

	#[test]
	fn statuses_are_written_as_their_names() {
		use pallet_inference::{ModelStatus as M, RequestStatus as R};
		for (status, name) in [
			(M::Uploading, "uploading"),
			(M::Probing, "probing"),
			(M::Active, "active"),
			(M::Retired, "retired"),
			(M::Suspended, "suspended"),
			(M::Rejected, "rejected"),
		] {
			let view = ModelStatus::from(status);
			assert_eq!(serde_json::to_value(view).unwrap(), name);
			assert_eq!(view.to_string(), name);
		}
		for (status, name) in [
			(R::Pending, "pending"),
			(R::Attested, "attested"),
			(R::Expired, "expired"),
			(R::Failed, "failed"),
		] {
			let view = RequestStatus::from(status);
			assert_eq!(serde_json::to_value(view).unwrap(), name);
			assert_eq!(view.to_string(), name);
			assert_eq!(serde_json::from_value::<RequestStatus>(name.into()).unwrap(), view);
		}
	}
}
