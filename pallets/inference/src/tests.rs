use crate::{mock::*, Event, Executors};
use frame_support::traits::OneSessionHandler;
use sp_core::{crypto::UncheckedFrom, sr25519};
use verity_primitives::InferenceAuthorityId;

fn key(seed: u8) -> InferenceAuthorityId {
	InferenceAuthorityId::from(sr25519::Public::unchecked_from([seed; 32]))
}

#[test]
fn genesis_session_sets_executors() {
	new_test_ext().execute_with(|| {
		let accounts = [1u64, 2];
		Inference::on_genesis_session(accounts.iter().zip([key(1), key(2)]));
		assert_eq!(Executors::<Test>::get().into_inner(), vec![key(1), key(2)]);
		System::assert_last_event(Event::ExecutorsChanged { count: 2 }.into());
	});
}

#[test]
fn unchanged_session_keeps_executors() {
	new_test_ext().execute_with(|| {
		let accounts = [1u64, 2];
		Inference::on_genesis_session(accounts.iter().zip([key(1), key(2)]));
		let other = [3u64];
		Inference::on_new_session(false, other.iter().zip([key(3)]), other.iter().zip([key(3)]));
		assert_eq!(Executors::<Test>::get().into_inner(), vec![key(1), key(2)]);
		Inference::on_new_session(true, other.iter().zip([key(3)]), other.iter().zip([key(3)]));
		assert_eq!(Executors::<Test>::get().into_inner(), vec![key(3)]);
	});
}

#[test]
fn executor_set_is_bounded() {
	new_test_ext().execute_with(|| {
		let accounts = [1u64, 2, 3, 4];
		Inference::on_genesis_session(accounts.iter().zip([key(1), key(2), key(3), key(4)]));
		assert_eq!(Executors::<Test>::get().len(), 3);
	});
}
