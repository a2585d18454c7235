// VerityTensor's f16, bf16, narrow-integer and string helpers, through contracts/src/TensorProbe.sol,
// against the bytes of docs/tensor-format.md (what the Rust and Python encoders write). Needs no
// model: runs on Hardhat's own network (`npx hardhat test test/tensor.js --network hardhat`) and
// on Verity's (pallet-revive, through eth-rpc) with the lending test.
const assert = require("node:assert/strict");
const { ethers } = require("hardhat");

const hex = (s) => s.replace(/\s+/g, "");
const le32 = (n) => n.toString(16).padStart(8, "0").match(/../g).reverse().join("");

describe("VerityTensor helpers for every element type", function () {
  let probe;
  before(async function () {
    probe = await ethers.deployContract("TensorProbe");
    await probe.waitForDeployment();
  });

  it("encodes f16 and bf16 from fixed point, rounding toward zero, and reads them back", async function () {
    // 1.0, -2.0, 65504 (the largest half), 0.3333 (0x3555 = 0.33325..., toward zero), 4 decimals.
    const values = [10_000n, -20_000n, 655_040_000n, 3_333n];
    const f16 = await probe.f16([4], values, 4);
    assert.equal(f16, "0x" + hex("56544e53 01 01 01 68 07 01 04000000 003c 00c0 ff7b 5535"));
    const back = await Promise.all(values.map((_, i) => probe.readF16(f16, 0, i, 4)));
    assert.deepEqual(back, [10_000n, -20_000n, 655_040_000n, 3_332n]);
    const bf16 = await probe.bf16([2], [10_000n, -31_407n], 4); // 1.0, -3.1407 -> 0xc049 (-3.140625, toward zero)
    assert.equal(bf16, "0x" + hex("56544e53 01 01 01 62 08 01 02000000 803f 49c0"));
    assert.equal(await probe.readBF16(bf16, 0, 1, 6), -3_140_625n);
    await assert.rejects(probe.f16([1], [700_000_000n], 4)); // 70000: beyond the largest half
  });

  it("encodes i8, i16, u16, u32, u64 and strings as the format does, and reads each back", async function () {
    const strings = ["", "héllo"];
    const list = await probe.integersAndText([-128, 127], [-32768, 7], [65535, 1], [4294967295n, 2], [18446744073709551615n, 3n], strings);
    const utf8 = Buffer.from("héllo").toString("hex");
    const expected = "56544e53 01 06" +
      "01 61 09 01 02000000 807f" +
      "01 62 0a 01 02000000 0080 0700" +
      "01 63 0b 01 02000000 ffff 0100" +
      "01 64 0c 01 02000000 ffffffff 02000000" +
      "01 65 0d 01 02000000 ffffffffffffffff 0300000000000000" +
      "01 73 0e 01 02000000 00000000 " + le32(6) + utf8;
    assert.equal(list, "0x" + hex(expected));
    const first = await probe.readAll(list, 0);
    assert.deepEqual([...first], [-128n, -32768n, 65535n, 4294967295n, 18446744073709551615n, ""]);
    const second = await probe.readAll(list, 1);
    assert.deepEqual([...second], [127n, 7n, 1n, 2n, 3n, "héllo"]);
    await assert.rejects(probe.readAll(list, 2)); // index out of range
    assert.equal(await probe.u32AfterText(["abc", "", "de"], [5, 9], 1), 9n);
  });
});
