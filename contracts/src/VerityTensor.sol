// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// @title Verity tensors for contract authors
/// @notice Builds model inputs and reads model outputs in the Verity tensor format
/// (docs/tensor-format.md) so contracts never handle raw bytes. Floating-point data is given
/// and returned as fixed-point integers: `value = int / 10**decimals`. Conversion to f32 rounds
/// toward zero (at most one unit in the last place); decoding is exact.
library VerityTensor {
    uint8 internal constant F32 = 1;
    uint8 internal constant I32 = 3;
    uint8 internal constant I64 = 4;
    uint8 internal constant U8 = 5;
    uint8 internal constant BOOL = 6;
    uint8 internal constant F16 = 7;
    uint8 internal constant BF16 = 8;
    uint8 internal constant I8 = 9;
    uint8 internal constant I16 = 10;
    uint8 internal constant U16 = 11;
    uint8 internal constant U32 = 12;
    uint8 internal constant U64 = 13;
    uint8 internal constant STRING = 14;

    error BadTensor(string reason);

    /// @notice One f32 tensor from fixed-point values (row-major), ready for `tensorList`.
    function f32(string memory name, uint32[] memory shape, int256[] memory values, uint8 decimals)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory data = new bytes(values.length * 4);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 4, toF32Bits(values[i], decimals), 4);
        return bytes.concat(_header(name, F32, shape, values.length), data);
    }

    /// @notice One i64 tensor (row-major), ready for `tensorList`.
    function i64(string memory name, uint32[] memory shape, int64[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 8);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 8, uint64(values[i]), 8);
        return bytes.concat(_header(name, I64, shape, values.length), data);
    }

    /// @notice One i32 tensor (row-major), ready for `tensorList`.
    function i32(string memory name, uint32[] memory shape, int32[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 4);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 4, uint32(values[i]), 4);
        return bytes.concat(_header(name, I32, shape, values.length), data);
    }

    /// @notice One u8 tensor (row-major), ready for `tensorList`.
    function u8(string memory name, uint32[] memory shape, uint8[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length);
        for (uint256 i = 0; i < values.length; i++) data[i] = bytes1(values[i]);
        return bytes.concat(_header(name, U8, shape, values.length), data);
    }

    /// @notice One bool tensor (row-major), ready for `tensorList`.
    function boolean(string memory name, uint32[] memory shape, bool[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length);
        for (uint256 i = 0; i < values.length; i++) data[i] = values[i] ? bytes1(0x01) : bytes1(0x00);
        return bytes.concat(_header(name, BOOL, shape, values.length), data);
    }

    /// @notice One f16 (IEEE half precision) tensor from fixed-point values, rounded toward zero.
    function f16(string memory name, uint32[] memory shape, int256[] memory values, uint8 decimals)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory data = new bytes(values.length * 2);
        for (uint256 i = 0; i < values.length; i++) {
            _putLe(data, i * 2, f32BitsToF16(toF32Bits(values[i], decimals)), 2);
        }
        return bytes.concat(_header(name, F16, shape, values.length), data);
    }

    /// @notice One bf16 (bfloat16) tensor from fixed-point values, rounded toward zero.
    function bf16(string memory name, uint32[] memory shape, int256[] memory values, uint8 decimals)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory data = new bytes(values.length * 2);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 2, toF32Bits(values[i], decimals) >> 16, 2);
        return bytes.concat(_header(name, BF16, shape, values.length), data);
    }

    /// @notice One i8 tensor (row-major), ready for `tensorList`.
    function i8(string memory name, uint32[] memory shape, int8[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length);
        for (uint256 i = 0; i < values.length; i++) data[i] = bytes1(uint8(values[i]));
        return bytes.concat(_header(name, I8, shape, values.length), data);
    }

    /// @notice One i16 tensor (row-major), ready for `tensorList`.
    function i16(string memory name, uint32[] memory shape, int16[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 2);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 2, uint16(values[i]), 2);
        return bytes.concat(_header(name, I16, shape, values.length), data);
    }

    /// @notice One u16 tensor (row-major), ready for `tensorList`.
    function u16(string memory name, uint32[] memory shape, uint16[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 2);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 2, values[i], 2);
        return bytes.concat(_header(name, U16, shape, values.length), data);
    }

    /// @notice One u32 tensor (row-major), ready for `tensorList`.
    function u32(string memory name, uint32[] memory shape, uint32[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 4);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 4, values[i], 4);
        return bytes.concat(_header(name, U32, shape, values.length), data);
    }

    /// @notice One u64 tensor (row-major), ready for `tensorList`.
    function u64(string memory name, uint32[] memory shape, uint64[] memory values) internal pure returns (bytes memory) {
        bytes memory data = new bytes(values.length * 8);
        for (uint256 i = 0; i < values.length; i++) _putLe(data, i * 8, values[i], 8);
        return bytes.concat(_header(name, U64, shape, values.length), data);
    }

    /// @notice One string tensor (row-major, UTF-8 the caller vouches for), ready for `tensorList`.
    function text(string memory name, uint32[] memory shape, string[] memory values) internal pure returns (bytes memory) {
        bytes memory data;
        for (uint256 i = 0; i < values.length; i++) {
            data = bytes.concat(data, _le32(uint32(bytes(values[i]).length)), bytes(values[i]));
        }
        return bytes.concat(_header(name, STRING, shape, values.length), data);
    }

    /// @notice A whole input: the magic, the version and the given tensors in order.
    function tensorList(bytes[] memory tensors) internal pure returns (bytes memory out) {
        if (tensors.length > 16) revert BadTensor("at most 16 tensors");
        out = abi.encodePacked("VTNS", uint8(1), uint8(tensors.length));
        for (uint256 i = 0; i < tensors.length; i++) out = bytes.concat(out, tensors[i]);
    }

    /// @notice A one-tensor input of shape [1, n] from fixed-point values.
    function f32Row(string memory name, int256[] memory values, uint8 decimals) internal pure returns (bytes memory) {
        uint32[] memory shape = new uint32[](2);
        shape[0] = 1;
        shape[1] = uint32(values.length);
        bytes[] memory list = new bytes[](1);
        list[0] = f32(name, shape, values, decimals);
        return tensorList(list);
    }

    /// @notice Element `index` of the output tensor number `tensor`, an f32 tensor, as fixed point.
    function readF32(bytes memory encoded, uint256 tensor, uint256 index, uint8 decimals) internal pure returns (int256) {
        (uint256 offset, uint8 dtype, uint256 count) = _locate(encoded, tensor);
        if (dtype != F32) revert BadTensor("not an f32 tensor");
        if (index >= count) revert BadTensor("index out of range");
        return fromF32Bits(uint32(_leUint(encoded, offset + index * 4, 4)), decimals);
    }

    /// @notice Element `index` of the output tensor number `tensor`, an i64 tensor.
    function readI64(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (int64) {
        (uint256 offset, uint8 dtype, uint256 count) = _locate(encoded, tensor);
        if (dtype != I64) revert BadTensor("not an i64 tensor");
        if (index >= count) revert BadTensor("index out of range");
        return int64(uint64(_leUint(encoded, offset + index * 8, 8)));
    }

    /// @notice Element `index` of the output tensor number `tensor`, an i32 tensor.
    function readI32(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (int32) {
        return int32(uint32(_element(encoded, tensor, index, I32, 4)));
    }

    /// @notice Element `index` of the output tensor number `tensor`, a u8 tensor.
    function readU8(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (uint8) {
        return uint8(_element(encoded, tensor, index, U8, 1));
    }

    /// @notice Element `index` of the output tensor number `tensor`, an f16 tensor, as fixed point.
    function readF16(bytes memory encoded, uint256 tensor, uint256 index, uint8 decimals) internal pure returns (int256) {
        return fromF32Bits(f16BitsToF32(uint16(_element(encoded, tensor, index, F16, 2))), decimals);
    }

    /// @notice Element `index` of the output tensor number `tensor`, a bf16 tensor, as fixed point.
    function readBF16(bytes memory encoded, uint256 tensor, uint256 index, uint8 decimals) internal pure returns (int256) {
        return fromF32Bits(uint32(_element(encoded, tensor, index, BF16, 2)) << 16, decimals);
    }

    /// @notice Element `index` of the output tensor number `tensor`, an i8 tensor.
    function readI8(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (int8) {
        return int8(uint8(_element(encoded, tensor, index, I8, 1)));
    }

    /// @notice Element `index` of the output tensor number `tensor`, an i16 tensor.
    function readI16(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (int16) {
        return int16(uint16(_element(encoded, tensor, index, I16, 2)));
    }

    /// @notice Element `index` of the output tensor number `tensor`, a u16 tensor.
    function readU16(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (uint16) {
        return uint16(_element(encoded, tensor, index, U16, 2));
    }

    /// @notice Element `index` of the output tensor number `tensor`, a u32 tensor.
    function readU32(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (uint32) {
        return uint32(_element(encoded, tensor, index, U32, 4));
    }

    /// @notice Element `index` of the output tensor number `tensor`, a u64 tensor.
    function readU64(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (uint64) {
        return uint64(_element(encoded, tensor, index, U64, 8));
    }

    /// @notice Element `index` of the output tensor number `tensor`, a string tensor.
    function readString(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (string memory out) {
        (uint256 offset, uint8 dtype, uint256 count) = _locate(encoded, tensor);
        if (dtype != STRING) revert BadTensor("not a string tensor");
        if (index >= count) revert BadTensor("index out of range");
        for (uint256 i = 0; i < index; i++) offset += 4 + _leUint(encoded, offset, 4);
        uint256 len = _leUint(encoded, offset, 4);
        if (offset + 4 + len > encoded.length) revert BadTensor("truncated");
        out = new string(len);
        for (uint256 i = 0; i < len; i++) bytes(out)[i] = encoded[offset + 4 + i];
    }

    /// @notice Element `index` of the output tensor number `tensor`, a bool tensor.
    function readBool(bytes memory encoded, uint256 tensor, uint256 index) internal pure returns (bool) {
        return _element(encoded, tensor, index, BOOL, 1) != 0;
    }

    /// @notice IEEE-754 binary32 bits of `value / 10**decimals`, rounded toward zero.
    function toF32Bits(int256 value, uint8 decimals) internal pure returns (uint32) {
        if (value == 0) return 0;
        uint32 sign = value < 0 ? uint32(1) << 31 : 0;
        uint256 magnitude = uint256(value < 0 ? -value : value);
        // 64 fractional bits of magnitude / 10**decimals.
        uint256 q = (magnitude << 64) / (10 ** uint256(decimals));
        if (q == 0) return sign; // below the smallest float we bother with
        uint256 msb = _msb(q);
        int256 exponent = int256(msb) - 64;
        if (exponent > 127) revert BadTensor("value too large for f32");
        if (exponent < -126) return sign; // subnormal: flush to zero
        uint256 mantissa = msb >= 23 ? (q >> (msb - 23)) : (q << (23 - msb));
        return sign | (uint32(uint256(exponent + 127)) << 23) | uint32(mantissa & 0x7FFFFF);
    }

    /// @notice `bits` (IEEE-754 binary32) as a fixed-point integer with `decimals` decimals,
    /// rounded toward zero. NaN and infinities revert.
    function fromF32Bits(uint32 bits, uint8 decimals) internal pure returns (int256) {
        uint256 exponent = (bits >> 23) & 0xFF;
        if (exponent == 0xFF) revert BadTensor("NaN or infinity");
        uint256 mantissa = bits & 0x7FFFFF;
        if (exponent == 0) {
            if (mantissa == 0) return 0;
            exponent = 1; // subnormal
        } else {
            mantissa |= 1 << 23;
        }
        uint256 scaled = mantissa * (10 ** uint256(decimals));
        int256 shift = int256(exponent) - 127 - 23;
        uint256 magnitude = shift >= 0 ? scaled << uint256(shift) : scaled >> uint256(-shift);
        return bits >> 31 == 1 ? -int256(magnitude) : int256(magnitude);
    }

    /// @notice IEEE half-precision bits of binary32 `bits`, rounded toward zero (below the
    /// smallest normal half: zero).
    function f32BitsToF16(uint32 bits) internal pure returns (uint16) {
        uint16 sign = uint16(bits >> 16) & 0x8000;
        uint256 exponent = (bits >> 23) & 0xFF;
        if (exponent == 0xFF) revert BadTensor("NaN or infinity");
        if (exponent < 113) return sign; // below 2^-14
        if (exponent > 142) revert BadTensor("value too large for f16");
        return sign | uint16((exponent - 112) << 10) | uint16((bits >> 13) & 0x3FF);
    }

    /// @notice Binary32 bits of IEEE half-precision `bits` (exact).
    function f16BitsToF32(uint16 bits) internal pure returns (uint32) {
        uint32 sign = uint32(bits & 0x8000) << 16;
        uint32 exponent = (bits >> 10) & 0x1F;
        uint32 mantissa = bits & 0x3FF;
        if (exponent == 0x1F) return sign | 0x7F800000 | (mantissa << 13);
        if (exponent == 0) {
            if (mantissa == 0) return sign;
            // Subnormal (mantissa x 2^-24): normalize, k shifts to the implicit bit.
            uint32 k = 0;
            while (mantissa & 0x400 == 0) {
                mantissa <<= 1;
                k++;
            }
            return sign | ((113 - k) << 23) | ((mantissa & 0x3FF) << 13);
        }
        return sign | ((exponent + 112) << 23) | (mantissa << 13);
    }

    /// The tensor header: name, dtype, rank and dimensions; `count` must be their product.
    function _header(string memory name, uint8 dtype, uint32[] memory shape, uint256 count)
        private
        pure
        returns (bytes memory head)
    {
        if (bytes(name).length > 255) revert BadTensor("name longer than 255 bytes");
        if (shape.length > 255) revert BadTensor("rank above 255");
        uint256 product = 1;
        for (uint256 i = 0; i < shape.length; i++) product *= shape[i];
        if (product != count) revert BadTensor("shape does not match the number of values");
        head = abi.encodePacked(uint8(bytes(name).length), name, dtype, uint8(shape.length));
        for (uint256 i = 0; i < shape.length; i++) head = bytes.concat(head, _le32(shape[i]));
    }

    function _putLe(bytes memory data, uint256 pos, uint256 value, uint256 len) private pure {
        for (uint256 b = 0; b < len; b++) data[pos + b] = bytes1(uint8(value >> (8 * b)));
    }

    function _element(bytes memory encoded, uint256 tensor, uint256 index, uint8 want, uint256 size)
        private
        pure
        returns (uint256)
    {
        (uint256 offset, uint8 dtype, uint256 count) = _locate(encoded, tensor);
        if (dtype != want) revert BadTensor("not a tensor of that dtype");
        if (index >= count) revert BadTensor("index out of range");
        return _leUint(encoded, offset + index * size, size);
    }

    function _locate(bytes memory encoded, uint256 tensor) private pure returns (uint256 offset, uint8 dtype, uint256 count) {
        if (encoded.length < 6 || encoded[0] != "V" || encoded[1] != "T" || encoded[2] != "N" || encoded[3] != "S") {
            revert BadTensor("not a Verity tensor list");
        }
        uint8 n = uint8(encoded[5]);
        if (tensor >= n) revert BadTensor("no such tensor");
        offset = 6;
        for (uint256 t = 0; t <= tensor; t++) {
            offset += 1 + uint8(encoded[offset]); // name
            dtype = uint8(encoded[offset]);
            uint8 rank = uint8(encoded[offset + 1]);
            offset += 2;
            count = 1;
            for (uint256 d = 0; d < rank; d++) {
                count *= _leUint(encoded, offset, 4);
                offset += 4;
            }
            if (t < tensor) offset += _dataLength(encoded, offset, dtype, count);
        }
        if (offset + count * _size(dtype) > encoded.length) revert BadTensor("truncated");
    }

    /// Bytes of a tensor's data: its element size times the count, or each string's length.
    function _dataLength(bytes memory encoded, uint256 offset, uint8 dtype, uint256 count)
        private
        pure
        returns (uint256 length)
    {
        if (dtype != STRING) return count * _size(dtype);
        for (uint256 i = 0; i < count; i++) length += 4 + _leUint(encoded, offset + length, 4);
    }

    /// Bytes per element (a string's: its length prefix).
    function _size(uint8 dtype) private pure returns (uint256) {
        if (dtype == F32 || dtype == I32 || dtype == U32 || dtype == STRING) return 4;
        if (dtype == 2 || dtype == I64 || dtype == U64) return 8;
        if (dtype == F16 || dtype == BF16 || dtype == I16 || dtype == U16) return 2;
        if (dtype == U8 || dtype == BOOL || dtype == I8) return 1;
        revert BadTensor("unknown dtype");
    }

    function _leUint(bytes memory b, uint256 pos, uint256 len) private pure returns (uint256 v) {
        if (pos + len > b.length) revert BadTensor("truncated");
        for (uint256 i = 0; i < len; i++) v |= uint256(uint8(b[pos + i])) << (8 * i);
    }

    function _le32(uint32 v) private pure returns (bytes memory) {
        return abi.encodePacked(uint8(v), uint8(v >> 8), uint8(v >> 16), uint8(v >> 24));
    }

    function _msb(uint256 x) private pure returns (uint256 r) {
        while (x > 1) {
            x >>= 1;
            r++;
        }
    }
}
