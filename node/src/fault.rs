//! Fault injection for the end-to-end suite's byzantine scenario: a validator that answers
//! every request with a corrupted output (still well-formed, so the chain accepts it and must
//! outvote it). Compiled only with the `fault-injection` feature, never into the release node.
use std::sync::Arc;
use verity_primitives::{
	host::{EngineError, InferenceEngine},
	tensor::{self, DType},
};

/// An engine whose outputs are wrong: every tensor's last element is changed far beyond any
/// tolerance (floats: exponent bits flipped; integers: a high bit; bools: negated).
pub struct CorruptingEngine(pub Arc<dyn InferenceEngine>);

impl InferenceEngine for CorruptingEngine {
	fn has_model(&self, model: &[u8; 32]) -> bool {
		self.0.has_model(model)
	}

	fn load_model(&self, model: &[u8; 32], bytes: &[u8]) -> Result<(), EngineError> {
		self.0.load_model(model, bytes)
	}

	fn run(&self, model: &[u8; 32], input: &[u8]) -> Result<Vec<u8>, EngineError> {
		let honest = self.0.run(model, input)?;
		let Ok(mut tensors) = tensor::decode_owned(&honest, usize::MAX) else { return Ok(honest) };
		for t in &mut tensors {
			let Some(last) = t.data.last_mut() else { continue };
			*last ^= if t.dtype == DType::Bool { 0x01 } else { 0x40 };
		}
		log::warn!(target: "verity", "fault injection: submitting a corrupted output");
		Ok(tensor::encode_owned(&tensors))
	}
}
