//! The `verity` command line's library, for other Rust clients too: a node's JSON-RPC through
//! the clients jsonrpsee generates from the RPC traits ([`node`]), signed transactions ([`tx`])
//! and re-execution of a result with the validators' engine ([`check`]). The JSON views and
//! receipts are `pallet_inference_rpc`'s; tensor files are `verity_engine::tensor_files`.
pub mod check;
pub mod node;
pub mod tx;
