//! Screening of a model file before ONNX Runtime sees it.
//!
//! Anyone can register a model and every committee member loads it, so the file is hostile
//! until shown otherwise. ONNX Runtime itself would, for instance, read an initializer stored as
//! *external data* from a path relative to the node's working directory (it refuses only absolute
//! and `..` paths), and publish the bytes of a validator's file as the model's output. This
//! module walks the protobuf of the `ModelProto` (every graph, subgraph, function, initializer
//! and constant) with a small wire-format reader and refuses:
//!
//! - any tensor whose data is not inside the file (`data_location = EXTERNAL`, or any
//!   `external_data` entry, which also covers ONNX Runtime's in-memory-address marker);
//! - operators outside the allowed domains: the standard `ai.onnx` (`""`), `ai.onnx.ml`, and the
//!   `com.microsoft` contrib operators that exported transformer models use; a domain that the
//!   model defines itself as local functions is allowed (their bodies are screened too);
//! - IR versions and operator-set versions newer than the pinned ONNX Runtime supports;
//! - files that are not well-formed protobuf, and graphs nested deeper than [`MAX_DEPTH`].
//!
//! It allocates nothing proportional to the file (names are only kept for the message) and
//! reads each byte once.
use std::fmt;

/// Newest ONNX IR version ONNX Runtime 1.31.1 loads (measured: 13 loads, 14 is refused).
pub const MAX_IR_VERSION: u64 = 13;
/// Operator domains a model may use, with the newest opset version ONNX Runtime 1.31.1 loads
/// for each (measured with the pinned library: `ai.onnx` 26, `ai.onnx.ml` 5; the contrib
/// domain has one version).
pub const ALLOWED_DOMAINS: [(&str, u64); 4] =
	[("", 26), ("ai.onnx", 26), ("ai.onnx.ml", 5), ("com.microsoft", 1)];
/// Deepest nesting of subgraphs (`If`, `Loop`, `Scan` bodies) accepted.
pub const MAX_DEPTH: u32 = 32;

/// Why a model is refused before it is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScreenError {
	/// Not a well-formed ONNX protobuf file (what was wrong).
	Malformed(&'static str),
	/// A tensor's data lives outside the model file.
	ExternalData { tensor: String },
	/// An operator (or an opset import) of a domain validators do not run.
	Domain { domain: String, op: String },
	/// An opset newer than the validators' ONNX Runtime supports.
	Opset { domain: String, version: u64, max: u64 },
	/// An IR version newer than the validators' ONNX Runtime supports.
	IrVersion { version: u64, max: u64 },
	/// Subgraphs nested deeper than [`MAX_DEPTH`].
	TooDeep,
}

impl fmt::Display for ScreenError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			ScreenError::Malformed(what) => write!(f, "not a valid ONNX model file: {what}"),
			ScreenError::ExternalData { tensor } => write!(
				f,
				"tensor {tensor:?} keeps its data outside the model file (ONNX external data); \
				 validators only run self-contained models: save it with \
				 onnx.save_model(model, path, save_as_external_data=False)"
			),
			ScreenError::Domain { domain, op } => write!(
				f,
				"operator {op:?} of domain {domain:?} is not allowed; validators run the \
				 domains ai.onnx, ai.onnx.ml and com.microsoft only"
			),
			ScreenError::Opset { domain, version, max } => write!(
				f,
				"opset {version} of domain {:?} is newer than the validators' ONNX Runtime \
				 supports ({max}); export with opset {max} or lower",
				if domain.is_empty() { "ai.onnx" } else { domain }
			),
			ScreenError::IrVersion { version, max } => write!(
				f,
				"IR version {version} is newer than the validators' ONNX Runtime supports ({max})"
			),
			ScreenError::TooDeep => {
				write!(f, "subgraphs are nested more than {MAX_DEPTH} levels deep")
			}
		}
	}
}

/// Checks a model file; `Ok` means ONNX Runtime may be given it.
pub fn screen_model(bytes: &[u8]) -> Result<(), ScreenError> {
	let mut ir_version = None;
	let mut opsets = Vec::new();
	let mut graphs = Vec::new();
	let mut functions = Vec::new();
	for field in Fields(bytes) {
		match field? {
			(1, Value::Varint(v)) => ir_version = Some(v),
			(8, Value::Bytes(b)) => opsets.push(opset_of(b)?),
			(7, Value::Bytes(b)) => graphs.push(b),
			(25, Value::Bytes(b)) => functions.push(b),
			// TrainingInfoProto: its initialization and algorithm graphs.
			(20, Value::Bytes(b)) => {
				for inner in Fields(b) {
					if let (1 | 2, Value::Bytes(g)) = inner? {
						graphs.push(g);
					}
				}
			}
			_ => {}
		}
	}
	let version = ir_version.ok_or(ScreenError::Malformed("no IR version (not an ONNX model)"))?;
	if version > MAX_IR_VERSION {
		return Err(ScreenError::IrVersion { version, max: MAX_IR_VERSION });
	}
	if graphs.is_empty() {
		return Err(ScreenError::Malformed("no graph"));
	}
	// Domains the model defines as local functions.
	let mut local = Vec::new();
	for f in &functions {
		for field in Fields(f) {
			if let (10, Value::Bytes(d)) = field? {
				local.push(d);
			}
		}
	}
	let screen = Screen { local: &local };
	for (domain, version) in opsets {
		screen.opset(domain, version)?;
	}
	for g in graphs {
		screen.graph(g, 0)?;
	}
	for f in functions {
		screen.function(f)?;
	}
	Ok(())
}

struct Screen<'a> {
	local: &'a [&'a [u8]],
}

impl Screen<'_> {
	fn opset(&self, domain: &[u8], version: u64) -> Result<(), ScreenError> {
		match ALLOWED_DOMAINS.iter().find(|(d, _)| d.as_bytes() == domain) {
			Some((_, max)) if version > *max => {
				Err(ScreenError::Opset { domain: text(domain), version, max: *max })
			}
			Some(_) => Ok(()),
			None if self.local.contains(&domain) => Ok(()),
			None => Err(ScreenError::Domain { domain: text(domain), op: "(opset import)".into() }),
		}
	}

	fn graph(&self, bytes: &[u8], depth: u32) -> Result<(), ScreenError> {
		if depth > MAX_DEPTH {
			return Err(ScreenError::TooDeep);
		}
		for field in Fields(bytes) {
			match field? {
				(1, Value::Bytes(node)) => self.node(node, depth)?,
				(5, Value::Bytes(t)) => tensor(t)?,
				(15, Value::Bytes(t)) => sparse_tensor(t)?,
				_ => {}
			}
		}
		Ok(())
	}

	fn function(&self, bytes: &[u8]) -> Result<(), ScreenError> {
		for field in Fields(bytes) {
			match field? {
				(7, Value::Bytes(node)) => self.node(node, 0)?,
				(9, Value::Bytes(o)) => {
					let (domain, version) = opset_of(o)?;
					self.opset(domain, version)?;
				}
				_ => {}
			}
		}
		Ok(())
	}

	fn node(&self, bytes: &[u8], depth: u32) -> Result<(), ScreenError> {
		let (mut domain, mut op): (&[u8], &[u8]) = (b"", b"");
		for field in Fields(bytes) {
			match field? {
				(4, Value::Bytes(o)) => op = o,
				(7, Value::Bytes(d)) => domain = d,
				(5, Value::Bytes(attribute)) => self.attribute(attribute, depth)?,
				_ => {}
			}
		}
		let allowed = ALLOWED_DOMAINS.iter().any(|(d, _)| d.as_bytes() == domain)
			|| self.local.contains(&domain);
		if !allowed {
			return Err(ScreenError::Domain { domain: text(domain), op: text(op) });
		}
		Ok(())
	}

	fn attribute(&self, bytes: &[u8], depth: u32) -> Result<(), ScreenError> {
		for field in Fields(bytes) {
			match field? {
				(5 | 10, Value::Bytes(t)) => tensor(t)?,
				(22 | 23, Value::Bytes(t)) => sparse_tensor(t)?,
				(6 | 11, Value::Bytes(g)) => self.graph(g, depth + 1)?,
				_ => {}
			}
		}
		Ok(())
	}
}

fn opset_of(bytes: &[u8]) -> Result<(&[u8], u64), ScreenError> {
	let (mut domain, mut version): (&[u8], u64) = (b"", 0);
	for field in Fields(bytes) {
		match field? {
			(1, Value::Bytes(d)) => domain = d,
			(2, Value::Varint(v)) => version = v,
			_ => {}
		}
	}
	Ok((domain, version))
}

fn tensor(bytes: &[u8]) -> Result<(), ScreenError> {
	let mut name: &[u8] = b"";
	let mut external = false;
	for field in Fields(bytes) {
		match field? {
			(8, Value::Bytes(n)) => name = n,
			(13, Value::Bytes(_)) => external = true,
			(14, Value::Varint(location)) => external |= location != 0,
			_ => {}
		}
	}
	if external {
		return Err(ScreenError::ExternalData { tensor: text(name) });
	}
	Ok(())
}

fn sparse_tensor(bytes: &[u8]) -> Result<(), ScreenError> {
	for field in Fields(bytes) {
		if let (1 | 2, Value::Bytes(t)) = field? {
			tensor(t)?;
		}
	}
	Ok(())
}

/// A name from the file, for a message: lossy UTF-8, at most 64 characters.
fn text(bytes: &[u8]) -> String {
	String::from_utf8_lossy(bytes).chars().take(64).collect()
}

/// One field's value, as far as the screen needs it.
enum Value<'a> {
	Varint(u64),
	Bytes(&'a [u8]),
	Fixed,
}

/// The fields of one protobuf message, in file order; stops at the first malformed one.
struct Fields<'a>(&'a [u8]);

impl<'a> Iterator for Fields<'a> {
	type Item = Result<(u32, Value<'a>), ScreenError>;

	fn next(&mut self) -> Option<Self::Item> {
		if self.0.is_empty() {
			return None;
		}
		let item = self.field();
		if item.is_err() {
			self.0 = &[];
		}
		Some(item)
	}
}

impl<'a> Fields<'a> {
	fn varint(&mut self) -> Result<u64, ScreenError> {
		let mut value = 0u64;
		for i in 0..10 {
			let (&byte, rest) = self.0.split_first().ok_or(ScreenError::Malformed("truncated"))?;
			self.0 = rest;
			value |= u64::from(byte & 0x7f) << (7 * i);
			if byte & 0x80 == 0 {
				return Ok(value);
			}
		}
		Err(ScreenError::Malformed("varint longer than 10 bytes"))
	}

	fn take(&mut self, n: u64) -> Result<&'a [u8], ScreenError> {
		let n = usize::try_from(n).map_err(|_| ScreenError::Malformed("truncated"))?;
		if n > self.0.len() {
			return Err(ScreenError::Malformed("truncated"));
		}
		let (head, rest) = self.0.split_at(n);
		self.0 = rest;
		Ok(head)
	}

	fn field(&mut self) -> Result<(u32, Value<'a>), ScreenError> {
		let key = self.varint()?;
		let number = u32::try_from(key >> 3).map_err(|_| ScreenError::Malformed("field number"))?;
		if number == 0 {
			return Err(ScreenError::Malformed("field number 0"));
		}
		let value = match key & 7 {
			0 => Value::Varint(self.varint()?),
			1 => {
				self.take(8)?;
				Value::Fixed
			}
			2 => {
				let len = self.varint()?;
				Value::Bytes(self.take(len)?)
			}
			5 => {
				self.take(4)?;
				Value::Fixed
			}
			_ => return Err(ScreenError::Malformed("unsupported wire type")),
		};
		Ok((number, value))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn varint(mut v: u64, out: &mut Vec<u8>) {
		while v >= 0x80 {
			out.push((v as u8) | 0x80);
			v >>= 7;
		}
		out.push(v as u8);
	}
	fn bytes_field(n: u32, b: &[u8]) -> Vec<u8> {
		let mut out = Vec::new();
		varint(u64::from(n) << 3 | 2, &mut out);
		varint(b.len() as u64, &mut out);
		out.extend_from_slice(b);
		out
	}
	fn varint_field(n: u32, v: u64) -> Vec<u8> {
		let mut out = Vec::new();
		varint(u64::from(n) << 3, &mut out);
		varint(v, &mut out);
		out
	}
	fn opset(domain: &str, version: u64) -> Vec<u8> {
		[bytes_field(1, domain.as_bytes()), varint_field(2, version)].concat()
	}
	fn model(ir: u64, opsets: &[(&str, u64)], graph: Vec<u8>) -> Vec<u8> {
		let mut m = varint_field(1, ir);
		for (d, v) in opsets {
			m.extend(bytes_field(8, &opset(d, *v)));
		}
		m.extend(bytes_field(7, &graph));
		m
	}
	fn node(op: &str, domain: &str) -> Vec<u8> {
		bytes_field(1, &[bytes_field(4, op.as_bytes()), bytes_field(7, domain.as_bytes())].concat())
	}

	#[test]
	fn a_plain_model_passes() {
		assert_eq!(screen_model(&model(8, &[("", 17)], node("Relu", ""))), Ok(()));
	}

	#[test]
	fn external_data_is_refused_wherever_the_tensor_is() {
		let external = [bytes_field(8, b"W"), varint_field(14, 1)].concat();
		let entry = [bytes_field(8, b"W"), bytes_field(13, b"\x0a\x08location")].concat();
		for t in [&external, &entry] {
			// An initializer.
			let m = model(8, &[("", 17)], bytes_field(5, t));
			assert_eq!(screen_model(&m), Err(ScreenError::ExternalData { tensor: "W".into() }));
			// A Constant's value inside an If's branch.
			let attr = bytes_field(5, &bytes_field(5, t));
			let constant = bytes_field(1, &[bytes_field(4, b"Constant"), attr].concat());
			let branch = bytes_field(5, &bytes_field(6, &constant));
			let m =
				model(8, &[("", 17)], bytes_field(1, &[bytes_field(4, b"If"), branch].concat()));
			assert!(matches!(screen_model(&m), Err(ScreenError::ExternalData { .. })));
		}
	}

	#[test]
	fn unknown_domains_and_new_versions_are_refused() {
		let m = model(8, &[("", 17)], node("Evil", "com.example"));
		assert_eq!(
			screen_model(&m),
			Err(ScreenError::Domain { domain: "com.example".into(), op: "Evil".into() })
		);
		let m = model(8, &[("", 27)], node("Relu", ""));
		assert!(matches!(screen_model(&m), Err(ScreenError::Opset { version: 27, .. })));
		let m = model(14, &[("", 17)], node("Relu", ""));
		assert!(matches!(screen_model(&m), Err(ScreenError::IrVersion { version: 14, .. })));
		assert_eq!(
			screen_model(&model(8, &[("com.microsoft", 1)], node("Gelu", "com.microsoft"))),
			Ok(())
		);
	}

	#[test]
	fn garbage_and_deep_nesting_are_refused_without_panicking() {
		let good = model(8, &[("", 17)], node("Relu", ""));
		for cut in 0..good.len() {
			let _ = screen_model(&good[..cut]);
		}
		assert!(screen_model(&good[..good.len() - 1]).is_err());
		assert!(matches!(screen_model(b"\xff\xff\xff"), Err(ScreenError::Malformed(_))));
		let mut graph = node("Relu", "");
		for _ in 0..=MAX_DEPTH {
			let attr = bytes_field(5, &bytes_field(6, &graph));
			graph = bytes_field(1, &[bytes_field(4, b"If"), attr].concat());
		}
		assert_eq!(screen_model(&model(8, &[("", 17)], graph)), Err(ScreenError::TooDeep));
	}
}
