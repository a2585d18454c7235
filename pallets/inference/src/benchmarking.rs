//! Benchmarks of `pallet-inference`: every call at its worst case, the attestation path inside
//! `submit_result`, and the expiry/pruning work of `on_initialize`.
use super::*;
use frame_benchmarking::v2::*;
use frame_support::traits::{fungible::Mutate as _, Get, Hooks};
use frame_system::RawOrigin;
use sp_runtime::traits::Bounded;
use verity_primitives::{
	agreement::Tolerance,
	spec::{tensor_spec, Dim},
	tensor::{encode_owned, DType, Tensor},
};

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	// Plenty for deposits and fees, far from overflowing total issuance.
	let amount: BalanceOf<T> = 1_000_000_000u32.into();
	T::Currency::set_balance(&who, amount.saturating_mul(amount));
	who
}

/// f32 tensor named `name` of shape [1, n] filling about `bytes` bytes.
fn tensor_bytes(name: &str, bytes: u32) -> (Vec<u8>, u32) {
	let n = (bytes.saturating_sub(64) / 4).max(1);
	let values: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
	(encode_owned(&[Tensor::from_f32(name, alloc::vec![1, n], &values)]), n)
}

/// Like [`tensor_bytes`], each value moved by `shift` (results that agree within the
/// benchmark model's tolerance without being byte-identical: the element-wise comparison).
fn shifted_tensor(name: &str, bytes: u32, shift: f32) -> Vec<u8> {
	let n = (bytes.saturating_sub(64) / 4).max(1);
	let values: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 + shift).collect();
	encode_owned(&[Tensor::from_f32(name, alloc::vec![1, n], &values)])
}

/// An active model whose input is `x: f32[1, n_in]` and output `y: f32[1, n_out]`.
fn setup_model<T: Config>(n_in: u32, n_out: u32) -> (T::AccountId, ModelId) {
	let owner = funded::<T>("owner", 0);
	let bytes = alloc::vec![7u8; 64];
	let id = H256(sp_io::hashing::blake2_256(&bytes));
	Models::<T>::insert(
		id,
		ModelInfo {
			owner: owner.clone(),
			code_hash: id,
			size: 64,
			uploaded: 64,
			chunks: 1,
			inputs: BoundedVec::truncate_from(alloc::vec![tensor_spec(
				"x",
				DType::F32,
				&[Dim::Fixed(1), Dim::Fixed(n_in)]
			)]),
			outputs: BoundedVec::truncate_from(alloc::vec![tensor_spec(
				"y",
				DType::F32,
				&[Dim::Fixed(1), Dim::Fixed(n_out)]
			)]),
			tolerance: Tolerance { abs_e9: 10_000, rel_e9: 1_000 },
			fee: 1_000_000u32.into(),
			deposit: 0u32.into(),
			status: ModelStatus::Active,
			registered_at: 0u32.into(),
		},
	);
	ModelChunks::<T>::insert(id, 0, BoundedVec::truncate_from(bytes));
	(owner, id)
}

/// Executors: accounts and their `infr` keys (in the benchmark keystore).
type Members<T> = Vec<(<T as frame_system::Config>::AccountId, InferenceAuthorityId)>;
/// A commit batch and its signature.
type SignedBatch<T> = (CommitBatchOf<T>, <InferenceAuthorityId as RuntimeAppPublic>::Signature);

/// `k` executors with keys in the benchmark keystore.
fn setup_executors<T: Config>(k: u32) -> Vec<(T::AccountId, InferenceAuthorityId)> {
	let executors: Vec<(T::AccountId, InferenceAuthorityId)> = (0..k)
		.map(|i| (funded::<T>("executor", i), InferenceAuthorityId::generate_pair(None)))
		.collect();
	Pallet::<T>::set_executors(executors.iter().map(|(a, key)| (a, key.clone())));
	executors
}

/// A pending request for a model with output `y: f32[1, n_out]`, attested by `committee`
/// executors whose keys are in the keystore.
fn open_request<T: Config>(
	n_out: u32,
	committee: u32,
) -> Result<(RequestId, Members<T>), BenchmarkError> {
	let (_, model) = setup_model::<T>(1, n_out);
	let executors = setup_executors::<T>(committee);
	let requester = funded::<T>("requester", 0);
	let (input, _) = tensor_bytes("x", 64);
	let id = Pallet::<T>::do_request(
		requester,
		model,
		input,
		BalanceOf::<T>::max_value(),
		None,
		Default::default(),
	)?;
	Ok((id, executors))
}

/// The salt of every benchmark commitment.
const SALT: Salt = [7; 32];

/// Each of `members` commits to `answer` for request `id`; then the chain moves to the first
/// block after the commit window, where answers are revealed.
fn commit_and_close<T: Config>(
	id: RequestId,
	members: &[InferenceAuthorityId],
	answer: Answer<'_>,
) {
	let request = Requests::<T>::get(id).expect("the request exists");
	let at = frame_system::Pallet::<T>::block_number();
	for key in members {
		let member = request.committee.iter().position(|e| &e.key == key).expect("a member") as u32;
		let hash =
			commitment(Pallet::<T>::genesis_hash(), id, &request.input_hash, key, answer, &SALT);
		Commitments::<T>::insert(id, member, Commitment { hash, at });
		CommitCounts::<T>::mutate(id, |n| *n += 1);
	}
	frame_system::Pallet::<T>::set_block_number(
		Pallet::<T>::commit_deadline(&request) + 1u32.into(),
	);
}

fn signed_submission<T: Config>(
	request_id: RequestId,
	key: &InferenceAuthorityId,
	output: Vec<u8>,
) -> (SubmissionOf<T>, <InferenceAuthorityId as RuntimeAppPublic>::Signature) {
	let submission = ResultSubmission {
		request_id,
		executor: key.clone(),
		output: BoundedVec::truncate_from(output),
		salt: SALT,
		profile: None,
	};
	let request = Requests::<T>::get(request_id).expect("the request exists");
	let signature =
		key.sign(&Pallet::<T>::signing_payload(&submission, &request)).expect("key in keystore");
	(submission, signature)
}

/// `n` pending requests with the largest committee, and the signed batch of the last member's
/// commitments to all of them.
fn commit_batch<T: Config>(n: u32) -> Result<SignedBatch<T>, BenchmarkError> {
	let (_, model) = setup_model::<T>(1, 1);
	let executors = setup_executors::<T>(T::MaxCommittee::get());
	let key = executors.last().expect("a committee").1.clone();
	let (input, _) = tensor_bytes("x", 64);
	let per_account = T::MaxPendingPerAccount::get().max(1);
	let mut commitments = Vec::new();
	for i in 0..n {
		// Spread over deadlines and requesters: at most `MaxRequestsPerBlock` share one
		// deadline, `MaxPendingPerAccount` one requester.
		let timeout = 2 + i / T::MaxRequestsPerBlock::get();
		let id = Pallet::<T>::do_request(
			funded::<T>("requester", i / per_account),
			model,
			input.clone(),
			BalanceOf::<T>::max_value(),
			Some(timeout.into()),
			Default::default(),
		)?;
		commitments.push((id, H256::repeat_byte(i as u8)));
	}
	let batch =
		CommitBatch { executor: key.clone(), commitments: BoundedVec::truncate_from(commitments) };
	let signature = key.sign(&Pallet::<T>::commit_payload(&batch)).expect("key in keystore");
	Ok((batch, signature))
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_model() {
		let owner = funded::<T>("owner", 0);
		let id = H256::repeat_byte(1);
		let specs: spec::TensorSpecs = BoundedVec::truncate_from(
			(0..verity_primitives::tensor::MAX_TENSORS)
				.map(|i| {
					tensor_spec(
						&alloc::format!("tensor_{i:02}_{}", "n".repeat(50)),
						DType::F32,
						&[Dim::Dynamic; 8],
					)
				})
				.collect::<Vec<_>>(),
		);
		let model =
			Pallet::<T>::model_id(&owner, &id, &specs, &specs, &Tolerance::default(), 1u32.into());
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			id,
			T::MaxModelBytes::get(),
			specs.clone(),
			specs,
			Tolerance::default(),
			1u32.into(),
		);
		assert!(Models::<T>::contains_key(model));
	}

	#[benchmark]
	fn upload_model_chunk(c: Linear<1, { T::MaxChunkBytes::get() }>) {
		let owner = funded::<T>("owner", 0);
		let code = H256::repeat_byte(1);
		let outputs: spec::TensorSpecs =
			BoundedVec::truncate_from(alloc::vec![tensor_spec("y", DType::F32, &[Dim::Dynamic])]);
		let id = Pallet::<T>::model_id(
			&owner,
			&code,
			&outputs,
			&outputs,
			&Tolerance::default(),
			1u32.into(),
		);
		// A model of `c` bytes: its one chunk is the last, which may be shorter than
		// MaxChunkBytes (the work is the same as for a full chunk of `c` bytes).
		Pallet::<T>::register_model(
			RawOrigin::Signed(owner.clone()).into(),
			code,
			c,
			outputs.clone(),
			outputs,
			Tolerance::default(),
			1u32.into(),
		)
		.unwrap();
		let chunk = BoundedVec::truncate_from(alloc::vec![1u8; c as usize]);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, chunk);
		assert_eq!(Models::<T>::get(id).unwrap().uploaded, c);
	}

	#[benchmark]
	fn complete_model_upload(s: Linear<1, { T::MaxModelBytes::get() }>) {
		let owner = funded::<T>("owner", 0);
		let bytes = alloc::vec![3u8; s as usize];
		let code = H256(sp_io::hashing::blake2_256(&bytes));
		let outputs: spec::TensorSpecs =
			BoundedVec::truncate_from(alloc::vec![tensor_spec("y", DType::F32, &[Dim::Dynamic])]);
		let id = Pallet::<T>::model_id(
			&owner,
			&code,
			&outputs,
			&outputs,
			&Tolerance::default(),
			1u32.into(),
		);
		Pallet::<T>::register_model(
			RawOrigin::Signed(owner.clone()).into(),
			code,
			s,
			outputs.clone(),
			outputs,
			Tolerance::default(),
			1u32.into(),
		)
		.unwrap();
		for chunk in bytes.chunks(T::MaxChunkBytes::get() as usize) {
			Pallet::<T>::upload_model_chunk(
				RawOrigin::Signed(owner.clone()).into(),
				id,
				BoundedVec::truncate_from(chunk.to_vec()),
			)
			.unwrap();
		}
		// The probe request needs a committee; its cost is `request_inference`'s, added to this
		// weight by `complete_model_upload_weight`.
		setup_executors::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id, None);
		assert_eq!(Models::<T>::get(id).unwrap().status, ModelStatus::Probing);
	}

	#[benchmark]
	fn retire_model() {
		let (owner, id) = setup_model::<T>(2, 1);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert_eq!(Models::<T>::get(id).unwrap().status, ModelStatus::Retired);
	}

	#[benchmark]
	fn remove_model(n: Linear<1, { T::MaxModelBytes::get().div_ceil(T::MaxChunkBytes::get()) }>) {
		let (owner, id) = setup_model::<T>(2, 1);
		for i in 0..n {
			ModelChunks::<T>::insert(id, i, BoundedVec::truncate_from(alloc::vec![1u8; 32]));
		}
		Models::<T>::mutate(id, |m| m.as_mut().unwrap().chunks = n);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), id);
		assert!(!Models::<T>::contains_key(id));
	}

	#[benchmark]
	fn request_inference(
		i: Linear<64, { T::MaxInputBytes::get() }>,
		k: Linear<1, { T::MaxCommittee::get() }>,
	) {
		let (input, n) = tensor_bytes("x", i);
		let (_, model) = setup_model::<T>(n, 1);
		setup_executors::<T>(k);
		let requester = funded::<T>("requester", 0);
		let id = NextRequestId::<T>::get();
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), model, input.clone(), BalanceOf::<T>::max_value(), None);
		assert_eq!(PendingCount::<T>::get(), 1);
		let request = Requests::<T>::get(id).expect("the request is stored");
		assert_eq!(request.status, RequestStatus::Pending);
		assert_eq!(RequestInputs::<T>::get(id).map(|i| i.to_vec()), Some(input));
	}

	#[benchmark]
	fn authorize_submit_result(
		o: Linear<64, { T::MaxOutputBytes::get() }>,
	) -> Result<(), BenchmarkError> {
		let (output, n) = tensor_bytes("y", o);
		let (id, executors) = open_request::<T>(n, 1)?;
		commit_and_close::<T>(id, &[executors[0].1.clone()], Answer::Output(&output));
		let (submission, signature) = signed_submission::<T>(id, &executors[0].1, output);
		let valid;
		#[block]
		{
			valid = Pallet::<T>::authorize_submit_result(
				TransactionSource::External,
				&submission,
				&signature,
			)
			.map_err(|_| BenchmarkError::Stop("not authorized"))?;
		}
		// Valid, and checking it wrote nothing: the answer is stored only when the call runs.
		assert!(!valid.0.provides.is_empty());
		assert_eq!(Submissions::<T>::iter_prefix(id).count(), 0);
		Ok(())
	}

	/// Worst case: the `k`-th result is compared with the `k - 1` earlier ones (each comparison
	/// reads one earlier output and, as no two are byte-identical, compares every element
	/// within the tolerance), all agree, it completes the quorum and all `k` are paid.
	///
	/// `o` runs up to 64 KiB, not `MaxOutputBytes` (1 MiB): the work is linear in `o` for a
	/// given `k` (each comparison reads and compares `o` bytes), and the CLI measures the slope
	/// of `o` with `k` at its largest, so the charged weight of a 1 MiB output is that slope
	/// carried on. The slope of `k` is measured with `o` at its largest, so a range up to 1 MiB
	/// would charge every small result 3 ms per member for comparisons of 1 MiB outputs
	/// (measured: 3.03 ms per member, against 0.22 ms with this range).
	// Proof of the stored outputs as measured (each is `o` bytes): the `MaxEncodedLen` estimate
	// would count 1 MiB per read whatever the output's size.
	#[benchmark(pov_mode = MaxEncodedLen { Inference::SubmittedOutputs: Measured })]
	fn submit_result(
		o: Linear<64, { T::MaxOutputBytes::get().min(64 * 1024) }>,
		k: Linear<0, { T::MaxCommittee::get() }>,
	) -> Result<(), BenchmarkError> {
		let (output, n) = tensor_bytes("y", o);
		let committee = k.max(1);
		let (id, executors) = open_request::<T>(n, committee)?;
		// All but the last result are in; with k = 0 the quorum is not reached (no attestation).
		Requests::<T>::mutate(id, |r| {
			r.as_mut().unwrap().quorum = if k == 0 { committee + 1 } else { committee }
		});
		// Member j answers values shifted by j * 1e-7: within the tolerance (1e-5), never
		// byte-identical.
		let outputs: Vec<Vec<u8>> =
			(0..committee).map(|j| shifted_tensor("y", o, j as f32 * 1e-7)).collect();
		let request = Requests::<T>::get(id).expect("the request exists");
		let at = frame_system::Pallet::<T>::block_number();
		for (j, (_, key)) in executors.iter().enumerate() {
			let hash = commitment(
				Pallet::<T>::genesis_hash(),
				id,
				&request.input_hash,
				key,
				Answer::Output(&outputs[j]),
				&SALT,
			);
			Commitments::<T>::insert(id, j as u32, Commitment { hash, at });
		}
		CommitCounts::<T>::insert(id, committee);
		frame_system::Pallet::<T>::set_block_number(
			Pallet::<T>::commit_deadline(&request) + 1u32.into(),
		);
		for (j, (_, key)) in executors.iter().enumerate().take(committee as usize - 1) {
			let (s, sig) = signed_submission::<T>(id, key, outputs[j].clone());
			Pallet::<T>::submit_result(RawOrigin::Authorized.into(), s, sig)
				.map_err(|e| e.error)?;
		}
		let last = committee as usize - 1;
		let (submission, signature) =
			signed_submission::<T>(id, &executors[last].1, outputs[last].clone());
		let _ = output;
		#[extrinsic_call]
		_(RawOrigin::Authorized, submission, signature);
		let status = Requests::<T>::get(id).map(|r| r.status);
		if k > 0 {
			assert!(Results::<T>::contains_key(id));
			assert_eq!(status, Some(RequestStatus::Attested));
		} else {
			// The only member answered without a quorum: no result, the request expired.
			assert!(!Results::<T>::contains_key(id));
			assert_eq!(status, Some(RequestStatus::Expired));
			assert_eq!(Submissions::<T>::iter_prefix(id).count(), 0);
		}
		Ok(())
	}

	/// Worst case of a failure report: the `k`-th of `k` identical reports (each earlier vote
	/// is read), it completes the quorum, all `k` members are paid and the model's failure
	/// streak counts it (a kind that counts against the model). (The call's weight is
	/// still bounded by `submit_result(0, MaxCommittee)` plus the reads; see its doc.)
	#[benchmark]
	fn submit_failure(k: Linear<1, { T::MaxCommittee::get() }>) -> Result<(), BenchmarkError> {
		let (id, executors) = open_request::<T>(1, k)?;
		Requests::<T>::mutate(id, |r| r.as_mut().unwrap().quorum = k);
		let keys: Vec<_> = executors.iter().map(|(_, key)| key.clone()).collect();
		commit_and_close::<T>(id, &keys, Answer::Failure(FailureKind::RunFailed));
		let report = |key: &InferenceAuthorityId| {
			let failure = FailureSubmission {
				request_id: id,
				executor: key.clone(),
				kind: FailureKind::RunFailed,
				salt: SALT,
			};
			let request = Requests::<T>::get(id).expect("the request exists");
			let signature = key
				.sign(&Pallet::<T>::failure_payload(&failure, &request))
				.expect("key in keystore");
			(failure, signature)
		};
		for (_, key) in executors.iter().take(k as usize - 1) {
			let (failure, signature) = report(key);
			Pallet::<T>::submit_failure(RawOrigin::Authorized.into(), failure, signature)?;
		}
		let (failure, signature) = report(&executors[k as usize - 1].1);
		#[extrinsic_call]
		_(RawOrigin::Authorized, failure, signature);
		assert_eq!(Requests::<T>::get(id).unwrap().status, RequestStatus::Failed);
		assert_eq!(FailureStreak::<T>::get(Requests::<T>::get(id).unwrap().model), 1);
		Ok(())
	}

	/// `q` requests scheduled for this block, `e` of them still pending (expired: each holds a
	/// commitment of every member of the largest committee, who are all paid their share, and
	/// the largest stored output of each), `p` requests pruned.
	// Proof size as measured: clearing an expired request's stored outputs deletes them
	// without reading them, where the `MaxEncodedLen` estimate would count 64 KiB per output.
	#[benchmark(pov_mode = Measured)]
	fn on_initialize(
		q: Linear<0, { T::MaxRequestsPerBlock::get() }>,
		e: Linear<0, { T::MaxRequestsPerBlock::get() }>,
		p: Linear<0, { T::MaxRequestsPerBlock::get() }>,
	) -> Result<(), BenchmarkError> {
		let (_, model) = setup_model::<T>(1, 1);
		let committee = T::MaxCommittee::get();
		setup_executors::<T>(committee);
		// Clearing deletes the stored outputs without reading them (proof measured): their
		// size does not change the cost, and 85 requests × 16 members × 1 MiB would be 1.4 GB of
		// setup. 64 KiB each.
		let (stored, _) = tensor_bytes("y", T::MaxOutputBytes::get().min(64 * 1024));
		let per_account = T::MaxPendingPerAccount::get().max(1);
		let (input, _) = tensor_bytes("x", 64);
		let scheduled = q.max(e) as usize;
		let expiry_block = frame_system::Pallet::<T>::block_number() + 3u32.into();
		let mut ids = Vec::new();
		// The first `e` scheduled requests stay pending; the other scheduled ones and the `p`
		// requests to prune are closed right away (so the pending bound is never hit).
		for index in 0..scheduled + p as usize {
			let id = Pallet::<T>::do_request(
				funded::<T>("requester", index as u32 / per_account),
				model,
				input.clone(),
				BalanceOf::<T>::max_value(),
				Some(2u32.into()),
				Default::default(),
			)?;
			ExpiryQueue::<T>::remove(expiry_block);
			if index >= e as usize {
				let request = Requests::<T>::get(id).unwrap();
				let _ = Pallet::<T>::expire(id, request, ExpiryReason::Deadline);
			} else {
				for member in 0..committee {
					let commitment = Commitment { hash: H256::repeat_byte(1), at: 1u32.into() };
					Commitments::<T>::insert(id, member, commitment);
					// Each member's output distinct (the most bytes to clear).
					let hash = H256::repeat_byte(member as u8);
					Submissions::<T>::insert(id, member, hash);
					SubmittedOutputs::<T>::insert(
						id,
						hash,
						BoundedVec::truncate_from(stored.clone()),
					);
					SubmissionSupport::<T>::insert(
						id,
						member,
						verity_primitives::agreement::Support::new(member, member),
					);
				}
				CommitCounts::<T>::insert(id, committee);
			}
			ids.push(id);
		}
		ExpiryQueue::<T>::insert(
			expiry_block,
			BoundedVec::truncate_from(ids[..scheduled].to_vec()),
		);
		PruneQueue::<T>::insert(expiry_block, BoundedVec::truncate_from(ids[scheduled..].to_vec()));
		#[block]
		{
			Pallet::<T>::on_initialize(expiry_block);
		}
		// The pending ones expired (their commitments and answers cleared), the pruned ones
		// are gone, and both queues of the block are empty.
		for id in &ids[..e as usize] {
			assert_eq!(Requests::<T>::get(id).map(|r| r.status), Some(RequestStatus::Expired));
			assert_eq!(Commitments::<T>::iter_prefix(id).count(), 0);
			assert_eq!(Submissions::<T>::iter_prefix(id).count(), 0);
		}
		for id in &ids[scheduled..] {
			assert!(!Requests::<T>::contains_key(id));
			assert!(!RequestInputs::<T>::contains_key(id));
		}
		assert!(!ExpiryQueue::<T>::contains_key(expiry_block));
		assert!(!PruneQueue::<T>::contains_key(expiry_block));
		assert_eq!(PendingCount::<T>::get(), 0);
		Ok(())
	}

	/// One expiry callback delivered (the runtime's callback given no weight: what is measured
	/// is the pallet's part; the callback's own weight is charged as used), then the look for
	/// the next entry.
	#[benchmark]
	fn deliver_expiry_callback() -> Result<(), BenchmarkError> {
		let (id, _) = open_request::<T>(1, T::MaxCommittee::get())?;
		let request = Requests::<T>::get(id).expect("the request exists");
		Callbacks::<T>::insert(
			id,
			Callback {
				limit: Weight::zero(),
				payer: None,
				fee_multiplier: T::CallbackFee::multiplier(),
			},
		);
		let _ = Pallet::<T>::expire(id, request, ExpiryReason::Deadline);
		assert_eq!(ExpiryCallbacks::<T>::count(), 1);
		let used;
		#[block]
		{
			used = Pallet::<T>::deliver_expiry_callbacks(Weight::MAX);
		}
		assert_eq!(ExpiryCallbacks::<T>::count(), 0);
		assert!(used.all_gte(T::WeightInfo::deliver_expiry_callback()));
		Ok(())
	}

	/// `n` registrations of the largest model whose upload window ends now, each with every
	/// chunk but the last uploaded: all cleared.
	// Proof size as measured: clearing the chunks deletes them without reading them.
	#[benchmark(pov_mode = Measured)]
	fn expire_uploads(
		n: Linear<0, { T::MaxUploadsPerBlock::get() }>,
	) -> Result<(), BenchmarkError> {
		let size = T::MaxModelBytes::get();
		let chunk_size = T::MaxChunkBytes::get().max(1);
		let full_chunks = size.div_ceil(chunk_size).saturating_sub(1);
		let outputs: spec::TensorSpecs =
			BoundedVec::truncate_from(alloc::vec![tensor_spec("y", DType::F32, &[Dim::Dynamic])]);
		let chunk: BoundedVec<u8, T::MaxChunkBytes> =
			BoundedVec::truncate_from(alloc::vec![1u8; chunk_size as usize]);
		for i in 0..n {
			let owner = funded::<T>("owner", i);
			let code = H256::repeat_byte(i as u8);
			Pallet::<T>::register_model(
				RawOrigin::Signed(owner.clone()).into(),
				code,
				size,
				outputs.clone(),
				outputs.clone(),
				Tolerance::default(),
				1u32.into(),
			)?;
			let id = Pallet::<T>::model_id(
				&owner,
				&code,
				&outputs,
				&outputs,
				&Tolerance::default(),
				1u32.into(),
			);
			for _ in 0..full_chunks {
				Pallet::<T>::upload_model_chunk(
					RawOrigin::Signed(owner.clone()).into(),
					id,
					chunk.clone(),
				)?;
			}
		}
		let now = frame_system::Pallet::<T>::block_number() + T::UploadWindow::get();
		frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::expire_uploads(now);
		}
		assert_eq!(Models::<T>::iter().count(), 0);
		Ok(())
	}

	/// `d` requests made while there were more executors than `MaxCommittee` (at least
	/// `MaxCommittee + 1` of them), their committees drawn at the start of the next block.
	#[benchmark]
	fn draw_committees(
		d: Linear<0, { T::MaxPendingRequests::get() }>,
	) -> Result<(), BenchmarkError> {
		let (_, model) = setup_model::<T>(1, 1);
		setup_executors::<T>(T::MaxExecutors::get().max(T::MaxCommittee::get() + 1));
		let (input, _) = tensor_bytes("x", 64);
		let per_account = T::MaxPendingPerAccount::get().max(1);
		for i in 0..d {
			let requester = funded::<T>("requester", i / per_account);
			// Spread over deadlines: at most `MaxRequestsPerBlock` share one.
			let timeout = 2 + i / T::MaxRequestsPerBlock::get();
			Pallet::<T>::do_request(
				requester,
				model,
				input.clone(),
				BalanceOf::<T>::max_value(),
				Some(timeout.into()),
				Default::default(),
			)?;
		}
		assert_eq!(Undrawn::<T>::get().len() as u32, d);
		#[block]
		{
			Pallet::<T>::draw_committees();
		}
		assert!(Undrawn::<T>::get().is_empty());
		Ok(())
	}

	/// A batch of `n` commitments by the last member of `n` requests with the largest
	/// committee (each request's committee is scanned for the key).
	// `Submissions` is only tested for presence here (a member's answer), which reads no
	// output: measured, not its 64 KiB `MaxEncodedLen`.
	#[benchmark(pov_mode = MaxEncodedLen { Inference::Submissions: Measured })]
	fn authorize_commit_answers(
		n: Linear<1, { T::MaxRunsPerBlock::get() }>,
	) -> Result<(), BenchmarkError> {
		let (batch, signature) = commit_batch::<T>(n)?;
		let valid;
		#[block]
		{
			valid = Pallet::<T>::authorize_commit_answers(
				TransactionSource::External,
				&batch,
				&signature,
			)
			.map_err(|_| BenchmarkError::Stop("not authorized"))?;
		}
		// Valid, and checking it wrote nothing: commitments land only when the call runs.
		assert!(!valid.0.provides.is_empty());
		assert_eq!(Commitments::<T>::iter().count(), 0);
		Ok(())
	}

	// `Submissions` is only tested for presence here (a member's answer), which reads no
	// output: measured, not its 64 KiB `MaxEncodedLen`.
	#[benchmark(pov_mode = MaxEncodedLen { Inference::Submissions: Measured })]
	fn commit_answers(n: Linear<1, { T::MaxRunsPerBlock::get() }>) -> Result<(), BenchmarkError> {
		let (batch, signature) = commit_batch::<T>(n)?;
		let last = batch.commitments.last().map(|(id, _)| *id).unwrap_or_default();
		#[extrinsic_call]
		_(RawOrigin::Authorized, batch, signature);
		assert_eq!(CommitCounts::<T>::get(last), 1);
		Ok(())
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(0), crate::mock::Test);
}
