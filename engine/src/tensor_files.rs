//! Tensor files for people: ONNX `TensorProto` (`.pb`), NumPy (`.npy`), JSON and the Verity
//! format (`.vtns`). Used by `verity-node inference run` and the `verity` command line (feature
//! `cli`); the validators' engine reads only the Verity format.
//!
//! JSON: `{"dtype": "f32", "shape": [1, 4], "data": [0.5, 1, 2, 3]}` (one tensor per file), or a
//! bare (nested) array of numbers, whose dtype then comes from the model's input.
use std::path::Path;
use verity_primitives::tensor::{DType, Tensor};

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
	if elements.checked_mul(dtype.size()) != Some(data.len()) {
		return Err(format!(
			"{} bytes of data for shape {shape:?} of {}",
			data.len(),
			dtype.name()
		));
	}
	Ok(())
}

// ---- NumPy ------------------------------------------------------------------------------------

fn npy_descr(dtype: DType) -> &'static str {
	match dtype {
		DType::F32 => "<f4",
		DType::F64 => "<f8",
		DType::I32 => "<i4",
		DType::I64 => "<i8",
		DType::U8 => "|u1",
		DType::Bool => "|b1",
	}
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
	let dtype = [DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool]
		.into_iter()
		.find(|d| npy_descr(*d) == descr || (descr.starts_with('|') && npy_descr(*d) == descr))
		.ok_or(format!("unsupported .npy dtype {descr}"))?;
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
	let data = bytes[start + header_len..].to_vec();
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

/// Writes a tensor as `.npy` (version 1).
pub fn write_npy(t: &Tensor) -> Vec<u8> {
	let shape = match t.shape.len() {
		0 => "()".to_string(),
		1 => format!("({},)", t.shape[0]),
		_ => format!("({})", t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
	};
	let mut header = format!(
		"{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
		npy_descr(t.dtype)
	);
	while (10 + header.len() + 1) % 64 != 0 {
		header.push(' ');
	}
	header.push('\n');
	let mut out = b"\x93NUMPY\x01\x00".to_vec();
	out.extend_from_slice(&(header.len() as u16).to_le_bytes());
	out.extend_from_slice(header.as_bytes());
	out.extend_from_slice(&t.data);
	out
}

// ---- ONNX TensorProto -------------------------------------------------------------------------

fn onnx_type(dtype: DType) -> u64 {
	match dtype {
		DType::F32 => 1,
		DType::U8 => 2,
		DType::I32 => 6,
		DType::I64 => 7,
		DType::Bool => 9,
		DType::F64 => 11,
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

/// Parses an ONNX `TensorProto` (dims, data_type, and raw_data or the typed repeated fields).
pub fn parse_tensor_proto(bytes: &[u8]) -> Result<Tensor, String> {
	let (mut dims, mut data_type, mut raw, mut typed) =
		(Vec::new(), 0u64, None::<Vec<u8>>, Vec::<u8>::new());
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
					5 | 7 => typed.extend_from_slice(
						&(v as i64).to_le_bytes()[..if field == 5 { 4 } else { 8 }],
					),
					_ => {}
				}
			}
			1 => {
				let b = bytes.get(pos..pos + 8).ok_or("truncated fixed64")?;
				if field == 10 {
					typed.extend_from_slice(b);
				}
				pos += 8;
			}
			5 => {
				let b = bytes.get(pos..pos + 4).ok_or("truncated fixed32")?;
				if field == 4 {
					typed.extend_from_slice(b);
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
					// Packed repeated fields.
					1 => {
						let mut p = 0;
						while p < body.len() {
							dims.push(varint(body, &mut p)? as i64);
						}
					}
					4 | 10 => typed.extend_from_slice(body),
					5 | 7 => {
						let mut p = 0;
						while p < body.len() {
							let v = varint(body, &mut p)? as i64;
							typed.extend_from_slice(
								&v.to_le_bytes()[..if field == 5 { 4 } else { 8 }],
							);
						}
					}
					_ => {}
				}
			}
			_ => return Err(format!("unsupported protobuf wire type {wire}")),
		}
	}
	let dtype = match data_type {
		1 => DType::F32,
		2 => DType::U8,
		6 => DType::I32,
		7 => DType::I64,
		9 => DType::Bool,
		11 => DType::F64,
		other => return Err(format!("unsupported ONNX data_type {other}")),
	};
	let shape = dims
		.iter()
		.map(|d| u32::try_from(*d).map_err(|_| format!("bad dimension {d}")))
		.collect::<Result<Vec<_>, _>>()?;
	let mut data = raw.unwrap_or(typed);
	if raw_is_int32_packed(dtype) && data.len() != shape.iter().product::<u32>() as usize {
		// u8 and bool in int32_data: one value per 4 bytes.
		data = data.chunks(4).map(|c| c[0]).collect();
	}
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

fn raw_is_int32_packed(dtype: DType) -> bool {
	matches!(dtype, DType::U8 | DType::Bool)
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
	out.push(0x4a); // raw_data, field 9
	put_varint(&mut out, t.data.len() as u64);
	out.extend_from_slice(&t.data);
	out
}

// ---- JSON -------------------------------------------------------------------------------------

fn dtype_from_name(name: &str) -> Option<DType> {
	[DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::Bool]
		.into_iter()
		.find(|d| d.name() == name)
}

fn flatten(
	value: &serde_json::Value,
	shape: &mut Vec<u32>,
	depth: usize,
	out: &mut Vec<f64>,
) -> Result<(), String> {
	match value {
		serde_json::Value::Array(items) => {
			if shape.len() == depth {
				shape.push(items.len() as u32);
			} else if shape[depth] != items.len() as u32 {
				return Err("ragged JSON array".into());
			}
			items.iter().try_for_each(|i| flatten(i, shape, depth + 1, out))
		}
		serde_json::Value::Number(n) => {
			if depth != shape.len() {
				return Err("ragged JSON array".into());
			}
			out.push(n.as_f64().ok_or("bad number")?);
			Ok(())
		}
		serde_json::Value::Bool(b) => {
			out.push(if *b { 1.0 } else { 0.0 });
			Ok(())
		}
		_ => Err("JSON tensors hold numbers or booleans".into()),
	}
}

fn pack(dtype: DType, values: &[f64]) -> Vec<u8> {
	values
		.iter()
		.flat_map(|v| match dtype {
			DType::F32 => (*v as f32).to_le_bytes().to_vec(),
			DType::F64 => v.to_le_bytes().to_vec(),
			DType::I32 => (*v as i32).to_le_bytes().to_vec(),
			DType::I64 => (*v as i64).to_le_bytes().to_vec(),
			DType::U8 => vec![*v as u8],
			DType::Bool => vec![(*v != 0.0) as u8],
		})
		.collect()
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
				.and_then(dtype_from_name)
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
	let data = pack(dtype, &values);
	dtype_size_check(dtype, &shape, &data)?;
	Ok(Tensor { name: String::new(), dtype, shape, data })
}

/// Element `i` of a tensor as f64, for summaries.
pub fn value_at(t: &Tensor, i: usize) -> f64 {
	verity_primitives::tensor::TensorRef {
		name: &t.name,
		dtype: t.dtype,
		shape: t.shape.clone(),
		data: &t.data,
	}
	.get_f64(i)
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
			let n = t.data.len() / t.dtype.size();
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

/// Writes each tensor as `<name>.pb` and `<name>.npy`, and all of them as `outputs.vtns`.
pub fn write_outputs(dir: &Path, encoded: &[u8], tensors: &[Tensor]) -> Result<(), String> {
	std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
	for t in tensors {
		std::fs::write(dir.join(format!("{}.pb", t.name)), write_tensor_proto(t))
			.map_err(|e| e.to_string())?;
		std::fs::write(dir.join(format!("{}.npy", t.name)), write_npy(t))
			.map_err(|e| e.to_string())?;
	}
	std::fs::write(dir.join("outputs.vtns"), encoded).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn sample() -> Tensor {
		let mut t = Tensor::from_f32("x", vec![2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.5]);
		t.name = String::new();
		t
	}

	#[test]
	fn npy_roundtrip() {
		let t = sample();
		assert_eq!(parse_npy(&write_npy(&t)).unwrap(), t);
		let scalar = Tensor {
			name: String::new(),
			dtype: DType::I64,
			shape: vec![],
			data: 7i64.to_le_bytes().to_vec(),
		};
		assert_eq!(parse_npy(&write_npy(&scalar)).unwrap(), scalar);
		assert!(parse_npy(b"junk").is_err());
		let mut short = write_npy(&t);
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
