//! Tensor files for people: ONNX `TensorProto` (`.pb`), NumPy (`.npy`), JSON and the Verity
//! format (`.vtns`). Used by `verity-node inference run` and the `verity` command line (feature
//! `cli`); the validators' engine reads only the Verity format.
//!
//! JSON: `{"dtype": "f32", "shape": [1, 4], "data": [0.5, 1, 2, 3]}` (one tensor per file), or a
//! bare (nested) array of numbers or strings, whose dtype then comes from the model's input.
//! Every element type travels in `.pb`, `.json` and `.vtns`; `.npy` has no bfloat16 (NumPy has
//! no such type), and holds strings as NumPy's fixed-width `<U` arrays.
use std::path::Path;
use verity_primitives::tensor::{string_data, DType, Tensor, TensorRef, DTYPES};

/// Reads one tensor named `name` from a file, by extension. `hint` is the model's dtype for
/// that input (used by bare JSON arrays).
pub fn read_tensor(path: &Path, name: &str, hint: Option<DType>) -> Result<Tensor, String> {
	let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
	let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
	let mut tensor = match ext {
		"npy" => parse_npy(&bytes),
		"pb" => parse_tensor_proto(&bytes),
		"json" => parse_json(&bytes, hint),
		other => Err(format!("unknown tensor file type .{other}: use .npy, .pb or .json")),
	}
	.map_err(|e| format!("{}: {e}", path.display()))?;
	tensor.name = name.to_string();
	Ok(tensor)
}

fn dtype_size_check(dtype: DType, shape: &[u32], data: &[u8]) -> Result<(), String> {
	let elements = shape
		.iter()
		.try_fold(1usize, |acc, d| acc.checked_mul(*d as usize))
		.ok_or("shape overflows")?;
	if dtype == DType::String {
		let t = TensorRef { name: "", dtype, shape: shape.to_vec(), data };
		let got = t.elements().count();
		if got != elements || string_data_len(&t) != data.len() {
			return Err(format!("{got} strings for shape {shape:?}"));
		}
		return Ok(());
	}
	if elements.checked_mul(dtype.size()) != Some(data.len()) {
		return Err(format!(
			"{} bytes of data for shape {shape:?} of {}",
			data.len(),
			dtype.name()
		));
	}
	Ok(())
}

fn string_data_len(t: &TensorRef<'_>) -> usize {
	t.elements().map(|e| 4 + e.len()).sum()
}

// ---- NumPy ------------------------------------------------------------------------------------

/// NumPy's name of a fixed-size type (`None`: bfloat16, and strings, which are `<U<chars>`).
fn npy_descr(dtype: DType) -> Option<&'static str> {
	Some(match dtype {
		DType::F32 => "<f4",
		DType::F64 => "<f8",
		DType::I32 => "<i4",
		DType::I64 => "<i8",
		DType::U8 => "|u1",
		DType::Bool => "|b1",
		DType::F16 => "<f2",
		DType::I8 => "|i1",
		DType::I16 => "<i2",
		DType::U16 => "<u2",
		DType::U32 => "<u4",
		DType::U64 => "<u8",
		DType::BF16 | DType::String => return None,
	})
}

/// Strings from NumPy's `<U<chars>` data: UTF-32 code points, each element zero-padded.
fn npy_strings(data: &[u8], chars: usize) -> Result<Vec<u8>, String> {
	let width = chars.checked_mul(4).filter(|w| *w > 0).ok_or("bad .npy string width")?;
	if !data.len().is_multiple_of(width) {
		return Err("truncated .npy string data".into());
	}
	let mut strings = Vec::new();
	for element in data.chunks(width) {
		let text: String = element
			.chunks(4)
			.map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
			.take_while(|c| *c != 0)
			.map(|c| char::from_u32(c).ok_or("bad code point in .npy string"))
			.collect::<Result<_, _>>()?;
		strings.push(text);
	}
	Ok(string_data(strings.iter().map(String::as_str)))
}

/// Parses a `.npy` file (version 1-3, little-endian, C order).
pub fn parse_npy(bytes: &[u8]) -> Result<Tensor, String> {
	if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
		return Err("not a .npy file".into());
	}
	let (header_len, start) = match bytes[6] {
		1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
		2 | 3 if bytes.len() >= 12 => {
			(u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
		}
		v => return Err(format!("unsupported .npy version {v}")),
	};
	let header = bytes.get(start..start + header_len).ok_or("truncated .npy header")?;
	let header = std::str::from_utf8(header).map_err(|_| "non-UTF-8 .npy header")?;
	let field = |key: &str| -> Result<&str, String> {
		let at = header.find(&format!("'{key}':")).ok_or(format!("no '{key}' in .npy header"))?;
		Ok(header[at + key.len() + 3..].trim_start())
	};
	let descr = field("descr")?;
	let descr = descr.trim_start_matches('\'').split('\'').next().unwrap_or("");
	let string_chars = descr.strip_prefix("<U").and_then(|n| n.parse::<usize>().ok());
	let dtype = match string_chars {
		Some(_) => DType::String,
		None => DTYPES
			.into_iter()
			.find(|d| npy_descr(*d) == Some(descr))
			.ok_or(format!("unsupported .npy dtype {descr}"))?,
	};
	if field("fortran_order")?.starts_with("True") {
		return Err("Fortran-order .npy arrays are not supported".into());
	}
	let shape_text = field("shape")?;
	let shape_text = shape_text.trim_start_matches('(').split(')').next().unwrap_or("");
	let shape = shape_text
		.split(',')
		.map(str::trim)
		.filter(|s| !s.is_empty())
		.map(|s| s.parse::<u32>().map_err(|_| format!("bad .npy dimension {s}")))
		.collect::<Result<Vec<u32>, String>>()?;
	let mut data = bytes[start + header_len..].to_vec();
	if let Some(chars) = string_chars {
		data = npy_strings(&data, chars)?;
	}
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

/// Writes a tensor as `.npy` (version 1); `None` for bfloat16, which NumPy has no type for.
pub fn write_npy(t: &Tensor) -> Option<Vec<u8>> {
	let (descr, data) = match npy_descr(t.dtype) {
		Some(descr) => (descr.to_string(), t.data.clone()),
		None if t.dtype == DType::String => {
			let strings: Vec<Vec<char>> = t
				.as_ref()
				.elements()
				.map(|e| String::from_utf8_lossy(e).chars().collect())
				.collect();
			let chars = strings.iter().map(Vec::len).max().unwrap_or(0).max(1);
			let mut data = Vec::with_capacity(strings.len() * chars * 4);
			for s in &strings {
				for i in 0..chars {
					data.extend_from_slice(&s.get(i).map_or(0, |c| *c as u32).to_le_bytes());
				}
			}
			(format!("<U{chars}"), data)
		}
		None => return None,
	};
	let shape = match t.shape.len() {
		0 => "()".to_string(),
		1 => format!("({},)", t.shape[0]),
		_ => format!("({})", t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
	};
	let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
	while (10 + header.len() + 1) % 64 != 0 {
		header.push(' ');
	}
	header.push('\n');
	let mut out = b"\x93NUMPY\x01\x00".to_vec();
	out.extend_from_slice(&(header.len() as u16).to_le_bytes());
	out.extend_from_slice(header.as_bytes());
	out.extend_from_slice(&data);
	Some(out)
}

// ---- ONNX TensorProto -------------------------------------------------------------------------

/// ONNX's `TensorProto.DataType` of each type.
fn onnx_type(dtype: DType) -> u64 {
	match dtype {
		DType::F32 => 1,
		DType::U8 => 2,
		DType::I8 => 3,
		DType::U16 => 4,
		DType::I16 => 5,
		DType::I32 => 6,
		DType::I64 => 7,
		DType::String => 8,
		DType::Bool => 9,
		DType::F16 => 10,
		DType::F64 => 11,
		DType::U32 => 12,
		DType::U64 => 13,
		DType::BF16 => 16,
	}
}

fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
	let mut value = 0u64;
	for shift in (0..64).step_by(7) {
		let b = *bytes.get(*pos).ok_or("truncated varint")?;
		*pos += 1;
		value |= u64::from(b & 0x7f) << shift;
		if b & 0x80 == 0 {
			return Ok(value);
		}
	}
	Err("varint too long".into())
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
	while v >= 0x80 {
		out.push((v as u8) | 0x80);
		v >>= 7;
	}
	out.push(v as u8);
}

/// Parses an ONNX `TensorProto`: dims, data_type, and raw_data or the typed repeated fields
/// (float_data, int32_data, string_data, int64_data, double_data, uint64_data).
pub fn parse_tensor_proto(bytes: &[u8]) -> Result<Tensor, String> {
	let (mut dims, mut data_type, mut raw) = (Vec::new(), 0u64, None::<Vec<u8>>);
	// float_data and double_data as bytes; the varint fields as values; string_data.
	let (mut floats, mut ints, mut strings) = (Vec::<u8>::new(), Vec::<u64>::new(), Vec::new());
	let mut pos = 0;
	while pos < bytes.len() {
		let tag = varint(bytes, &mut pos)?;
		let (field, wire) = (tag >> 3, tag & 7);
		match wire {
			0 => {
				let v = varint(bytes, &mut pos)?;
				match field {
					1 => dims.push(v as i64),
					2 => data_type = v,
					5 | 7 | 11 => ints.push(v),
					_ => {}
				}
			}
			1 => {
				let b = bytes.get(pos..pos + 8).ok_or("truncated fixed64")?;
				if field == 10 {
					floats.extend_from_slice(b);
				}
				pos += 8;
			}
			5 => {
				let b = bytes.get(pos..pos + 4).ok_or("truncated fixed32")?;
				if field == 4 {
					floats.extend_from_slice(b);
				}
				pos += 4;
			}
			2 => {
				let len = varint(bytes, &mut pos)? as usize;
				let body = bytes
					.get(pos..pos.checked_add(len).ok_or("bad length")?)
					.ok_or("truncated field")?;
				pos += len;
				match field {
					9 => raw = Some(body.to_vec()),
					6 => strings.push(
						String::from_utf8(body.to_vec()).map_err(|_| "a string is not UTF-8")?,
					),
					// Packed repeated fields.
					1 => {
						let mut p = 0;
						while p < body.len() {
							dims.push(varint(body, &mut p)? as i64);
						}
					}
					4 | 10 => floats.extend_from_slice(body),
					5 | 7 | 11 => {
						let mut p = 0;
						while p < body.len() {
							ints.push(varint(body, &mut p)?);
						}
					}
					_ => {}
				}
			}
			_ => return Err(format!("unsupported protobuf wire type {wire}")),
		}
	}
	let dtype = DTYPES
		.into_iter()
		.find(|d| onnx_type(*d) == data_type)
		.ok_or(format!("unsupported ONNX data_type {data_type}"))?;
	let shape = dims
		.iter()
		.map(|d| u32::try_from(*d).map_err(|_| format!("bad dimension {d}")))
		.collect::<Result<Vec<_>, _>>()?;
	let data = match (raw, dtype) {
		(Some(raw), _) => raw,
		(None, DType::String) => string_data(strings.iter().map(String::as_str)),
		(None, DType::F32 | DType::F64) => floats,
		// int32_data holds every narrower type one value each (f16 and bf16 as their bits),
		// int64_data and uint64_data one value each: keep the low `size` bytes.
		(None, _) => ints.iter().flat_map(|v| v.to_le_bytes()[..dtype.size()].to_vec()).collect(),
	};
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

/// Writes a tensor as an ONNX `TensorProto` with `raw_data`.
pub fn write_tensor_proto(t: &Tensor) -> Vec<u8> {
	let mut out = Vec::new();
	for d in &t.shape {
		out.push(0x08);
		put_varint(&mut out, u64::from(*d));
	}
	out.push(0x10);
	put_varint(&mut out, onnx_type(t.dtype));
	out.push(0x42); // name, field 8
	put_varint(&mut out, t.name.len() as u64);
	out.extend_from_slice(t.name.as_bytes());
	if t.dtype == DType::String {
		for e in t.as_ref().elements() {
			out.push(0x32); // string_data, field 6
			put_varint(&mut out, e.len() as u64);
			out.extend_from_slice(e);
		}
		return out;
	}
	out.push(0x4a); // raw_data, field 9
	put_varint(&mut out, t.data.len() as u64);
	out.extend_from_slice(&t.data);
	out
}

// ---- JSON -------------------------------------------------------------------------------------

/// A leaf of a JSON tensor.
enum Leaf {
	Number(serde_json::Number),
	Text(String),
}

fn flatten(
	value: &serde_json::Value,
	shape: &mut Vec<u32>,
	depth: usize,
	out: &mut Vec<Leaf>,
) -> Result<(), String> {
	let leaf = match value {
		serde_json::Value::Array(items) => {
			if shape.len() == depth {
				shape.push(items.len() as u32);
			} else if shape[depth] != items.len() as u32 {
				return Err("ragged JSON array".into());
			}
			return items.iter().try_for_each(|i| flatten(i, shape, depth + 1, out));
		}
		serde_json::Value::Number(n) => Leaf::Number(n.clone()),
		serde_json::Value::Bool(b) => Leaf::Number((*b as u8).into()),
		serde_json::Value::String(s) => Leaf::Text(s.clone()),
		_ => return Err("JSON tensors hold numbers, booleans or strings".into()),
	};
	if depth != shape.len() {
		return Err("ragged JSON array".into());
	}
	out.push(leaf);
	Ok(())
}

fn pack(dtype: DType, leaves: &[Leaf]) -> Result<Vec<u8>, String> {
	if dtype == DType::String {
		let strings = leaves
			.iter()
			.map(|l| match l {
				Leaf::Text(s) => Ok(s.as_str()),
				Leaf::Number(_) => Err("a string tensor holds strings"),
			})
			.collect::<Result<Vec<&str>, _>>()?;
		return Ok(string_data(strings));
	}
	let mut out = Vec::with_capacity(leaves.len() * dtype.size());
	for leaf in leaves {
		let Leaf::Number(n) = leaf else {
			return Err(format!("a {} tensor holds numbers", dtype.name()));
		};
		// Integers beyond 2^53 are read exactly; other values through f64 (as `as` casts do:
		// saturating, NaN to 0).
		let v = n.as_f64().ok_or("bad number")?;
		let int = n.as_i64().unwrap_or(v as i64);
		let bytes = match dtype {
			DType::F32 => (v as f32).to_le_bytes().to_vec(),
			DType::F64 => v.to_le_bytes().to_vec(),
			DType::F16 => f64_to_f16_bits(v).to_le_bytes().to_vec(),
			DType::BF16 => f64_to_bf16_bits(v).to_le_bytes().to_vec(),
			DType::I64 => int.to_le_bytes().to_vec(),
			DType::U64 => n.as_u64().unwrap_or(v as u64).to_le_bytes().to_vec(),
			DType::I32 => (v as i32).to_le_bytes().to_vec(),
			DType::I16 => (v as i16).to_le_bytes().to_vec(),
			DType::I8 => (v as i8).to_le_bytes().to_vec(),
			DType::U32 => (v as u32).to_le_bytes().to_vec(),
			DType::U16 => (v as u16).to_le_bytes().to_vec(),
			DType::U8 => vec![v as u8],
			DType::Bool => vec![(v != 0.0) as u8],
			DType::String => unreachable!("handled above"),
		};
		out.extend_from_slice(&bytes);
	}
	Ok(out)
}

/// The bits of `v` in a binary floating-point format of 16 bits with `exponent_bits` exponent
/// and `mantissa_bits` mantissa bits (IEEE half: 5 and 10; bfloat16: 8 and 7), rounded to
/// nearest, ties to even, straight from the f64 (no double rounding through f32).
fn f64_to_16_bits(v: f64, exponent_bits: u32, mantissa_bits: u32) -> u16 {
	let bits = v.to_bits();
	let sign = ((bits >> 48) & 0x8000) as u16;
	let exponent = ((bits >> 52) & 0x7ff) as i32;
	let mantissa = bits & ((1 << 52) - 1);
	let max_exponent = (1i32 << exponent_bits) - 1;
	let infinity = sign | ((max_exponent as u16) << mantissa_bits);
	if exponent == 0x7ff {
		// Infinity, or NaN (kept a quiet NaN).
		return infinity | if mantissa != 0 { 1 << (mantissa_bits - 1) } else { 0 };
	}
	let bias = (1i32 << (exponent_bits - 1)) - 1;
	let e = exponent - 1023 + bias;
	if e >= max_exponent {
		return infinity;
	}
	// Normal results keep `mantissa_bits` of the 52 bits; subnormal ones fewer.
	let (full, shift) = if e <= 0 {
		if e < -(mantissa_bits as i32) {
			return sign;
		}
		(mantissa | (1 << 52), (52 - mantissa_bits as i32 + 1 - e) as u32)
	} else {
		(mantissa, 52 - mantissa_bits)
	};
	let mut rounded = full >> shift;
	let rest = full & ((1 << shift) - 1);
	let halfway = 1 << (shift - 1);
	if rest > halfway || (rest == halfway && rounded & 1 == 1) {
		rounded += 1;
	}
	// A carry out of the mantissa moves into the exponent, as it should.
	let base = if e <= 0 { 0 } else { (e as u64) << mantissa_bits };
	sign | (base + rounded) as u16
}

/// IEEE half-precision bits of `v` (as NumPy's `float16`).
fn f64_to_f16_bits(v: f64) -> u16 {
	f64_to_16_bits(v, 5, 10)
}

/// bfloat16 bits of `v` (as `ml_dtypes.bfloat16`).
fn f64_to_bf16_bits(v: f64) -> u16 {
	f64_to_16_bits(v, 8, 7)
}

/// Parses a JSON tensor (see the module docs).
pub fn parse_json(bytes: &[u8], hint: Option<DType>) -> Result<Tensor, String> {
	let value: serde_json::Value =
		serde_json::from_slice(bytes).map_err(|e| format!("JSON: {e}"))?;
	let (dtype, data_value, shape) = match &value {
		serde_json::Value::Object(map) => {
			let dtype = map
				.get("dtype")
				.and_then(|d| d.as_str())
				.and_then(DType::from_name)
				.or(hint)
				.ok_or("JSON tensor needs a known \"dtype\"")?;
			let shape = map
				.get("shape")
				.and_then(|s| s.as_array())
				.map(|s| {
					s.iter()
						.map(|d| d.as_u64().map(|d| d as u32).ok_or("bad shape"))
						.collect::<Result<Vec<u32>, _>>()
				})
				.transpose()?;
			(dtype, map.get("data").ok_or("JSON tensor needs \"data\"")?.clone(), shape)
		}
		_ => (hint.ok_or("a bare JSON array needs the model's dtype")?, value.clone(), None),
	};
	let (mut nested_shape, mut values) = (Vec::new(), Vec::new());
	flatten(&data_value, &mut nested_shape, 0, &mut values)?;
	let shape = shape.unwrap_or(nested_shape);
	let data = pack(dtype, &values)?;
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

/// Element `i` of a tensor as f64, for summaries.
pub fn value_at(t: &Tensor, i: usize) -> f64 {
	t.as_ref().get_f64(i)
}

/// Reads the input tensors named on a command line: `NAME=FILE` or bare `FILE`s, which fill the
/// model's inputs (`wanted`: names and dtypes in the model's order) in order; a `.vtns` file
/// brings all its tensors at once. Returns the tensors in the Verity format.
pub fn collect_inputs(
	args: &[String],
	wanted: &[(String, Option<DType>)],
) -> Result<Vec<u8>, String> {
	let mut tensors: Vec<Tensor> = Vec::new();
	let mut next = 0;
	for arg in args {
		let (name, file) = match arg.split_once('=') {
			Some((name, file)) => (Some(name.to_string()), std::path::PathBuf::from(file)),
			None => (None, std::path::PathBuf::from(arg)),
		};
		if file.extension().is_some_and(|e| e == "vtns") {
			let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
			let all = verity_primitives::tensor::decode_owned(&data, usize::MAX)
				.map_err(|e| format!("{}: {e:?}", file.display()))?;
			next += all.len();
			tensors.extend(all);
			continue;
		}
		let name = match name {
			Some(name) => name,
			None => {
				let (name, _) = wanted.get(next).ok_or(format!(
					"{}: the model has only {} inputs",
					file.display(),
					wanted.len()
				))?;
				next += 1;
				name.clone()
			}
		};
		let hint = wanted.iter().find(|(n, _)| *n == name).and_then(|(_, d)| *d);
		tensors.push(read_tensor(&file, &name, hint)?);
	}
	Ok(verity_primitives::tensor::encode_owned(&tensors))
}

/// One line per tensor: name, dtype, shape, the first values and min/max/mean.
pub fn summarize(tensors: &[Tensor]) -> Vec<String> {
	tensors
		.iter()
		.map(|t| {
			let n = t.as_ref().element_count();
			if t.dtype == DType::String {
				let shown: Vec<String> = t
					.as_ref()
					.elements()
					.take(8)
					.map(|e| format!("{:?}", String::from_utf8_lossy(e)))
					.collect();
				let more = if n > 8 { ", ..." } else { "" };
				return format!("  {} string {:?}: [{}{more}]", t.name, t.shape, shown.join(", "));
			}
			let values: Vec<f64> = (0..n).map(|i| value_at(t, i)).collect();
			let shown: Vec<String> = values.iter().take(8).map(|v| format!("{v}")).collect();
			let (min, max) = values
				.iter()
				.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
			let mean = values.iter().sum::<f64>() / n.max(1) as f64;
			format!(
				"  {} {} {:?}: [{}{}]  min {min} max {max} mean {mean}",
				t.name,
				t.dtype.name(),
				t.shape,
				shown.join(", "),
				if n > 8 { ", ..." } else { "" }
			)
		})
		.collect()
}

/// Writes each tensor as `<name>.pb` and `<name>.npy` (but bfloat16), and all of them as
/// `outputs.vtns`.
pub fn write_outputs(dir: &Path, encoded: &[u8], tensors: &[Tensor]) -> Result<(), String> {
	std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
	// Stems in use, lowercased (case-insensitive file systems); two names may map to one stem
	// (`a/b` and `a_b`): the later gets a number.
	let mut used: Vec<String> = Vec::new();
	for t in tensors {
		let base = output_file_stem(&t.name);
		let mut stem = base.clone();
		let mut n = used.len();
		while used.contains(&stem.to_lowercase()) {
			stem = format!("{base}_{n}");
			n += 1;
		}
		std::fs::write(dir.join(format!("{stem}.pb")), write_tensor_proto(t))
			.map_err(|e| e.to_string())?;
		if let Some(npy) = write_npy(t) {
			std::fs::write(dir.join(format!("{stem}.npy")), npy).map_err(|e| e.to_string())?;
		}
		used.push(stem.to_lowercase());
	}
	std::fs::write(dir.join("outputs.vtns"), encoded).map_err(|e| e.to_string())
}

/// The file name (without extension) of output `name` in an output folder. The model's owner
/// chose the name (PaddleOCR's `save_infer_model/scale_0.tmp_1`; a hostile `../../.bashrc`):
/// every character but ASCII letters, digits, `_`, `.` and `-` becomes `_`, and a name that
/// would be empty or hidden gets a leading `_`, so that files stay in the folder.
pub fn output_file_stem(name: &str) -> String {
	let mut stem: String = name
		.chars()
		.map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' })
		.collect();
	if stem.is_empty() || stem.starts_with('.') {
		stem.insert(0, '_');
	}
	stem
}

#[cfg(test)]
mod tests {
	use super::*;

	fn sample() -> Tensor {
		let mut t = Tensor::from_f32("x", vec![2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
		t.name = String::new();
		t
	}

	/// Output names come from the model's owner: none writes outside the output folder, and
	/// names with `/` (PaddleOCR's) get a file.
	#[test]
	fn output_files_stay_in_their_folder() {
		let root = std::env::temp_dir().join(format!("verity-outputs-{}", std::process::id()));
		let dir = root.join("a").join("out");
		let named = |name: &str| {
			let mut t = sample();
			t.name = name.into();
			t
		};
		let tensors = [
			named("../../escape"),
			named("/tmp/absolute"),
			named("save_infer_model/scale_0.tmp_1"),
			named("save_infer_model_scale_0.tmp_1"),
			named(""),
			named("outputs"),
			named("y"),
			named("y_7"),
			named("Y"),
		];
		write_outputs(&dir, b"vtns", &tensors).unwrap();
		let mut files: Vec<String> = std::fs::read_dir(&dir)
			.unwrap()
			.map(|e| e.unwrap().file_name().into_string().unwrap())
			.filter(|f| f.ends_with(".npy"))
			.collect();
		files.sort();
		assert_eq!(
			files,
			[
				"Y_8.npy",
				"_.._.._escape.npy",
				"_.npy",
				"_tmp_absolute.npy",
				"outputs.npy",
				"save_infer_model_scale_0.tmp_1.npy",
				"save_infer_model_scale_0.tmp_1_3.npy",
				"y.npy",
				"y_7.npy",
			]
		);
		assert!(!root.join("escape.npy").exists() && !root.join("a").join("escape.npy").exists());
		assert_eq!(std::fs::read(dir.join("outputs.vtns")).unwrap(), b"vtns");
		std::fs::remove_dir_all(&root).unwrap();
	}

	#[test]
	fn npy_roundtrip() {
		let t = sample();
		assert_eq!(parse_npy(&write_npy(&t).unwrap()).unwrap(), t);
		let scalar = Tensor {
			name: String::new(),
			dtype: DType::I64,
			shape: vec![],
			data: 7i64.to_le_bytes().to_vec(),
		};
		assert_eq!(parse_npy(&write_npy(&scalar).unwrap()).unwrap(), scalar);
		assert!(parse_npy(b"junk").is_err());
		let mut short = write_npy(&t).unwrap();
		short.pop();
		assert!(parse_npy(&short).is_err());
	}

	#[test]
	fn tensor_proto_roundtrip() {
		let mut t = sample();
		t.name = "x".into();
		let mut parsed = parse_tensor_proto(&write_tensor_proto(&t)).unwrap();
		parsed.name = "x".into();
		assert_eq!(parsed, t);
		assert!(parse_tensor_proto(&[0x08]).is_err());
		assert!(parse_tensor_proto(&[0xff; 12]).is_err());
	}

	/// One tensor of every type, with values at the edges of each (strings: empty, multi-byte).
	fn every_type() -> Vec<Tensor> {
		let le = |values: &[u64], size: usize| -> Vec<u8> {
			values.iter().flat_map(|v| v.to_le_bytes()[..size].to_vec()).collect()
		};
		DTYPES
			.into_iter()
			.map(|dtype| {
				let data = match dtype {
					DType::String => string_data(["", "héllo", "\u{1f600}", "a"]),
					DType::Bool => vec![0, 1, 1, 0],
					DType::F32 => [1.5f32, -0.0, f32::MAX, 1e-40]
						.iter()
						.flat_map(|v| v.to_le_bytes())
						.collect(),
					DType::F64 => [1.5f64, -2.0, f64::MIN, 1e-310]
						.iter()
						.flat_map(|v| v.to_le_bytes())
						.collect(),
					d => le(&[0, 1, u64::MAX, 1 << (d.size() * 8 - 1)], d.size()),
				};
				Tensor { name: String::new(), dtype, shape: vec![2, 2], data }
			})
			.collect()
	}

	#[test]
	fn every_type_roundtrips_through_pb_npy_and_json() {
		for t in every_type() {
			assert_eq!(parse_tensor_proto(&write_tensor_proto(&t)).unwrap(), t, "{:?}", t.dtype);
			match write_npy(&t) {
				Some(npy) => assert_eq!(parse_npy(&npy).unwrap(), t, "{:?}", t.dtype),
				None => assert_eq!(t.dtype, DType::BF16),
			}
		}
		// int32_data carries the narrow types and half floats as their bits; uint64_data u32/u64.
		let varints = |field: u8, data_type: u8, values: &[u64]| {
			let mut pb = vec![0x08, values.len() as u8, 0x10, data_type, field << 3 | 2];
			let mut body = Vec::new();
			values.iter().for_each(|v| put_varint(&mut body, *v));
			pb.push(body.len() as u8);
			pb.extend(body);
			parse_tensor_proto(&pb).unwrap()
		};
		let f16 = varints(5, 10, &[0x3c00, 0xc000]);
		assert_eq!((f16.dtype, f16.data), (DType::F16, vec![0x00, 0x3c, 0x00, 0xc0]));
		let i8 = varints(5, 3, &[(-2i64) as u64, 127]);
		assert_eq!((i8.dtype, i8.data), (DType::I8, vec![0xfe, 0x7f]));
		let u64s = varints(11, 13, &[u64::MAX]);
		assert_eq!((u64s.dtype, u64s.data), (DType::U64, vec![0xff; 8]));
		let json =
			parse_json(br#"{"dtype": "string", "shape": [2], "data": ["a", "\u00e9"]}"#, None);
		assert_eq!(json.unwrap().data, string_data(["a", "é"]));
		let bare = parse_json(br#"[["x"], ["yz"]]"#, Some(DType::String)).unwrap();
		assert_eq!((bare.shape, bare.data), (vec![2, 1], string_data(["x", "yz"])));
		let half = parse_json(b"[1, -2, 65504]", Some(DType::F16)).unwrap();
		assert_eq!(half.data, vec![0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b]);
		// Rounding as NumPy's float16 / ml_dtypes' bfloat16: nearest, ties to even.
		for (v, bits) in [
			(1.0 / 3.0, 0x3555),
			(1e-6, 0x0011),
			(65519.0, 0x7bff),
			(65520.0, 0x7c00),
			(-70000.0, 0xfc00),
			(5.96e-8, 0x0001),
			(2.9e-8, 0x0000),
			(2f64.powi(-14), 0x0400),
			// Just above the tie between 1 and the next half: rounds up only when rounded
			// straight from the f64 (through f32 it would first become the tie, then 1.0).
			(1.0 + 2f64.powi(-11) + 2f64.powi(-40), 0x3c01),
		] {
			assert_eq!(f64_to_f16_bits(v), bits, "{v}");
		}
		assert_eq!(f64_to_f16_bits(f64::NAN) & 0x7e00, 0x7e00);
		assert_eq!(f64_to_bf16_bits(1.0 / 3.0), 0x3eab);
		assert_eq!(f64_to_bf16_bits(-2.0), 0xc000);
		assert_eq!(f64_to_bf16_bits(f64::INFINITY), 0x7f80);
		// A subnormal bfloat16 (as the upper half of the f32, which is exact here).
		assert_eq!(f64_to_bf16_bits(2f64.powi(-133)), 0x0001);
		let big = parse_json(b"[18446744073709551615]", Some(DType::U64)).unwrap();
		assert_eq!(big.data, vec![0xff; 8]);
		assert!(parse_json(br#"["a", 1]"#, Some(DType::String)).is_err());
		assert!(parse_json(br#"[1, "a"]"#, Some(DType::I8)).is_err());
		// A NumPy `<U` array with a code point that is not a character is refused.
		let mut bad = write_npy(&every_type()[13]).unwrap();
		let n = bad.len(); // The last element, "a", is 5 characters wide: replace its "a".
		bad[n - 20..n - 16].copy_from_slice(&0xd800u32.to_le_bytes());
		assert!(parse_npy(&bad).is_err());
	}

	#[test]
	fn json_forms() {
		let t =
			parse_json(br#"{"dtype": "f32", "shape": [2, 3], "data": [1, 2, 3, 4, 5, 6.5]}"#, None)
				.unwrap();
		assert_eq!(t, sample());
		let bare = parse_json(b"[[1, 2, 3], [4, 5, 6.5]]", Some(DType::F32)).unwrap();
		assert_eq!(bare, sample());
		assert!(parse_json(b"[[1, 2], [3]]", Some(DType::F32)).is_err());
		assert!(parse_json(b"[1, 2]", None).is_err());
		assert!(parse_json(br#"{"dtype": "f32", "shape": [4], "data": [1]}"#, None).is_err());
	}
}
