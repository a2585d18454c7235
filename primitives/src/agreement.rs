//! When do two results agree, and which result does a committee stand behind?
//!
//! Validators run the same model on different CPUs; ONNX Runtime's kernels then differ in the
//! last bits of floating-point results (about 1e-5 relative, see docs). So floating outputs (f32,
//! f64, f16, bf16) agree within a per-model [`Tolerance`], while integer, bool and string outputs
//! must be identical.
//!
//! The rules, for two finite floats `a`, `b`:
//! `|a - b| <= abs + rel * max(|a|, |b|)`. NaN agrees only with NaN; an infinity only with the
//! same infinity. Names, dtypes and shapes must match exactly, tensor by tensor.
//!
//! Everything here is deterministic in the runtime: IEEE-754 arithmetic on `f64` in Wasm is
//! exact and reproducible; only NaN payloads vary, and NaN is tested with `is_nan`.
use crate::tensor::{decode, TensorRef};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_runtime::Perbill;

/// Scale of the fixed-point tolerance fields: 1_000_000_000 means 1.0.
pub const TOLERANCE_SCALE: f64 = 1e9;

/// Agreement tolerance of a model's floating-point outputs, in billionths.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Tolerance {
	/// Absolute tolerance x 1e9 (e.g. 10_000 = 1e-5).
	pub abs_e9: u64,
	/// Relative tolerance x 1e9 (e.g. 1_000 = 1e-6).
	pub rel_e9: u64,
}

impl Tolerance {
	/// Exact agreement, also for floats.
	pub const EXACT: Tolerance = Tolerance { abs_e9: 0, rel_e9: 0 };

	/// The tighter of `self` and `other` in each part.
	pub fn tightest(self, other: Tolerance) -> Tolerance {
		Tolerance { abs_e9: self.abs_e9.min(other.abs_e9), rel_e9: self.rel_e9.min(other.rel_e9) }
	}

	fn abs(self) -> f64 {
		self.abs_e9 as f64 / TOLERANCE_SCALE
	}

	fn rel(self) -> f64 {
		self.rel_e9 as f64 / TOLERANCE_SCALE
	}
}

/// Why two results do not agree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
	/// One of them is not a valid tensor list.
	Undecodable,
	/// Different numbers of tensors.
	TensorCount,
	/// Tensor `0` differs in name, dtype or shape.
	Layout(usize),
	/// Tensor `.0`, element `.1` differs beyond the tolerance.
	Value(usize, usize),
}

impl core::fmt::Display for Mismatch {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		match self {
			Mismatch::Undecodable => f.write_str("an output is not a valid tensor list"),
			Mismatch::TensorCount => f.write_str("the outputs have different numbers of tensors"),
			Mismatch::Layout(t) => write!(f, "output tensor {t} differs in name, type or shape"),
			Mismatch::Value(t, e) => {
				write!(f, "element {e} of output tensor {t} differs beyond the tolerance")
			}
		}
	}
}

fn magnitude(x: f64) -> f64 {
	if x < 0.0 {
		-x
	} else {
		x
	}
}

/// Whether two floating-point values agree under `tol`.
pub fn values_agree(a: f64, b: f64, tol: Tolerance) -> bool {
	if a.is_nan() || b.is_nan() {
		return a.is_nan() && b.is_nan();
	}
	if a.is_infinite() || b.is_infinite() {
		return a == b;
	}
	let diff = magnitude(a - b);
	diff <= tol.abs() + tol.rel() * magnitude(a).max(magnitude(b))
}

/// Compares two decoded results tensor by tensor.
pub fn compare(a: &[TensorRef<'_>], b: &[TensorRef<'_>], tol: Tolerance) -> Result<(), Mismatch> {
	if a.len() != b.len() {
		return Err(Mismatch::TensorCount);
	}
	for (i, (x, y)) in a.iter().zip(b).enumerate() {
		if x.name != y.name || x.dtype != y.dtype || x.shape != y.shape {
			return Err(Mismatch::Layout(i));
		}
		if x.data == y.data {
			continue;
		}
		if !x.dtype.is_float() {
			let element = x.elements().zip(y.elements()).position(|(p, q)| p != q);
			return Err(Mismatch::Value(i, element.unwrap_or(0)));
		}
		for e in 0..x.element_count() {
			if !values_agree(x.get_f64(e), y.get_f64(e), tol) {
				return Err(Mismatch::Value(i, e));
			}
		}
	}
	Ok(())
}

/// The largest absolute difference between two elements at the same place of two results of
/// the same layout (0 for exact types, whose agreeing results are equal; pairs of NaNs or of
/// equal infinities count 0), times 1e9, saturating; `None` when the layouts differ or one is
/// not a valid tensor list. What a contract sees of how far the agreeing outputs were apart.
pub fn max_difference_e9_encoded(a: &[u8], b: &[u8], max_elements: usize) -> Option<u64> {
	max_difference_e9(&decode(a, max_elements).ok()?, &decode(b, max_elements).ok()?)
}

/// [`max_difference_e9_encoded`] of decoded results.
pub fn max_difference_e9(x: &[TensorRef<'_>], y: &[TensorRef<'_>]) -> Option<u64> {
	spread_e9(x, y).map(|s| s.abs_e9)
}

/// How far apart two results of the same layout are, element by element, times 1e9
/// (saturating): the largest absolute difference, and the largest relative difference
/// `|u - v| / max(|u|, |v|)` (elements both 0 count 0). What a readiness probe measures across
/// validators to calibrate a model's tolerance.
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Spread {
	pub abs_e9: u64,
	pub rel_e9: u64,
}

impl Spread {
	/// The larger of two spreads in each part.
	pub fn max(self, other: Spread) -> Spread {
		Spread { abs_e9: self.abs_e9.max(other.abs_e9), rel_e9: self.rel_e9.max(other.rel_e9) }
	}

	/// Whether the spread is beyond `tol` in both its parts: necessary for some pair of elements
	/// to have disagreed under `tol` (the largest absolute and relative differences may come
	/// from different elements, so it is a warning, not a proof).
	pub fn may_exceed(self, tol: Tolerance) -> bool {
		self.abs_e9 > tol.abs_e9 && self.rel_e9 > tol.rel_e9
	}
}

/// The [`Spread`] of two results; `None` when the layouts differ.
pub fn spread_e9(x: &[TensorRef<'_>], y: &[TensorRef<'_>]) -> Option<Spread> {
	if x.len() != y.len() {
		return None;
	}
	let (mut abs, mut rel) = (0.0f64, 0.0f64);
	for (p, q) in x.iter().zip(y) {
		if p.name != q.name || p.dtype != q.dtype || p.shape != q.shape {
			return None;
		}
		if !p.dtype.is_float() || p.data == q.data {
			continue;
		}
		for e in 0..p.element_count() {
			let (u, v) = (p.get_f64(e), q.get_f64(e));
			if u.is_nan() && v.is_nan() || u == v {
				continue;
			}
			// NaN against a number, or opposite infinities: as far apart as can be.
			let diff = magnitude(u - v);
			let (diff, scale) = if diff.is_nan() || diff.is_infinite() {
				(f64::INFINITY, 1.0)
			} else {
				(diff, magnitude(u).max(magnitude(v)))
			};
			abs = abs.max(diff);
			rel = rel.max(if scale > 0.0 { diff / scale } else { 0.0 });
		}
	}
	// `as` saturates (infinity to u64::MAX).
	Some(Spread { abs_e9: (abs * TOLERANCE_SCALE) as u64, rel_e9: (rel * TOLERANCE_SCALE) as u64 })
}

/// Compares two encoded results.
pub fn compare_encoded(
	a: &[u8],
	b: &[u8],
	tol: Tolerance,
	max_elements: usize,
) -> Result<(), Mismatch> {
	let x = decode(a, max_elements).map_err(|_| Mismatch::Undecodable)?;
	if a == b {
		return Ok(());
	}
	let y = decode(b, max_elements).map_err(|_| Mismatch::Undecodable)?;
	compare(&x, &y, tol)
}

/// Smallest number of agreeing results that finalizes a request: `ceil(ratio * committee)`,
/// at least 1 and at most `committee`.
pub fn quorum(committee: u32, ratio: Perbill) -> u32 {
	ratio.mul_ceil(committee).clamp(1, committee.max(1))
}

/// The result a committee stands behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
	/// Index of the result that is finalized (the one with the most support; on a tie, the
	/// earliest submitted).
	pub representative: usize,
	/// Indices of the results that agree with it (including itself), ascending.
	pub agreeing: Vec<usize>,
}

/// Finds the result that at least `quorum` results agree with, if any.
///
/// Tolerance is not transitive (a ~ b and b ~ c does not give a ~ c), so results are not
/// grouped into classes: each result counts the results within tolerance of it, and the best
/// supported one wins. Undecodable results support nothing. `O(n^2)` comparisons for `n`
/// results; `n` is bounded by the committee size.
pub fn find_agreement(
	outputs: &[&[u8]],
	tol: Tolerance,
	quorum: u32,
	max_elements: usize,
) -> Option<Verdict> {
	let decoded: Vec<Option<Vec<TensorRef<'_>>>> =
		outputs.iter().map(|o| decode(o, max_elements).ok()).collect();
	let mut best: Option<Verdict> = None;
	for (i, candidate) in decoded.iter().enumerate() {
		let Some(candidate) = candidate else { continue };
		let agreeing: Vec<usize> = decoded
			.iter()
			.enumerate()
			.filter(|(j, other)| {
				*j == i
					|| other.as_ref().is_some_and(|o| {
						outputs[i] == outputs[*j] || compare(candidate, o, tol).is_ok()
					})
			})
			.map(|(j, _)| j)
			.collect();
		if best.as_ref().is_none_or(|b| agreeing.len() > b.agreeing.len()) {
			best = Some(Verdict { representative: i, agreeing });
		}
	}
	best.filter(|b| b.agreeing.len() as u32 >= quorum)
}

/// Whether two encoded outputs agree (identical bytes, or within tolerance tensor by tensor).
pub fn outputs_agree(a: &[u8], b: &[u8], tol: Tolerance, max_elements: usize) -> bool {
	a == b || compare_encoded(a, b, tol, max_elements).is_ok()
}

/// Most committee members a [`Support`] mask can name.
pub const MAX_MEMBERS: u32 = 64;

/// Agreement recorded for one submitted result, updated as later results arrive, so that each
/// new result is compared once with each earlier one (`O(k)` comparisons per result, not
/// `O(k^2)` per result as [`find_agreement`] does over all of them).
#[derive(
	Clone,
	Copy,
	Debug,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Support {
	/// How many results were in before this one (tie-break: earlier wins).
	pub order: u32,
	/// Bit `m` set: committee member `m`'s result agrees with this one (its own bit included).
	pub agreeing: u64,
}

impl Support {
	/// Support of a new result: itself only.
	pub fn new(member: u32, order: u32) -> Self {
		Support { order, agreeing: bit(member) }
	}
	/// Number of results that agree with this one, itself included.
	pub fn count(&self) -> u32 {
		self.agreeing.count_ones()
	}
	/// Whether member `m` agrees.
	pub fn has(&self, member: u32) -> bool {
		self.agreeing & bit(member) != 0
	}
	/// Records that `a` and `b` agree.
	pub fn link(a: (&mut Support, u32), b: (&mut Support, u32)) {
		a.0.agreeing |= bit(b.1);
		b.0.agreeing |= bit(a.1);
	}
}

fn bit(member: u32) -> u64 {
	1u64.checked_shl(member).unwrap_or(0)
}

/// The result a committee stands behind, from the supports of the results so far: the one
/// with the most agreeing results if that reaches `quorum` (on a tie, the earliest submitted).
/// Same verdict as [`find_agreement`] over the same results.
pub fn leader(supports: &[(u32, Support)], quorum: u32) -> Option<(u32, Support)> {
	supports
		.iter()
		.copied()
		.filter(|(_, s)| s.count() >= quorum)
		.min_by_key(|(_, s)| (core::cmp::Reverse(s.count()), s.order))
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::tensor::{encode_owned, DType, Tensor};
	use alloc::vec;

	const TOL: Tolerance = Tolerance { abs_e9: 10_000, rel_e9: 1_000 }; // 1e-5 abs, 1e-6 rel

	fn out(values: &[f32]) -> Vec<u8> {
		encode_owned(&[Tensor::from_f32("y", vec![values.len() as u32], values)])
	}

	#[test]
	fn tolerance_edges() {
		assert!(values_agree(1.0, 1.0 + 1e-5, TOL));
		// abs 1e-5 + rel 1e-6 * 1.0 = 1.1e-5: just inside and just outside.
		assert!(values_agree(1.0, 1.0 + 1.09e-5, TOL));
		assert!(!values_agree(1.0, 1.0 + 1.2e-5, TOL));
		assert!(values_agree(1e6, 1e6 + 1.0, TOL)); // relative part dominates: 1e-5 + 1.0
		assert!(!values_agree(1e6, 1e6 + 1.1, TOL));
		assert!(values_agree(0.0, -0.0, Tolerance::EXACT));
		assert!(!values_agree(1.0, 1.0 + f64::EPSILON, Tolerance::EXACT));
	}

	#[test]
	fn the_tightest_of_two_tolerances_takes_each_part_from_the_tighter() {
		let other = Tolerance { abs_e9: 20_000, rel_e9: 500 };
		let tightest = Tolerance { abs_e9: 10_000, rel_e9: 500 };
		assert_eq!((TOL.tightest(other), other.tightest(TOL)), (tightest, tightest));
		assert_eq!(TOL.tightest(Tolerance::EXACT), Tolerance::EXACT);
	}

	#[test]
	fn nan_and_infinities() {
		assert!(values_agree(f64::NAN, f64::NAN, TOL));
		assert!(values_agree(f64::NAN, -f64::NAN, Tolerance::EXACT));
		assert!(!values_agree(f64::NAN, 0.0, TOL));
		assert!(!values_agree(1.0, f64::NAN, TOL));
		assert!(values_agree(f64::INFINITY, f64::INFINITY, TOL));
		assert!(!values_agree(f64::INFINITY, f64::NEG_INFINITY, TOL));
		assert!(!values_agree(f64::INFINITY, f64::MAX, TOL));
		assert!(!values_agree(
			f64::MAX,
			f64::INFINITY,
			Tolerance { abs_e9: u64::MAX, rel_e9: u64::MAX }
		));
	}

	#[test]
	fn integers_compare_exactly() {
		let a = encode_owned(&[Tensor::from_i64("c", vec![2], &[1, 2])]);
		let b = encode_owned(&[Tensor::from_i64("c", vec![2], &[1, 3])]);
		let huge = Tolerance { abs_e9: u64::MAX, rel_e9: u64::MAX };
		assert_eq!(compare_encoded(&a, &b, huge, 16), Err(Mismatch::Value(0, 1)));
		assert_eq!(compare_encoded(&a, &a, Tolerance::EXACT, 16), Ok(()));
	}

	#[test]
	fn half_floats_agree_within_the_tolerance_and_strings_exactly() {
		let half = |dtype, bits: &[u16]| {
			let data = bits.iter().flat_map(|b| b.to_le_bytes()).collect();
			encode_owned(&[Tensor {
				name: "h".into(),
				dtype,
				shape: vec![bits.len() as u32],
				data,
			}])
		};
		// f16 1.0 and its next value (1 + 2^-10); bf16 1.0 and 1 + 2^-7.
		let tol = Tolerance { abs_e9: 0, rel_e9: 1_000_000 }; // 1e-3
		assert_eq!(
			compare_encoded(&half(DType::F16, &[0x3c00]), &half(DType::F16, &[0x3c01]), tol, 4),
			Ok(())
		);
		assert_eq!(
			compare_encoded(
				&half(DType::F16, &[0x3c00, 0]),
				&half(DType::F16, &[0x3c00, 0x3c00]),
				tol,
				4
			),
			Err(Mismatch::Value(0, 1))
		);
		assert_eq!(
			compare_encoded(&half(DType::BF16, &[0x3f80]), &half(DType::BF16, &[0x3f81]), tol, 4),
			Err(Mismatch::Value(0, 0))
		);
		let loose = Tolerance { abs_e9: 0, rel_e9: 10_000_000 }; // 1e-2
		assert_eq!(
			compare_encoded(&half(DType::BF16, &[0x3f80]), &half(DType::BF16, &[0x3f81]), loose, 4),
			Ok(())
		);
		// Integers of the new widths and strings compare exactly, whatever the tolerance.
		let huge = Tolerance { abs_e9: u64::MAX, rel_e9: u64::MAX };
		assert_eq!(
			compare_encoded(&half(DType::U16, &[1, 2]), &half(DType::U16, &[1, 3]), huge, 4),
			Err(Mismatch::Value(0, 1))
		);
		let text = |strings: [&str; 3]| {
			encode_owned(&[Tensor {
				name: "label".into(),
				dtype: DType::String,
				shape: vec![3],
				data: crate::tensor::string_data(strings),
			}])
		};
		assert_eq!(
			compare_encoded(&text(["a", "bb", ""]), &text(["a", "bb", ""]), huge, 4),
			Ok(())
		);
		assert_eq!(
			compare_encoded(&text(["a", "bb", ""]), &text(["a", "b", "b"]), huge, 4),
			Err(Mismatch::Value(0, 1))
		);
		assert_eq!(
			compare_encoded(&text(["a", "bb", "c"]), &text(["a", "bb", "C"]), huge, 4),
			Err(Mismatch::Value(0, 2))
		);
	}

	#[test]
	fn the_largest_difference_of_agreeing_outputs() {
		let f = |v: &[f32]| encode_owned(&[Tensor::from_f32("y", vec![v.len() as u32], v)]);
		assert_eq!(max_difference_e9_encoded(&f(&[1.0, 2.0]), &f(&[1.0, 2.0]), 16), Some(0));
		// 0.5 and 0.25 apart: the largest counts (exact in binary).
		assert_eq!(
			max_difference_e9_encoded(&f(&[1.0, 2.0]), &f(&[1.5, 1.75]), 16),
			Some(500_000_000)
		);
		assert_eq!(max_difference_e9_encoded(&f(&[f32::NAN]), &f(&[f32::NAN]), 16), Some(0));
		assert_eq!(
			max_difference_e9_encoded(&f(&[f32::INFINITY]), &f(&[f32::INFINITY]), 16),
			Some(0)
		);
		assert_eq!(max_difference_e9_encoded(&f(&[1.0]), &f(&[f32::NAN]), 16), Some(u64::MAX));
		assert_eq!(max_difference_e9_encoded(&f(&[1.0]), &f(&[1.0, 2.0]), 16), None);
		assert_eq!(max_difference_e9_encoded(b"junk", &f(&[1.0]), 16), None);
		let i = encode_owned(&[Tensor::from_i64("c", vec![1], &[1])]);
		assert_eq!(max_difference_e9_encoded(&i, &i, 16), Some(0));
	}

	#[test]
	fn the_spread_measures_absolute_and_relative_differences() {
		let f = |v: &[f32]| encode_owned(&[Tensor::from_f32("y", vec![v.len() as u32], v)]);
		let spread = |a: &[f32], b: &[f32]| {
			spread_e9(&decode(&f(a), 16).unwrap(), &decode(&f(b), 16).unwrap())
		};
		// 0.5 apart at 1.5 (1/3 relative), 0.25 apart at 2.0 (1/8): each part's largest.
		assert_eq!(
			spread(&[1.0, 2.0], &[1.5, 1.75]),
			Some(Spread { abs_e9: 500_000_000, rel_e9: 333_333_333 })
		);
		// Both 0, or equal: nothing; 0 against a tiny number: relatively all of it.
		assert_eq!(spread(&[0.0, 3.0], &[0.0, 3.0]), Some(Spread::default()));
		assert_eq!(
			spread(&[0.0], &[0.5]),
			Some(Spread { abs_e9: 500_000_000, rel_e9: 1_000_000_000 })
		);
		assert_eq!(
			spread(&[1.0], &[f32::NAN]),
			Some(Spread { abs_e9: u64::MAX, rel_e9: u64::MAX })
		);
		assert_eq!(spread(&[1.0], &[1.0, 2.0]), None);
		let s = Spread { abs_e9: 20, rel_e9: 5 };
		assert!(s.may_exceed(Tolerance { abs_e9: 10, rel_e9: 4 }));
		// Within either part of the tolerance: nothing to warn about.
		assert!(!s.may_exceed(Tolerance { abs_e9: 20, rel_e9: 0 }));
		assert!(!s.may_exceed(Tolerance { abs_e9: 0, rel_e9: 5 }));
		assert_eq!(s.max(Spread { abs_e9: 1, rel_e9: 9 }), Spread { abs_e9: 20, rel_e9: 9 });
	}

	#[test]
	fn layout_must_match() {
		let a = out(&[1.0, 2.0]);
		let b = encode_owned(&[Tensor::from_f32("z", vec![2], &[1.0, 2.0])]);
		let c = encode_owned(&[Tensor::from_f32("y", vec![1, 2], &[1.0, 2.0])]);
		let mut d = Tensor::from_f32("y", vec![2], &[1.0, 2.0]);
		d.dtype = DType::I32;
		let d = encode_owned(&[d]);
		assert_eq!(compare_encoded(&a, &b, TOL, 16), Err(Mismatch::Layout(0)));
		assert_eq!(compare_encoded(&a, &c, TOL, 16), Err(Mismatch::Layout(0)));
		assert_eq!(compare_encoded(&a, &d, TOL, 16), Err(Mismatch::Layout(0)));
		assert_eq!(compare_encoded(&a, &encode_owned(&[]), TOL, 16), Err(Mismatch::TensorCount));
		assert_eq!(compare_encoded(&a, b"junk", TOL, 16), Err(Mismatch::Undecodable));
		assert_eq!(compare_encoded(b"junk", b"junk", TOL, 16), Err(Mismatch::Undecodable));
	}

	#[test]
	fn quorum_is_two_thirds_rounded_up() {
		let two_thirds = Perbill::from_rational(2u32, 3u32);
		assert_eq!(quorum(1, two_thirds), 1);
		assert_eq!(quorum(3, two_thirds), 2);
		assert_eq!(quorum(4, two_thirds), 3);
		assert_eq!(quorum(5, two_thirds), 4);
		assert_eq!(quorum(0, two_thirds), 1);
		assert_eq!(quorum(3, Perbill::one()), 3);
		assert_eq!(quorum(3, Perbill::zero()), 1);
	}

	#[test]
	fn exactly_quorum_finalizes() {
		let outs = [out(&[1.0]), out(&[1.000001]), out(&[5.0])];
		let refs: Vec<&[u8]> = outs.iter().map(|o| o.as_slice()).collect();
		let v = find_agreement(&refs, TOL, 2, 16).unwrap();
		assert_eq!(v, Verdict { representative: 0, agreeing: vec![0, 1] });
		assert_eq!(find_agreement(&refs, TOL, 3, 16), None);
	}

	#[test]
	fn split_votes_do_not_finalize() {
		let outs = [out(&[1.0]), out(&[2.0]), out(&[3.0])];
		let refs: Vec<&[u8]> = outs.iter().map(|o| o.as_slice()).collect();
		assert_eq!(find_agreement(&refs, TOL, 2, 16), None);
		// With quorum 1 the earliest wins a tie.
		assert_eq!(find_agreement(&refs, TOL, 1, 16).unwrap().representative, 0);
	}

	#[test]
	fn best_supported_result_wins_when_tolerance_is_not_transitive() {
		// 1.0 ~ 1.00001 ~ 1.00002 but 1.0 !~ 1.00002: the middle one has the most support.
		let outs = [out(&[1.0]), out(&[1.00001]), out(&[1.00002])];
		let refs: Vec<&[u8]> = outs.iter().map(|o| o.as_slice()).collect();
		let tol = Tolerance { abs_e9: 11_000, rel_e9: 0 };
		let v = find_agreement(&refs, tol, 3, 16).unwrap();
		assert_eq!(v.representative, 1);
		assert_eq!(v.agreeing, vec![0, 1, 2]);
	}

	#[test]
	fn undecodable_results_support_nothing() {
		let outs = [b"junk".to_vec(), b"junk".to_vec(), out(&[1.0])];
		let refs: Vec<&[u8]> = outs.iter().map(|o| o.as_slice()).collect();
		assert_eq!(find_agreement(&refs, TOL, 2, 16), None);
		assert_eq!(find_agreement(&refs, TOL, 1, 16).unwrap().agreeing, vec![2]);
	}
}

#[cfg(all(test, feature = "std"))]
mod proptests {
	use super::*;
	use proptest::prelude::*;

	proptest! {
		#[test]
		fn agreement_is_symmetric(a in any::<f64>(), b in any::<f64>(), abs in 0u64..1_000_000_000, rel in 0u64..1_000_000_000) {
			let tol = Tolerance { abs_e9: abs, rel_e9: rel };
			prop_assert_eq!(values_agree(a, b, tol), values_agree(b, a, tol));
		}

		#[test]
		fn every_value_agrees_with_itself(a in any::<f64>()) {
			prop_assert!(values_agree(a, a, Tolerance::EXACT));
		}

		#[test]
		fn verdict_meets_quorum(values in proptest::collection::vec(-3i8..3, 1..8), q in 1u32..8) {
			let outs: Vec<Vec<u8>> = values.iter().map(|v| crate::tensor::encode_owned(&[crate::tensor::Tensor::from_f32("y", alloc::vec![1], &[*v as f32])])).collect();
			let refs: Vec<&[u8]> = outs.iter().map(|o| o.as_slice()).collect();
			if let Some(v) = find_agreement(&refs, Tolerance::EXACT, q, 4) {
				prop_assert!(v.agreeing.len() as u32 >= q);
				for j in &v.agreeing { prop_assert_eq!(values[*j], values[v.representative]); }
			} else {
				let max = values.iter().map(|x| values.iter().filter(|y| *y == x).count()).max().unwrap();
				prop_assert!((max as u32) < q);
			}
		}

		/// Incremental support, after each new result, gives the verdict of the reference
		/// `find_agreement` over all results so far (values near each other, so that
		/// non-transitive tolerance chains occur).
		#[test]
		fn incremental_support_matches_the_reference(values in proptest::collection::vec(0u8..6, 1..12), q in 1u32..8) {
			let tol = Tolerance { abs_e9: 1_100_000_000, rel_e9: 0 }; // 1.1: neighbours agree
			let outs: Vec<Vec<u8>> = values.iter().map(|v| crate::tensor::encode_owned(&[crate::tensor::Tensor::from_f32("y", alloc::vec![1], &[*v as f32])])).collect();
			let mut supports: Vec<(u32, Support)> = Vec::new();
			for (n, out) in outs.iter().enumerate() {
				// Members answer in a scrambled order: member ids differ from submission order.
				let member = ((n as u32) * 5 + 3) % 12;
				let mut new = Support::new(member, n as u32);
				for (m, s) in supports.iter_mut() {
					let earlier = &outs[s.order as usize];
					if outputs_agree(earlier, out, tol, 4) {
						Support::link((s, *m), (&mut new, member));
					}
				}
				supports.push((member, new));
				let refs: Vec<&[u8]> = outs[..=n].iter().map(|o| o.as_slice()).collect();
				let reference = find_agreement(&refs, tol, q, 4);
				let incremental = leader(&supports, q);
				match (reference, incremental) {
					(None, None) => {}
					(Some(v), Some((_, s))) => {
						prop_assert_eq!(v.representative as u32, s.order);
						let mut orders: Vec<u32> = supports.iter().filter(|(m, _)| s.has(*m)).map(|(_, x)| x.order).collect();
						orders.sort();
						prop_assert_eq!(v.agreeing.iter().map(|i| *i as u32).collect::<Vec<_>>(), orders);
					}
					(r, i) => prop_assert!(false, "reference {:?} vs incremental {:?}", r, i),
				}
			}
		}
	}
}
