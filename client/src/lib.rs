//! The `verity` command line's library, for other Rust clients too: a node's JSON-RPC through
//! the clients jsonrpsee generates from the RPC traits ([`node`]), signed transactions ([`tx`])
//! re-execution of a result with the validators' engine ([`check`]) and typed Solidity and
//! TypeScript bindings of a model ([`bindings`]). The JSON views and
//! receipts are `pallet_inference_rpc`'s; tensor files are `verity_engine::tensor_files`.
pub mod bindings;
pub mod check;
pub mod node;
pub mod tx;
