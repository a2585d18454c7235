//! Runtime-level contract tests: the real runtime (genesis of the `local_testnet` preset, three
//! validators), the Solidity contracts exactly as `contracts/out` holds them (npm solc), and the
//! validators' engine (ONNX Runtime) computing the results they attest. No node: each test drives
//! request → validator results → finalization → callback → contract state inside one
//! `TestExternalities`, with the validators' signed submissions checked by the same `authorize`
//! the transaction pool runs.
//!
//! Needs the ONNX Runtime library (`ORT_DYLIB_PATH`, `scripts/setup.sh`) and the generated test
//! models (`VERITY_TEST_MODELS`, `scripts/gen_models.py`); `scripts/test.sh` provides both.

use alloy_core::{
	primitives::{Bytes, FixedBytes, I256, U256},
	sol,
	sol_types::{decode_revert_reason, Revert, SolCall, SolError, SolValue},
};
use frame_support::{
	assert_ok,
	traits::{fungible::Inspect, Authorize, Get},
	BoundedVec,
};
use pallet_inference::{ModelStatus, RequestStatus, ResultSubmission};
use pallet_inference_precompile::{
	IInference, IInferenceConsumer, ADDRESS_INDEX, DELEGATE_CALL_DENIED, MAX_CALLBACK_WEIGHT,
};
use pallet_revive::{AddressMapper, Code, ExecConfig, TransactionLimits};
use sp_core::{Pair, H160, H256};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{traits::Dispatchable, transaction_validity::TransactionSource, Weight};
use std::{path::PathBuf, sync::OnceLock};
use verity_engine::{library_path, Engine, EngineConfig};
use verity_primitives::tensor::{self, Tensor};
use verity_runtime::{
	currency::UNIT, AccountId, Balance, Balances, Inference, Revive, Runtime, RuntimeCall,
	RuntimeEvent, RuntimeGenesisConfig, RuntimeOrigin, System,
};

// The example contracts' functions the tests call (the precompile's own interface is imported).
sol! {
	interface ICreditLending {
		function applyForLoan(int256[] calldata features, uint256 amount) external returns (uint64 requestId);
		function applications(uint64 requestId) external view returns (address borrower, uint256 amount, bool settled, bool approved, int256 score);
		function settle(uint64 requestId) external returns (bool approved);
		event Decided(uint64 indexed requestId, address indexed borrower, bool approved, int256 score);
	}
	interface IGatedVault {
		function requestWithdrawal(bytes calldata input, uint256 maxFee) external returns (uint64 requestId);
		function execute(uint64 requestId) external returns (bool allowed);
		function allowance(address who) external view returns (uint256);
		event Executed(uint64 indexed requestId, address indexed who, int64 class, bool allowed);
	}
	interface IDelegatingProbe {
		function delegateRequest(bytes32 model, bytes calldata input, uint256 maxFee) external returns (bool ok, bytes memory data);
		function directRequest(bytes32 model, bytes calldata input, uint256 maxFee) external returns (uint64);
	}
	interface ICallbackProbe {
		function ask(bytes calldata input, uint256 maxFee, uint8 mode, uint64 refTime) external returns (uint64 id);
		function received(uint64 requestId) external view returns (bytes memory);
		function lastNested() external view returns (uint64);
		function failedWith(uint64 requestId) external view returns (uint8);
		function expiredWith(uint64 requestId) external view returns (uint8);
		function settleExpired(uint64 requestId) external;
		function execute(address target, bytes calldata data) external returns (bytes memory);
		function isAwaiting(uint64 requestId) external view returns (bool);
	}
}

/// Fee of every test model.
const FEE: Balance = UNIT / 100;
/// The three validators of `local_testnet`; their `infr` keys are their sr25519 dev keys.
const VALIDATORS: [Sr25519Keyring; 3] =
	[Sr25519Keyring::Alice, Sr25519Keyring::Bob, Sr25519Keyring::Charlie];

fn precompile() -> H160 {
	H160::from_low_u64_be((ADDRESS_INDEX as u64) << 16)
}

// ---------------------------------------------------------------------------------------------
// Fixtures: genesis, models, engine, contracts.

/// Genesis of the `local_testnet` preset, built as the node builds it (preset over defaults).
fn new_ext() -> sp_io::TestExternalities {
	fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
		match (base, patch) {
			(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
				for (key, value) in patch {
					merge(base.entry(key).or_insert(serde_json::Value::Null), value);
				}
			}
			(base, patch) => *base = patch,
		}
	}
	let preset =
		verity_runtime::genesis::get_preset(&verity_runtime::genesis::LOCAL_TESTNET_PRESET.into())
			.expect("local_testnet preset");
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, serde_json::from_slice(&preset).unwrap());
	let mut ext = sp_io::TestExternalities::new_empty();
	ext.execute_with(|| {
		frame_support::genesis_builder_helper::build_state::<RuntimeGenesisConfig>(
			serde_json::to_vec(&config).unwrap(),
		)
		.expect("genesis builds");
		System::set_block_number(1);
	});
	ext
}

fn models_dir() -> PathBuf {
	let dir = std::env::var_os("VERITY_TEST_MODELS").map(PathBuf::from).expect(
		"VERITY_TEST_MODELS: a folder made by scripts/gen_models.py (scripts/test.sh sets it)",
	);
	assert!(dir.join("linear.onnx").is_file(), "{}: run scripts/gen_models.py", dir.display());
	dir
}

fn model_bytes(name: &str) -> Vec<u8> {
	std::fs::read(models_dir().join(format!("{name}.onnx"))).expect("model file")
}

/// The engine the validators run (one ONNX Runtime environment per process).
fn engine() -> &'static Engine {
	static ENGINE: OnceLock<Engine> = OnceLock::new();
	ENGINE.get_or_init(|| {
		let lib = library_path(None).expect("ONNX Runtime library (run ./scripts/setup.sh)");
		Engine::new(EngineConfig::new(lib)).expect("engine starts")
	})
}

/// Registers, uploads and activates a generated model with the spec ONNX Runtime reads from it.
fn register(name: &str) -> H256 {
	let bytes = model_bytes(name);
	let code = H256(sp_io::hashing::blake2_256(&bytes));
	let opened = engine().open(&bytes).expect("model loads");
	let (inputs, outputs) = opened.specs().expect("model spec");
	let (inputs, outputs) = (BoundedVec::truncate_from(inputs), BoundedVec::truncate_from(outputs));
	let tolerance = verity_primitives::agreement::Tolerance { abs_e9: 10_000, rel_e9: 10_000 };
	let owner = Sr25519Keyring::Alice.to_account_id();
	let id = Inference::model_id(&owner, &code, &inputs, &outputs, &tolerance, FEE);
	let alice = RuntimeOrigin::signed(owner);
	assert_ok!(Inference::register_model(
		alice.clone(),
		code,
		bytes.len() as u32,
		inputs,
		outputs,
		tolerance,
		FEE,
	));
	let chunk_size = <Runtime as pallet_inference::Config>::MaxChunkBytes::get() as usize;
	for chunk in bytes.chunks(chunk_size) {
		assert_ok!(Inference::upload_model_chunk(
			alice.clone(),
			id,
			chunk.to_vec().try_into().unwrap()
		));
	}
	assert_ok!(Inference::complete_model_upload(alice, id, None));
	// The engine keeps models by the hash of their bytes, as on the validators.
	engine().load(&code.0, &bytes).expect("engine loads the model");
	// Its readiness probe (the owner's request on zeros) is attested like any request.
	let probe = pallet_inference::NextRequestId::<Runtime>::get() - 1;
	finalize_with_quorum(probe);
	assert_eq!(
		pallet_inference::Models::<Runtime>::get(id).unwrap().status,
		pallet_inference::ModelStatus::Active
	);
	id
}

fn artifact_bytecode(name: &str) -> Vec<u8> {
	let path =
		PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../contracts/out/{name}.json"));
	let json: serde_json::Value =
		serde_json::from_slice(&std::fs::read(&path).expect("contract artifact")).unwrap();
	let hex = json["bytecode"].as_str().expect("bytecode").trim_start_matches("0x");
	(0..hex.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex bytecode"))
		.collect()
}

fn limits() -> TransactionLimits<Runtime> {
	TransactionLimits::WeightAndDeposit {
		weight_limit: Weight::from_parts(500_000_000_000, 8 * 1024 * 1024),
		deposit_limit: Balance::MAX,
	}
}

/// Deploys `name` from Alice with ABI-encoded constructor arguments, and funds the contract's
/// account with `funds` so that it can pay fees.
fn deploy(name: &str, args: Vec<u8>, funds: Balance) -> H160 {
	let mut code = artifact_bytecode(name);
	code.extend(args);
	let result = Revive::bare_instantiate(
		RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id()),
		sp_core::U256::zero(),
		limits(),
		Code::Upload(code),
		vec![],
		None,
		&ExecConfig::new_substrate_tx(),
	);
	let address = result.result.expect("contract deploys").addr;
	assert_ok!(Balances::transfer_keep_alive(
		RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id()),
		account_of(address).into(),
		funds,
	));
	address
}

fn account_of(address: H160) -> AccountId {
	<Runtime as pallet_revive::Config>::AddressMapper::to_account_id(&address)
}

/// Calls `to` with an ABI call that must succeed, and decodes what it returns.
fn invoke<C: SolCall>(who: impl Into<AccountId>, to: H160, call: C) -> C::Return {
	C::abi_decode_returns(&call_from(who, to, call.abi_encode()).ok())
		.expect("return value decodes")
}

/// What a call returned, or why it reverted.
#[derive(Debug)]
enum Outcome {
	Returned(Vec<u8>),
	Reverted(Vec<u8>),
}

impl Outcome {
	fn ok(self) -> Vec<u8> {
		match self {
			Outcome::Returned(data) => data,
			Outcome::Reverted(data) => panic!("reverted: {:?}", decode_revert_reason(&data)),
		}
	}

	/// The reason of a Solidity `Error(string)` revert.
	fn reason(self) -> String {
		match self {
			Outcome::Reverted(data) => Revert::abi_decode(&data)
				.map(|r| r.reason)
				.unwrap_or_else(|_| format!("not an Error(string): {data:?}")),
			Outcome::Returned(data) => panic!("expected a revert, returned {data:?}"),
		}
	}
}

fn call_from(who: impl Into<AccountId>, to: H160, data: Vec<u8>) -> Outcome {
	let result = Revive::bare_call(
		RuntimeOrigin::signed(who.into()),
		to,
		sp_core::U256::zero(),
		limits(),
		data,
		&ExecConfig::new_substrate_tx(),
	);
	let value = result.result.expect("call executes");
	if value.did_revert() {
		Outcome::Reverted(value.data)
	} else {
		Outcome::Returned(value.data)
	}
}

// ---------------------------------------------------------------------------------------------
// The validators: real engine output, signed submissions, authorized by the pallet.

/// Runs the request's stored input through the engine, as each validator's off-chain worker does.
fn engine_output(request_id: u64) -> Vec<u8> {
	let request = pallet_inference::Requests::<Runtime>::get(request_id).expect("request");
	let input = pallet_inference::RequestInputs::<Runtime>::get(request_id).expect("input");
	let code = pallet_inference::Models::<Runtime>::get(request.model).expect("model").code_hash;
	engine().run(&code.0, &input).expect("engine runs")
}

/// The salt of the validators' commitments in these tests.
const SALT: [u8; 32] = [5; 32];

/// Each validator commits to its answer for a request (a signed batch, authorized and
/// dispatched), then the chain moves past the requests' commit windows so that answers can be
/// revealed.
fn commit_answers(answers: &[(u64, Sr25519Keyring, pallet_inference::Answer<'_>)]) {
	let mut reveal_at = System::block_number();
	for (request_id, validator, answer) in answers {
		let request_id = *request_id;
		let request = pallet_inference::Requests::<Runtime>::get(request_id).expect("request");
		reveal_at = reveal_at.max(Inference::commit_deadline(&request) + 1);
		let key = verity_primitives::InferenceAuthorityId::from(validator.public());
		let hash = pallet_inference::commitment(
			System::block_hash(0),
			request_id,
			&request.input_hash,
			&key,
			*answer,
			&SALT,
		);
		let batch = pallet_inference::CommitBatch {
			executor: key,
			commitments: BoundedVec::truncate_from(vec![(request_id, hash)]),
		};
		let signature = validator.pair().sign(&Inference::commit_payload(&batch));
		authorize_and_dispatch(RuntimeCall::Inference(pallet_inference::Call::commit_answers {
			batch,
			signature: signature.into(),
		}));
	}
	System::set_block_number(reveal_at);
}

/// `validator` reveals `output` for `request_id` (it committed to it); the call goes through the
/// pallet's `authorize` (signature, committee, commitment, spec) and is then dispatched with the
/// authorized origin.
fn attest(validator: Sr25519Keyring, request_id: u64, output: Vec<u8>) {
	let submission = ResultSubmission {
		request_id,
		executor: verity_primitives::InferenceAuthorityId::from(validator.public()),
		output: BoundedVec::truncate_from(output),
		salt: SALT,
		profile: None,
	};
	let request = pallet_inference::Requests::<Runtime>::get(request_id).expect("request");
	let signature = validator.pair().sign(&Inference::signing_payload(&submission, &request));
	let call = RuntimeCall::Inference(pallet_inference::Call::submit_result {
		submission,
		signature: signature.into(),
	});
	authorize_and_dispatch(call);
}

/// `validator` reports that it could not answer `request_id` (signed, authorized like a result).
fn report_failure(validator: Sr25519Keyring, request_id: u64, kind: pallet_inference::FailureKind) {
	let failure = pallet_inference::FailureSubmission {
		request_id,
		executor: verity_primitives::InferenceAuthorityId::from(validator.public()),
		kind,
		salt: SALT,
	};
	let request = pallet_inference::Requests::<Runtime>::get(request_id).expect("request");
	let signature = validator.pair().sign(&Inference::failure_payload(&failure, &request));
	let call = RuntimeCall::Inference(pallet_inference::Call::submit_failure {
		failure,
		signature: signature.into(),
	});
	authorize_and_dispatch(call);
}

/// What the transaction pool and the block do with a validator's answer: `authorize` (signature,
/// committee, rules), then dispatch with the authorized origin; both must succeed.
fn authorize_and_dispatch(call: RuntimeCall) {
	call.authorize(TransactionSource::External)
		.expect("the call is authorized by signature")
		.expect("the answer is valid");
	assert_ok!(call.dispatch(RuntimeOrigin::from(frame_system::RawOrigin::Authorized)));
}

/// Two of the three validators (the quorum) attest the engine's output.
fn finalize_with_quorum(request_id: u64) -> Vec<u8> {
	finalize_all_with_quorum(&[request_id]).remove(0)
}

/// Two of the three validators commit to the engine's output for each request, then reveal it:
/// the quorum. Returns the outputs.
fn finalize_all_with_quorum(ids: &[u64]) -> Vec<Vec<u8>> {
	let members = |request_id: u64| {
		let committee = pallet_inference::Requests::<Runtime>::get(request_id).unwrap().committee;
		let members: Vec<Sr25519Keyring> = VALIDATORS
			.iter()
			.filter(|v| {
				committee
					.iter()
					.any(|e| e.key == verity_primitives::InferenceAuthorityId::from(v.public()))
			})
			.take(2)
			.copied()
			.collect();
		assert_eq!(members.len(), 2, "committee of local_testnet has every validator");
		members
	};
	let outputs: Vec<Vec<u8>> = ids.iter().map(|id| engine_output(*id)).collect();
	let mut answers = Vec::new();
	for (id, output) in ids.iter().zip(&outputs) {
		for v in members(*id) {
			answers.push((*id, v, pallet_inference::Answer::Output(output)));
		}
	}
	commit_answers(&answers);
	for (id, output) in ids.iter().zip(&outputs) {
		for v in members(*id) {
			attest(v, *id, output.clone());
		}
	}
	outputs
}

fn inference_events() -> Vec<pallet_inference::Event<Runtime>> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Inference(e) => Some(e),
			_ => None,
		})
		.collect()
}

/// A `CallbackProbe` (contracts/src/CallbackProbe.sol) for `model`, with 10 UNIT to pay fees.
fn deploy_probe(model: H256) -> H160 {
	deploy("CallbackProbe", FixedBytes::<32>::from(model.0).abi_encode(), 10 * UNIT)
}

/// The input every probe request sends (to the `linear` model).
fn probe_input() -> Vec<u8> {
	f32_input("x", vec![1, 4], &[0.5, 0.25, -1.0, 2.0])
}

/// Bob has `probe` request inference on [`probe_input`] with a callback in `mode` (see the
/// contract) and `ref_time` of prepaid weight; returns the request id.
fn ask_probe(probe: H160, mode: u8, ref_time: u64) -> u64 {
	let call = ICallbackProbe::askCall {
		input: probe_input().into(),
		maxFee: U256::from(FEE),
		mode,
		refTime: ref_time,
	};
	invoke(Sr25519Keyring::Bob, probe, call)
}

/// The events contract `at` emitted, decoded as `E` (others are skipped).
fn contract_events<E: alloy_core::sol_types::SolEvent>(at: H160) -> Vec<E> {
	System::events()
		.into_iter()
		.filter_map(|r| match r.event {
			RuntimeEvent::Revive(pallet_revive::Event::ContractEmitted {
				contract,
				data,
				topics,
			}) if contract == at => E::decode_raw_log(topics.iter().map(|t| t.0), &data).ok(),
			_ => None,
		})
		.collect()
}

fn callback_outcome(request_id: u64) -> Option<bool> {
	inference_events().into_iter().find_map(|e| match e {
		pallet_inference::Event::CallbackDelivered { request_id: id, success, .. }
			if id == request_id =>
		{
			Some(success)
		}
		_ => None,
	})
}

fn requested_ids() -> Vec<u64> {
	inference_events()
		.into_iter()
		.filter_map(|e| match e {
			pallet_inference::Event::InferenceRequested { request_id, .. } => Some(request_id),
			_ => None,
		})
		.collect()
}

/// What `CallbackRefunded` events gave `payer`.
fn refunded_to(payer: AccountId) -> Balance {
	inference_events()
		.into_iter()
		.filter_map(|e| match e {
			pallet_inference::Event::CallbackRefunded { payer: p, amount, .. } if p == payer => {
				Some(amount)
			}
			_ => None,
		})
		.sum()
}

fn total_issuance() -> Balance {
	<Balances as Inspect<AccountId>>::total_issuance()
}

fn f32_input(name: &str, shape: Vec<u32>, values: &[f32]) -> Vec<u8> {
	tensor::encode_owned(&[Tensor::from_f32(name, shape, values)])
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// CreditLending: a borrower applies, the contract pays the fee from its balance, the quorum's
/// score reaches the contract through `onInferenceResult`, and the loan is decided by it.
#[test]
fn lending_contract_is_decided_by_the_quorum_result_through_its_callback() {
	// 1.5, -0.25, 3.0, 0.42: a score of about 5.66, approved.
	let score = lending_case([1_500_000i64, -250_000, 3_000_000, 420_000]);
	assert!(score > 1.0, "{score}");
}

/// The same contract rejects a negative score: the sign of an f32 read by `VerityTensor`
/// reaches the contract, and `Decided` says `approved == false`.
#[test]
fn lending_contract_rejects_a_negative_score() {
	// -1 for every feature: a score of about -2.69, below `minScore` 0.
	let score = lending_case([-1_000_000i64; 4]);
	assert!(score < -1.0, "{score}");
}

/// Applies for a loan with `features` (x 1e6), lets a quorum answer, checks the decision
/// against the engine's score (approved iff score >= 0) and returns the score.
fn lending_case(features: [i64; 4]) -> f64 {
	new_ext().execute_with(|| {
		let model = register("linear");
		let lending = deploy(
			"CreditLending",
			(FixedBytes::<32>::from(model.0), I256::ZERO, U256::from(FEE)).abi_encode_params(),
			10 * UNIT,
		);
		let contract = account_of(lending);
		let issuance = total_issuance();
		let contract_before = Balances::free_balance(&contract);

		let apply = ICreditLending::applyForLoanCall {
			features: features.iter().map(|f| I256::try_from(*f).unwrap()).collect(),
			amount: U256::from(1_000u32),
		};
		let id = invoke(Sr25519Keyring::Bob, lending, apply);
		let request = pallet_inference::Requests::<Runtime>::get(id).expect("request stored");
		assert_eq!(request.requester, contract, "the contract is the requester");
		assert_eq!(Balances::free_balance(&contract), contract_before - FEE, "fee held in escrow");

		let output = finalize_with_quorum(id);
		assert_eq!(callback_outcome(id), Some(true));
		let result = pallet_inference::Results::<Runtime>::get(id).expect("result stored");
		assert_eq!(result.output.to_vec(), output);
		assert_eq!(result.attesters.len(), 2);

		// The contract's state is what the callback decided from the engine's score.
		let score = tensor::decode(&output, 1 << 20).unwrap()[0].get_f64(0);
		let app = invoke(
			Sr25519Keyring::Bob,
			lending,
			ICreditLending::applicationsCall { requestId: id },
		);
		assert!(app.settled);
		assert_eq!(app.approved, score >= 0.0);
		assert_eq!(app.amount, U256::from(1_000u32));
		let on_chain = i128::try_from(app.score).unwrap() as f64 / 1e6;
		assert!((on_chain - score).abs() < 2e-6, "contract score {on_chain}, engine {score}");
		let decided = contract_events::<ICreditLending::Decided>(lending)
			.into_iter()
			.find(|d| d.requestId == id)
			.expect("a Decided event");
		assert_eq!((decided.approved, decided.score), (app.approved, app.score));

		// Settling a decided application reverts; fees went to validators, none were created
		// but the refund of the callback weight Bob prepaid (minted: the fee was burnt; here
		// `bare_call` charged no fee, so it shows as new).
		let again = call_from(
			Sr25519Keyring::Bob,
			lending,
			ICreditLending::settleCall { requestId: id }.abi_encode(),
		);
		assert_eq!(again.reason(), "already settled");
		let refunded = refunded_to(Sr25519Keyring::Bob.to_account_id());
		assert!(refunded > 0);
		assert_eq!(total_issuance(), issuance + refunded);
		assert_eq!(
			pallet_inference::Requests::<Runtime>::get(id).unwrap().status,
			RequestStatus::Attested
		);
		score
	})
}

/// GatedVault: a classifier-gated withdrawal executes from the stored result (no callback).
#[test]
fn gated_vault_acts_on_the_agreed_class() {
	vault_case(true);
}

/// GatedVault refuses a withdrawal whose agreed class is not the allowed one, and cannot be
/// executed twice.
#[test]
fn gated_vault_refuses_another_class() {
	vault_case(false);
}

/// A vault whose allowed class is the one the model picks (`allow`) or the next one.
fn vault_case(allow: bool) {
	new_ext().execute_with(|| {
		let model = register("argmax");
		let input = f32_input("x", vec![1, 8], &[0.3, -1.2, 0.8, 2.0, -0.5, 0.1, 1.1, -0.7]);
		// Which class the model picks, as the validators will compute it.
		let class = {
			let id = H256(sp_io::hashing::blake2_256(&model_bytes("argmax")));
			let out = engine().run(&id.0, &input).unwrap();
			tensor::decode(&out, 1 << 20).unwrap()[0].get_f64(0) as i64
		};
		// The argmax model has 5 classes.
		let allowed_class = if allow { class } else { (class + 1) % 5 };
		let vault = deploy(
			"GatedVault",
			(FixedBytes::<32>::from(model.0), allowed_class).abi_encode_params(),
			UNIT,
		);
		let ask =
			IGatedVault::requestWithdrawalCall { input: input.into(), maxFee: U256::from(FEE) };
		let id = invoke(Sr25519Keyring::Dave, vault, ask);
		// Before the result exists, executing reverts with the precompile's reason.
		let early = call_from(
			Sr25519Keyring::Dave,
			vault,
			IGatedVault::executeCall { requestId: id }.abi_encode(),
		);
		assert_eq!(early.reason(), "NoResult");

		finalize_with_quorum(id);
		assert_eq!(callback_outcome(id), None, "no callback was asked for");
		let allowed =
			invoke(Sr25519Keyring::Dave, vault, IGatedVault::executeCall { requestId: id });
		assert_eq!(allowed, allow, "class {class}, allowed class {allowed_class}");
		let executed = contract_events::<IGatedVault::Executed>(vault);
		assert_eq!(executed.len(), 1);
		assert_eq!(
			(executed[0].requestId, executed[0].class, executed[0].allowed),
			(id, class, allow)
		);
		let again = call_from(
			Sr25519Keyring::Dave,
			vault,
			IGatedVault::executeCall { requestId: id }.abi_encode(),
		);
		assert_eq!(again.reason(), "unknown or done");
		let dave = alloy_core::primitives::Address::from(
			<Runtime as pallet_revive::Config>::AddressMapper::to_address(
				&Sr25519Keyring::Dave.to_account_id(),
			)
			.0,
		);
		let allowance =
			invoke(Sr25519Keyring::Dave, vault, IGatedVault::allowanceCall { who: dave });
		assert_eq!(allowance, U256::from(allow as u8));
	});
}

/// Every precompile function called directly, and every bad input it must refuse.
#[test]
fn precompile_functions_and_bad_inputs() {
	new_ext().execute_with(|| {
		let model = register("linear");
		let model_word = FixedBytes::<32>::from(model.0);
		let good = f32_input("x", vec![1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let at = precompile();
		let request = |input: &[u8], fee: Balance| IInference::requestInferenceCall {
			model: model_word,
			input: Bytes::from(input.to_vec()),
			maxFee: U256::from(fee),
			timeout: 0,
		};

		// Views.
		let info = invoke(Sr25519Keyring::Bob, at, IInference::getModelCall { model: model_word });
		assert!(info.active);
		assert_eq!((info.fee, info.inputs, info.outputs), (U256::from(FEE), 1, 1));
		let rules =
			invoke(Sr25519Keyring::Bob, at, IInference::modelRulesCall { model: model_word });
		let stored = pallet_inference::Models::<Runtime>::get(model).unwrap();
		let owner: &[u8] = stored.owner.as_ref();
		assert_eq!(rules.owner.as_slice(), owner);
		assert_eq!(
			(rules.status, rules.toleranceAbsE9, rules.toleranceRelE9, rules.fee),
			(1, stored.tolerance.abs_e9, stored.tolerance.rel_e9, U256::from(FEE))
		);
		let quote = invoke(
			Sr25519Keyring::Bob,
			at,
			IInference::quoteCall { model: model_word, inputBytes: good.len() as u32 },
		);
		let expected =
			pallet_inference::Pallet::<Runtime>::quote(model, good.len() as u32).unwrap();
		assert_eq!(quote, U256::from(expected));
		assert!(quote >= U256::from(FEE));
		for unknown in [
			IInference::modelRulesCall { model: FixedBytes::from([9u8; 32]) }.abi_encode(),
			IInference::quoteCall { model: FixedBytes::from([9u8; 32]), inputBytes: 10 }
				.abi_encode(),
		] {
			assert_eq!(call_from(Sr25519Keyring::Bob, at, unknown).reason(), "UnknownModel");
		}
		let unknown = IInference::getModelCall { model: FixedBytes::from([9u8; 32]) };
		assert_eq!(
			call_from(Sr25519Keyring::Bob, at, unknown.abi_encode()).reason(),
			"UnknownModel"
		);
		let max = invoke(Sr25519Keyring::Bob, at, IInference::maxCallbackWeightCall {});
		assert_eq!(
			(max.refTime, max.proofSize),
			(MAX_CALLBACK_WEIGHT.ref_time(), MAX_CALLBACK_WEIGHT.proof_size())
		);
		let status =
			|id| invoke(Sr25519Keyring::Bob, at, IInference::requestStatusCall { requestId: id });
		assert_eq!(status(77), 0, "unknown request");
		assert_eq!(
			call_from(
				Sr25519Keyring::Bob,
				at,
				IInference::getResultCall { requestId: 77 }.abi_encode()
			)
			.reason(),
			"NoResult"
		);

		// A request from an account: pending, then finalized and readable.
		let requested_at = System::block_number();
		let id = invoke(Sr25519Keyring::Bob, at, request(&good, FEE));
		assert_eq!(
			pallet_inference::Requests::<Runtime>::get(id).unwrap().requester,
			Sr25519Keyring::Bob.to_account_id()
		);
		assert_eq!(status(id), 1);
		let output = finalize_with_quorum(id);
		assert_eq!(status(id), 2);
		let result = invoke(Sr25519Keyring::Bob, at, IInference::getResultCall { requestId: id });
		assert_eq!(result.output.to_vec(), output);
		assert_eq!(result.outputHash.0, sp_io::hashing::blake2_256(&output));
		// One member silent, so reveals wait for the commit window.
		let window: u32 = <Runtime as pallet_inference::Config>::CommitWindow::get();
		assert_eq!((result.attesters, result.attestedAt), (2, requested_at + window + 1));
		// (attesters, dissenters, committee, quorum, max difference) through the precompile.
		let agreement = |id: u64| {
			let a = invoke(Sr25519Keyring::Bob, at, IInference::getAgreementCall { requestId: id });
			(a.attesters, a.dissenters, a.committee, a.quorum, a.maxDifferenceE9)
		};
		assert_eq!(agreement(id), (2, 0, 3, 2, 0));
		assert_eq!(
			call_from(
				Sr25519Keyring::Bob,
				at,
				IInference::getAgreementCall { requestId: 77 }.abi_encode()
			)
			.reason(),
			"NoResult"
		);
		// A dissenter: Charlie reveals another output before Alice and Bob agree.
		let disputed = invoke(Sr25519Keyring::Bob, at, request(&good, FEE));
		let (right, wrong) = (engine_output(disputed), f32_input("y", vec![1, 1], &[-7.0]));
		commit_answers(&[
			(disputed, Sr25519Keyring::Charlie, pallet_inference::Answer::Output(&wrong)),
			(disputed, Sr25519Keyring::Alice, pallet_inference::Answer::Output(&right)),
			(disputed, Sr25519Keyring::Bob, pallet_inference::Answer::Output(&right)),
		]);
		attest(Sr25519Keyring::Charlie, disputed, wrong.clone());
		attest(Sr25519Keyring::Alice, disputed, right.clone());
		assert_eq!(
			call_from(
				Sr25519Keyring::Bob,
				at,
				IInference::getAgreementCall { requestId: disputed }.abi_encode()
			)
			.reason(),
			"NoResult",
			"no quorum yet"
		);
		attest(Sr25519Keyring::Bob, disputed, right);
		assert_eq!(agreement(disputed), (2, 1, 3, 2, 0));

		// Bad requests revert with the pallet's error; nothing is held.
		let bob = Sr25519Keyring::Bob.to_account_id();
		let free = Balances::free_balance(&bob);
		let three = f32_input("x", vec![1, 3], &[1.0, 2.0, 3.0]);
		let named = f32_input("features", vec![1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let ints = tensor::encode_owned(&[Tensor::from_i64("x", vec![1, 4], &[1, 2, 3, 4])]);
		for (input, fee, reason) in [
			(&three[..], FEE, "InputTensorShape"),
			(&named[..], FEE, "InputTensorName"),
			(&ints[..], FEE, "InputTensorDType"),
			(&[1u8, 2, 3][..], FEE, "InputUndecodable"),
			(&good[..], FEE - 1, "FeeAboveMax"),
		] {
			assert_eq!(
				call_from(Sr25519Keyring::Bob, at, request(input, fee).abi_encode()).reason(),
				reason
			);
		}
		let mut unknown_model = request(&good, FEE);
		unknown_model.model = FixedBytes::from([9u8; 32]);
		assert_eq!(
			call_from(Sr25519Keyring::Bob, at, unknown_model.abi_encode()).reason(),
			"UnknownModel"
		);
		let mut huge_fee = request(&good, FEE);
		huge_fee.maxFee = U256::MAX;
		assert_eq!(
			call_from(Sr25519Keyring::Bob, at, huge_fee.abi_encode()).reason(),
			"FeeOutOfRange"
		);
		let too_heavy = IInference::requestInferenceWithCallbackCall {
			model: model_word,
			input: good.clone().into(),
			maxFee: U256::from(FEE),
			timeout: 0,
			callbackRefTime: MAX_CALLBACK_WEIGHT.ref_time() + 1,
			callbackProofSize: 0,
		};
		assert_eq!(
			call_from(Sr25519Keyring::Bob, at, too_heavy.abi_encode()).reason(),
			"CallbackTooHeavy"
		);
		assert_eq!(Balances::free_balance(&bob), free, "failed requests hold nothing");

		// An account that cannot pay the fee.
		let poor = AccountId::new([7u8; 32]);
		assert_eq!(Balances::free_balance(&poor), 0);
		assert_ok!(Balances::transfer_keep_alive(
			RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id()),
			poor.clone().into(),
			FEE / 2,
		));
		assert_eq!(
			call_from(poor, at, request(&good, FEE).abi_encode()).reason(),
			"InsufficientBalance"
		);

		// Unknown selector and malformed ABI data: Solidity's Panic(0x41), not a silent success.
		let panic_0x41 = {
			let mut data = vec![0x4e, 0x48, 0x7b, 0x71];
			data.extend(U256::from(0x41).to_be_bytes::<32>());
			data
		};
		for data in [vec![0xde, 0xad, 0xbe, 0xef], {
			let mut d = request(&good, FEE).abi_encode();
			d.truncate(40);
			d
		}] {
			match call_from(Sr25519Keyring::Bob, at, data) {
				Outcome::Reverted(data) => assert_eq!(data, panic_0x41),
				other => panic!("expected a revert, got {other:?}"),
			}
		}

		// A retired model takes no new requests; its pending ones still finish.
		let pending = invoke(Sr25519Keyring::Bob, at, request(&good, FEE));
		assert_ok!(Inference::retire_model(
			RuntimeOrigin::signed(Sr25519Keyring::Alice.to_account_id()),
			model
		));
		assert_eq!(
			pallet_inference::Models::<Runtime>::get(model).unwrap().status,
			ModelStatus::Retired
		);
		assert_eq!(
			call_from(Sr25519Keyring::Bob, at, request(&good, FEE).abi_encode()).reason(),
			"ModelNotActive"
		);
		let info = invoke(Sr25519Keyring::Bob, at, IInference::getModelCall { model: model_word });
		assert!(!info.active);
		finalize_with_quorum(pending);
		assert_eq!(status(pending), 2);
	});
}

/// `requestInferenceWithRules`: the chain enforces what the caller demands (unanimity, a tighter
/// tolerance) and refuses demands it cannot meet or that loosen the model's rules.
#[test]
fn contracts_demand_more_than_the_models_quorum_and_tolerance() {
	new_ext().execute_with(|| {
		let model = register("linear");
		let good = f32_input("x", vec![1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let at = precompile();
		let tolerance = pallet_inference::Models::<Runtime>::get(model).unwrap().tolerance;
		let with_rules = |min: u32, abs: u64, rel: u64, callback: u64| {
			IInference::requestInferenceWithRulesCall {
				model: FixedBytes::<32>::from(model.0),
				input: good.clone().into(),
				maxFee: U256::from(FEE),
				timeout: 0,
				callbackRefTime: callback,
				callbackProofSize: callback,
				minAttesters: min,
				toleranceAbsE9: abs,
				toleranceRelE9: rel,
			}
		};
		// Unanimity and the model's tolerance (both parts at their maximum), no callback.
		let all = invoke(Sr25519Keyring::Bob, at, with_rules(u32::MAX, u64::MAX, u64::MAX, 0));
		let stored = pallet_inference::Requests::<Runtime>::get(all).unwrap();
		assert_eq!(
			(stored.quorum, stored.rules.min_attesters, stored.rules.tolerance),
			(3, u32::MAX, None)
		);
		assert!(!pallet_inference::Callbacks::<Runtime>::contains_key(all));
		// Two of three agree: enough for the model's quorum, not for this request. The third
		// member missed the commit window, so unanimity can no longer be reached: expired.
		finalize_with_quorum(all);
		let status =
			|id| invoke(Sr25519Keyring::Bob, at, IInference::requestStatusCall { requestId: id });
		assert_eq!(status(all), 3, "expired without the third member");
		let result = IInference::getResultCall { requestId: all }.abi_encode();
		assert_eq!(call_from(Sr25519Keyring::Bob, at, result).reason(), "NoResult");

		// A tighter tolerance, with a callback.
		let tight = invoke(Sr25519Keyring::Bob, at, with_rules(2, 1, 0, 1_000_000));
		let stored = pallet_inference::Requests::<Runtime>::get(tight).unwrap();
		let expected = pallet_inference::Tolerance { abs_e9: 1, rel_e9: 0 };
		assert_eq!((stored.quorum, stored.rules.tolerance), (2, Some(expected)));
		assert!(pallet_inference::Callbacks::<Runtime>::contains_key(tight));
		finalize_with_quorum(tight);
		assert_eq!(status(tight), 2, "identical outputs agree under any tolerance");

		let bob = Sr25519Keyring::Bob.to_account_id();
		let free = Balances::free_balance(&bob);
		for (call, reason) in [
			(with_rules(4, u64::MAX, u64::MAX, 0), "MoreAttestersThanCommittee"),
			(with_rules(0, tolerance.abs_e9 + 1, 0, 0), "ToleranceLooserThanModel"),
			(with_rules(0, 0, tolerance.rel_e9 + 1, 0), "ToleranceLooserThanModel"),
			(with_rules(0, u64::MAX, 0, 0), "ToleranceLooserThanModel"),
		] {
			assert_eq!(call_from(Sr25519Keyring::Bob, at, call.abi_encode()).reason(), reason);
		}
		assert_eq!(Balances::free_balance(&bob), free, "refused requests hold nothing");
	});
}

/// Callbacks that revert, run out of their prepaid weight or re-enter the precompile never block
/// finalization; a failed callback's state changes are rolled back and the result stays readable.
/// The chain calls a consumer back as the consumer itself, so `msg.sender == address(this)`
/// proves nothing for a contract that can be made to call itself (here the probe's
/// wallet-like `execute`). `InferenceConsumer` refuses every fake: before the request is
/// concluded, a made-up output, a failure for an attested request, a replay, a request of
/// someone else, and a direct call from another account. (With the examples' former check,
/// `msg.sender == address(this)` alone, every fake through `execute` was accepted.)
#[test]
fn callbacks_cannot_be_faked_through_a_self_call_or_by_a_third_party() {
	new_ext().execute_with(|| {
		let model = register("linear");
		let (probe, input) = (deploy_probe(model), probe_input());
		let ask = |mode: u8| ask_probe(probe, mode, 5_000_000_000);
		let fake_result = |id: u64, output: Vec<u8>| {
			IInferenceConsumer::onInferenceResultCall { requestId: id, output: output.into() }
				.abi_encode()
		};
		// Anyone (Eve) makes the probe call itself with `data`.
		let through_execute = |data: Vec<u8>| {
			let call = ICallbackProbe::executeCall {
				target: alloy_core::primitives::Address::from(probe.0),
				data: data.into(),
			};
			call_from(Sr25519Keyring::Eve, probe, call.abi_encode()).reason()
		};
		let received = |id: u64| {
			invoke(Sr25519Keyring::Bob, probe, ICallbackProbe::receivedCall { requestId: id })
				.to_vec()
		};
		let made_up = f32_input("y", vec![1, 1], &[1e9]);

		let id = ask(0);
		assert!(invoke(
			Sr25519Keyring::Bob,
			probe,
			ICallbackProbe::isAwaitingCall { requestId: id }
		));
		// Before the quorum: no outcome to deliver.
		assert_eq!(
			through_execute(fake_result(id, made_up.clone())),
			"InferenceConsumer: not concluded so"
		);
		// Another account calling the callback directly.
		assert_eq!(
			call_from(Sr25519Keyring::Eve, probe, fake_result(id, made_up.clone())).reason(),
			"InferenceConsumer: only the chain calls back"
		);
		assert!(received(id).is_empty());

		// A request whose callback reverted (mode 1) stays awaited: its result is attested, but
		// a made-up output or a failure is still refused.
		let reverted = ask(1);
		let outputs = finalize_all_with_quorum(&[id, reverted]);
		assert_eq!(callback_outcome(id), Some(true));
		assert_eq!(callback_outcome(reverted), Some(false));
		assert_eq!(received(id), outputs[0], "the chain's own delivery went through");
		assert_eq!(
			through_execute(fake_result(reverted, made_up.clone())),
			"InferenceConsumer: not the attested output"
		);
		let failure = IInferenceConsumer::onInferenceFailureCall { requestId: reverted, kind: 4 }
			.abi_encode();
		assert_eq!(through_execute(failure), "InferenceConsumer: not concluded so");
		// A replay of a delivered outcome, even the true one.
		assert_eq!(
			through_execute(fake_result(id, outputs[0].clone())),
			"InferenceConsumer: not awaiting this request"
		);
		// A request the probe did not make (Bob's own, attested).
		let others = {
			let next = pallet_inference::NextRequestId::<Runtime>::get();
			assert_ok!(Inference::request_inference(
				RuntimeOrigin::signed(Sr25519Keyring::Bob.to_account_id()),
				model,
				input.clone(),
				FEE,
				None,
			));
			next
		};
		let theirs = finalize_with_quorum(others);
		assert_eq!(
			through_execute(fake_result(others, theirs)),
			"InferenceConsumer: not awaiting this request"
		);
		assert!(received(reverted).is_empty() && received(others).is_empty());
	});
}

#[test]
fn failing_and_reentrant_callbacks_never_block_finalization() {
	new_ext().execute_with(|| {
		let model = register("linear");
		let probe = deploy_probe(model);
		let ask = |mode: u8, ref_time: u64| ask_probe(probe, mode, ref_time);
		let received = |id: u64| {
			invoke(Sr25519Keyring::Bob, probe, ICallbackProbe::receivedCall { requestId: id })
				.to_vec()
		};

		let records = ask(0, 5_000_000_000);
		let reverts = ask(1, 5_000_000_000);
		let spins = ask(2, 1_000_000_000);
		let reenters = ask(3, 20_000_000_000);
		let ids = [records, reverts, spins, reenters];
		let outputs: std::collections::BTreeMap<u64, Vec<u8>> =
			ids.into_iter().zip(finalize_all_with_quorum(&ids)).collect();
		for id in ids {
			let output = outputs[&id].clone();
			assert_eq!(
				pallet_inference::Requests::<Runtime>::get(id).unwrap().status,
				RequestStatus::Attested
			);
			assert_eq!(
				pallet_inference::Results::<Runtime>::get(id).unwrap().output.to_vec(),
				output
			);
		}
		assert_eq!(callback_outcome(records), Some(true));
		assert_eq!(callback_outcome(reverts), Some(false));
		assert_eq!(callback_outcome(spins), Some(false));
		assert_eq!(callback_outcome(reenters), Some(true));
		assert_eq!(received(records), outputs[&records], "mode 0 stored exactly the agreed output");
		assert_eq!(received(reenters), outputs[&reenters]);
		assert!(received(reverts).is_empty(), "a reverted callback's writes are rolled back");
		assert!(received(spins).is_empty(), "an exhausted callback's writes are rolled back");

		// Re-entry: the callback's own request is a real request by the contract, and finalizes.
		let nested = invoke(Sr25519Keyring::Bob, probe, ICallbackProbe::lastNestedCall {});
		assert!(requested_ids().contains(&nested) && nested > reenters);
		assert_eq!(
			pallet_inference::Requests::<Runtime>::get(nested).unwrap().requester,
			account_of(probe)
		);
		finalize_with_quorum(nested);
		assert_eq!(
			pallet_inference::Requests::<Runtime>::get(nested).unwrap().status,
			RequestStatus::Attested
		);
	});
}

/// A contract M that a user U calls cannot DELEGATECALL the precompile to have U pay: the
/// precompile refuses, nothing of U's is held and no request exists. A direct call from M
/// still works and M pays.
#[test]
fn delegate_calls_cannot_spend_the_callers_balance() {
	new_ext().execute_with(|| {
		let model = register("linear");
		let input = f32_input("x", vec![1, 4], &[1.0, 2.0, 3.0, 4.0]);
		let probe = deploy("DelegatingProbe", vec![], 10 * FEE);
		let user = Sr25519Keyring::Dave.to_account_id();
		let (free, issuance) = (Balances::free_balance(&user), total_issuance());
		// Only the model's readiness probe exists so far.
		let (requests_before, next_id) =
			(requested_ids(), pallet_inference::NextRequestId::<Runtime>::get());

		let attempt = invoke(
			Sr25519Keyring::Dave,
			probe,
			IDelegatingProbe::delegateRequestCall {
				model: FixedBytes::from(model.0),
				input: Bytes::from(input.clone()),
				maxFee: U256::from(FEE),
			},
		);
		assert!(!attempt.ok, "the delegate call must fail");
		assert_eq!(
			Revert::abi_decode(&attempt.data).expect("an Error(string) revert").reason,
			DELEGATE_CALL_DENIED
		);
		assert_eq!(Balances::free_balance(&user), free, "nothing of the user's is held");
		assert_eq!(total_issuance(), issuance);
		assert_eq!(requested_ids(), requests_before, "no request exists");
		assert_eq!(pallet_inference::NextRequestId::<Runtime>::get(), next_id);

		let probe_account = account_of(probe);
		let probe_free = Balances::free_balance(&probe_account);
		let id = invoke(
			Sr25519Keyring::Dave,
			probe,
			IDelegatingProbe::directRequestCall {
				model: FixedBytes::from(model.0),
				input: Bytes::from(input),
				maxFee: U256::from(FEE),
			},
		);
		let request = pallet_inference::Requests::<Runtime>::get(id).expect("the direct request");
		assert_eq!(request.requester, probe_account, "the contract itself requests");
		assert_eq!(Balances::free_balance(&probe_account), probe_free - FEE);
		assert_eq!(Balances::free_balance(&user), free);
	});
}

/// A contract that asked for a callback hears of an agreed failure through
/// `onInferenceFailure(requestId, kind)`; a callback that reverts is rolled back and the request
/// still ends failed, its fee paid to the reporting validators.
#[test]
fn agreed_failures_call_the_contract_back() {
	new_ext().execute_with(|| {
		use pallet_inference::FailureKind;
		let model = register("linear");
		let probe = deploy_probe(model);
		let ask = |mode: u8| ask_probe(probe, mode, 5_000_000_000);
		let failed_with = |id: u64| {
			invoke(Sr25519Keyring::Bob, probe, ICallbackProbe::failedWithCall { requestId: id })
		};
		let (records, reverts) = (ask(0), ask(1));
		let alice = Sr25519Keyring::Alice.to_account_id();
		let alice_before = Balances::free_balance(&alice);
		let timeout = pallet_inference::Answer::Failure(FailureKind::Timeout);
		commit_answers(&[
			(records, Sr25519Keyring::Alice, timeout),
			(records, Sr25519Keyring::Bob, timeout),
			(reverts, Sr25519Keyring::Alice, timeout),
			(reverts, Sr25519Keyring::Bob, timeout),
		]);
		for id in [records, reverts] {
			report_failure(Sr25519Keyring::Alice, id, FailureKind::Timeout);
			assert_eq!(failed_with(id), 0, "no quorum yet, no callback");
			report_failure(Sr25519Keyring::Bob, id, FailureKind::Timeout);
			assert_eq!(
				pallet_inference::Requests::<Runtime>::get(id).unwrap().status,
				RequestStatus::Failed
			);
		}
		assert_eq!(callback_outcome(records), Some(true));
		assert_eq!(failed_with(records), FailureKind::Timeout as u8 + 1);
		assert_eq!(callback_outcome(reverts), Some(false));
		assert_eq!(failed_with(reverts), 0, "a reverted callback's writes are rolled back");
		assert_eq!(Balances::free_balance(&alice), alice_before + FEE, "half of each fee");
		// Status 4 through the precompile.
		let status = invoke(
			Sr25519Keyring::Bob,
			precompile(),
			IInference::requestStatusCall { requestId: records },
		);
		assert_eq!(status, 4);
	});
}

/// Every request made with a callback ends with one: an expired request's contract is called
/// back (`onInferenceExpired`) in the next block that has the prepaid weight to spare, through
/// the same checks as results (a reverting callback is rolled back, the expiry stands); the
/// fee was refunded to the contract.
#[test]
fn expired_requests_call_the_contract_back() {
	use frame_support::traits::Hooks;
	new_ext().execute_with(|| {
		let model = register("linear");
		let probe = deploy_probe(model);
		let ask = |mode: u8| ask_probe(probe, mode, 5_000_000_000);
		let expired_with = |id: u64| {
			invoke(Sr25519Keyring::Bob, probe, ICallbackProbe::expiredWithCall { requestId: id })
		};
		let (records, reverts, dropped) = (ask(0), ask(1), ask(0));
		let settle = |id: u64| {
			call_from(
				Sr25519Keyring::Eve,
				probe,
				ICallbackProbe::settleExpiredCall { requestId: id }.abi_encode(),
			)
		};
		assert_eq!(settle(dropped).reason(), "InferenceConsumer: not concluded so");
		let funds = Balances::free_balance(account_of(probe));
		// A made-up expiry, through the probe's `execute` (a self-call) or from another account,
		// is refused while the request is pending.
		let fake = IInferenceConsumer::onInferenceExpiredCall { requestId: records, reason: 0 }
			.abi_encode();
		let through_execute = ICallbackProbe::executeCall {
			target: alloy_core::primitives::Address::from(probe.0),
			data: fake.clone().into(),
		};
		assert_eq!(
			call_from(Sr25519Keyring::Eve, probe, through_execute.abi_encode()).reason(),
			"InferenceConsumer: not concluded so"
		);
		assert_eq!(
			call_from(Sr25519Keyring::Eve, probe, fake).reason(),
			"InferenceConsumer: only the chain calls back"
		);
		// Nobody answers: both expire at the start of the block after their deadline.
		let deadline = pallet_inference::Requests::<Runtime>::get(records).unwrap().deadline;
		for n in System::block_number() + 1..=deadline + 1 {
			System::set_block_number(n);
			Inference::on_initialize(n);
		}
		for id in [records, reverts] {
			assert_eq!(
				pallet_inference::Requests::<Runtime>::get(id).unwrap().status,
				RequestStatus::Expired
			);
			assert_eq!(expired_with(id), 0, "not before a block has room");
		}
		// Refunded in full: nobody committed.
		assert_eq!(Balances::free_balance(account_of(probe)), funds + 3 * FEE);
		// The chain drops one callback (as when its queue is full): anyone reports the expiry.
		pallet_inference::ExpiryCallbacks::<Runtime>::remove(dropped);
		let used = Inference::on_idle(System::block_number(), Weight::MAX);
		assert!(used.ref_time() > 0);
		assert_eq!(callback_outcome(records), Some(true));
		assert_eq!(expired_with(records), 1, "reason 0 (deadline) + 1");
		assert_eq!(callback_outcome(reverts), Some(false));
		assert_eq!(expired_with(reverts), 0, "a reverted callback's writes are rolled back");
		assert_eq!(expired_with(dropped), 0);
		assert!(matches!(settle(dropped), Outcome::Returned(_)));
		assert_eq!(expired_with(dropped), 3, "reason 2 (reported) + 1");
		assert_eq!(settle(dropped).reason(), "InferenceConsumer: not awaiting this request");
		assert_eq!(settle(records).reason(), "InferenceConsumer: not awaiting this request");
		assert!(!invoke(
			Sr25519Keyring::Bob,
			probe,
			ICallbackProbe::isAwaitingCall { requestId: records }
		));
		// Status 3 through the precompile; nothing is delivered twice.
		let status = invoke(
			Sr25519Keyring::Bob,
			precompile(),
			IInference::requestStatusCall { requestId: records },
		);
		assert_eq!(status, 3);
		assert_eq!(pallet_inference::ExpiryCallbacks::<Runtime>::count(), 0);
	});
}

/// A session rotation leaves its block to transactions: `pallet-session` rotating on its own
/// counted the rotation block as full, so every tenth block carried no answer and no request
/// (issue 17); `ValidatorSet` now rotates the sessions and charges a bounded weight.
#[test]
fn a_session_rotation_leaves_its_block_to_transactions() {
	use frame_support::traits::OnInitialize;
	new_ext().execute_with(|| {
		let period = verity_runtime::SESSION_PERIOD_BLOCKS;
		let index = verity_runtime::Session::current_index();
		System::set_block_number(period - 1);
		let quiet = verity_runtime::AllPalletsWithSystem::on_initialize(period - 1);
		assert_eq!(
			verity_runtime::Session::current_index(),
			index,
			"no rotation before the period"
		);
		System::set_block_number(period);
		let used = verity_runtime::AllPalletsWithSystem::on_initialize(period);
		assert_eq!(verity_runtime::Session::current_index(), index + 1, "the session rotated");
		let max = <Runtime as frame_system::Config>::BlockWeights::get().max_block;
		assert!(used.all_gt(quiet), "the rotation is charged");
		assert!(used.ref_time() * 10 < max.ref_time(), "{used:?} of a block of {max:?}");
	});
}

/// The gas a request prepays for its callback comes back, less what the callback used, to the
/// account that signed the transaction, and never more than that transaction paid for the
/// unused weight: two requesting transactions, alike but for their callback limit (the whole
/// limit; only what the first callback used), differ in fee by at least the refund.
#[test]
fn unused_callback_weight_goes_back_to_its_payer_never_more_than_it_paid() {
	use codec::Encode;
	use frame_support::dispatch::GetDispatchInfo;
	new_ext().execute_with(|| {
		let model = register("linear");
		let bob = Sr25519Keyring::Bob.to_account_id();
		// Bob asks the precompile directly: the callback calls his account (no code), which
		// uses almost none of the limit.
		let request = |limit: Weight| -> (u64, Balance) {
			let data = IInference::requestInferenceWithCallbackCall {
				model: FixedBytes::from(model.0),
				input: probe_input().into(),
				maxFee: U256::from(FEE),
				timeout: 0,
				callbackRefTime: limit.ref_time(),
				callbackProofSize: limit.proof_size(),
			}
			.abi_encode();
			let call = RuntimeCall::Revive(pallet_revive::Call::call {
				dest: precompile(),
				value: 0,
				weight_limit: Weight::from_parts(200_000_000_000, 4 * 1024 * 1024),
				storage_deposit_limit: UNIT,
				data,
			});
			let (info, len) = (call.get_dispatch_info(), call.encoded_size() as u32);
			let post = call.dispatch(RuntimeOrigin::signed(bob.clone())).expect("request");
			let fee = verity_runtime::TransactionPayment::compute_actual_fee(len, &info, &post, 0);
			(*requested_ids().last().expect("a request"), fee)
		};
		let limit = Weight::from_parts(5_000_000_000, 262_144);
		let (id, paid) = request(limit);
		let before = Balances::free_balance(&bob);
		let issuance = total_issuance();
		finalize_with_quorum(id);
		let used =
			inference_events()
				.into_iter()
				.find_map(|e| match e {
					pallet_inference::Event::CallbackDelivered {
						request_id, weight_used, ..
					} if request_id == id => Some(weight_used),
					_ => None,
				})
				.expect("called back");
		let (payer, amount) = inference_events()
			.into_iter()
			.find_map(|e| match e {
				pallet_inference::Event::CallbackRefunded { request_id, payer, unused, amount }
					if request_id == id =>
				{
					assert_eq!(unused, limit - used);
					Some((payer, amount))
				}
				_ => None,
			})
			.expect("refunded");
		assert_eq!(payer, bob, "the signer of the transaction that paid the gas");
		// The validators' pay came from the escrow; Bob got the refund on top, minted.
		assert!(Balances::free_balance(&bob) >= before + amount);
		assert_eq!(total_issuance(), issuance + amount);
		let paid_for_used = request(used).1;
		println!(
			"fee with the whole limit {paid}, with the used part {paid_for_used}, refund {amount}"
		);
		assert!(
			amount > 0 && amount <= paid - paid_for_used,
			"{amount} > {paid} - {paid_for_used}"
		);
	});
}
