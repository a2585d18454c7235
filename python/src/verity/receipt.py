"""Receipt verification in pure Python: no Rust, no node of the receipt's origin.

A receipt (`inference_getReceipt`, README "RPC reference") claims a result and carries the SCALE
header of a finalized block and the storage proof of `Inference::Results(requestId)` in that
block's state. `verify(receipt, trusted_url)` checks, as `verity verify --trusted-rpc` does
(pallets/inference/rpc/src/receipt.rs):

1. the header hashes (blake2-256) to the receipt's block hash and carries its block number;
2. the node you trust has finalized that block and has that hash at that height;
3. the storage key is the one of the claimed request id;
4. the proof leads from the header's state root to a value under that key (a walk of the
   Substrate base-16 trie through the proof's nodes, each found by its blake2-256 hash);
5. that value decodes as the result, and every claimed field (model, input hash, output, output
   hash, attesters, dissenters, finalization block, largest difference) equals the proven one,
   whose output hashes to its output hash.

Any failure raises `ReceiptError` naming the check. Checking a GRANDPA justification against a
chain spec alone (`verity verify --chain-spec`) is not done here.
"""
from __future__ import annotations

from dataclasses import dataclass

import xxhash
from scalecodec.utils.ss58 import ss58_decode

from verity.chain import blake2_256

RECEIPT_VERSION = 1
HASH_LEN = 32


class ReceiptError(Exception):
    """A receipt check failed; `check` names it."""

    def __init__(self, check: str, detail: str = ""):
        super().__init__(f"FAIL {check}" + (f": {detail}" if detail else ""))
        self.check = check


def twox(data: bytes, bits: int) -> bytes:
    return b"".join(xxhash.xxh64(data, seed=seed).intdigest().to_bytes(8, "little") for seed in range(bits // 64))


def result_storage_key(request_id: int) -> bytes:
    """`Inference::Results(request_id)`: twox128 of pallet and item, then Twox64Concat of the id."""
    id_bytes = request_id.to_bytes(8, "little")
    return twox(b"Inference", 128) + twox(b"Results", 128) + twox(id_bytes, 64) + id_bytes


class _Reader:
    """SCALE reading, bounds-checked: running past the end raises ReceiptError(`what`)."""

    def __init__(self, data: bytes, what: str):
        self.data, self.at, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise ReceiptError(self.what, "truncated")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def compact(self) -> int:
        first = self.byte()
        mode = first & 3
        if mode == 0:
            return first >> 2
        if mode == 1:
            return int.from_bytes(bytes([first]) + self.take(1), "little") >> 2
        if mode == 2:
            return int.from_bytes(bytes([first]) + self.take(3), "little") >> 2
        return int.from_bytes(self.take((first >> 2) + 4), "little")

    def u(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")


# --- the Substrate trie (sp-trie's NodeCodec, state versions 0 and 1) -----------------------

def _size(first: int, reader: _Reader, prefix_bits: int) -> int:
    """sp-trie `decode_size`: the nibble count in the header byte's low bits, continued by
    bytes of 255 while they are 255."""
    max_value = 0xFF >> prefix_bits
    size = first & max_value
    if size < max_value:
        return size
    size -= 1
    while True:
        n = reader.byte()
        if n < 255:
            return size + n + 1
        size += 255


@dataclass
class _Node:
    partial: list[int]
    value: bytes | None = None          # an inline value
    value_hash: bytes | None = None     # a value stored in its own node (state version 1)
    children: list[bytes | None] | None = None  # per nibble: a 32-byte hash or inline node bytes


def _nibbles(data: bytes) -> list[int]:
    return [n for b in data for n in (b >> 4, b & 0xF)]


def decode_node(data: bytes) -> _Node | None:
    """One encoded trie node; None for the empty trie."""
    r = _Reader(data, "proof node")
    first = r.byte()
    if first == 0:
        return None
    kind = first >> 6
    if kind == 0b01:
        shape, count = "leaf", _size(first, r, 2)
    elif kind == 0b11:
        shape, count = "branch+value", _size(first, r, 2)
    elif kind == 0b10:
        shape, count = "branch", _size(first, r, 2)
    elif first >> 5 == 0b001:
        shape, count = "leaf+hashed", _size(first, r, 3)
    elif first >> 4 == 0b0001:
        shape, count = "branch+hashed", _size(first, r, 4)
    else:
        raise ReceiptError("proof node", f"header byte {first:#04x}")
    partial_bytes = r.take((count + 1) // 2)
    padding = count % 2
    if padding and partial_bytes[0] & 0xF0:
        raise ReceiptError("proof node", "bad partial key padding")
    node = _Node(_nibbles(partial_bytes)[padding:])
    if shape.startswith("leaf"):
        if shape == "leaf":
            node.value = r.take(r.compact())
        else:
            node.value_hash = r.take(HASH_LEN)
    else:
        bitmap = r.u(2)
        if shape == "branch+value":
            node.value = r.take(r.compact())
        elif shape == "branch+hashed":
            node.value_hash = r.take(HASH_LEN)
        node.children = [r.take(r.compact()) if bitmap >> i & 1 else None for i in range(16)]
    if r.at != len(data):
        raise ReceiptError("proof node", "bytes after the node")
    return node


def read_proof(root: bytes, proof: list[bytes], key: bytes) -> bytes | None:
    """The value under `key` in the trie of root `root`, from the proof's nodes (None: the proof
    shows there is none). Raises ReceiptError("proof") when the proof lacks a node on the way."""
    nodes = {blake2_256(node): node for node in proof}
    remaining = _nibbles(key)
    encoded = nodes.get(root)
    if encoded is None:
        raise ReceiptError("proof", "no node for the state root")
    while True:
        node = decode_node(encoded)
        if node is None or remaining[:len(node.partial)] != node.partial:
            return None
        remaining = remaining[len(node.partial):]
        if node.children is None and remaining:  # a leaf for another key
            return None
        if not remaining:
            if node.value_hash is not None:
                value = nodes.get(node.value_hash)
                if value is None:
                    raise ReceiptError("proof", "the value's node is missing")
                return value
            return node.value
        child = node.children[remaining[0]]
        remaining = remaining[1:]
        if child is None:
            return None
        if len(child) == HASH_LEN:
            encoded = nodes.get(child)
            if encoded is None:
                raise ReceiptError("proof", "a node on the key's path is missing")
        else:
            encoded = child


# --- the receipt ----------------------------------------------------------------------------

def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def decode_header(header: bytes) -> tuple[int, bytes]:
    """(number, state root) of a SCALE header: parent hash, compact number, state root, ..."""
    r = _Reader(header, "header")
    r.take(HASH_LEN)
    number = r.compact()
    return number, r.take(HASH_LEN)


def decode_result(value: bytes) -> dict:
    """`InferenceResult` as stored: output, output hash, model, input hash, attesters,
    dissenters (each an account and an `infr` key), attested_at (u32), max difference (u64)."""
    r = _Reader(value, "proven value")
    executors = lambda: [(r.take(32), r.take(32)) for _ in range(r.compact())]  # noqa: E731
    result = {"output": r.take(r.compact()), "output_hash": r.take(32), "model": r.take(32),
              "input_hash": r.take(32), "attesters": executors(), "dissenters": executors(),
              "attested_at": r.u(4), "max_difference_e9": r.u(8)}
    if r.at != len(value):
        raise ReceiptError("proven value", "bytes after the result")
    return result


def _claimed_executors(entries: list[dict]) -> list[tuple[bytes, bytes]]:
    return [(_hex(ss58_decode(e["account"])), _hex(e["key"])) for e in entries]


def verify_proof(receipt: dict) -> dict:
    """Checks 1, 3, 4 and 5 (everything but the trusted node): returns the proven result."""
    if receipt.get("version") != RECEIPT_VERSION:
        raise ReceiptError("version", f"unsupported receipt version {receipt.get('version')}")
    header = _hex(receipt["header"])
    if blake2_256(header) != _hex(receipt["blockHash"]):
        raise ReceiptError("header hash", "the header does not hash to the block hash")
    number, state_root = decode_header(header)
    if number != receipt["blockNumber"]:
        raise ReceiptError("block number", f"the header is block #{number}")
    claimed = receipt["result"]
    key = result_storage_key(claimed["requestId"])
    if _hex(receipt["storageKey"]) != key:
        raise ReceiptError("storage key", "not the key of the claimed request")
    value = read_proof(state_root, [_hex(n) for n in receipt["proof"]], key)
    if value is None:
        raise ReceiptError("no result in state", "the proof shows no result under the key")
    proven = decode_result(value)
    fields = [("model", proven["model"] == _hex(claimed["model"])),
              ("input hash", proven["input_hash"] == _hex(claimed["inputHash"])),
              ("output", proven["output"] == _hex(claimed["output"])),
              ("output hash", proven["output_hash"] == _hex(claimed["outputHash"])),
              ("attesters", proven["attesters"] == _claimed_executors(claimed["attesters"])),
              ("dissenters", proven["dissenters"] == _claimed_executors(claimed["dissenters"])),
              ("finalization block", proven["attested_at"] == claimed["attestedAt"]),
              ("largest difference", proven["max_difference_e9"] == claimed.get("maxDifferenceE9", 0))]
    for field, same in fields:
        if not same:
            raise ReceiptError("result mismatch", f"the claimed {field} is not the proven one")
    if blake2_256(proven["output"]) != proven["output_hash"]:
        raise ReceiptError("output hash", "the proven output does not hash to its output hash")
    return proven


def verify(receipt: dict, rpc) -> dict:
    """Verifies `receipt` against the node `rpc` answers for (a callable `rpc(method, params)`,
    e.g. `Client.rpc` of a client of your own node): it has finalized the receipt's block, with
    that hash at that height. Returns the proven result; raises ReceiptError."""
    proven = verify_proof(receipt)
    finalized = rpc("chain_getHeader", [rpc("chain_getFinalizedHead", [])])
    finalized_number = int(finalized["number"], 16)
    if receipt["blockNumber"] > finalized_number:
        raise ReceiptError("not finalized",
                           f"block #{receipt['blockNumber']} is above the trusted node's finalized #{finalized_number}")
    if _hex(rpc("chain_getBlockHash", [receipt["blockNumber"]]) or "0x") != _hex(receipt["blockHash"]):
        raise ReceiptError("not canonical", "the trusted node has another block at that height")
    return proven
