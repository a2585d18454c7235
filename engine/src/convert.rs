//! Between the Verity tensor format and ONNX Runtime values, and a model's tensor specs.
use ort::{
	memory::Allocator,
	session::Session,
	value::{DynTensor, DynTensorValueType, DynValue, Shape, Tensor, TensorElementType, ValueType},
};
use verity_primitives::{
	host::EngineError,
	spec::{tensor_spec, Dim, TensorSpec},
	tensor::{self, DType, TensorRef},
};

/// Names and element types of a model's inputs, in the model's order (`None`: a type the
/// Verity format cannot carry).
pub(crate) fn describe_inputs(session: &Session) -> Vec<(String, Option<DType>)> {
	session.inputs().iter().map(|i| (i.name().to_string(), dtype_of(i.dtype()))).collect()
}

/// A model's input and output specs as the chain records them (`-1` dimensions are dynamic).
/// Errors name the first tensor whose type the Verity format cannot carry.
pub(crate) fn describe_model(
	session: &Session,
) -> Result<(Vec<TensorSpec>, Vec<TensorSpec>), String> {
	let specs = |outlets: &[ort::value::Outlet]| -> Result<Vec<TensorSpec>, String> {
		outlets
			.iter()
			.map(|o| {
				let dtype = dtype_of(o.dtype()).ok_or_else(|| unsupported(o.name(), o.dtype()))?;
				let ValueType::Tensor { shape, .. } = o.dtype() else {
					unreachable!("dtype_of checked")
				};
				let dims: Vec<Dim> = shape
					.iter()
					.map(|d| u32::try_from(*d).map(Dim::Fixed).unwrap_or(Dim::Dynamic))
					.collect();
				if o.name().len() > tensor::MAX_NAME_LEN || dims.len() > tensor::MAX_RANK {
					return Err(format!(
						"tensor {}: name or rank beyond the chain's bounds",
						o.name()
					));
				}
				Ok(tensor_spec(o.name(), dtype, &dims))
			})
			.collect()
	};
	let (inputs, outputs) = (specs(session.inputs())?, specs(session.outputs())?);
	if inputs.len() > tensor::MAX_TENSORS || outputs.len() > tensor::MAX_TENSORS {
		return Err(format!("more than {} inputs or outputs", tensor::MAX_TENSORS));
	}
	Ok((inputs, outputs))
}

/// Why an input or output cannot be carried, and what to change.
fn unsupported(name: &str, ty: &ValueType) -> String {
	let hint = match ty {
		ValueType::Map { .. } | ValueType::Sequence(_) => {
			" (only tensors travel on chain: export the model with tensor outputs; for a \
			 scikit-learn classifier converted with skl2onnx, pass options={'zipmap': False} so \
			 its probabilities are a tensor instead of a sequence of maps)"
		}
		ValueType::Optional(_) => " (only tensors travel on chain: make it a plain tensor)",
		_ => "",
	};
	format!("tensor {name}: element type {ty:?} is not supported{hint}")
}

pub(crate) fn dtype_of(ty: &ValueType) -> Option<DType> {
	match ty {
		ValueType::Tensor { ty, .. } => Some(match ty {
			TensorElementType::Float32 => DType::F32,
			TensorElementType::Float64 => DType::F64,
			TensorElementType::Int32 => DType::I32,
			TensorElementType::Int64 => DType::I64,
			TensorElementType::Uint8 => DType::U8,
			TensorElementType::Bool => DType::Bool,
			TensorElementType::Float16 => DType::F16,
			TensorElementType::Bfloat16 => DType::BF16,
			TensorElementType::Int8 => DType::I8,
			TensorElementType::Int16 => DType::I16,
			TensorElementType::Uint16 => DType::U16,
			TensorElementType::Uint32 => DType::U32,
			TensorElementType::Uint64 => DType::U64,
			TensorElementType::String => DType::String,
			_ => return None,
		}),
		_ => None,
	}
}

/// Inputs must match the model's own inputs: same names (any order is fine, all must be
/// given), element types, ranks and fixed dimensions.
pub(crate) fn check_inputs(
	session: &Session,
	tensors: &[TensorRef<'_>],
) -> Result<(), EngineError> {
	if tensors.len() != session.inputs().len() {
		return Err(EngineError::BadInput);
	}
	for t in tensors {
		let input =
			session.inputs().iter().find(|i| i.name() == t.name).ok_or(EngineError::BadInput)?;
		if dtype_of(input.dtype()) != Some(t.dtype) {
			return Err(EngineError::BadInput);
		}
		if let ValueType::Tensor { shape, .. } = input.dtype() {
			if shape.len() != t.shape.len() {
				return Err(EngineError::BadInput);
			}
			for (want, got) in shape.iter().zip(&t.shape) {
				if *want >= 0 && *want != i64::from(*got) {
					return Err(EngineError::BadInput);
				}
			}
		}
	}
	Ok(())
}

fn le_values<T, const N: usize>(data: &[u8], from: fn([u8; N]) -> T) -> Vec<T> {
	data.chunks_exact(N).map(|c| from(c.try_into().expect("chunks_exact gives N bytes"))).collect()
}

pub(crate) fn to_value(t: &TensorRef<'_>) -> Result<DynValue, EngineError> {
	fn typed<T: ort::value::PrimitiveTensorElementType + std::fmt::Debug + Clone + 'static>(
		shape: Shape,
		values: Vec<T>,
	) -> ort::Result<DynValue> {
		Tensor::from_array((shape, values)).map(|v| v.into_dyn())
	}
	let shape = Shape::new(t.shape.iter().map(|d| i64::from(*d)));
	let value = match t.dtype {
		DType::F32 => typed(shape, le_values(t.data, f32::from_le_bytes)),
		DType::F64 => typed(shape, le_values(t.data, f64::from_le_bytes)),
		DType::I32 => typed(shape, le_values(t.data, i32::from_le_bytes)),
		DType::I64 => typed(shape, le_values(t.data, i64::from_le_bytes)),
		DType::U8 => typed(shape, t.data.to_vec()),
		DType::Bool => typed(shape, t.data.iter().map(|b| *b != 0).collect::<Vec<bool>>()),
		DType::F16 => raw_value(t, shape, TensorElementType::Float16),
		DType::BF16 => raw_value(t, shape, TensorElementType::Bfloat16),
		DType::I8 => typed(shape, le_values(t.data, i8::from_le_bytes)),
		DType::I16 => typed(shape, le_values(t.data, i16::from_le_bytes)),
		DType::U16 => typed(shape, le_values(t.data, u16::from_le_bytes)),
		DType::U32 => typed(shape, le_values(t.data, u32::from_le_bytes)),
		DType::U64 => typed(shape, le_values(t.data, u64::from_le_bytes)),
		DType::String => {
			// The codec checked every element is UTF-8.
			let strings = t
				.elements()
				.map(|e| std::str::from_utf8(e).map(str::to_owned))
				.collect::<Result<Vec<String>, _>>()
				.map_err(|_| EngineError::BadInput)?;
			Tensor::from_string_array((shape, strings.as_slice())).map(|v| v.into_dyn())
		}
	};
	value.map_err(|_| EngineError::BadInput)
}

/// A tensor of 16-bit floats from their bits (Rust has no such type of its own; the bytes go
/// to ONNX Runtime as they are).
fn raw_value(t: &TensorRef<'_>, shape: Shape, ty: TensorElementType) -> ort::Result<DynValue> {
	let elements = shape.num_elements();
	if elements.checked_mul(2) != Some(t.data.len()) {
		return Err(ort::Error::new("data does not match the shape"));
	}
	let mut value = DynTensor::new(&Allocator::default(), ty, shape)?;
	if !t.data.is_empty() {
		// SAFETY: the tensor was allocated on the CPU for `elements` 2-byte elements, which is
		// `t.data.len()` bytes (checked above); the regions cannot overlap.
		unsafe {
			std::ptr::copy_nonoverlapping(
				t.data.as_ptr(),
				value.data_ptr_mut().cast::<u8>(),
				t.data.len(),
			)
		};
	}
	Ok(value.into_dyn())
}

/// The shape and bytes of an output tensor of 16-bit floats.
fn raw_bytes(value: &DynValue, ty: TensorElementType) -> Result<(Vec<u32>, Vec<u8>), EngineError> {
	let view = value.view();
	let tensor = view.downcast::<DynTensorValueType>().map_err(|_| EngineError::RunFailed)?;
	if *tensor.data_type() != ty || !tensor.memory_info().is_cpu_accessible() {
		return Err(EngineError::RunFailed);
	}
	let dims: Vec<u32> = tensor
		.shape()
		.iter()
		.map(|d| u32::try_from(*d).map_err(|_| EngineError::TooLarge))
		.collect::<Result<_, _>>()?;
	let bytes = dims
		.iter()
		.try_fold(2usize, |n, d| n.checked_mul(*d as usize))
		.ok_or(EngineError::TooLarge)?;
	let ptr = tensor.data_ptr().cast::<u8>();
	if bytes == 0 || ptr.is_null() {
		return Ok((dims, Vec::new()));
	}
	// SAFETY: ONNX Runtime holds `bytes` bytes of 2-byte elements of this shape at `ptr` in CPU
	// memory (checked above), alive while `value` is borrowed.
	Ok((dims, unsafe { std::slice::from_raw_parts(ptr, bytes) }.to_vec()))
}

pub(crate) fn from_value(
	name: &str,
	dtype: DType,
	value: &DynValue,
) -> Result<tensor::Tensor, EngineError> {
	fn extract<T: ort::value::PrimitiveTensorElementType + Copy, const N: usize>(
		value: &DynValue,
		to: fn(T) -> [u8; N],
	) -> Result<(Vec<u32>, Vec<u8>), EngineError> {
		let (shape, data) = value.try_extract_tensor::<T>().map_err(|_| EngineError::RunFailed)?;
		let dims = shape
			.iter()
			.map(|d| u32::try_from(*d).map_err(|_| EngineError::TooLarge))
			.collect::<Result<_, _>>()?;
		// Sized once and filled in place: the loop vectorizes (no capacity check per element).
		let mut bytes = vec![0u8; data.len() * N];
		for (out, v) in bytes.chunks_exact_mut(N).zip(data) {
			out.copy_from_slice(&to(*v));
		}
		Ok((dims, bytes))
	}
	let (shape, data) = match dtype {
		DType::F32 => extract::<f32, 4>(value, f32::to_le_bytes)?,
		DType::F64 => extract::<f64, 8>(value, f64::to_le_bytes)?,
		DType::I32 => extract::<i32, 4>(value, i32::to_le_bytes)?,
		DType::I64 => extract::<i64, 8>(value, i64::to_le_bytes)?,
		DType::U8 => extract::<u8, 1>(value, |v| [v])?,
		DType::Bool => extract::<bool, 1>(value, |v| [v as u8])?,
		DType::F16 => raw_bytes(value, TensorElementType::Float16)?,
		DType::BF16 => raw_bytes(value, TensorElementType::Bfloat16)?,
		DType::I8 => extract::<i8, 1>(value, i8::to_le_bytes)?,
		DType::I16 => extract::<i16, 2>(value, i16::to_le_bytes)?,
		DType::U16 => extract::<u16, 2>(value, u16::to_le_bytes)?,
		DType::U32 => extract::<u32, 4>(value, u32::to_le_bytes)?,
		DType::U64 => extract::<u64, 8>(value, u64::to_le_bytes)?,
		DType::String => {
			let (shape, strings) =
				value.try_extract_strings().map_err(|_| EngineError::RunFailed)?;
			let dims = shape
				.iter()
				.map(|d| u32::try_from(*d).map_err(|_| EngineError::TooLarge))
				.collect::<Result<_, _>>()?;
			(dims, tensor::string_data(strings.iter().map(String::as_str)))
		}
	};
	if name.is_empty() || name.len() > tensor::MAX_NAME_LEN || shape.len() > tensor::MAX_RANK {
		return Err(EngineError::TooLarge);
	}
	Ok(tensor::Tensor { name: name.to_string(), dtype, shape, data })
}
