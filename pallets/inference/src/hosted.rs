//! Hosted models: registered with their hash, size and URLs, their file (up to
//! `MaxHostedModelBytes`) stays off chain.
//!
//! The runtime never touches the file. `register_hosted_model` stores the model with its URLs
//! ([`HostedModels`]) and opens its readiness probe at once; each committee member's off-chain
//! worker asks its node for the file (`fetch_model`, answered by the node's downloads: size and
//! hash checked while streaming, only public addresses unless the node allows private ones) and
//! runs the probe once the node holds it. A member whose node cannot get the right bytes commits
//! to the failure `ModelUnavailable`. So the model becomes active only once a quorum of the
//! committee holds it and agrees on its output, and a server that serves wrong bytes gets it
//! rejected with that reason. The probe's commit window is `HostedFetchWindow` (the fetch comes
//! first), its timeout that plus `CommitWindow`.
use crate::*;
use codec::MaxEncodedLen;
use frame_support::dispatch::DispatchResultWithPostInfo;
use frame_support::ensure;

/// What `register_hosted_model` registers.
pub(crate) struct HostedModel<Balance> {
	pub code_hash: H256,
	pub size: u32,
	pub urls: ModelUrls,
	pub inputs: spec::TensorSpecs,
	pub outputs: spec::TensorSpecs,
	pub tolerance: verity_primitives::agreement::Tolerance,
	pub fee: Balance,
}

/// Whether `url` is `http://` or `https://` followed by printable ASCII without spaces (what a
/// node's fetcher parses further; anything else is refused here, where the owner sees why).
pub fn is_model_url(url: &[u8]) -> bool {
	let rest = url.strip_prefix(b"https://").or_else(|| url.strip_prefix(b"http://"));
	rest.is_some_and(|rest| !rest.is_empty() && rest.iter().all(|b| b.is_ascii_graphic()))
}

impl<T: Config> Pallet<T> {
	pub(crate) fn do_register_hosted_model(
		owner: T::AccountId,
		model: HostedModel<BalanceOf<T>>,
		probe_input: Option<BoundedVec<u8, T::MaxInputBytes>>,
	) -> DispatchResultWithPostInfo {
		let HostedModel { code_hash, size, urls, inputs, outputs, tolerance, fee } = model;
		ensure!(!urls.is_empty() && urls.iter().all(|u| is_model_url(u)), Error::<T>::BadModelUrl);
		let model = Self::new_model_id(
			&owner,
			(&code_hash, size, T::MaxHostedModelBytes::get()),
			&inputs,
			&outputs,
			&tolerance,
			fee,
		)?;
		// What the chain stores (the URLs), and a byte per KiB of the file the committee's
		// nodes download and keep.
		let charged_bytes = (urls.encoded_size() as u32).saturating_add(size / 1024);
		let deposit = T::ModelDepositBase::get()
			.saturating_add(T::ModelDepositPerByte::get().saturating_mul(charged_bytes.into()));
		T::Currency::hold(&HoldReason::ModelDeposit.into(), &owner, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		let info = ModelInfo {
			owner: owner.clone(),
			code_hash,
			size,
			uploaded: size,
			chunks: 0,
			inputs,
			outputs,
			tolerance,
			fee,
			deposit,
			status: ModelStatus::Probing,
			registered_at: frame_system::Pallet::<T>::block_number(),
		};
		let input = Self::probe_input(&info, probe_input)?;
		let input_len = input.len() as u32;
		Models::<T>::insert(model, &info);
		HostedModels::<T>::insert(model, &urls);
		Self::deposit_event(Event::ModelRegistered {
			model,
			owner: owner.clone(),
			size,
			deposit,
			code_hash,
		});
		Self::deposit_event(Event::ModelHosted { model, urls });
		// The owner pays its probe like any request, without a fee limit; open_request gives
		// it the commit window `HostedFetchWindow`.
		let timeout = T::HostedFetchWindow::get().saturating_add(T::CommitWindow::get());
		let request_id = Self::open_request(
			owner,
			model,
			&info,
			input,
			None,
			Some(timeout),
			Default::default(),
		)?;
		Self::deposit_event(Event::ModelProbing { model, request_id });
		Ok(Some(Self::hosted_weight(input_len)).into())
	}

	/// Weight of `register_hosted_model` with the largest probe input.
	pub fn register_hosted_model_weight() -> Weight {
		Self::hosted_weight(T::MaxInputBytes::get())
	}

	/// A registration (benchmarked `register_model`, which also schedules an upload deadline
	/// this does not), the URLs written and read back by the probe, and the probe request
	/// (benchmarked `request_inference` with the largest committee).
	fn hosted_weight(input_len: u32) -> Weight {
		T::WeightInfo::register_model()
			.saturating_add(T::DbWeight::get().reads_writes(1, 1))
			.saturating_add(Weight::from_parts(0, ModelUrls::max_encoded_len() as u64))
			.saturating_add(T::WeightInfo::request_inference(input_len, T::MaxCommittee::get()))
	}
}

#[cfg(test)]
mod tests {
	use super::is_model_url;

	#[test]
	fn only_http_urls_of_printable_ascii_pass() {
		for good in ["https://example.org/m.onnx", "http://127.0.0.1:8000/m.onnx?x=1"] {
			assert!(is_model_url(good.as_bytes()), "{good}");
		}
		for bad in [
			"",
			"https://",
			"ftp://example.org/m",
			"file:///etc/passwd",
			"HTTPS://example.org/m",
			"https://example.org/a b",
			"https://example.org/\nHost: x",
			"https://exämple.org/m",
			"javascript:alert(1)",
		] {
			assert!(!is_model_url(bad.as_bytes()), "{bad:?}");
		}
	}
}
