//! Hosted models (issue 14, item 4): a model too big for the chain is registered with its hash,
//! size and URLs; each validator's node (not the runtime) fetches the file over HTTP(S) into its
//! model folder, checking size and hash while streaming. The same code serves re-execution by
//! anyone who checks a result.
//!
//! - [`Client::fetch`] is one download (see [`download`] for what bounds it).
//! - [`Fetcher`] is what the node's off-chain worker polls: a request for a hosted model asks for
//!   the file's [`Status`] every block; the first ask starts the download in the background, and
//!   the worker answers once the file is [`Status::Ready`], or votes that the model is unavailable
//!   once it [`Status::Failed`] (every URL refused or served wrong bytes).
//! - Hosts are checked by [`address`]: only public addresses unless [`Limits::allow_private`].
pub mod address;
pub mod download;

pub use download::Client;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LOG_TARGET: &str = "verity::fetch";

/// A hosted model's file: where to get it and what it must be.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Source {
	/// Tried in order until one serves the right bytes.
	pub urls: Vec<String>,
	/// BLAKE2b-256 of the file (the model's code hash on chain).
	pub code_hash: [u8; 32],
	/// Exact length of the file in bytes.
	pub size: u64,
}

/// What bounds the downloads of a node.
#[derive(Clone, Debug)]
pub struct Limits {
	/// The largest file fetched (the chain's bound on hosted models, 2 GiB).
	pub max_bytes: u64,
	/// To open a connection.
	pub connect_timeout: Duration,
	/// The longest wait for the next bytes (a response head or body data).
	pub idle_timeout: Duration,
	/// Redirects followed per URL.
	pub max_redirects: u8,
	/// Whether loopback, private and other non-public addresses may be contacted (local test
	/// networks, a model server in the validators' own network).
	pub allow_private: bool,
	/// Downloads at once; more wait for a turn.
	pub parallel: usize,
	/// How long a failed download is remembered before the next ask tries again.
	pub retry_after: Duration,
	/// Longest a download may take, all its URLs together (a server that sends a byte every
	/// few seconds would otherwise hold a turn for weeks).
	pub max_duration: Duration,
	/// A download nobody asked about for this long is dropped (its model's probe ended, the
	/// model was removed): it gives its turn back.
	pub abandon_after: Duration,
	/// Free space the disk must keep beyond the file; a download that would leave less fails.
	pub min_free_bytes: u64,
}

impl Default for Limits {
	fn default() -> Self {
		Limits {
			max_bytes: 2 << 30,
			connect_timeout: Duration::from_secs(10),
			idle_timeout: Duration::from_secs(30),
			max_redirects: 3,
			allow_private: false,
			parallel: 2,
			retry_after: Duration::from_secs(1800),
			max_duration: Duration::from_secs(600),
			// The worker asks every block while a request waits for the file, but a busy worker
			// can reach the end of its time budget before it asks: minutes, not seconds.
			abandon_after: Duration::from_secs(180),
			min_free_bytes: 1 << 30,
		}
	}
}

/// Why a URL did not yield the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
	/// Not an http(s) URL, or one that cannot be parsed.
	BadUrl(String),
	/// The URL names a loopback, private or otherwise non-public address.
	PrivateAddress(String),
	/// The model is larger than this node fetches.
	TooLarge { size: u64, max: u64 },
	/// Connection or protocol failure (including names that resolve to no public address).
	Connect(String),
	/// The server answered with this status.
	Http(u16),
	/// More redirects than [`Limits::max_redirects`].
	TooManyRedirects,
	/// The server announced or sent another length than the registered size.
	WrongLength { expected: u64, got: Option<u64> },
	/// The bytes do not hash to the registered code hash.
	HashMismatch { got: [u8; 32] },
	/// No bytes for [`Limits::idle_timeout`].
	Stalled,
	/// Writing the file failed.
	Io(String),
	/// The download took longer than [`Limits::max_duration`].
	TooSlow,
	/// Nobody asked about the download for [`Limits::abandon_after`].
	Abandoned,
	/// The disk has too little free space for the file and [`Limits::min_free_bytes`].
	NoSpace { needed: u64, available: u64 },
}

impl std::fmt::Display for FetchError {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		match self {
			FetchError::BadUrl(e) => write!(f, "bad URL: {e}"),
			FetchError::PrivateAddress(_) => write!(
				f,
				"not a public address (fetched from loopback and private addresses only with \
				 --allow-private-model-hosts)"
			),
			FetchError::TooLarge { size, max } => {
				write!(f, "{size} bytes, more than the {max} this node fetches")
			}
			FetchError::Connect(e) => write!(f, "connection failed: {e}"),
			FetchError::Http(status) => write!(f, "HTTP status {status}"),
			FetchError::TooManyRedirects => write!(f, "too many redirects"),
			FetchError::WrongLength { expected, got: Some(got) } => {
				write!(f, "the server sent {got} bytes where the model has {expected}")
			}
			FetchError::WrongLength { expected, got: None } => {
				write!(f, "the server announced an unreadable length where the model has {expected} bytes")
			}
			FetchError::HashMismatch { got } => {
				write!(
					f,
					"the bytes hash to 0x{}, not to the model's code hash",
					download::hex(got)
				)
			}
			FetchError::Stalled => write!(f, "the server sent nothing for too long"),
			FetchError::Io(e) => write!(f, "writing the file: {e}"),
			FetchError::TooSlow => write!(f, "the download took too long"),
			FetchError::Abandoned => write!(f, "nobody asked for the model any more"),
			FetchError::NoSpace { needed, available } => {
				write!(f, "{available} bytes free on disk, {needed} needed")
			}
		}
	}
}

impl std::error::Error for FetchError {}

/// Where a hosted model's download stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
	/// The file is in the model folder (its hash matched when it was fetched).
	Ready(PathBuf),
	/// Being fetched (or waiting for a turn): bytes received of the current attempt.
	Fetching { received: u64, size: u64 },
	/// Every URL failed; each one's reason, joined.
	Failed(String),
}

/// Where the file of a code hash goes.
type Destination = Arc<dyn Fn(&[u8; 32]) -> PathBuf + Send + Sync>;

enum Job {
	/// Bytes received, and when the worker last asked.
	Running(Arc<AtomicU64>, Arc<Mutex<Instant>>),
	Failed(String, Instant),
}

/// The node's hosted-model downloads: one background task per [`Source`] (code hash, size and
/// URLs: a model registered with another model's hash and bad URLs fails alone), at most
/// [`Limits::parallel`] at once, started by the first [`Fetcher::status`] that finds the file
/// missing, dropped when nobody asks any more.
#[derive(Clone)]
pub struct Fetcher {
	client: Client,
	runtime: tokio::runtime::Handle,
	destination: Destination,
	jobs: Arc<Mutex<HashMap<Source, Job>>>,
	turns: Arc<tokio::sync::Semaphore>,
}

impl Fetcher {
	/// Files go where `destination` says (the engine's model folder: `<hash>.onnx`); tasks run
	/// on `runtime`.
	pub fn new(
		limits: Limits,
		runtime: tokio::runtime::Handle,
		destination: impl Fn(&[u8; 32]) -> PathBuf + Send + Sync + 'static,
	) -> Self {
		let turns = Arc::new(tokio::sync::Semaphore::new(limits.parallel.max(1)));
		Fetcher {
			client: Client::new(limits),
			runtime,
			destination: Arc::new(destination),
			jobs: Default::default(),
			turns,
		}
	}

	/// Where `source` stands; starts fetching it when its file is not present, and it is
	/// neither being fetched nor failed within [`Limits::retry_after`]. Never blocks on the
	/// network.
	pub fn status(&self, source: &Source) -> Status {
		let destination = (self.destination)(&source.code_hash);
		// Whoever fetched it (the hash was checked), the file is what the model needs.
		if destination.is_file() {
			return Status::Ready(destination);
		}
		let limits = self.client.limits().clone();
		let mut jobs = self.jobs.lock().expect("no panics while held");
		jobs.retain(
			|_, job| !matches!(job, Job::Failed(_, at) if at.elapsed() >= limits.retry_after),
		);
		match jobs.get(source) {
			Some(Job::Running(received, asked)) => {
				*asked.lock().expect("no panics while held") = Instant::now();
				return Status::Fetching {
					received: received.load(Ordering::Relaxed),
					size: source.size,
				};
			}
			Some(Job::Failed(reason, _)) => return Status::Failed(reason.clone()),
			None => {}
		}
		let received = Arc::new(AtomicU64::new(0));
		let asked = Arc::new(Mutex::new(Instant::now()));
		jobs.insert(source.clone(), Job::Running(received.clone(), asked.clone()));
		let size = source.size;
		let (client, jobs, turns, source) =
			(self.client.clone(), self.jobs.clone(), self.turns.clone(), source.clone());
		self.runtime.spawn(async move {
			let abandoned =
				|| asked.lock().expect("no panics while held").elapsed() > limits.abandon_after;
			let outcome = match wait_turn(&turns, &abandoned).await {
				Ok(_turn) => client.fetch_until(&source, &destination, &received, &abandoned).await,
				Err(e) => Err(vec![(String::new(), e)]),
			};
			let mut jobs = jobs.lock().expect("no panics while held");
			let hash = download::hex(&source.code_hash);
			match outcome {
				Ok(()) => {
					log::info!(target: LOG_TARGET, "model 0x{hash}: fetched {} bytes", source.size);
					jobs.remove(&source);
				}
				Err(errors) if errors.iter().any(|(_, e)| *e == FetchError::Abandoned) => {
					log::info!(target: LOG_TARGET, "model 0x{hash}: download dropped, nobody asks for it");
					jobs.remove(&source);
				}
				Err(errors) => {
					let reason = errors
						.iter()
						.map(
							|(url, e)| {
								if url.is_empty() {
									e.to_string()
								} else {
									format!("{url}: {e}")
								}
							},
						)
						.collect::<Vec<_>>()
						.join("; ");
					log::warn!(target: LOG_TARGET, "model 0x{hash}: not fetched: {reason}");
					jobs.insert(source, Job::Failed(reason, Instant::now()));
				}
			}
		});
		Status::Fetching { received: 0, size }
	}
}

/// A turn to download, unless the download is abandoned while it waits.
async fn wait_turn(
	turns: &Arc<tokio::sync::Semaphore>,
	abandoned: &impl Fn() -> bool,
) -> Result<tokio::sync::OwnedSemaphorePermit, FetchError> {
	loop {
		match tokio::time::timeout(Duration::from_millis(250), turns.clone().acquire_owned()).await
		{
			Ok(Ok(turn)) => return Ok(turn),
			Ok(Err(_)) => return Err(FetchError::Io("shutting down".into())),
			Err(_) if abandoned() => return Err(FetchError::Abandoned),
			Err(_) => {}
		}
	}
}
