// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import "./VerityTensor.sol";

/// @title VerityTensor's encoders and readers, callable from tests
/// @notice Test-only: examples/hardhat/test/tensor.js checks each against bytes the Rust and
/// Python encoders write (docs/tensor-format.md).
contract TensorProbe {
    function f16(uint32[] memory shape, int256[] memory values, uint8 decimals) external pure returns (bytes memory) {
        return one(VerityTensor.f16("h", shape, values, decimals));
    }

    function bf16(uint32[] memory shape, int256[] memory values, uint8 decimals) external pure returns (bytes memory) {
        return one(VerityTensor.bf16("b", shape, values, decimals));
    }

    /// @notice i8, i16, u16, u32, u64 and string tensors in one list, in that order.
    function integersAndText(
        int8[] memory a,
        int16[] memory b,
        uint16[] memory c,
        uint32[] memory d,
        uint64[] memory e,
        string[] memory s
    ) external pure returns (bytes memory) {
        bytes[] memory list = new bytes[](6);
        list[0] = VerityTensor.i8("a", row(a.length), a);
        list[1] = VerityTensor.i16("b", row(b.length), b);
        list[2] = VerityTensor.u16("c", row(c.length), c);
        list[3] = VerityTensor.u32("d", row(d.length), d);
        list[4] = VerityTensor.u64("e", row(e.length), e);
        list[5] = VerityTensor.text("s", row(s.length), s);
        return VerityTensor.tensorList(list);
    }

    function readF16(bytes memory encoded, uint256 tensor, uint256 index, uint8 decimals) external pure returns (int256) {
        return VerityTensor.readF16(encoded, tensor, index, decimals);
    }

    function readBF16(bytes memory encoded, uint256 tensor, uint256 index, uint8 decimals) external pure returns (int256) {
        return VerityTensor.readBF16(encoded, tensor, index, decimals);
    }

    /// @notice Element `index` of each tensor of an `integersAndText` list.
    function readAll(bytes memory encoded, uint256 index)
        external
        pure
        returns (int8, int16, uint16, uint32, uint64, string memory)
    {
        return (
            VerityTensor.readI8(encoded, 0, index),
            VerityTensor.readI16(encoded, 1, index),
            VerityTensor.readU16(encoded, 2, index),
            VerityTensor.readU32(encoded, 3, index),
            VerityTensor.readU64(encoded, 4, index),
            VerityTensor.readString(encoded, 5, index)
        );
    }

    /// @notice A string tensor first, then a u32 one: reading the second skips the strings.
    function u32AfterText(string[] memory s, uint32[] memory d, uint256 index) external pure returns (uint32) {
        bytes[] memory list = new bytes[](2);
        list[0] = VerityTensor.text("s", row(s.length), s);
        list[1] = VerityTensor.u32("d", row(d.length), d);
        return VerityTensor.readU32(VerityTensor.tensorList(list), 1, index);
    }

    function one(bytes memory tensor) private pure returns (bytes memory) {
        bytes[] memory list = new bytes[](1);
        list[0] = tensor;
        return VerityTensor.tensorList(list);
    }

    function row(uint256 n) private pure returns (uint32[] memory shape) {
        shape = new uint32[](1);
        shape[0] = uint32(n);
    }
}
