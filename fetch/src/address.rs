//! Where a node may fetch from. A hosted model's URLs are chosen by its owner, and every
//! validator of the committee requests them: without a guard, a model could make all validators
//! send requests to their own loopback services (the node's RPC), their private network or a
//! cloud metadata endpoint. So by default only public addresses are contacted: URLs naming an
//! address literal are checked when parsed, host names when resolved (at connection time, so a
//! name that resolves differently later, DNS rebinding, is checked again), redirects like URLs.
use crate::FetchError;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Whether `ip` is an address on the public internet: not loopback, private, link-local,
/// shared (carrier NAT), multicast, broadcast, documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
	match ip {
		IpAddr::V4(v4) => is_public_v4(v4),
		IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
			Some(v4) => is_public_v4(v4),
			None => is_public_v6(v6),
		},
	}
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
	let [a, b, ..] = ip.octets();
	!(ip.is_unspecified()
		|| ip.is_loopback()
		|| ip.is_private()
		|| ip.is_link_local()
		|| ip.is_multicast()
		|| ip.is_broadcast()
		|| ip.is_documentation()
		|| a == 0
		// 100.64.0.0/10, shared address space (carrier-grade NAT).
		|| (a == 100 && (b & 0xc0) == 64)
		// 192.0.0.0/24, protocol assignments.
		|| (a == 192 && b == 0 && ip.octets()[2] == 0)
		// 198.18.0.0/15, benchmarking.
		|| (a == 198 && (b & 0xfe) == 18)
		// 240.0.0.0/4, reserved.
		|| a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
	let segments = ip.segments();
	let first = segments[0];
	// 2002::/16 (6to4) carries an IPv4 address in its next 32 bits.
	if first == 0x2002 {
		let [a, b] = segments[1].to_be_bytes();
		let [c, d] = segments[2].to_be_bytes();
		return is_public_v4(Ipv4Addr::new(a, b, c, d));
	}
	// ::/64 holds no global unicast: ::/96 (IPv4-compatible, deprecated), ::ffff:0:0/96
	// (IPv4-translated), loopback, unspecified (IPv4-mapped ones were checked as IPv4 by
	// `is_public`).
	if segments[..4] == [0; 4] {
		return false;
	}
	!(ip.is_unspecified()
		|| ip.is_loopback()
		|| ip.is_multicast()
		// fc00::/7, unique local.
		|| (first & 0xfe00) == 0xfc00
		// fe80::/10, link-local.
		|| (first & 0xffc0) == 0xfe80
		// 2001:db8::/32, documentation.
		|| (first == 0x2001 && ip.segments()[1] == 0xdb8)
		// 64:ff9b::/96 and friends (NAT64) reach IPv4 addresses this check cannot see.
		|| first == 0x64
		// 2001::/32 (Teredo), fec0::/10 (site-local, deprecated), 100::/64 (discard).
		|| (first == 0x2001 && segments[1] == 0)
		|| (first & 0xffc0) == 0xfec0
		|| (first == 0x100 && segments[1..4] == [0, 0, 0]))
}

/// Parses and checks a URL: http or https only, with a host; a host given as an address must
/// be public unless `allow_private`.
pub fn check_url(text: &str, allow_private: bool) -> Result<url::Url, FetchError> {
	let url = url::Url::parse(text).map_err(|e| FetchError::BadUrl(format!("{text}: {e}")))?;
	if url.scheme() != "http" && url.scheme() != "https" {
		return Err(FetchError::BadUrl(format!("{text}: only http and https URLs are fetched")));
	}
	if !url.username().is_empty() || url.password().is_some() {
		return Err(FetchError::BadUrl(format!("{text}: URLs with credentials are refused")));
	}
	let ip = match url.host() {
		None => return Err(FetchError::BadUrl(format!("{text}: no host"))),
		Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
		Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
		Some(url::Host::Domain(_)) => None,
	};
	if let Some(ip) = ip {
		if !allow_private && !is_public(ip) {
			return Err(FetchError::PrivateAddress(text.to_string()));
		}
	}
	Ok(url)
}

/// A resolver for hyper's connector that drops non-public addresses (unless `allow_private`):
/// a name that resolves only to such addresses fails to connect.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
	pub allow_private: bool,
}

type Resolving =
	Pin<Box<dyn Future<Output = std::io::Result<std::vec::IntoIter<SocketAddr>>> + Send>>;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for GuardedResolver {
	type Response = std::vec::IntoIter<SocketAddr>;
	type Error = std::io::Error;
	type Future = Resolving;

	fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
		Poll::Ready(Ok(()))
	}

	fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
		let allow_private = self.allow_private;
		Box::pin(async move {
			let host = name.as_str().to_string();
			let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
			let kept: Vec<SocketAddr> =
				all.iter().copied().filter(|a| allow_private || is_public(a.ip())).collect();
			if kept.is_empty() {
				return Err(std::io::Error::new(
					std::io::ErrorKind::PermissionDenied,
					format!("{host} resolves to no public address ({all:?})"),
				));
			}
			Ok(kept.into_iter())
		})
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn private_and_special_addresses_are_not_public() {
		for ip in [
			"127.0.0.1",
			"10.1.2.3",
			"172.16.0.1",
			"192.168.1.1",
			"169.254.169.254",
			"100.64.0.1",
			"0.0.0.0",
			"255.255.255.255",
			"224.0.0.1",
			"198.18.0.1",
			"240.0.0.1",
			"::1",
			"::",
			"fd00::1",
			"fe80::1",
			"::ffff:127.0.0.1",
			"::ffff:169.254.169.254",
			"2001:db8::1",
			"64:ff9b::a9fe:a9fe",
			"::7f00:1",
			"::ffff:0:7f00:1",
			"2002:7f00:1::1",
			"2002:a9fe:a9fe::1",
			"2001:0:4136:e378::1",
			"fec0::1",
			"100::1",
		] {
			assert!(!is_public(ip.parse().unwrap()), "{ip}");
		}
		for ip in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "2002:0101:0101::1"] {
			assert!(is_public(ip.parse().unwrap()), "{ip}");
		}
	}

	#[test]
	fn only_http_urls_to_public_literals_pass() {
		assert!(check_url("https://example.org/m.onnx", false).is_ok());
		assert!(check_url("http://1.1.1.1/m.onnx", false).is_ok());
		for bad in [
			"file:///etc/passwd",
			"ftp://example.org/m",
			"gopher://x",
			"not a url",
			"https://u:p@example.org/m",
		] {
			assert!(matches!(check_url(bad, false), Err(FetchError::BadUrl(_))), "{bad}");
		}
		for private in [
			"http://127.0.0.1:9944/",
			"http://[::1]/",
			"http://169.254.169.254/latest/meta-data",
			"http://0x7f000001/",
			"http://2130706433/",
		] {
			assert!(
				matches!(check_url(private, false), Err(FetchError::PrivateAddress(_))),
				"{private}"
			);
			assert!(check_url(private, true).is_ok(), "{private}");
		}
	}
}
