//! Downloads from real HTTP servers on loopback, honest and hostile: a 100 MiB model, wrong
//! bytes, bodies that run past the size or stop short, lying lengths, silence, redirect loops,
//! private addresses. Every server here ends by itself (bounded bodies, bounded sleeps).
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verity_model_fetch::{Client, FetchError, Fetcher, Limits, Source, Status};

/// What the test server does for a path.
#[derive(Clone)]
enum Reply {
	/// 200 with this body, announcing `length` (None: no Content-Length, the body ends with the
	/// connection), stopping after `send` bytes (None: all).
	Body {
		body: Arc<Vec<u8>>,
		length: Option<u64>,
		send: Option<usize>,
	},
	/// 200 with no length and bytes until the client hangs up (at most 1 GiB).
	Endless,
	/// The head of a 200 with a length, then nothing for `Duration`.
	Stall(Duration),
	/// The head of a 200 announcing 1000 bytes, then a byte every `Duration` (at most 1000).
	Drip(Duration),
	Status(u16),
	Redirect(String),
}

struct Server {
	addr: SocketAddr,
	connections: Arc<AtomicUsize>,
	sent: Arc<AtomicU64>,
}

impl Server {
	fn url(&self, path: &str) -> String {
		format!("http://{}{path}", self.addr)
	}
}

async fn serve(route: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Server {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let connections = Arc::new(AtomicUsize::new(0));
	let sent = Arc::new(AtomicU64::new(0));
	let route = Arc::new(route);
	let (c, s) = (connections.clone(), sent.clone());
	tokio::spawn(async move {
		while let Ok((mut socket, _)) = listener.accept().await {
			c.fetch_add(1, Ordering::SeqCst);
			let (route, sent) = (route.clone(), s.clone());
			tokio::spawn(async move {
				let mut head = Vec::new();
				let mut buf = [0u8; 1024];
				while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
					match socket.read(&mut buf).await {
						Ok(0) | Err(_) => return,
						Ok(n) => head.extend_from_slice(&buf[..n]),
					}
				}
				let head = String::from_utf8_lossy(&head);
				let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
				let _ = respond(&mut socket, route(&path), &sent).await;
			});
		}
	});
	Server { addr, connections, sent }
}

async fn respond(
	socket: &mut tokio::net::TcpStream,
	reply: Reply,
	sent: &AtomicU64,
) -> std::io::Result<()> {
	match reply {
		Reply::Status(code) => {
			socket
				.write_all(
					format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
						.as_bytes(),
				)
				.await
		}
		Reply::Redirect(to) => {
			let head = format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
			socket.write_all(head.as_bytes()).await
		}
		Reply::Stall(pause) => {
			socket
				.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n")
				.await?;
			tokio::time::sleep(pause).await;
			Ok(())
		}
		Reply::Drip(pause) => {
			socket
				.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\n")
				.await?;
			for _ in 0..1000 {
				tokio::time::sleep(pause).await;
				socket.write_all(b"x").await?;
				sent.fetch_add(1, Ordering::SeqCst);
			}
			Ok(())
		}
		Reply::Endless => {
			socket.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n").await?;
			let chunk = vec![7u8; 64 * 1024];
			for _ in 0..(1 << 30) / chunk.len() {
				socket.write_all(&chunk).await?;
				sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
			}
			Ok(())
		}
		Reply::Body { body, length, send } => {
			let mut head = "HTTP/1.1 200 OK\r\nconnection: close\r\n".to_string();
			if let Some(length) = length {
				head.push_str(&format!("content-length: {length}\r\n"));
			}
			head.push_str("\r\n");
			socket.write_all(head.as_bytes()).await?;
			let end = send.unwrap_or(body.len()).min(body.len());
			for chunk in body[..end].chunks(256 * 1024) {
				socket.write_all(chunk).await?;
				sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
			}
			socket.shutdown().await
		}
	}
}

/// Deterministic bytes that do not compress (xorshift).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
	let mut out = Vec::with_capacity(len + 8);
	while out.len() < len {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out.extend_from_slice(&x.to_le_bytes());
	}
	out.truncate(len);
	out
}

fn hash(data: &[u8]) -> [u8; 32] {
	blake2b_simd::Params::new().hash_length(32).hash(data).as_bytes().try_into().unwrap()
}

fn limits() -> Limits {
	Limits { allow_private: true, idle_timeout: Duration::from_secs(2), ..Limits::default() }
}

fn folder(name: &str) -> PathBuf {
	let dir = std::env::temp_dir().join(format!("verity-fetch-{}-{name}", std::process::id()));
	let _ = std::fs::remove_dir_all(&dir);
	std::fs::create_dir_all(&dir).unwrap();
	dir
}

fn leftovers(dir: &Path) -> Vec<String> {
	std::fs::read_dir(dir)
		.unwrap()
		.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
		.collect()
}

fn source(urls: Vec<String>, data: &[u8]) -> Source {
	Source { urls, code_hash: hash(data), size: data.len() as u64 }
}

async fn fetch_into(
	dir: &Path,
	limits: Limits,
	source: &Source,
) -> Result<(), Vec<(String, FetchError)>> {
	Client::new(limits).fetch(source, &dir.join("model.onnx"), &AtomicU64::new(0)).await
}

fn only_error(outcome: Result<(), Vec<(String, FetchError)>>) -> FetchError {
	let mut errors = outcome.expect_err("the download must fail");
	assert_eq!(errors.len(), 1, "{errors:?}");
	errors.remove(0).1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_model_is_fetched_and_its_hash_checked() {
	let data = Arc::new(bytes(100 << 20, 1));
	let body = data.clone();
	let server = serve(move |_| Reply::Body {
		body: body.clone(),
		length: Some(body.len() as u64),
		send: None,
	})
	.await;
	let dir = folder("big");
	let received = AtomicU64::new(0);
	let started = Instant::now();
	Client::new(limits())
		.fetch(&source(vec![server.url("/big.onnx")], &data), &dir.join("model.onnx"), &received)
		.await
		.unwrap();
	let seconds = started.elapsed().as_secs_f64();
	println!("100 MiB fetched and hashed in {seconds:.2} s ({:.0} MiB/s)", 100.0 / seconds);
	assert_eq!(received.load(Ordering::SeqCst), data.len() as u64);
	assert!(std::fs::read(dir.join("model.onnx")).unwrap() == *data);
	assert_eq!(leftovers(&dir), vec!["model.onnx".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_bytes_are_never_kept() {
	let (expected, served) = (bytes(1 << 20, 2), Arc::new(bytes(1 << 20, 3)));
	let body = served.clone();
	let server = serve(move |_| Reply::Body {
		body: body.clone(),
		length: Some(body.len() as u64),
		send: None,
	})
	.await;
	let dir = folder("wrong");
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/m")], &expected)).await);
	assert_eq!(error, FetchError::HashMismatch { got: hash(&served) });
	assert!(error.to_string().contains("not to the model's code hash"), "{error}");
	assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_running_past_the_size_is_cut_at_one_byte_more() {
	let server = serve(|_| Reply::Endless).await;
	let dir = folder("endless");
	let data = bytes(3 << 20, 4);
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/m")], &data)).await);
	match error {
		FetchError::WrongLength { expected, got: Some(got) } => {
			assert_eq!(expected, data.len() as u64);
			// The download stops within the frame that crossed the size.
			assert!(got > expected && got <= expected + (64 << 10), "{got}");
		}
		other => panic!("{other:?}"),
	}
	// The server stops once the client hung up (its socket buffers hold a few MiB at most).
	tokio::time::sleep(Duration::from_millis(300)).await;
	let sent = server.sent.load(Ordering::SeqCst);
	assert!(sent < 64 << 20, "the server kept sending: {sent} bytes");
	assert!(leftovers(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_or_short_lengths_fail() {
	let data = Arc::new(bytes(1 << 20, 5));
	let size = data.len() as u64;
	let body = data.clone();
	let server = serve(move |path| match path {
		"/longer" => Reply::Body { body: body.clone(), length: Some(size + 100), send: None },
		"/shorter" => Reply::Body { body: body.clone(), length: Some(size - 1), send: None },
		"/cut" => Reply::Body { body: body.clone(), length: Some(size), send: Some(1000) },
		_ => Reply::Body { body: body.clone(), length: None, send: Some(size as usize - 1) },
	})
	.await;
	let dir = folder("lengths");
	for (path, got) in [
		("/longer", Some(size + 100)),
		("/shorter", Some(size - 1)),
		("/unannounced", Some(size - 1)),
	] {
		let error =
			only_error(fetch_into(&dir, limits(), &source(vec![server.url(path)], &data)).await);
		assert_eq!(error, FetchError::WrongLength { expected: size, got }, "{path}");
	}
	// A body that ends before its announced length is a protocol error.
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/cut")], &data)).await);
	assert!(matches!(error, FetchError::Connect(_) | FetchError::WrongLength { .. }), "{error:?}");
	assert!(leftovers(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_times_out() {
	let server = serve(|_| Reply::Stall(Duration::from_secs(20))).await;
	let dir = folder("stall");
	let data = bytes(1000, 6);
	let started = Instant::now();
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/m")], &data)).await);
	assert_eq!(error, FetchError::Stalled);
	assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
	assert!(leftovers(&dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_url_is_tried_when_one_fails() {
	let data = Arc::new(bytes(1 << 20, 7));
	let body = data.clone();
	let server = serve(move |path| match path {
		"/missing" => Reply::Status(404),
		"/broken" => Reply::Status(500),
		_ => Reply::Body { body: body.clone(), length: Some(body.len() as u64), send: None },
	})
	.await;
	let dir = folder("fallback");
	let urls = vec![server.url("/missing"), server.url("/broken"), server.url("/good")];
	fetch_into(&dir, limits(), &source(urls.clone(), &data)).await.unwrap();
	assert!(std::fs::read(dir.join("model.onnx")).unwrap() == *data);
	// All failing: each URL's reason.
	let errors = fetch_into(&dir, limits(), &source(urls[..2].to_vec(), &data)).await.unwrap_err();
	assert_eq!(
		errors,
		vec![(urls[0].clone(), FetchError::Http(404)), (urls[1].clone(), FetchError::Http(500))]
	);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_bounded_and_checked() {
	let data = Arc::new(bytes(1000, 8));
	let body = data.clone();
	let server = serve(move |path| match path {
		"/loop" => Reply::Redirect("/loop".into()),
		"/hop" => Reply::Redirect("/good".into()),
		"/passwd" => Reply::Redirect("file:///etc/passwd".into()),
		_ => Reply::Body { body: body.clone(), length: Some(body.len() as u64), send: None },
	})
	.await;
	let dir = folder("redirects");
	fetch_into(&dir, limits(), &source(vec![server.url("/hop")], &data)).await.unwrap();
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/loop")], &data)).await);
	assert_eq!(error, FetchError::TooManyRedirects);
	assert_eq!(
		server.connections.load(Ordering::SeqCst),
		2 + 4,
		"one try and three redirects for the loop"
	);
	let error =
		only_error(fetch_into(&dir, limits(), &source(vec![server.url("/passwd")], &data)).await);
	assert!(matches!(error, FetchError::BadUrl(_)), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_unless_allowed() {
	let data = Arc::new(bytes(1000, 9));
	let body = data.clone();
	let server = serve(move |_| Reply::Body {
		body: body.clone(),
		length: Some(body.len() as u64),
		send: None,
	})
	.await;
	let dir = folder("private");
	let public_only = Limits { allow_private: false, ..limits() };
	let error = only_error(
		fetch_into(&dir, public_only.clone(), &source(vec![server.url("/m")], &data)).await,
	);
	assert_eq!(error, FetchError::PrivateAddress(server.url("/m")));
	// A name is checked when resolved: `localhost` resolves to loopback only.
	let by_name = format!("http://localhost:{}/m", server.addr.port());
	let error =
		only_error(fetch_into(&dir, public_only, &source(vec![by_name.clone()], &data)).await);
	assert!(
		matches!(&error, FetchError::Connect(e) if e.contains("no public address")),
		"{error:?}"
	);
	assert_eq!(server.connections.load(Ordering::SeqCst), 0, "nothing reached the private server");
	// Allowed (a test network), the same URLs work.
	fetch_into(&dir, limits(), &source(vec![by_name], &data)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_over_the_limit_is_refused_before_connecting() {
	let server = serve(|_| Reply::Endless).await;
	let dir = folder("large");
	let source = Source { urls: vec![server.url("/m")], code_hash: [0; 32], size: (2 << 30) + 1 };
	let error = only_error(fetch_into(&dir, limits(), &source).await);
	assert_eq!(error, FetchError::TooLarge { size: (2 << 30) + 1, max: 2 << 30 });
	assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

/// What the off-chain worker sees: polls that never block, one download however often it asks,
/// progress, then the file; a failure is remembered (no new download on each ask).
#[test]
fn the_fetcher_downloads_once_and_remembers_failures() {
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let data = Arc::new(bytes(20 << 20, 10));
	let body = data.clone();
	let server = runtime.block_on(serve(move |path| match path {
		"/wrong" => Reply::Body {
			body: Arc::new(bytes(body.len(), 11)),
			length: Some(body.len() as u64),
			send: None,
		},
		_ => Reply::Body { body: body.clone(), length: Some(body.len() as u64), send: None },
	}));
	let dir = folder("fetcher");
	let to = dir.clone();
	let fetcher = Fetcher::new(limits(), runtime.handle().clone(), move |hash| {
		to.join(format!("{}.onnx", hash.iter().map(|b| format!("{b:02x}")).collect::<String>()))
	});
	let good = source(vec![server.url("/good")], &data);
	let poll = |source: &Source| {
		let deadline = Instant::now() + Duration::from_secs(30);
		let mut seen = Vec::new();
		loop {
			let started = Instant::now();
			let status = fetcher.status(source);
			assert!(started.elapsed() < Duration::from_millis(100), "status blocked");
			if !matches!(status, Status::Fetching { .. }) || Instant::now() > deadline {
				return (status, seen);
			}
			seen.push(status);
			std::thread::sleep(Duration::from_millis(5));
		}
	};
	let (status, seen) = poll(&good);
	let path = dir.join(format!(
		"{}.onnx",
		good.code_hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
	));
	assert_eq!(status, Status::Ready(path.clone()));
	assert!(std::fs::read(&path).unwrap() == *data);
	assert!(!seen.is_empty());
	assert_eq!(
		server.connections.load(Ordering::SeqCst),
		1,
		"one download for {} polls",
		seen.len() + 1
	);
	// Present: ready at once, no connection.
	assert_eq!(fetcher.status(&good), Status::Ready(path));
	assert_eq!(server.connections.load(Ordering::SeqCst), 1);

	let wrong =
		Source { urls: vec![server.url("/wrong")], ..source(vec![], &bytes(data.len(), 12)) };
	let (status, _) = poll(&wrong);
	assert!(
		matches!(&status, Status::Failed(reason) if reason.contains("code hash")),
		"{status:?}"
	);
	assert_eq!(fetcher.status(&wrong), status, "the failure is remembered");
	assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

/// A server that sends a byte now and then never trips the idle timeout; the download's overall
/// deadline ends it (and the other URLs are not tried after it: the time is up).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_server_is_cut_at_the_deadline() {
	let server = serve(|_| Reply::Drip(Duration::from_millis(100))).await;
	let dir = folder("drip");
	let data = bytes(1000, 13);
	let limits = Limits { max_duration: Duration::from_secs(1), ..limits() };
	let started = Instant::now();
	let urls = vec![server.url("/a"), server.url("/b")];
	let errors = fetch_into(&dir, limits, &source(urls.clone(), &data)).await.unwrap_err();
	assert_eq!(errors, vec![(urls[0].clone(), FetchError::TooSlow)]);
	assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
	assert_eq!(server.connections.load(Ordering::SeqCst), 1);
	assert!(leftovers(&dir).is_empty());
}

/// A download that would leave the disk with less than `min_free_bytes` fails before it
/// connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_would_fill_the_disk_is_refused() {
	let server = serve(|_| Reply::Endless).await;
	let dir = folder("space");
	let data = bytes(1000, 14);
	let limits = Limits { min_free_bytes: u64::MAX / 2, ..limits() };
	let error = only_error(fetch_into(&dir, limits, &source(vec![server.url("/m")], &data)).await);
	assert!(
		matches!(error, FetchError::NoSpace { needed, .. } if needed == u64::MAX / 2 + 1000),
		"{error:?}"
	);
	assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

fn fetcher(runtime: &tokio::runtime::Runtime, dir: &Path, limits: Limits) -> Fetcher {
	let to = dir.to_path_buf();
	Fetcher::new(limits, runtime.handle().clone(), move |hash| {
		to.join(format!("{}.onnx", hash.iter().map(|b| format!("{b:02x}")).collect::<String>()))
	})
}

fn wait_done(fetcher: &Fetcher, source: &Source) -> Status {
	let deadline = Instant::now() + Duration::from_secs(30);
	loop {
		let status = fetcher.status(source);
		if !matches!(status, Status::Fetching { .. }) || Instant::now() > deadline {
			return status;
		}
		std::thread::sleep(Duration::from_millis(5));
	}
}

/// Another model registered with the same code hash and URLs that fail (front-running the
/// real owner) does not make the real model's download fail: downloads are kept per hash, size
/// and URLs, and a file that is in serves every model of its hash.
#[test]
fn a_failing_source_does_not_poison_another_of_the_same_hash() {
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let data = Arc::new(bytes(1 << 20, 15));
	let body = data.clone();
	let server = runtime.block_on(serve(move |path| match path {
		"/good" => Reply::Body { body: body.clone(), length: Some(body.len() as u64), send: None },
		_ => Reply::Status(404),
	}));
	let dir = folder("poison");
	let fetcher = fetcher(&runtime, &dir, limits());
	let bad = source(vec![server.url("/nothing")], &data);
	let good = source(vec![server.url("/good")], &data);
	assert!(matches!(wait_done(&fetcher, &bad), Status::Failed(_)));
	assert!(matches!(wait_done(&fetcher, &good), Status::Ready(_)));
	// Once the file is in, it is ready for the failed source too (the hash is what counts).
	assert!(matches!(fetcher.status(&bad), Status::Ready(_)));
	// A lying size with the same hash fails alone too.
	let lying = Source { size: 10, ..good.clone() };
	std::fs::remove_dir_all(&dir).unwrap();
	std::fs::create_dir_all(&dir).unwrap();
	assert!(matches!(wait_done(&fetcher, &lying), Status::Failed(_)));
	assert!(matches!(wait_done(&fetcher, &good), Status::Ready(_)));
}

/// A download nobody asks about any more (its probe ended, its model was removed) is dropped
/// and gives its turn back: the next download gets it.
#[test]
fn an_abandoned_download_gives_its_turn_back() {
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	let data = Arc::new(bytes(1 << 20, 16));
	let body = data.clone();
	let server = runtime.block_on(serve(move |path| match path {
		"/drip" => Reply::Drip(Duration::from_millis(50)),
		_ => Reply::Body { body: body.clone(), length: Some(body.len() as u64), send: None },
	}));
	let dir = folder("abandon");
	let limits = Limits { parallel: 1, abandon_after: Duration::from_millis(300), ..limits() };
	let fetcher = fetcher(&runtime, &dir, limits);
	let dripping = source(vec![server.url("/drip")], &bytes(1000, 17));
	assert!(matches!(fetcher.status(&dripping), Status::Fetching { .. }));
	std::thread::sleep(Duration::from_millis(100));
	// The only turn is taken: another download waits...
	let good = source(vec![server.url("/good")], &data);
	assert!(matches!(fetcher.status(&good), Status::Fetching { .. }));
	// ...and gets it once nobody asked about the dripping one for 300 ms.
	let started = Instant::now();
	assert!(matches!(wait_done(&fetcher, &good), Status::Ready(_)));
	assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
	// Dropped, not failed: asked again, it starts again.
	let before = server.connections.load(Ordering::SeqCst);
	assert!(matches!(fetcher.status(&dripping), Status::Fetching { .. }));
	std::thread::sleep(Duration::from_millis(200));
	assert_eq!(server.connections.load(Ordering::SeqCst), before + 1);
}
