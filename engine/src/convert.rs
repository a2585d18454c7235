//! Between the Verity tensor format and ONNX Runtime values, and a model's tensor specs.
use ort::{
	session::Session,
	value::{DynValue, Shape, Tensor, TensorElementType, ValueType},
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
				let dtype = dtype_of(o.dtype()).ok_or(format!(
					"tensor {}: element type {:?} is not supported",
					o.name(),
					o.dtype()
				))?;
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

pub(crate) fn dtype_of(ty: &ValueType) -> Option<DType> {
	match ty {
		ValueType::Tensor { ty, .. } => Some(match ty {
			TensorElementType::Float32 => DType::F32,
			TensorElementType::Float64 => DType::F64,
			TensorElementType::Int32 => DType::I32,
			TensorElementType::Int64 => DType::I64,
			TensorElementType::Uint8 => DType::U8,
			TensorElementType::Bool => DType::Bool,
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
	let shape = Shape::new(t.shape.iter().map(|d| i64::from(*d)));
	let value =
		match t.dtype {
			DType::F32 => Tensor::from_array((shape, le_values(t.data, f32::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::F64 => Tensor::from_array((shape, le_values(t.data, f64::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::I32 => Tensor::from_array((shape, le_values(t.data, i32::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::I64 => Tensor::from_array((shape, le_values(t.data, i64::from_le_bytes)))
				.map(|v| v.into_dyn()),
			DType::U8 => Tensor::from_array((shape, t.data.to_vec())).map(|v| v.into_dyn()),
			DType::Bool => {
				Tensor::from_array((shape, t.data.iter().map(|b| *b != 0).collect::<Vec<bool>>()))
					.map(|v| v.into_dyn())
			}
		};
	value.map_err(|_| EngineError::BadInput)
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
	};
	if name.is_empty() || name.len() > tensor::MAX_NAME_LEN || shape.len() > tensor::MAX_RANK {
		return Err(EngineError::TooLarge);
	}
	Ok(tensor::Tensor { name: name.to_string(), dtype, shape, data })
}
