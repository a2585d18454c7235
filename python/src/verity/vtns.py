"""The Verity tensor format (docs/tensor-format.md) for Python clients and tests.

encode({"x": np.array(...)}) -> bytes, decode(bytes) -> {"x": np.array(...)}.
"""
from __future__ import annotations

import struct

import numpy as np

MAGIC = b"VTNS"
VERSION = 1
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.int64, 5: np.uint8, 6: np.bool_}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
NAMES = {1: "f32", 2: "f64", 3: "i32", 4: "i64", 5: "u8", 6: "bool"}


def encode(tensors: dict[str, np.ndarray]) -> bytes:
    out = bytearray(MAGIC)
    out += bytes([VERSION, len(tensors)])
    for name, array in tensors.items():
        array = np.asarray(array)
        code = CODES[array.dtype]
        raw = name.encode()
        out += bytes([len(raw)]) + raw + bytes([code, array.ndim])
        out += b"".join(struct.pack("<I", d) for d in array.shape)
        out += np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
    return bytes(out)


def decode(data: bytes) -> dict[str, np.ndarray]:
    if data[:4] != MAGIC or data[4] != VERSION:
        raise ValueError("not a VTNS v1 tensor list")
    count, pos, out = data[5], 6, {}
    for _ in range(count):
        name_len = data[pos]
        name = data[pos + 1:pos + 1 + name_len].decode()
        pos += 1 + name_len
        code, rank = data[pos], data[pos + 1]
        pos += 2
        shape = struct.unpack_from("<" + "I" * rank, data, pos)
        pos += 4 * rank
        dtype = np.dtype(DTYPES[code]).newbyteorder("<")
        n = int(np.prod(shape, dtype=np.int64)) if rank else 1
        out[name] = np.frombuffer(data, dtype=dtype, count=n, offset=pos).reshape(shape).astype(DTYPES[code])
        pos += n * dtype.itemsize
    if pos != len(data):
        raise ValueError("trailing bytes")
    return out
