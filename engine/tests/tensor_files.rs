//! Tensor files read by `verity-node inference run` and the `verity` command line, against the
//! inputs `scripts/gen_models.py` writes (`VERITY_TEST_MODELS`, set by `scripts/test.sh`).
use std::path::PathBuf;
use verity_engine::tensor_files::read_tensor;
use verity_primitives::tensor::{decode_owned, Tensor};

fn models() -> PathBuf {
	PathBuf::from(std::env::var_os("VERITY_TEST_MODELS").expect(
		"VERITY_TEST_MODELS: the folder scripts/gen_models.py wrote (scripts/test.sh sets it)",
	))
}

#[test]
fn npy_and_tensor_proto_files_give_the_same_input() {
	let vtns = std::fs::read(models().join("two_io.input.vtns")).unwrap();
	let expected = decode_owned(&vtns, 1 << 20).unwrap();
	for ext in ["npy", "pb"] {
		let tensors: Vec<Tensor> = ["a", "b"]
			.iter()
			.map(|n| read_tensor(&models().join(format!("two_io.{n}.{ext}")), n, None).unwrap())
			.collect();
		assert_eq!(tensors, expected, "{ext}");
	}
}
