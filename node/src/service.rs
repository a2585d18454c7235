//! Assembles the node: client, import queue, networking, Aura authoring, GRANDPA voting,
//! off-chain workers and RPC.
use futures::FutureExt;
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::OffchainTransactionPoolFactory;
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};
use std::{sync::Arc, time::Duration};
use verity_primitives::host::ModelFetch;
use verity_runtime::{opaque::Block, RuntimeApi};

/// Host functions the runtime may import. Every node registers the same set: a runtime that
/// imports a function the executor lacks is refused. The `inference` functions only do work in
/// off-chain workers, where the engine extension is registered (see `new_full`).
pub type HostFunctions =
	(sp_io::SubstrateHostFunctions, verity_primitives::host::inference::HostFunctions);

pub(crate) type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, sc_executor::WasmExecutor<HostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;

/// Blocks between GRANDPA justifications that are imported and generated.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// GRANDPA's voting rule: Substrate's default (`BeforeBestBlockBy(2)` and
/// `ThreeQuartersOfTheUnfinalizedChain`) with `votes_behind` blocks instead of 2; with 0, votes
/// go to the best block. Voting rules restrict which block an honest voter votes for: GRANDPA's
/// safety (no two conflicting finalized blocks while fewer than a third of the voters
/// equivocate) holds whatever they are (docs/finality.md).
fn voting_rule(
	votes_behind: u32,
) -> impl sc_consensus_grandpa::VotingRule<Block, FullClient> + Clone + 'static {
	let rules = sc_consensus_grandpa::VotingRulesBuilder::new();
	let rules = if votes_behind > 0 {
		rules.add(sc_consensus_grandpa::BeforeBestBlockBy(votes_behind))
	} else {
		rules
	};
	rules.add(sc_consensus_grandpa::ThreeQuartersOfTheUnfinalizedChain).build()
}

/// The parts of the service that sub-commands need too.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	sc_consensus::DefaultImportQueue<Block>,
	sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
	(
		sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>,
		sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
		Option<Telemetry>,
	),
>;

/// Aura inherent data for a slot: the timestamp and the slot derived from it.
fn aura_inherents(
	slot_duration: sp_consensus_aura::SlotDuration,
) -> (sp_consensus_aura::inherents::InherentDataProvider, sp_timestamp::InherentDataProvider) {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		slot_duration,
	);
	(slot, timestamp)
}

/// Builds the client, backend, import queue and transaction pool.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = sc_consensus::LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
		client.clone(),
		GRANDPA_JUSTIFICATION_PERIOD,
		&client,
		select_chain.clone(),
		telemetry.as_ref().map(|x| x.handle()),
	)?;

	let cidp_client = client.clone();
	let import_queue =
		sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
			block_import: grandpa_block_import.clone(),
			justification_import: Some(Box::new(grandpa_block_import.clone())),
			client: client.clone(),
			create_inherent_data_providers: move |parent_hash, _| {
				let cidp_client = cidp_client.clone();
				async move {
					let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
						&*cidp_client,
						parent_hash,
					)?;
					Ok(aura_inherents(slot_duration))
				}
			},
			spawner: &task_manager.spawn_essential_handle(),
			registry: config.prometheus_registry(),
			check_for_equivocation: Default::default(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			compatibility_mode: Default::default(),
		})?;

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (grandpa_block_import, grandpa_link, telemetry),
	})
}

/// Builds and starts a full node (an authority when started with `--validator`).
/// `engine`: the inference engine for this validator's off-chain worker, if it runs models;
/// `fetch`: its downloads of hosted models.
/// `copy_answers`: the copier fault (test builds with `fault-injection` only; else ignored).
pub fn new_full<
	N: sc_network::NetworkBackend<Block, <Block as sp_runtime::traits::Block>::Hash>,
>(
	config: Configuration,
	engine: Option<Arc<dyn verity_primitives::host::InferenceEngine>>,
	fetch: Option<Arc<dyn ModelFetch>>,
	copy_answers: bool,
	grandpa_votes_behind: u32,
) -> Result<TaskManager, ServiceError> {
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (block_import, grandpa_link, mut telemetry),
	} = new_partial(&config)?;

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as sp_runtime::traits::Block>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let peer_store_handle = net_config.peer_store_handle();
	let grandpa_protocol_name = sc_consensus_grandpa::protocol_standard_name(
		&client.block_hash(0).ok().flatten().expect("Genesis block exists; qed"),
		&config.chain_spec,
	);
	let (grandpa_protocol_config, grandpa_notification_service) =
		sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			peer_store_handle,
		);
	net_config.add_notification_protocol(grandpa_protocol_config);

	let warp_sync = Arc::new(sc_consensus_grandpa::warp_proof::NetworkProvider::new(
		backend.clone(),
		grandpa_link.shared_authority_set().clone(),
		Vec::default(),
	));

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config: Some(WarpSyncConfig::WithProvider(warp_sync)),
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				// The engine is reachable from off-chain workers only: block import, authoring
				// and transaction validation never see this extension.
				custom_extensions: move |_| {
					let engine = engine.iter().map(|e| {
						Box::new(verity_primitives::host::InferenceExt::new(e.clone()))
							as Box<dyn sp_externalities::Extension>
					});
					let fetch = fetch.iter().map(|f| {
						Box::new(verity_primitives::host::ModelFetchExt::new(f.clone()))
							as Box<dyn sp_externalities::Extension>
					});
					engine.chain(fetch).collect()
				},
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	#[cfg(feature = "fault-injection")]
	if copy_answers {
		task_manager.spawn_handle().spawn(
			"fault-copy-answers",
			None,
			crate::fault::copy_answers(
				client.clone(),
				transaction_pool.clone(),
				keystore_container.keystore(),
			)
			.boxed(),
		);
	}
	#[cfg(not(feature = "fault-injection"))]
	let _ = copy_answers;

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_extensions_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		let backend = backend.clone();
		let authority_set = grandpa_link.shared_authority_set().clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps {
				client: client.clone(),
				pool: pool.clone(),
				finality: Some(crate::rpc::FinalityDeps {
					backend: backend.clone(),
					authority_set: authority_set.clone(),
				}),
			};
			crate::rpc::create_full::<_, _, FullBackend>(deps).map_err(Into::into)
		})
	};

	let _rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder: rpc_extensions_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if role.is_authority() {
		let proposer_factory = sc_basic_authorship::ProposerFactory::new(
			task_manager.spawn_handle(),
			client.clone(),
			transaction_pool.clone(),
			prometheus_registry.as_ref(),
			telemetry.as_ref().map(|x| x.handle()),
		);

		let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;
		let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
			StartAuraParams {
				slot_duration,
				client,
				select_chain,
				block_import,
				proposer_factory,
				create_inherent_data_providers: move |_, ()| async move {
					Ok(aura_inherents(slot_duration))
				},
				force_authoring,
				backoff_authoring_blocks: Option::<()>::None,
				keystore: keystore_container.keystore(),
				sync_oracle: sync_service.clone(),
				justification_sync_link: sync_service.clone(),
				block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
				max_block_proposal_slot_portion: None,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				compatibility_mode: Default::default(),
			},
		)?;
		// Block authoring is essential: if it fails, the node goes down with it.
		task_manager.spawn_essential_handle().spawn_blocking("aura", Some("block-authoring"), aura);
	}

	if enable_grandpa {
		// Only an authority needs a keystore for GRANDPA.
		let keystore = if role.is_authority() { Some(keystore_container.keystore()) } else { None };
		let grandpa_config = sc_consensus_grandpa::Config {
			// A tenth of the block time (200 ms; the template's 333 ms was for 6 s blocks): a
			// GRANDPA round waits up to 2 and 4 gossip durations for prevotes and precommits, so
			// a result's block is final about one round after its import (docs/finality.md).
			gossip_duration: Duration::from_millis(verity_primitives::MILLISECS_PER_BLOCK / 10),
			justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
			name: Some(name),
			observer_enabled: false,
			keystore,
			local_role: role,
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			protocol_name: grandpa_protocol_name,
		};
		let grandpa_params = sc_consensus_grandpa::GrandpaParams {
			config: grandpa_config,
			link: grandpa_link,
			network,
			sync: Arc::new(sync_service),
			notification_service: grandpa_notification_service,
			voting_rule: voting_rule(grandpa_votes_behind),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		// The GRANDPA voter is essential too.
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
		);
	}

	Ok(task_manager)
}

/// A validator's engine and its downloads of hosted models.
pub type Inference = (Arc<dyn verity_engine::InferenceEngine>, Arc<dyn ModelFetch>);

/// The engine of a running node, if it should run models: validators unless `--no-inference`.
/// Models run in worker processes (`verity-node inference-worker`, see
/// `verity_engine::worker`), never in the node. With it, the node's downloads of hosted models
/// into the same model folder (`crate::hosted`).
pub fn inference_engine(
	params: &crate::cli::InferenceParams,
	config: &sc_service::Configuration,
) -> Result<Option<Inference>, sc_cli::Error> {
	if params.no_inference || !config.role.is_authority() {
		log::info!(target: "verity", "inference disabled on this node");
		return Ok(None);
	}
	let mut engine = params.engine.config().map_err(sc_cli::Error::Input)?;
	#[cfg(feature = "fault-injection")]
	if params.fault_unoptimized_graph {
		log::warn!(target: "verity", "FAULT INJECTION: this validator runs unoptimized graphs");
		engine.optimize_graph = false;
	}
	let model_dir =
		params.model_cache_dir.clone().unwrap_or_else(|| config.base_path.path().join("models"));
	// Absolute: workers run in this folder, and read the model files by their full path.
	std::fs::create_dir_all(&model_dir).map_err(|e| sc_cli::Error::Input(e.to_string()))?;
	let model_dir = std::fs::canonicalize(&model_dir)?;
	// Workers may write in their folder: it must hold nothing of the node's (keystore, database).
	std::fs::create_dir_all(config.base_path.path())?;
	let base = std::fs::canonicalize(config.base_path.path())?;
	if base.starts_with(&model_dir) {
		return Err(sc_cli::Error::Input(format!(
			"--model-cache-dir {} holds the node's base path {}: inference workers may write in \
			 it; give them a folder of their own",
			model_dir.display(),
			base.display()
		)));
	}
	engine.model_dir = Some(model_dir.clone());
	let memory_bytes = params
		.inference_memory_mib
		.checked_mul(1 << 20)
		.ok_or_else(|| sc_cli::Error::Input("--inference-memory-mib is too large".into()))?;
	let pool = verity_engine::worker::PoolConfig {
		program: std::env::current_exe()?,
		args: vec!["inference-worker".into()],
		spec: verity_engine::worker::WorkerSpec { engine, memory_bytes },
		max_workers: params.inference_workers,
		load_limit: Duration::from_secs(60),
	};
	let summary = format!(
		"ONNX Runtime from {}, {} thread(s), {} ms limit, up to {} worker(s) of {} MiB, models in {}",
		pool.spec.engine.library.display(),
		pool.spec.engine.intra_threads,
		pool.spec.engine.max_run.as_millis(),
		pool.max_workers,
		params.inference_memory_mib,
		model_dir.display(),
	);
	let pool = verity_engine::worker::WorkerPool::new(pool).map_err(sc_cli::Error::Input)?;
	log::info!(target: "verity", "inference engine ready: {summary}");
	let limits = verity_model_fetch::Limits {
		allow_private: params.allow_private_model_hosts,
		..Default::default()
	};
	let fetch = crate::hosted::HostedModels::new(limits, &model_dir);
	Ok(Some((Arc::new(pool), Arc::new(fetch))))
}
