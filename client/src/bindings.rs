//! Typed bindings from a model's signature (`verity bindings`): a Solidity library that encodes
//! the model's input from typed arguments and reads its outputs by name, on top of
//! `VerityTensor.sol`, and TypeScript types and constants for dApp front ends (viem, ethers).
//!
//! Floating-point tensors (f32) are fixed point in Solidity: `value = int / 10**DECIMALS`.
//! Integer and bool tensors are exact. A dynamic dimension becomes a parameter of the encoder.
//! f64 tensors have no Solidity helper yet and are refused with that reason.
use std::collections::BTreeSet;

use sp_core::H256;
use verity_primitives::{
	spec::{Dim, TensorSpec},
	tensor::DType,
};

/// `VerityTensor.sol`, which every generated library imports from its own folder.
pub const VERITY_TENSOR_SOL: &str = include_str!("../../contracts/src/VerityTensor.sol");

/// What to generate bindings for.
pub struct Model<'a> {
	/// The library's name (a Solidity identifier, e.g. `CreditModel`).
	pub name: &'a str,
	/// The model's id on chain, when known (a file's id is fixed only by its registration).
	pub id: Option<H256>,
	pub inputs: &'a [TensorSpec],
	pub outputs: &'a [TensorSpec],
	/// Decimals of the fixed-point numbers standing for floats.
	pub decimals: u8,
}

/// Solidity's reserved words and the elementary type names (not usable as identifiers).
const RESERVED: &[&str] = &[
	"abstract",
	"address",
	"after",
	"alias",
	"anonymous",
	"apply",
	"as",
	"assembly",
	"auto",
	"bool",
	"break",
	"byte",
	"bytes",
	"calldata",
	"case",
	"catch",
	"constant",
	"constructor",
	"continue",
	"contract",
	"copyof",
	"days",
	"default",
	"define",
	"delete",
	"do",
	"else",
	"emit",
	"enum",
	"error",
	"ether",
	"event",
	"external",
	"fallback",
	"false",
	"final",
	"finney",
	"fixed",
	"for",
	"from",
	"function",
	"gwei",
	"hex",
	"hours",
	"if",
	"immutable",
	"implements",
	"import",
	"in",
	"indexed",
	"inline",
	"int",
	"interface",
	"internal",
	"is",
	"let",
	"library",
	"macro",
	"mapping",
	"match",
	"memory",
	"minutes",
	"modifier",
	"mutable",
	"new",
	"null",
	"of",
	"override",
	"partial",
	"payable",
	"pragma",
	"private",
	"promise",
	"public",
	"pure",
	"receive",
	"reference",
	"relocatable",
	"return",
	"returns",
	"revert",
	"sealed",
	"seconds",
	"sizeof",
	"static",
	"storage",
	"string",
	"struct",
	"super",
	"supports",
	"switch",
	"szabo",
	"this",
	"throw",
	"true",
	"try",
	"type",
	"typedef",
	"typeof",
	"ufixed",
	"uint",
	"unchecked",
	"unicode",
	"using",
	"var",
	"view",
	"virtual",
	"weeks",
	"wei",
	"while",
	"years",
	// The generated library's own names.
	"encoded",
	"index",
	"tensors",
	"shape",
	"DECIMALS",
	"MODEL",
	"VerityTensor",
];

/// A Solidity (and TypeScript) identifier from a tensor name: other characters become `_`, a
/// leading digit gets a `t` in front, reserved words and the generator's own names get a `_`
/// behind, and a name already taken gets a number.
fn identifier(name: &str, taken: &mut BTreeSet<String>) -> String {
	let mut id: String =
		name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
	if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
		id.insert(0, 't');
	}
	let is_reserved = |s: &str| {
		RESERVED.contains(&s)
			|| s.starts_with("int") && s[3..].chars().all(|c| c.is_ascii_digit())
			|| s.starts_with("uint") && s[4..].chars().all(|c| c.is_ascii_digit())
			|| s.starts_with("bytes") && s[5..].chars().all(|c| c.is_ascii_digit())
	};
	if is_reserved(&id) {
		id.push('_');
	}
	let mut unique = id.clone();
	let mut n = 2;
	while !taken.insert(unique.clone()) {
		unique = format!("{id}_{n}");
		n += 1;
	}
	unique
}

fn upper_first(s: &str) -> String {
	let mut c = s.chars();
	c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
}

/// A spec's dimensions, `dynamic` standing for the dynamic ones, separated by `, `.
fn dims(spec: &TensorSpec, dynamic: &str) -> String {
	let dims: Vec<String> = spec
		.shape
		.iter()
		.map(|d| match d {
			Dim::Fixed(n) => n.to_string(),
			Dim::Dynamic => dynamic.into(),
		})
		.collect();
	dims.join(", ")
}

/// `[?, 4]`
pub fn shape_text(spec: &TensorSpec) -> String {
	format!("[{}]", dims(spec, "?"))
}

/// The Solidity element type of a tensor's values, its `VerityTensor` encoder and reader.
fn solidity_types(dtype: DType) -> Result<(&'static str, &'static str, &'static str), String> {
	Ok(match dtype {
		DType::F32 => ("int256", "f32", "readF32"),
		DType::F16 => ("int256", "f16", "readF16"),
		DType::BF16 => ("int256", "bf16", "readBF16"),
		DType::I64 => ("int64", "i64", "readI64"),
		DType::I32 => ("int32", "i32", "readI32"),
		DType::I16 => ("int16", "i16", "readI16"),
		DType::I8 => ("int8", "i8", "readI8"),
		DType::U64 => ("uint64", "u64", "readU64"),
		DType::U32 => ("uint32", "u32", "readU32"),
		DType::U16 => ("uint16", "u16", "readU16"),
		DType::U8 => ("uint8", "u8", "readU8"),
		DType::Bool => ("bool", "boolean", "readBool"),
		DType::String => ("string", "text", "readString"),
		DType::F64 => return Err("f64 tensors have no Solidity helper yet".into()),
	})
}

/// Whether a type reaches the contract as fixed point.
fn fixed_point(dtype: DType) -> bool {
	matches!(dtype, DType::F32 | DType::F16 | DType::BF16)
}

fn check_library_name(name: &str) -> Result<(), String> {
	let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
		&& name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
		&& !RESERVED.contains(&name);
	if ok {
		Ok(())
	} else {
		Err(format!("{name:?} is not a usable library name (letters, digits and _)"))
	}
}

/// A library name from a file name: `credit-score_v2.onnx` gives `CreditScoreV2Model`.
pub fn name_from_file(path: &std::path::Path) -> String {
	let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
	let mut name: String =
		stem.split(|c: char| !c.is_ascii_alphanumeric()).map(upper_first).collect();
	if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
		name.insert(0, 'M');
	}
	name + "Model"
}

/// The Solidity library.
pub fn solidity(model: &Model) -> Result<String, String> {
	check_library_name(model.name)?;
	let mut out = String::new();
	let push = |out: &mut String, line: &str| {
		out.push_str(line);
		out.push('\n');
	};
	push(&mut out, "// SPDX-License-Identifier: Apache-2.0");
	push(&mut out, "// Generated by `verity bindings`: do not edit; generate it again instead.");
	push(&mut out, "pragma solidity ^0.8.20;");
	push(&mut out, "");
	push(&mut out, "import \"./VerityTensor.sol\";");
	push(&mut out, "");
	push(&mut out, &format!("/// @title Typed input and outputs of the model `{}`", model.name));
	push(
		&mut out,
		&format!(
			"/// @notice Floats are fixed point: `value = int / 10**DECIMALS`. Inputs: {}. Outputs: {}.",
			signature(model.inputs),
			signature(model.outputs)
		),
	);
	push(&mut out, &format!("library {} {{", model.name));
	if let Some(id) = model.id {
		push(&mut out, "    /// @notice The model's id on chain (it pins the bytes, specs, tolerance and fee).");
		push(&mut out, &format!("    bytes32 internal constant MODEL = {id:?};"));
	}
	push(&mut out, "    /// @notice Decimals of the fixed-point numbers that stand for floats.");
	push(&mut out, &format!("    uint8 internal constant DECIMALS = {};", model.decimals));
	push(&mut out, "");

	// The encoder: one parameter per dynamic dimension, one array per input tensor.
	let mut taken = BTreeSet::new();
	let mut params = Vec::new();
	let mut body = Vec::new();
	let mut docs = Vec::new();
	body.push(format!("        bytes[] memory tensors = new bytes[]({});", model.inputs.len()));
	for (i, spec) in model.inputs.iter().enumerate() {
		let name = String::from_utf8_lossy(&spec.name).into_owned();
		let (element, encoder, _) =
			solidity_types(spec.dtype).map_err(|e| format!("input {name:?}: {e}"))?;
		let id = identifier(&name, &mut taken);
		let shape = format!("{id}Shape");
		taken.insert(shape.clone());
		body.push(format!("        uint32[] memory {shape} = new uint32[]({});", spec.shape.len()));
		for (d, dim) in spec.shape.iter().enumerate() {
			let value = match dim {
				Dim::Fixed(n) => n.to_string(),
				Dim::Dynamic => {
					let p = identifier(&format!("{id}Dim{d}"), &mut taken);
					params.push(format!("uint32 {p}"));
					docs.push(format!(
						"    /// @param {p} the size of dimension {d} of `{name}` (dynamic)"
					));
					p
				}
			};
			body.push(format!("        {shape}[{d}] = {value};"));
		}
		params.push(format!("{element}[] memory {id}"));
		docs.push(format!(
			"    /// @param {id} `{name}`: {} {}, row-major{}",
			spec.dtype.name(),
			shape_text(spec),
			if fixed_point(spec.dtype) { ", fixed point" } else { "" }
		));
		let decimals = if fixed_point(spec.dtype) { ", DECIMALS" } else { "" };
		body.push(format!(
			"        tensors[{i}] = VerityTensor.{encoder}({name:?}, {shape}, {id}{decimals});"
		));
	}
	push(
		&mut out,
		"    /// @notice The model's input in the Verity tensor format, for `requestInference`.",
	);
	for d in &docs {
		push(&mut out, d);
	}
	push(
		&mut out,
		&format!(
			"    function encodeInput({}) internal pure returns (bytes memory) {{",
			params.join(", ")
		),
	);
	for line in &body {
		push(&mut out, line);
	}
	push(&mut out, "        return VerityTensor.tensorList(tensors);");
	push(&mut out, "    }");

	// A reader per output.
	let mut readers = BTreeSet::new();
	for (t, spec) in model.outputs.iter().enumerate() {
		let name = String::from_utf8_lossy(&spec.name).into_owned();
		let (element, _, reader) =
			solidity_types(spec.dtype).map_err(|e| format!("output {name:?}: {e}"))?;
		let id = identifier(
			&format!("read{}", upper_first(&identifier(&name, &mut BTreeSet::new()))),
			&mut readers,
		);
		let (args, ret) = if fixed_point(spec.dtype) {
			("encoded, ".to_string() + &t.to_string() + ", index, DECIMALS", element)
		} else {
			("encoded, ".to_string() + &t.to_string() + ", index", element)
		};
		push(&mut out, "");
		push(
			&mut out,
			&format!(
				"    /// @notice Element `index` (row-major) of output `{name}`: {} {}{}.",
				spec.dtype.name(),
				shape_text(spec),
				if fixed_point(spec.dtype) { ", fixed point" } else { "" }
			),
		);
		let ret = if spec.dtype == DType::String { "string memory" } else { ret };
		push(
			&mut out,
			&format!(
				"    function {id}(bytes memory encoded, uint256 index) internal pure returns ({ret}) {{"
			),
		);
		push(&mut out, &format!("        return VerityTensor.{reader}({args});"));
		push(&mut out, "    }");
	}
	push(&mut out, "}");
	Ok(out)
}

/// `x f32 [?, 4], mask bool [2]`
fn signature(specs: &[TensorSpec]) -> String {
	specs
		.iter()
		.map(|s| {
			format!("`{}` {} {}", String::from_utf8_lossy(&s.name), s.dtype.name(), shape_text(s))
		})
		.collect::<Vec<_>>()
		.join(", ")
}

/// The TypeScript module: the model's specs as constants, the types of its input and outputs
/// (numbers for floats and integers up to 32 bits, bigint for 64-bit integers, boolean for bool,
/// string for strings) and the
/// conversion of floats to the contract's fixed point.
pub fn typescript(model: &Model) -> Result<String, String> {
	check_library_name(model.name)?;
	let ts_type = |dtype: DType| match dtype {
		DType::F32 | DType::F64 | DType::F16 | DType::BF16 => "number",
		DType::I32 | DType::I16 | DType::I8 | DType::U32 | DType::U16 | DType::U8 => "number",
		DType::I64 | DType::U64 => "bigint",
		DType::Bool => "boolean",
		DType::String => "string",
	};
	let spec_list = |specs: &[TensorSpec]| {
		specs
			.iter()
			.map(|s| {
				format!(
					"    {{ name: {:?}, dtype: {:?}, shape: [{}] }},",
					String::from_utf8_lossy(&s.name),
					s.dtype.name(),
					dims(s, "null")
				)
			})
			.collect::<Vec<_>>()
			.join("\n")
	};
	let fields = |specs: &[TensorSpec]| {
		specs
			.iter()
			.map(|s| {
				format!(
					"  /** {} {}, row-major. */\n  {:?}: {}[];",
					s.dtype.name(),
					shape_text(s),
					String::from_utf8_lossy(&s.name),
					ts_type(s.dtype)
				)
			})
			.collect::<Vec<_>>()
			.join("\n")
	};
	let name = model.name;
	let id = model.id.map(|id| format!("{id:?}")).unwrap_or_default();
	Ok(format!(
		"// Generated by `verity bindings`: do not edit; generate it again instead.\n\
		 \n\
		 /** The model `{name}`: its id on chain (empty when generated from a file), the decimals of\n \
		 * the contract's fixed point, and its input and output specs (null: a dynamic dimension). */\n\
		 export const {name} = {{\n  \
		   model: {id:?},\n  \
		   decimals: {decimals},\n  \
		   inputs: [\n{inputs}\n  ],\n  \
		   outputs: [\n{outputs}\n  ],\n\
		 }} as const;\n\
		 \n\
		 /** The model's input, tensor by tensor. */\n\
		 export interface {name}Input {{\n{input_fields}\n}}\n\
		 \n\
		 /** The model's outputs, tensor by tensor. */\n\
		 export interface {name}Output {{\n{output_fields}\n}}\n\
		 \n\
		 /** Floats as the contract's fixed point (`int / 10**decimals`, rounded toward zero), for\n \
		 * `int256[]` parameters of `encodeInput`. */\n\
		 export function toFixed{name}(values: readonly number[]): bigint[] {{\n  \
		   const scale = 10 ** {name}.decimals;\n  \
		   return values.map((v) => BigInt(Math.trunc(v * scale)));\n\
		 }}\n\
		 \n\
		 /** A fixed-point number the contract returns, as a float. */\n\
		 export function fromFixed{name}(value: bigint): number {{\n  \
		   return Number(value) / 10 ** {name}.decimals;\n\
		 }}\n",
		decimals = model.decimals,
		inputs = spec_list(model.inputs),
		outputs = spec_list(model.outputs),
		input_fields = fields(model.inputs),
		output_fields = fields(model.outputs),
	))
}

#[cfg(test)]
mod tests {
	use super::*;
	use frame_support::BoundedVec;

	fn spec(name: &str, dtype: DType, shape: Vec<Dim>) -> TensorSpec {
		TensorSpec {
			name: BoundedVec::truncate_from(name.as_bytes().to_vec()),
			dtype,
			shape: BoundedVec::truncate_from(shape),
		}
	}

	#[test]
	fn tensor_names_become_distinct_identifiers() {
		let mut taken = BTreeSet::new();
		let ids: Vec<String> = ["x", "input.1", "x", "2d", "uint256", "bytes32", "", "return", "x"]
			.iter()
			.map(|n| identifier(n, &mut taken))
			.collect();
		assert_eq!(
			ids,
			["x", "input_1", "x_2", "t2d", "uint256_", "bytes32_", "t", "return_", "x_3"]
		);
	}

	#[test]
	fn every_input_becomes_a_typed_parameter_and_every_output_a_reader() {
		let inputs = [
			spec("float_input", DType::F32, vec![Dim::Dynamic, Dim::Fixed(4)]),
			spec("ids", DType::I64, vec![Dim::Fixed(2)]),
			spec("mask", DType::Bool, vec![Dim::Fixed(2)]),
		];
		let outputs = [
			spec("label", DType::I64, vec![Dim::Dynamic]),
			spec("probabilities", DType::F32, vec![Dim::Dynamic, Dim::Fixed(2)]),
		];
		let id = H256::repeat_byte(0xab);
		let model =
			Model { name: "Scorer", id: Some(id), inputs: &inputs, outputs: &outputs, decimals: 6 };
		let sol = solidity(&model).unwrap();
		assert!(sol.contains(
			"function encodeInput(uint32 float_inputDim0, int256[] memory float_input, int64[] memory ids, bool[] memory mask) internal pure returns (bytes memory) {"
		), "{sol}");
		assert!(sol.contains("tensors[0] = VerityTensor.f32(\"float_input\", float_inputShape, float_input, DECIMALS);"));
		assert!(sol.contains("tensors[2] = VerityTensor.boolean(\"mask\", maskShape, mask);"));
		assert!(sol.contains("function readLabel(bytes memory encoded, uint256 index) internal pure returns (int64) {"));
		assert!(sol.contains("return VerityTensor.readF32(encoded, 1, index, DECIMALS);"));
		assert!(sol.contains(&format!("bytes32 internal constant MODEL = {id:?};")));
		let ts = typescript(&model).unwrap();
		assert!(ts.contains("  \"ids\": bigint[];"), "{ts}");
		assert!(
			ts.contains("{ name: \"float_input\", dtype: \"f32\", shape: [null, 4] },"),
			"{ts}"
		);
	}

	#[test]
	fn every_type_but_f64_has_an_encoder_and_a_reader() {
		let specs: Vec<TensorSpec> = verity_primitives::tensor::DTYPES
			.into_iter()
			.filter(|d| *d != DType::F64)
			.map(|d| spec(d.name(), d, vec![Dim::Fixed(2)]))
			.collect();
		let model = Model { name: "All", id: None, inputs: &specs, outputs: &specs, decimals: 4 };
		let sol = solidity(&model).unwrap();
		for (param, call) in [
			("int256[] memory f16", "VerityTensor.f16(\"f16\", f16Shape, f16, DECIMALS)"),
			("int256[] memory bf16", "VerityTensor.bf16(\"bf16\", bf16Shape, bf16, DECIMALS)"),
			("int8[] memory i8", "VerityTensor.i8(\"i8\", i8Shape, i8)"),
			("uint64[] memory u64", "VerityTensor.u64(\"u64\", u64Shape, u64)"),
			("string[] memory string_", "VerityTensor.text(\"string\", string_Shape, string_)"),
		] {
			assert!(sol.contains(param) && sol.contains(call), "{param} {call}\n{sol}");
		}
		assert!(sol.contains("function readString_(bytes memory encoded, uint256 index) internal pure returns (string memory) {"), "{sol}");
		assert!(
			sol.contains("return VerityTensor.readBF16(encoded, 6, index, DECIMALS);"),
			"{sol}"
		);
		assert!(sol.contains("function readU16(bytes memory encoded, uint256 index) internal pure returns (uint16) {"), "{sol}");
		let ts = typescript(&model).unwrap();
		assert!(
			ts.contains("  \"u64\": bigint[];") && ts.contains("  \"string\": string[];"),
			"{ts}"
		);
	}

	#[test]
	fn library_names_come_from_file_names() {
		for (file, name) in [
			("credit-score_v2.onnx", "CreditScoreV2Model"),
			("linear.onnx", "LinearModel"),
			("2d.onnx", "M2dModel"),
		] {
			assert_eq!(name_from_file(std::path::Path::new(file)), name);
		}
	}

	#[test]
	fn what_solidity_cannot_take_is_refused_with_the_reason() {
		let bad = [spec("x", DType::F64, vec![Dim::Fixed(1)])];
		let ok = [spec("y", DType::F32, vec![Dim::Fixed(1)])];
		let model = Model { name: "M", id: None, inputs: &bad, outputs: &ok, decimals: 6 };
		assert_eq!(
			solidity(&model).unwrap_err(),
			"input \"x\": f64 tensors have no Solidity helper yet"
		);
		let model = Model { name: "my model", id: None, inputs: &ok, outputs: &ok, decimals: 6 };
		assert!(solidity(&model).unwrap_err().contains("not a usable library name"));
	}
}
