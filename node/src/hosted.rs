//! Hosted models on a validator's node: the off-chain worker asks `fetch_model` (a host
//! function, see `verity_primitives::host`) where a hosted model's file stands, and this
//! answers from the node's [`Fetcher`], which downloads it into the model folder under the name
//! the engine loads it by (`<hash>.onnx`, hash-checked again at every load).
use std::path::Path;
use verity_model_fetch::{Fetcher, Limits, Source, Status};
use verity_primitives::host::{FetchStatus, ModelFetch};

pub struct HostedModels(Fetcher);

impl HostedModels {
	/// Downloads on the node's tokio runtime (the one this is called from) into `model_dir`.
	pub fn new(limits: Limits, model_dir: &Path) -> Self {
		let dir = model_dir.to_path_buf();
		let destination = move |hash: &[u8; 32]| {
			dir.join(format!("{}.onnx", sp_core::hexdisplay::HexDisplay::from(hash)))
		};
		HostedModels(Fetcher::new(limits, tokio::runtime::Handle::current(), destination))
	}
}

impl ModelFetch for HostedModels {
	fn status(&self, code_hash: &[u8; 32], size: u64, urls: &[Vec<u8>]) -> FetchStatus {
		let urls = urls.iter().map(|u| String::from_utf8_lossy(u).into_owned()).collect();
		match self.0.status(&Source { urls, code_hash: *code_hash, size }) {
			Status::Ready(_) => FetchStatus::Ready,
			Status::Fetching { received, .. } => FetchStatus::Fetching { received },
			Status::Failed(_) => FetchStatus::Failed,
		}
	}
}
