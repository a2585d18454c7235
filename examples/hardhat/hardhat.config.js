// Hardhat 2 against a Verity network: the Ethereum JSON-RPC adapter (eth-rpc) in front of a
// node. The contracts are the project's own (contracts/src), compiled by the pinned npm `solc`
// package, offline: Hardhat never downloads a compiler.
//
//   VERITY_ETH_RPC=http://127.0.0.1:8545 VERITY_MODEL=0x<model id> npx hardhat test --network verity
const path = require("node:path");
const { subtask } = require("hardhat/config");
const {
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  TASK_COMPILE_SOLIDITY_RUN_SOLCJS,
} = require("hardhat/builtin-tasks/task-names");
const solc = require("solc");
require("@nomicfoundation/hardhat-ethers");

// solc.version() is e.g. "0.8.37+commit.<hash>.Emscripten.clang".
const SOLC_LONG_VERSION = solc.version();
const SOLC_VERSION = SOLC_LONG_VERSION.split("+")[0];

// Alith's well-known development key (funded in every Verity genesis preset). Never use it on a
// public network: set VERITY_PRIVATE_KEY instead.
const ALITH_KEY = "0x5fb92d6e98884f76de468fa3f6278f8807c48bebc13595d45af5bdc4da702133";

// The compiler is the solcjs build in node_modules/solc, not one Hardhat downloads.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }) => {
  if (solcVersion !== SOLC_VERSION) {
    throw new Error(`solc ${solcVersion} requested, but the npm solc package is ${SOLC_VERSION}: set solidity.version to it`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: SOLC_LONG_VERSION,
  };
});

// Compile in-process with the same package (Hardhat's own runner would wrap soljson.js with
// the older solc that Hardhat depends on).
subtask(TASK_COMPILE_SOLIDITY_RUN_SOLCJS, async ({ input }) => JSON.parse(solc.compile(JSON.stringify(input))));

module.exports = {
  solidity: {
    version: SOLC_VERSION,
    // As scripts/compile_contracts.mjs: pallet-revive runs EVM bytecode up to Cancun.
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun" },
  },
  // The repository's contracts, not copies: source names are contracts/src/<File>.sol, as in
  // scripts/compile_contracts.mjs. Tests, artifacts and cache stay in this folder.
  paths: {
    root: path.resolve(__dirname, "../.."),
    sources: path.resolve(__dirname, "../../contracts/src"),
    tests: path.resolve(__dirname, "test"),
    cache: path.resolve(__dirname, "cache"),
    artifacts: path.resolve(__dirname, "artifacts"),
  },
  defaultNetwork: "verity",
  networks: {
    verity: {
      url: process.env.VERITY_ETH_RPC || "http://127.0.0.1:8545",
      accounts: [process.env.VERITY_PRIVATE_KEY || ALITH_KEY],
      timeout: 120_000,
    },
  },
  mocha: { timeout: 300_000 },
};
