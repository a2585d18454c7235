// An Ethereum developer's view of Verity: ethers (npm) against the eth-rpc endpoint, nothing
// Substrate-specific. Deploys contracts/out/CreditLending.json from Alith (a funded standard
// Ethereum development account), applies for a loan, waits for the `Decided` event the chain's
// callback emits (a polling listener and a WebSocket subscription), and prints what the contract
// stored and what the event said as one JSON line.
//
//   node tests/e2e/js/ethers_lending.mjs ETH_RPC_URL ARTIFACT MODEL_ID MAX_FEE
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

// Alith's well-known development key (funded in every Verity genesis preset).
const ALITH_KEY = "0x5fb92d6e98884f76de468fa3f6278f8807c48bebc13595d45af5bdc4da702133";
const FEATURES = [1_500_000n, -250_000n, 3_000_000n, 420_000n]; // 1.5, -0.25, 3.0, 0.42 (6 decimals)

const [url, artifactPath, modelId, maxFee] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
const provider = new ethers.JsonRpcProvider(url, undefined, { polling: true, pollingInterval: 1000 });
const wallet = new ethers.Wallet(ALITH_KEY, provider);
const log = (msg) => console.error(`[ethers] ${msg}`);

const network = await provider.getNetwork();
log(`chain id ${network.chainId}, block ${await provider.getBlockNumber()}, Alith ${wallet.address}`);

const factory = new ethers.ContractFactory(artifact.abi, artifact.bytecode, wallet);
// The contract pays inference fees from its own balance: fund it at deployment.
const lending = await factory.deploy(modelId, 0n, BigInt(maxFee), { value: ethers.parseEther("10") });
const deployTx = lending.deploymentTransaction();
await lending.waitForDeployment();
const address = await lending.getAddress();
log(`CreditLending deployed at ${address} (tx ${deployTx.hash})`);

const tx = await lending.applyForLoan(FEATURES, 1000n);
const receipt = await tx.wait();
const applied = receipt.logs
	.map((l) => lending.interface.parseLog(l))
	.find((e) => e && e.name === "Applied");
if (!applied) throw new Error("no Applied event in the receipt");
const requestId = applied.args.requestId;
log(`applied in block ${receipt.blockNumber}: request ${requestId}`);

// The validators' quorum finalizes the score; the chain then calls onInferenceResult, whose
// `Decided` log the adapter lists like any log (a synthetic transaction, see
// vendor/pallet-revive-eth-rpc/src/callback_logs.rs). Listen as a front end does: ethers'
// polling listener (eth_getLogs over new blocks) and a WebSocket subscription (eth_subscribe
// "logs", sent for finalized blocks).
const decided = lending.filters.Decided(requestId);
const wsProvider = new ethers.WebSocketProvider(url.replace(/^http/, "ws"));
const wsLending = new ethers.Contract(address, artifact.abi, wsProvider);
const heard = (contract, name) => new Promise((resolve) => {
	contract.on(decided, (...args) => {
		const event = args[args.length - 1];
		log(`${name}: Decided(${event.args.requestId}) in block ${event.log.blockNumber}, tx ${event.log.transactionHash}`);
		resolve(event.log);
	});
});
const timeout = (what) => new Promise((_, reject) =>
	setTimeout(() => reject(new Error(`${what}: no Decided event for request ${requestId} within 90 s`)), 90_000));
const [polled, subscribed] = await Promise.all([
	Promise.race([heard(lending, "polling listener"), timeout("polling listener")]),
	Promise.race([heard(wsLending, "subscription"), timeout("subscription")]),
]);
await lending.removeAllListeners();
await wsLending.removeAllListeners();
const app = await lending.applications(requestId);
const [queried] = await lending.queryFilter(decided, receipt.blockNumber);
const parsed = lending.interface.parseLog(queried);
console.log(JSON.stringify({
	address,
	requestId: requestId.toString(),
	appliedBlock: receipt.blockNumber,
	decidedAtBlock: await provider.getBlockNumber(),
	borrower: app.borrower,
	settled: app.settled,
	approved: app.approved,
	score: app.score.toString(),
	lastRequest: (await lending.lastRequest()).toString(),
	event: {
		blockNumber: queried.blockNumber,
		blockHash: queried.blockHash,
		transactionHash: queried.transactionHash,
		transactionIndex: queried.transactionIndex,
		approved: parsed.args.approved,
		score: parsed.args.score.toString(),
		borrower: parsed.args.borrower,
	},
	polled: { blockNumber: polled.blockNumber, transactionHash: polled.transactionHash },
	subscribed: { blockNumber: subscribed.blockNumber, transactionHash: subscribed.transactionHash },
	receiptOfCallback: await provider.getTransactionReceipt(queried.transactionHash),
	transactionOfCallback: await provider.getTransaction(queried.transactionHash),
}));
await wsProvider.destroy();
process.exit(0);
