// Deploys the repository's CreditLending on a Verity network, applies for a loan and waits
// until the chain's callback decides it from the validators' finalized score.
//
//   VERITY_ETH_RPC=http://127.0.0.1:8545 VERITY_MODEL=0x<id of linear.onnx> [VERITY_MAX_FEE=<native units>] \
//     npx hardhat test --network verity
const assert = require("node:assert/strict");
const { ethers, network } = require("hardhat");

// The credit model (linear.onnx) registered on chain, and the most the contract pays per
// request, in the chain's native units (default 0.01 VRT; the model's own fee is charged).
const MODEL = process.env.VERITY_MODEL;
const MAX_FEE = BigInt(process.env.VERITY_MAX_FEE || 10_000_000_000n);
const FEATURES = [1_500_000n, -250_000n, 3_000_000n, 420_000n]; // 1.5, -0.25, 3.0, 0.42 (6 decimals)
const DECIDE_TIMEOUT_MS = 120_000;

describe("CreditLending on Verity", function () {
  before(function () {
    assert.ok(MODEL && /^0x[0-9a-fA-F]{64}$/.test(MODEL), "set VERITY_MODEL to the id (0x + 64 hex) of the registered linear.onnx");
  });

  it("requests inference and is decided by the chain's callback", async function () {
    const [borrower] = await ethers.getSigners();
    const { chainId } = await ethers.provider.getNetwork();
    console.log(`      network ${network.name} (chain id ${chainId}), block ${await ethers.provider.getBlockNumber()}, borrower ${borrower.address}`);

    // The contract pays inference fees from its own balance: fund it at deployment.
    const lending = await ethers.deployContract("CreditLending", [MODEL, 0n, MAX_FEE], { value: ethers.parseEther("10") });
    await lending.waitForDeployment();
    console.log(`      CreditLending deployed at ${await lending.getAddress()}`);

    const receipt = await (await lending.applyForLoan(FEATURES, 1000n)).wait();
    assert.equal(receipt.status, 1);
    const applied = receipt.logs.map((l) => lending.interface.parseLog(l)).find((e) => e && e.name === "Applied");
    assert.ok(applied, "no Applied event in the receipt");
    const requestId = applied.args.requestId;
    assert.equal(applied.args.borrower, borrower.address);
    assert.equal(await lending.lastRequest(), requestId);
    console.log(`      applied in block ${receipt.blockNumber}: request ${requestId}`);

    // The validators' quorum finalizes the score and the chain calls onInferenceResult. The
    // callback runs inside the validators' result transaction, not an Ethereum transaction, so
    // its `Decided` log is a Substrate event (Revive.ContractEmitted) that eth_getLogs does not
    // list: read the decision from the contract's state.
    const deadline = Date.now() + DECIDE_TIMEOUT_MS;
    let app = await lending.applications(requestId);
    while (!app.settled) {
      assert.ok(Date.now() < deadline, `request ${requestId} was not decided within ${DECIDE_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 1000));
      app = await lending.applications(requestId);
    }
    const decidedAt = await ethers.provider.getBlockNumber();
    console.log(`      decided by block ${decidedAt}: score ${Number(app.score) / 1e6}, approved ${app.approved}`);
    assert.equal(app.borrower, borrower.address);
    assert.equal(app.amount, 1000n);
    assert.equal(app.approved, app.score >= 0n); // minScore 0
    if (process.env.VERITY_EXPECTED_SCORE) {
      // The score the caller computed off chain (e.g. onnxruntime), 6 decimals, ±1e-4.
      const expected = BigInt(process.env.VERITY_EXPECTED_SCORE);
      const diff = app.score > expected ? app.score - expected : expected - app.score;
      assert.ok(diff <= 100n, `score ${app.score}, expected ${expected}`);
    }
    // Settling again is refused: the callback already decided it.
    await assert.rejects(lending.settle.staticCall(requestId));
  });
});
