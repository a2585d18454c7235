"""The Verity tensor format (docs/tensor-format.md) for Python clients and tests.

encode({"x": np.array(...)}) -> bytes, decode(bytes) -> {"x": np.array(...)}.
Every element type of the format: NumPy's own, bfloat16 through `ml_dtypes` (installed with
`onnx`), and strings (NumPy `str` or `object` arrays; decoded as `object` arrays of `str`, as
onnxruntime returns them).
"""
from __future__ import annotations

import struct

import numpy as np

MAGIC = b"VTNS"
VERSION = 1
STRING = 14
NAMES = {1: "f32", 2: "f64", 3: "i32", 4: "i64", 5: "u8", 6: "bool", 7: "f16", 8: "bf16", 9: "i8",
         10: "i16", 11: "u16", 12: "u32", 13: "u64", 14: "string"}
_NUMPY = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.int64, 5: np.uint8, 6: np.bool_, 7: np.float16,
          9: np.int8, 10: np.int16, 11: np.uint16, 12: np.uint32, 13: np.uint64}


def _bfloat16():
    import ml_dtypes  # noqa: PLC0415 (only bf16 tensors need it)
    return np.dtype(ml_dtypes.bfloat16)


def _numpy_dtype(code: int) -> np.dtype:
    if code == 8:
        return _bfloat16()
    if code not in _NUMPY:
        raise ValueError(f"unknown dtype code {code}")
    return np.dtype(_NUMPY[code])


def code_of(dtype: np.dtype) -> int:
    """The format's code of a NumPy dtype."""
    if dtype.kind in "UO":
        return STRING
    for code, numpy_type in _NUMPY.items():
        if dtype == np.dtype(numpy_type):
            return code
    if dtype.name == "bfloat16":
        return 8
    raise ValueError(f"no Verity tensor type for NumPy dtype {dtype}")


def encode(tensors: dict[str, np.ndarray]) -> bytes:
    out = bytearray(MAGIC)
    out += bytes([VERSION, len(tensors)])
    for name, array in tensors.items():
        array = np.asarray(array)
        code = code_of(array.dtype)
        raw = name.encode()
        out += bytes([len(raw)]) + raw + bytes([code, array.ndim])
        out += b"".join(struct.pack("<I", d) for d in array.shape)
        if code == STRING:
            for element in array.reshape(-1):
                if not isinstance(element, str):
                    raise ValueError(f"tensor {name!r}: a string tensor holds str, not {type(element).__name__}")
                text = element.encode()
                out += struct.pack("<I", len(text)) + text
        else:
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
        n = int(np.prod(shape, dtype=np.int64)) if rank else 1
        if code == STRING:
            strings = []
            for _ in range(n):
                (length,) = struct.unpack_from("<I", data, pos)
                strings.append(data[pos + 4:pos + 4 + length].decode())
                pos += 4 + length
            out[name] = np.array(strings, dtype=object).reshape(shape)
            continue
        dtype = _numpy_dtype(code)
        little = dtype.newbyteorder("<") if dtype.byteorder not in "|" else dtype
        out[name] = np.frombuffer(data, dtype=little, count=n, offset=pos).reshape(shape).astype(dtype)
        pos += n * dtype.itemsize
    if pos != len(data):
        raise ValueError("trailing bytes")
    return out
