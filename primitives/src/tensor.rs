//! The Verity tensor format: named tensors as one canonical byte string.
//!
//! Inputs and outputs of every model travel in this format: from a contract or an account to
//! the pallet, from the pallet to the validators' engine, from the engine back on chain, and to
//! users through RPC. It is small enough to build by hand in Solidity, strict enough that a byte
//! string decodes to at most one list of tensors (so hashing the bytes identifies the tensors),
//! and it never panics on garbage input.
//!
//! ```text
//! magic    4 bytes   "VTNS"
//! version  u8        1
//! count    u8        number of tensors, 0..=MAX_TENSORS
//! count times:
//!   name_len u8      1..=MAX_NAME_LEN
//!   name     bytes   UTF-8, unique within the list
//!   dtype    u8      1 f32, 2 f64, 3 i32, 4 i64, 5 u8, 6 bool, 7 f16, 8 bf16, 9 i8,
//!                    10 i16, 11 u16, 12 u32, 13 u64, 14 string
//!   rank     u8      0..=MAX_RANK
//!   dims     rank x u32 little-endian
//!   data     product(dims) x size(dtype) bytes, little-endian; bool is one byte, 0 or 1;
//!            a string is its byte length (u32 little-endian) then that many bytes of UTF-8
//! ```
//! Nothing may follow the last tensor. A rank-0 tensor is a scalar (one element). Every type
//! ONNX Runtime gives a tensor of numbers, booleans or text is here; f16 and bf16 are IEEE-754
//! half precision and bfloat16 bit patterns.
use alloc::{string::String, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// First bytes of every encoded tensor list.
pub const MAGIC: [u8; 4] = *b"VTNS";
/// Format version this code reads and writes.
pub const VERSION: u8 = 1;
/// Most tensors in one list.
pub const MAX_TENSORS: usize = 16;
/// Longest tensor name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Highest rank of a tensor.
pub const MAX_RANK: usize = 8;

/// Element type of a tensor.
#[derive(
	Clone,
	Copy,
	Debug,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "lowercase"))]
pub enum DType {
	F32,
	F64,
	I32,
	I64,
	U8,
	Bool,
	F16,
	BF16,
	I8,
	I16,
	U16,
	U32,
	U64,
	String,
}

/// Every element type, in code order.
pub const DTYPES: [DType; 14] = [
	DType::F32,
	DType::F64,
	DType::I32,
	DType::I64,
	DType::U8,
	DType::Bool,
	DType::F16,
	DType::BF16,
	DType::I8,
	DType::I16,
	DType::U16,
	DType::U32,
	DType::U64,
	DType::String,
];

impl DType {
	/// Code of the type in the byte format.
	pub const fn code(self) -> u8 {
		match self {
			DType::F32 => 1,
			DType::F64 => 2,
			DType::I32 => 3,
			DType::I64 => 4,
			DType::U8 => 5,
			DType::Bool => 6,
			DType::F16 => 7,
			DType::BF16 => 8,
			DType::I8 => 9,
			DType::I16 => 10,
			DType::U16 => 11,
			DType::U32 => 12,
			DType::U64 => 13,
			DType::String => 14,
		}
	}

	/// The type with byte-format code `code`.
	pub const fn from_code(code: u8) -> Option<DType> {
		if code == 0 || code as usize > DTYPES.len() {
			return None;
		}
		Some(DTYPES[code as usize - 1])
	}

	/// Bytes per element; for a string, the bytes of an empty one (its length), each string
	/// adding its own bytes.
	pub const fn size(self) -> usize {
		match self {
			DType::F32 | DType::I32 | DType::U32 | DType::String => 4,
			DType::F64 | DType::I64 | DType::U64 => 8,
			DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
			DType::U8 | DType::Bool | DType::I8 => 1,
		}
	}

	/// Whether results of this type are compared with a tolerance (else exactly).
	pub const fn is_float(self) -> bool {
		matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
	}

	/// Lower-case name, as in specs and CLI output.
	pub const fn name(self) -> &'static str {
		match self {
			DType::F32 => "f32",
			DType::F64 => "f64",
			DType::I32 => "i32",
			DType::I64 => "i64",
			DType::U8 => "u8",
			DType::Bool => "bool",
			DType::F16 => "f16",
			DType::BF16 => "bf16",
			DType::I8 => "i8",
			DType::I16 => "i16",
			DType::U16 => "u16",
			DType::U32 => "u32",
			DType::U64 => "u64",
			DType::String => "string",
		}
	}

	/// The inverse of [`DType::name`].
	pub fn from_name(name: &str) -> Option<Self> {
		DTYPES.into_iter().find(|d| d.name() == name)
	}
}

/// The value of IEEE-754 half-precision bits (exact: every f16 is an f64).
pub fn f16_to_f64(bits: u16) -> f64 {
	let negative = bits & 0x8000 != 0;
	let exponent = u64::from((bits >> 10) & 0x1f);
	let fraction = u64::from(bits & 0x3ff);
	let magnitude = match exponent {
		// Zero and subnormals: fraction x 2^-24.
		0 => fraction as f64 / 16_777_216.0,
		// Infinity and NaN.
		0x1f => f64::from_bits(0x7ff0_0000_0000_0000 | fraction << 42),
		// Normal: rebias the exponent (15 -> 1023), widen the fraction (10 -> 52 bits).
		_ => f64::from_bits((exponent + 1023 - 15) << 52 | fraction << 42),
	};
	if negative {
		-magnitude
	} else {
		magnitude
	}
}

/// The value of bfloat16 bits (the upper half of an f32).
pub fn bf16_to_f64(bits: u16) -> f64 {
	f32::from_bits(u32::from(bits) << 16) as f64
}

/// Why a byte string is not a valid tensor list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
	/// It does not start with `VTNS`.
	BadMagic,
	/// A version this code does not read.
	UnsupportedVersion(u8),
	/// It ends in the middle of a tensor.
	Truncated,
	/// More than [`MAX_TENSORS`] tensors.
	TooManyTensors,
	/// A name is empty or longer than [`MAX_NAME_LEN`].
	BadNameLength,
	/// A name is not UTF-8.
	NameNotUtf8,
	/// Two tensors have the same name.
	DuplicateName,
	/// An unknown dtype code.
	UnknownDType(u8),
	/// A rank above [`MAX_RANK`].
	RankTooHigh,
	/// The element count overflows or exceeds the caller's limit.
	TooManyElements,
	/// A bool element other than 0 or 1.
	InvalidBool,
	/// Bytes after the last tensor.
	TrailingBytes,
	/// A string element that is not UTF-8.
	StringNotUtf8,
}

/// A decoded tensor that borrows its data from the encoded bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRef<'a> {
	pub name: &'a str,
	pub dtype: DType,
	pub shape: Vec<u32>,
	/// Little-endian element data, `element_count() * dtype.size()` bytes; for strings, each
	/// element's length and bytes (see the format above).
	pub data: &'a [u8],
}

impl<'a> TensorRef<'a> {
	/// Number of elements (1 for a scalar).
	pub fn element_count(&self) -> usize {
		self.shape.iter().map(|d| *d as usize).product()
	}

	/// Element `i` as f64: exact for every number type but i64 and u64 beyond 2^53; NaN for a
	/// string.
	pub fn get_f64(&self, i: usize) -> f64 {
		if self.dtype == DType::String {
			return f64::NAN;
		}
		let size = self.dtype.size();
		let b = &self.data[i * size..(i + 1) * size];
		let two = || u16::from_le_bytes([b[0], b[1]]);
		let four = || [b[0], b[1], b[2], b[3]];
		let eight = || [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
		match self.dtype {
			DType::F32 => f32::from_le_bytes(four()) as f64,
			DType::F64 => f64::from_le_bytes(eight()),
			DType::I32 => i32::from_le_bytes(four()) as f64,
			DType::I64 => i64::from_le_bytes(eight()) as f64,
			DType::U8 | DType::Bool => b[0] as f64,
			DType::F16 => f16_to_f64(two()),
			DType::BF16 => bf16_to_f64(two()),
			DType::I8 => b[0] as i8 as f64,
			DType::I16 => two() as i16 as f64,
			DType::U16 => two() as f64,
			DType::U32 => u32::from_le_bytes(four()) as f64,
			DType::U64 => u64::from_le_bytes(eight()) as f64,
			DType::String => f64::NAN,
		}
	}

	/// Each element's bytes, in order: `size()` bytes for numbers, the UTF-8 text for strings.
	/// Only for data that `decode` accepted (or `encode` will).
	pub fn elements(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
		let (dtype, mut rest) = (self.dtype, self.data);
		core::iter::from_fn(move || {
			if rest.is_empty() {
				return None;
			}
			let (element, tail) = if dtype == DType::String {
				let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
				let end = 4usize.checked_add(len)?;
				(rest.get(4..end)?, rest.get(end..)?)
			} else {
				rest.split_at(dtype.size().min(rest.len()))
			};
			rest = tail;
			Some(element)
		})
	}
}

/// The data of a string tensor with these elements (see the format above).
pub fn string_data<'s, I: IntoIterator<Item = &'s str>>(strings: I) -> Vec<u8> {
	let mut data = Vec::new();
	for s in strings {
		data.extend_from_slice(&(s.len() as u32).to_le_bytes());
		data.extend_from_slice(s.as_bytes());
	}
	data
}

/// An owned tensor, for building inputs and outputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
	pub name: String,
	pub dtype: DType,
	pub shape: Vec<u32>,
	/// Little-endian element data.
	pub data: Vec<u8>,
}

impl Tensor {
	/// An f32 tensor from values (little-endian encoded).
	pub fn from_f32(name: &str, shape: Vec<u32>, values: &[f32]) -> Self {
		let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		Tensor { name: name.into(), dtype: DType::F32, shape, data }
	}

	/// An i64 tensor from values.
	pub fn from_i64(name: &str, shape: Vec<u32>, values: &[i64]) -> Self {
		let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
		Tensor { name: name.into(), dtype: DType::I64, shape, data }
	}

	/// Borrowed view of this tensor.
	pub fn as_ref(&self) -> TensorRef<'_> {
		TensorRef {
			name: &self.name,
			dtype: self.dtype,
			shape: self.shape.clone(),
			data: &self.data,
		}
	}
}

/// Encodes tensors. The caller keeps within the format's limits (checked by `decode`); data
/// length must match shape and dtype.
pub fn encode<'a, I: IntoIterator<Item = TensorRef<'a>>>(tensors: I) -> Vec<u8> {
	let tensors: Vec<TensorRef<'a>> = tensors.into_iter().collect();
	let mut out = Vec::with_capacity(6 + tensors.iter().map(|t| 8 + t.data.len()).sum::<usize>());
	out.extend_from_slice(&MAGIC);
	out.push(VERSION);
	out.push(tensors.len() as u8);
	for t in &tensors {
		out.push(t.name.len() as u8);
		out.extend_from_slice(t.name.as_bytes());
		out.push(t.dtype.code());
		out.push(t.shape.len() as u8);
		for d in &t.shape {
			out.extend_from_slice(&d.to_le_bytes());
		}
		out.extend_from_slice(t.data);
	}
	out
}

/// Encodes owned tensors.
pub fn encode_owned(tensors: &[Tensor]) -> Vec<u8> {
	encode(tensors.iter().map(Tensor::as_ref))
}

struct Reader<'a> {
	bytes: &'a [u8],
	pos: usize,
}

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
		let end = self.pos.checked_add(n).ok_or(CodecError::Truncated)?;
		let slice = self.bytes.get(self.pos..end).ok_or(CodecError::Truncated)?;
		self.pos = end;
		Ok(slice)
	}

	fn u8(&mut self) -> Result<u8, CodecError> {
		Ok(self.take(1)?[0])
	}

	fn u32(&mut self) -> Result<u32, CodecError> {
		let b = self.take(4)?;
		Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
	}
}

/// Decodes a tensor list, allowing at most `max_elements` elements in any one tensor.
pub fn decode(bytes: &[u8], max_elements: usize) -> Result<Vec<TensorRef<'_>>, CodecError> {
	let mut r = Reader { bytes, pos: 0 };
	if r.take(4).map_err(|_| CodecError::BadMagic)? != MAGIC {
		return Err(CodecError::BadMagic);
	}
	let version = r.u8()?;
	if version != VERSION {
		return Err(CodecError::UnsupportedVersion(version));
	}
	let count = r.u8()? as usize;
	if count > MAX_TENSORS {
		return Err(CodecError::TooManyTensors);
	}
	let mut tensors: Vec<TensorRef<'_>> = Vec::with_capacity(count);
	for _ in 0..count {
		let name_len = r.u8()? as usize;
		if name_len == 0 || name_len > MAX_NAME_LEN {
			return Err(CodecError::BadNameLength);
		}
		let name = core::str::from_utf8(r.take(name_len)?).map_err(|_| CodecError::NameNotUtf8)?;
		if tensors.iter().any(|t| t.name == name) {
			return Err(CodecError::DuplicateName);
		}
		let code = r.u8()?;
		let dtype = DType::from_code(code).ok_or(CodecError::UnknownDType(code))?;
		let rank = r.u8()? as usize;
		if rank > MAX_RANK {
			return Err(CodecError::RankTooHigh);
		}
		let mut shape = Vec::with_capacity(rank);
		let mut elements: usize = 1;
		for _ in 0..rank {
			let d = r.u32()?;
			elements = elements.checked_mul(d as usize).ok_or(CodecError::TooManyElements)?;
			shape.push(d);
		}
		if elements > max_elements {
			return Err(CodecError::TooManyElements);
		}
		let data = if dtype == DType::String {
			let start = r.pos;
			for _ in 0..elements {
				let len = r.u32()? as usize;
				core::str::from_utf8(r.take(len)?).map_err(|_| CodecError::StringNotUtf8)?;
			}
			&bytes[start..r.pos]
		} else {
			r.take(elements.checked_mul(dtype.size()).ok_or(CodecError::TooManyElements)?)?
		};
		if dtype == DType::Bool && data.iter().any(|b| *b > 1) {
			return Err(CodecError::InvalidBool);
		}
		tensors.push(TensorRef { name, dtype, shape, data });
	}
	if r.pos != bytes.len() {
		return Err(CodecError::TrailingBytes);
	}
	Ok(tensors)
}

/// Decodes into owned tensors.
pub fn decode_owned(bytes: &[u8], max_elements: usize) -> Result<Vec<Tensor>, CodecError> {
	Ok(decode(bytes, max_elements)?
		.into_iter()
		.map(|t| Tensor {
			name: t.name.into(),
			dtype: t.dtype,
			shape: t.shape,
			data: t.data.to_vec(),
		})
		.collect())
}

#[cfg(test)]
mod tests {
	use super::*;
	use alloc::vec;

	fn sample() -> Vec<Tensor> {
		vec![
			Tensor::from_f32("x", vec![2, 2], &[1.0, -2.5, 3.25, f32::INFINITY]),
			Tensor::from_i64("label", vec![], &[7]),
			Tensor { name: "mask".into(), dtype: DType::Bool, shape: vec![3], data: vec![0, 1, 1] },
		]
	}

	#[test]
	fn roundtrip() {
		let bytes = encode_owned(&sample());
		assert_eq!(&bytes[..4], b"VTNS");
		assert_eq!(decode_owned(&bytes, 1 << 20).unwrap(), sample());
		let t = decode(&bytes, 16).unwrap();
		assert_eq!(t[0].get_f64(2), 3.25);
		assert_eq!(t[1].element_count(), 1);
		assert_eq!(t[1].get_f64(0), 7.0);
	}

	#[test]
	fn every_type_roundtrips_and_reads_its_values() {
		let le = |values: &[u64], size: usize| -> Vec<u8> {
			values.iter().flat_map(|v| v.to_le_bytes()[..size].to_vec()).collect()
		};
		let tensors = vec![
			// 1.0, -2.0, 65504 (largest), 2^-24 (smallest subnormal), -inf
			Tensor {
				name: "f16".into(),
				dtype: DType::F16,
				shape: vec![5],
				data: le(&[0x3c00, 0xc000, 0x7bff, 0x0001, 0xfc00], 2),
			},
			// 1.0, -3.140625 (0xc049), 1e38-ish
			Tensor {
				name: "bf16".into(),
				dtype: DType::BF16,
				shape: vec![3],
				data: le(&[0x3f80, 0xc049, 0x7f00], 2),
			},
			Tensor { name: "i8".into(), dtype: DType::I8, shape: vec![2], data: vec![0x80, 0x7f] },
			Tensor {
				name: "i16".into(),
				dtype: DType::I16,
				shape: vec![1],
				data: le(&[0x8000], 2),
			},
			Tensor {
				name: "u16".into(),
				dtype: DType::U16,
				shape: vec![1],
				data: le(&[0xffff], 2),
			},
			Tensor {
				name: "u32".into(),
				dtype: DType::U32,
				shape: vec![1],
				data: le(&[0xffff_ffff], 4),
			},
			Tensor {
				name: "u64".into(),
				dtype: DType::U64,
				shape: vec![1],
				data: le(&[1 << 40], 8),
			},
			Tensor {
				name: "s".into(),
				dtype: DType::String,
				shape: vec![2, 2],
				data: string_data(["", "héllo", "a", "\u{1f600}"]),
			},
		];
		let bytes = encode_owned(&tensors);
		assert_eq!(decode_owned(&bytes, 16).unwrap(), tensors);
		let t = decode(&bytes, 16).unwrap();
		let values =
			|i: usize| (0..t[i].element_count()).map(|e| t[i].get_f64(e)).collect::<Vec<_>>();
		assert_eq!(values(0), vec![1.0, -2.0, 65504.0, 1.0 / 16_777_216.0, f64::NEG_INFINITY]);
		assert_eq!(values(1), vec![1.0, -3.140625, f32::from_bits(0x7f00_0000) as f64]);
		assert_eq!(values(2), vec![-128.0, 127.0]);
		assert_eq!(values(3), vec![-32768.0]);
		assert_eq!(values(4), vec![65535.0]);
		assert_eq!(values(5), vec![4_294_967_295.0]);
		assert_eq!(values(6), vec![(1u64 << 40) as f64]);
		assert_eq!(t[7].element_count(), 4);
		let strings: Vec<&[u8]> = t[7].elements().collect();
		assert_eq!(strings, vec![&b""[..], "héllo".as_bytes(), b"a", "\u{1f600}".as_bytes()]);
		assert!(f16_to_f64(0x7e00).is_nan());
		assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
		assert_eq!(f16_to_f64(0x0400), 1.0 / 16384.0);
		for d in DTYPES {
			assert_eq!(DType::from_code(d.code()), Some(d));
			assert_eq!(DType::from_name(d.name()), Some(d));
		}
	}

	#[test]
	fn empty_list_is_valid() {
		let bytes = encode_owned(&[]);
		assert_eq!(bytes, b"VTNS\x01\x00".to_vec());
		assert!(decode(&bytes, 0).unwrap().is_empty());
	}

	#[test]
	fn every_error() {
		let good = encode_owned(&sample());
		assert_eq!(decode(b"XTNS\x01\x00", 9), Err(CodecError::BadMagic));
		assert_eq!(decode(b"VT", 9), Err(CodecError::BadMagic));
		assert_eq!(decode(b"VTNS\x02\x00", 9), Err(CodecError::UnsupportedVersion(2)));
		assert_eq!(decode(b"VTNS\x01\x11", 9), Err(CodecError::TooManyTensors));
		assert_eq!(decode(&good[..good.len() - 1], 99), Err(CodecError::Truncated));
		assert_eq!(decode(b"VTNS\x01\x01\x00", 9), Err(CodecError::BadNameLength));
		assert_eq!(decode(b"VTNS\x01\x01\x41", 9), Err(CodecError::BadNameLength));
		assert_eq!(decode(b"VTNS\x01\x01\x01\xff\x01\x00", 9), Err(CodecError::NameNotUtf8));
		assert_eq!(
			decode(b"VTNS\x01\x02\x01a\x05\x00\x07\x01a\x05\x00\x07", 9),
			Err(CodecError::DuplicateName)
		);
		assert_eq!(decode(b"VTNS\x01\x01\x01a\x0f\x00", 9), Err(CodecError::UnknownDType(15)));
		assert_eq!(decode(b"VTNS\x01\x01\x01a\x00\x00", 9), Err(CodecError::UnknownDType(0)));
		assert_eq!(
			decode(b"VTNS\x01\x01\x01a\x0e\x01\x01\x00\x00\x00\x02\x00\x00\x00\xc3\x28", 9),
			Err(CodecError::StringNotUtf8)
		);
		assert_eq!(
			decode(b"VTNS\x01\x01\x01a\x0e\x00\xff\xff\xff\xff", usize::MAX),
			Err(CodecError::Truncated)
		);
		assert_eq!(decode(b"VTNS\x01\x01\x01a\x05\x09", 9), Err(CodecError::RankTooHigh));
		assert_eq!(
			decode(b"VTNS\x01\x01\x01a\x05\x01\x0a\x00\x00\x00", 9),
			Err(CodecError::TooManyElements)
		);
		assert_eq!(
			decode(b"VTNS\x01\x01\x01a\x05\x02\xff\xff\xff\xff\xff\xff\xff\xff", usize::MAX),
			Err(CodecError::Truncated)
		);
		assert_eq!(decode(b"VTNS\x01\x01\x01a\x06\x00\x02", 9), Err(CodecError::InvalidBool));
		let mut trailing = good.clone();
		trailing.push(0);
		assert_eq!(decode(&trailing, 99), Err(CodecError::TrailingBytes));
	}

	#[test]
	fn element_count_overflow_is_an_error() {
		let mut bytes = b"VTNS\x01\x01\x01a\x04\x08".to_vec();
		for _ in 0..8 {
			bytes.extend_from_slice(&u32::MAX.to_le_bytes());
		}
		assert_eq!(decode(&bytes, usize::MAX), Err(CodecError::TooManyElements));
	}
}

#[cfg(all(test, feature = "std"))]
mod proptests {
	use super::*;
	use proptest::prelude::*;

	/// One to three tensors with distinct names, any type, rank 0 to 3 and valid data.
	fn valid_tensors() -> impl Strategy<Value = Vec<Tensor>> {
		let dtype = prop::sample::select(DTYPES.to_vec());
		let tensor = (dtype, proptest::collection::vec(0u32..4, 0..4), any::<u64>());
		proptest::collection::vec(tensor, 1..4).prop_map(|specs| {
			specs
				.into_iter()
				.enumerate()
				.map(|(i, (dtype, shape, seed))| {
					let elements = shape.iter().product::<u32>() as usize;
					if dtype == DType::String {
						let text = alloc::format!("{seed:x}é");
						let strings: Vec<String> =
							(0..elements).map(|j| text.chars().skip(j % 3).collect()).collect();
						let data = string_data(strings.iter().map(String::as_str));
						return Tensor { name: alloc::format!("t{i}"), dtype, shape, data };
					}
					let data = (0..elements * dtype.size())
						.map(|j| {
							let b = (seed.rotate_left(j as u32 % 64) as u8) ^ j as u8;
							if dtype == DType::Bool {
								b & 1
							} else {
								b
							}
						})
						.collect();
					Tensor { name: alloc::format!("t{i}"), dtype, shape, data }
				})
				.collect()
		})
	}

	proptest! {
		/// Garbage never panics, and whatever decodes re-encodes to the same bytes (canonical).
		#[test]
		fn garbage_never_panics_and_decoding_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
			if let Ok(tensors) = decode(&bytes, 1 << 16) {
				prop_assert_eq!(encode(tensors), bytes);
			}
		}

		/// Valid headers followed by garbage never panic, and what decodes is canonical.
		#[test]
		fn garbage_after_header_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..128), count in 0u8..4) {
			let mut bytes = b"VTNS\x01".to_vec();
			bytes.push(count);
			bytes.extend(tail);
			if let Ok(tensors) = decode(&bytes, 1 << 16) {
				prop_assert_eq!(encode(tensors), bytes);
			}
		}

		/// Valid encodings decode to what was encoded; the same bytes with one change (a bit
		/// flipped, a byte inserted or removed, the end cut off) are refused or decode to tensors
		/// that re-encode to exactly those bytes: no two encodings mean the same tensors.
		#[test]
		fn mutated_valid_encodings_are_refused_or_canonical(
			tensors in valid_tensors(),
			at in any::<prop::sample::Index>(),
			kind in 0u8..4,
			bit in 0u8..8,
			byte in any::<u8>(),
		) {
			let bytes = encode_owned(&tensors);
			prop_assert_eq!(&decode_owned(&bytes, 1 << 16).unwrap(), &tensors);
			let mut mutated = bytes.clone();
			let i = at.index(bytes.len());
			match kind {
				0 => mutated[i] ^= 1 << bit,
				1 => mutated.insert(i, byte),
				2 => { mutated.remove(i); }
				_ => mutated.truncate(i),
			}
			if let Ok(decoded) = decode(&mutated, 1 << 16) {
				prop_assert_eq!(encode(decoded), mutated);
			}
		}

		#[test]
		fn f32_roundtrip(values in proptest::collection::vec(any::<f32>(), 0..32)) {
			let t = Tensor::from_f32("v", alloc::vec![values.len() as u32], &values);
			let bytes = encode_owned(core::slice::from_ref(&t));
			prop_assert_eq!(decode_owned(&bytes, 64).unwrap(), alloc::vec![t]);
		}
	}
}
