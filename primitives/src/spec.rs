//! Input and output specifications of a model, and checking tensors against them.
use crate::tensor::{DType, Tensor, TensorRef, MAX_NAME_LEN, MAX_RANK, MAX_TENSORS};
use alloc::{string::String, vec, vec::Vec};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::{traits::ConstU32, BoundedVec};

/// One dimension of a tensor spec.
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
pub enum Dim {
	/// Exactly this size.
	Fixed(u32),
	/// Any size (e.g. a batch dimension).
	Dynamic,
}

/// Name, element type and shape that a model expects (inputs) or produces (outputs).
#[derive(
	Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, TypeInfo, MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct TensorSpec {
	/// UTF-8 name, as in the ONNX graph.
	pub name: BoundedVec<u8, ConstU32<{ MAX_NAME_LEN as u32 }>>,
	pub dtype: DType,
	pub shape: BoundedVec<Dim, ConstU32<{ MAX_RANK as u32 }>>,
}

/// The tensors of one side (inputs or outputs) of a model.
pub type TensorSpecs = BoundedVec<TensorSpec, ConstU32<{ MAX_TENSORS as u32 }>>;

/// Why a spec list itself is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadSpec {
	/// No tensors at all.
	Empty,
	/// An empty or non-UTF-8 name.
	BadName(usize),
	/// Two tensors share a name.
	DuplicateName(usize),
}

/// Why tensors do not match a spec list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecMismatch {
	/// Not as many tensors as the spec lists.
	Count { expected: u32, got: u32 },
	/// Tensor `.0` has another name than the spec at that position.
	Name(u32),
	/// Tensor `.0` has another element type.
	DType(u32),
	/// Tensor `.0` has another rank or a different fixed dimension.
	Shape(u32),
}

/// Checks that specs are well-formed: at least one tensor, names non-empty UTF-8 and unique.
pub fn validate_specs(specs: &[TensorSpec]) -> Result<(), BadSpec> {
	if specs.is_empty() {
		return Err(BadSpec::Empty);
	}
	for (i, s) in specs.iter().enumerate() {
		if s.name.is_empty() || core::str::from_utf8(&s.name).is_err() {
			return Err(BadSpec::BadName(i));
		}
		if specs[..i].iter().any(|p| p.name == s.name) {
			return Err(BadSpec::DuplicateName(i));
		}
	}
	Ok(())
}

/// Checks tensors against specs: same count and order, names, dtypes, ranks and fixed dims.
pub fn check(tensors: &[TensorRef<'_>], specs: &[TensorSpec]) -> Result<(), SpecMismatch> {
	if tensors.len() != specs.len() {
		return Err(SpecMismatch::Count {
			expected: specs.len() as u32,
			got: tensors.len() as u32,
		});
	}
	for (i, (t, s)) in tensors.iter().zip(specs).enumerate() {
		let i = i as u32;
		if t.name.as_bytes() != s.name.as_slice() {
			return Err(SpecMismatch::Name(i));
		}
		if t.dtype != s.dtype {
			return Err(SpecMismatch::DType(i));
		}
		let dims_match = t.shape.len() == s.shape.len()
			&& t.shape.iter().zip(s.shape.iter()).all(|(d, sd)| match sd {
				Dim::Fixed(n) => d == n,
				Dim::Dynamic => true,
			});
		if !dims_match {
			return Err(SpecMismatch::Shape(i));
		}
	}
	Ok(())
}

/// Encoded size (docs/tensor-format.md) of every tensor list that matches `specs`, when all
/// their dimensions are fixed; `None` when one is dynamic or a string tensor (the size then
/// depends on the run).
pub fn encoded_len(specs: &[TensorSpec]) -> Option<u64> {
	if specs.iter().any(|s| s.dtype == DType::String) {
		return None;
	}
	min_encoded_len(specs)
}

/// Encoded size of the smallest tensor list that matches `specs` (strings empty), when all
/// dimensions are fixed.
fn min_encoded_len(specs: &[TensorSpec]) -> Option<u64> {
	// Magic, version, count.
	let mut len: u64 = 6;
	for s in specs {
		let mut elements: u64 = 1;
		for d in s.shape.iter() {
			match d {
				Dim::Fixed(n) => elements = elements.saturating_mul(u64::from(*n)),
				Dim::Dynamic => return None,
			}
		}
		// Name length, name, dtype, rank, dimensions, data.
		let header = 3 + s.name.len() as u64 + 4 * s.shape.len() as u64;
		len = len
			.saturating_add(header)
			.saturating_add(elements.saturating_mul(s.dtype.size() as u64));
	}
	Some(len)
}

/// The default probe input of a model (see pallet-inference's readiness probe): zeros of each
/// input's dtype and shape (empty strings), dynamic dimensions at 1. `None` when it would exceed
/// `max_bytes`.
pub fn zero_input(specs: &[TensorSpec], max_bytes: u32) -> Option<Vec<u8>> {
	let shapes: Vec<Vec<u32>> = specs
		.iter()
		.map(|s| {
			s.shape
				.iter()
				.map(|d| match d {
					Dim::Fixed(n) => *n,
					Dim::Dynamic => 1,
				})
				.collect()
		})
		.collect();
	let fixed: Vec<TensorSpec> = specs
		.iter()
		.zip(&shapes)
		.map(|(s, shape)| TensorSpec {
			name: s.name.clone(),
			dtype: s.dtype,
			shape: BoundedVec::truncate_from(shape.iter().map(|n| Dim::Fixed(*n)).collect()),
		})
		.collect();
	if min_encoded_len(&fixed)? > u64::from(max_bytes) {
		return None;
	}
	let tensors: Vec<Tensor> = specs
		.iter()
		.zip(shapes)
		.map(|(s, shape)| {
			let elements = shape.iter().map(|n| *n as usize).product::<usize>();
			Tensor {
				name: String::from_utf8_lossy(&s.name).into_owned(),
				dtype: s.dtype,
				shape,
				data: vec![0; elements * s.dtype.size()],
			}
		})
		.collect();
	Some(crate::tensor::encode_owned(&tensors))
}

/// Builds a spec (for tests, genesis and clients). Panics on a name or rank beyond the bounds.
pub fn tensor_spec(name: &str, dtype: DType, shape: &[Dim]) -> TensorSpec {
	TensorSpec {
		name: BoundedVec::try_from(name.as_bytes().to_vec()).expect("name within MAX_NAME_LEN"),
		dtype,
		shape: BoundedVec::try_from(shape.to_vec()).expect("rank within MAX_RANK"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::tensor::{decode, encode_owned, Tensor};
	use alloc::vec;

	fn specs() -> alloc::vec::Vec<TensorSpec> {
		vec![tensor_spec("x", DType::F32, &[Dim::Dynamic, Dim::Fixed(3)])]
	}

	fn check_bytes(t: Tensor) -> Result<(), SpecMismatch> {
		let bytes = encode_owned(&[t]);
		check(&decode(&bytes, 64).unwrap(), &specs())
	}

	#[test]
	fn matching_input_passes_with_any_dynamic_dim() {
		assert_eq!(check_bytes(Tensor::from_f32("x", vec![1, 3], &[0.0; 3])), Ok(()));
		assert_eq!(check_bytes(Tensor::from_f32("x", vec![4, 3], &[0.0; 12])), Ok(()));
	}

	#[test]
	fn every_mismatch_is_named() {
		assert_eq!(
			check_bytes(Tensor::from_f32("y", vec![1, 3], &[0.0; 3])),
			Err(SpecMismatch::Name(0))
		);
		assert_eq!(
			check_bytes(Tensor::from_i64("x", vec![1, 3], &[0; 3])),
			Err(SpecMismatch::DType(0))
		);
		assert_eq!(
			check_bytes(Tensor::from_f32("x", vec![1, 4], &[0.0; 4])),
			Err(SpecMismatch::Shape(0))
		);
		assert_eq!(
			check_bytes(Tensor::from_f32("x", vec![3], &[0.0; 3])),
			Err(SpecMismatch::Shape(0))
		);
		let none = encode_owned(&[]);
		assert_eq!(
			check(&decode(&none, 1).unwrap(), &specs()),
			Err(SpecMismatch::Count { expected: 1, got: 0 })
		);
	}

	#[test]
	fn specs_are_validated() {
		assert_eq!(validate_specs(&[]), Err(BadSpec::Empty));
		assert_eq!(validate_specs(&specs()), Ok(()));
		let mut bad = specs();
		bad[0].name = BoundedVec::try_from(vec![0xff]).unwrap();
		assert_eq!(validate_specs(&bad), Err(BadSpec::BadName(0)));
		bad[0].name = BoundedVec::default();
		assert_eq!(validate_specs(&bad), Err(BadSpec::BadName(0)));
		let dup = vec![specs()[0].clone(), specs()[0].clone()];
		assert_eq!(validate_specs(&dup), Err(BadSpec::DuplicateName(1)));
	}

	#[test]
	fn encoded_len_is_the_size_of_matching_tensors_or_none_when_dynamic() {
		use crate::tensor::{encode_owned, Tensor};
		let specs = [
			tensor_spec("probs", DType::F32, &[Dim::Fixed(2), Dim::Fixed(3)]),
			tensor_spec("label", DType::I64, &[Dim::Fixed(2)]),
		];
		let tensors = [
			Tensor::from_f32("probs", vec![2, 3], &[0.0; 6]),
			Tensor::from_i64("label", vec![2], &[0, 1]),
		];
		assert_eq!(encoded_len(&specs), Some(encode_owned(&tensors).len() as u64));
		let dynamic = [tensor_spec("y", DType::F32, &[Dim::Dynamic, Dim::Fixed(3)])];
		assert_eq!(encoded_len(&dynamic), None);
		let text = [tensor_spec("label", DType::String, &[Dim::Fixed(2)])];
		assert_eq!(encoded_len(&text), None);
		// The probe input of a string model: empty strings, which decode.
		let zeros = zero_input(&text, 1024).unwrap();
		let decoded = crate::tensor::decode(&zeros, 16).unwrap();
		assert_eq!(decoded[0].elements().collect::<Vec<_>>(), vec![&b""[..], &b""[..]]);
		assert_eq!(check(&decoded, &text), Ok(()));
	}
}
