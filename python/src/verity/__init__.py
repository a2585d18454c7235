"""Verity's Python side, one package for users, the tests and the scripts.

- `verity.Client` (`verity.client`): the SDK. `Client(url, suri=...)`, `.register(path)` a model,
  `.infer(model_id, {"x": array})` to numpy outputs and their provenance (`Inference`),
  `.receipt(request_id)` and `.verify(receipt, trusted_url)`; errors are `VerityError`.
- `verity.vtns`: the Verity tensor format (docs/tensor-format.md): `encode` a dict of numpy
  arrays to bytes, `decode` bytes back.
- `verity.chain`: lower-level helpers for pallet-inference over substrate-interface: `connect`,
  `submit`, `register_model`, `request`, `wait_result`, event helpers and the `verity` CLI wrapper.
- `verity.localnet`: starts a local network of verity-node processes from a zombienet TOML
  (`python -m verity.localnet`; standard library only).

Importing `verity` imports none of them (`Client`, `Inference` and `VerityError` load
`verity.client` on first use), so `verity.localnet` works without numpy or substrate-interface.
"""

__all__ = ["Client", "Inference", "VerityError"]


def __getattr__(name: str):
    if name in __all__:
        from verity import client
        return getattr(client, name)
    raise AttributeError(f"module 'verity' has no attribute {name!r}")
