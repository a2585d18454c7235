//! One download: the URLs of a [`Source`] tried in turn until one yields exactly `size` bytes
//! that hash to `code_hash`. Whatever a server does, a download ends: the size is known before
//! the first byte (a `Content-Length` that differs fails at once, a body that runs past it fails
//! at `size + 1` bytes), a server that goes quiet fails after [`Limits::idle_timeout`], and
//! redirects are bounded and checked like URLs. Bytes go to `<destination>.part` and are renamed
//! to the destination only once their hash matched, so the model folder never holds a wrong or
//! partial model under its name.
use crate::address::{check_url, GuardedResolver};
use crate::{FetchError, Limits, Source};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{CONTENT_LENGTH, LOCATION, USER_AGENT};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

type Inner = hyper_util::client::legacy::Client<
	HttpsConnector<HttpConnector<GuardedResolver>>,
	Empty<Bytes>,
>;

/// An HTTP(S) client whose connections reach only public addresses (unless
/// [`Limits::allow_private`]), with the system's root certificates.
#[derive(Clone)]
pub struct Client {
	inner: Inner,
	limits: Limits,
}

impl Client {
	pub fn new(limits: Limits) -> Self {
		let mut http = HttpConnector::new_with_resolver(GuardedResolver {
			allow_private: limits.allow_private,
		});
		http.enforce_http(false);
		http.set_connect_timeout(Some(limits.connect_timeout));
		let builder = hyper_rustls::HttpsConnectorBuilder::new();
		let https = match builder
			.with_provider_and_native_roots(rustls::crypto::ring::default_provider())
		{
			Ok(b) => b.https_or_http().enable_http1().enable_http2().wrap_connector(http),
			Err(e) => {
				// No root certificates: http still works, https fails with a clear error.
				log::warn!(target: crate::LOG_TARGET, "no root certificates ({e}): https URLs will fail");
				let roots = rustls::RootCertStore::empty();
				let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
					rustls::crypto::ring::default_provider(),
				))
				.with_safe_default_protocol_versions()
				.expect("ring supports the default versions")
				.with_root_certificates(roots)
				.with_no_client_auth();
				hyper_rustls::HttpsConnectorBuilder::new()
					.with_tls_config(config)
					.https_or_http()
					.enable_http1()
					.enable_http2()
					.wrap_connector(http)
			}
		};
		let inner = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https);
		Client { inner, limits }
	}

	pub fn limits(&self) -> &Limits {
		&self.limits
	}

	/// Fetches `source` to `destination`: the first URL that delivers the right bytes wins;
	/// `received` follows the bytes of the current attempt. On failure, each URL's reason.
	pub async fn fetch(
		&self,
		source: &Source,
		destination: &Path,
		received: &AtomicU64,
	) -> Result<(), Vec<(String, FetchError)>> {
		self.fetch_until(source, destination, received, &|| false).await
	}

	/// [`Client::fetch`], given up with [`FetchError::Abandoned`] as soon as `abandoned` says so
	/// (checked between chunks) and with [`FetchError::TooSlow`] after [`Limits::max_duration`].
	pub async fn fetch_until(
		&self,
		source: &Source,
		destination: &Path,
		received: &AtomicU64,
		abandoned: &(dyn Fn() -> bool + Sync),
	) -> Result<(), Vec<(String, FetchError)>> {
		if source.size > self.limits.max_bytes {
			let error = FetchError::TooLarge { size: source.size, max: self.limits.max_bytes };
			return Err(vec![(String::new(), error)]);
		}
		if source.urls.is_empty() {
			return Err(vec![(String::new(), FetchError::BadUrl("no URL".into()))]);
		}
		let part = part_path(destination, source);
		let until = Until { deadline: Instant::now() + self.limits.max_duration, abandoned };
		let mut errors = Vec::new();
		for url in &source.urls {
			received.store(0, Ordering::Relaxed);
			let attempt = self.fetch_one(url, source, &part, received, &until);
			// The overall deadline also bounds a server that never answers a byte.
			let outcome = match tokio::time::timeout_at(until.deadline.into(), attempt).await {
				Ok(outcome) => outcome,
				Err(_) => Err(FetchError::TooSlow),
			};
			match outcome {
				Ok(()) => {
					tokio::fs::rename(&part, destination)
						.await
						.map_err(|e| vec![(url.clone(), FetchError::Io(e.to_string()))])?;
					return Ok(());
				}
				Err(e) => {
					log::info!(target: crate::LOG_TARGET, "model {}: {url}: {e}", hex(&source.code_hash));
					let _ = tokio::fs::remove_file(&part).await;
					let stop = matches!(e, FetchError::TooSlow | FetchError::Abandoned);
					errors.push((url.clone(), e));
					if stop {
						break;
					}
				}
			}
		}
		Err(errors)
	}

	async fn fetch_one(
		&self,
		url: &str,
		source: &Source,
		part: &Path,
		received: &AtomicU64,
		until: &Until<'_>,
	) -> Result<(), FetchError> {
		let limits = &self.limits;
		let mut url = check_url(url, limits.allow_private)?;
		free_space(part, source.size.saturating_add(limits.min_free_bytes))?;
		let mut redirects = 0;
		let response = loop {
			let request = hyper::Request::get(url.as_str())
				.header(USER_AGENT, concat!("verity-node/", env!("CARGO_PKG_VERSION")))
				.body(Empty::<Bytes>::new())
				.map_err(|e| FetchError::BadUrl(e.to_string()))?;
			// The connection and the response head within the idle timeout too.
			let response =
				timeout(limits.connect_timeout + limits.idle_timeout, self.inner.request(request))
					.await
					.map_err(|_| FetchError::Stalled)?
					.map_err(|e| FetchError::Connect(error_chain(&e)))?;
			let status = response.status();
			if status.is_redirection() {
				redirects += 1;
				if redirects > limits.max_redirects {
					return Err(FetchError::TooManyRedirects);
				}
				let location = response
					.headers()
					.get(LOCATION)
					.and_then(|l| l.to_str().ok())
					.ok_or(FetchError::Http(status.as_u16()))?;
				let next = url
					.join(location)
					.map_err(|e| FetchError::BadUrl(format!("{location}: {e}")))?;
				url = check_url(next.as_str(), limits.allow_private)?;
				continue;
			}
			if !status.is_success() {
				return Err(FetchError::Http(status.as_u16()));
			}
			break response;
		};
		if let Some(length) = response.headers().get(CONTENT_LENGTH) {
			let length = length.to_str().ok().and_then(|l| l.parse::<u64>().ok());
			if length != Some(source.size) {
				return Err(FetchError::WrongLength { expected: source.size, got: length });
			}
		}
		let mut file =
			tokio::fs::File::create(part).await.map_err(|e| FetchError::Io(e.to_string()))?;
		let mut hasher = blake2b_simd::Params::new().hash_length(32).to_state();
		let mut total: u64 = 0;
		let mut body = response.into_body();
		loop {
			let frame = match timeout(limits.idle_timeout, body.frame()).await {
				Err(_) => return Err(FetchError::Stalled),
				Ok(None) => break,
				Ok(Some(frame)) => frame.map_err(|e| FetchError::Connect(error_chain(&e)))?,
			};
			until.check()?;
			let Ok(data) = frame.into_data() else { continue };
			total += data.len() as u64;
			if total > source.size {
				return Err(FetchError::WrongLength { expected: source.size, got: Some(total) });
			}
			hasher.update(&data);
			file.write_all(&data).await.map_err(|e| FetchError::Io(e.to_string()))?;
			received.store(total, Ordering::Relaxed);
		}
		if total != source.size {
			return Err(FetchError::WrongLength { expected: source.size, got: Some(total) });
		}
		file.flush().await.map_err(|e| FetchError::Io(e.to_string()))?;
		file.sync_all().await.map_err(|e| FetchError::Io(e.to_string()))?;
		let hash = hasher.finalize();
		if hash.as_bytes() != source.code_hash {
			return Err(FetchError::HashMismatch {
				got: hash.as_bytes().try_into().expect("32 bytes"),
			});
		}
		Ok(())
	}
}

/// When a download gives up: its deadline, or when nobody wants it any more.
struct Until<'a> {
	deadline: Instant,
	abandoned: &'a (dyn Fn() -> bool + Sync),
}

impl Until<'_> {
	fn check(&self) -> Result<(), FetchError> {
		if (self.abandoned)() {
			Err(FetchError::Abandoned)
		} else if Instant::now() > self.deadline {
			Err(FetchError::TooSlow)
		} else {
			Ok(())
		}
	}
}

/// Fails unless the disk of `path` has `needed` bytes free (for unprivileged users).
fn free_space(path: &Path, needed: u64) -> Result<(), FetchError> {
	let dir = path.parent().unwrap_or(Path::new("."));
	let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
		.map_err(|e| FetchError::Io(e.to_string()))?;
	// SAFETY: statvfs is plain data; the call fills it.
	let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
	// SAFETY: a NUL-terminated path and a statvfs to fill.
	if unsafe { libc::statvfs(c_dir.as_ptr(), &mut stats) } != 0 {
		let e = std::io::Error::last_os_error();
		return Err(FetchError::Io(format!("{}: {e}", dir.display())));
	}
	let available = (stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64);
	if available < needed {
		return Err(FetchError::NoSpace { needed, available });
	}
	Ok(())
}

/// Where the bytes of a download of `source` go until their hash matched: one file per source
/// (two downloads of one hash from different URLs never write the same file), overwritten by
/// the next attempt of the same source (nothing piles up after a crash).
pub fn part_path(destination: &Path, source: &Source) -> PathBuf {
	let mut tag = blake2b_simd::Params::new().hash_length(8).to_state();
	tag.update(&source.size.to_le_bytes());
	for url in &source.urls {
		tag.update(url.as_bytes()).update(&[0]);
	}
	let mut name = destination.file_name().unwrap_or_default().to_os_string();
	name.push(format!(".{}.part", hex(tag.finalize().as_bytes())));
	destination.with_file_name(name)
}

/// An error with its causes (hyper's own messages say little: "client error (Connect)").
fn error_chain(e: &dyn std::error::Error) -> String {
	let mut text = e.to_string();
	let mut source = e.source();
	while let Some(cause) = source {
		text.push_str(": ");
		text.push_str(&cause.to_string());
		source = cause.source();
	}
	text
}

pub(crate) fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}
