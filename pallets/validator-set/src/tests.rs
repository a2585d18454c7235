use crate::{mock::*, Error, Event, SetChanged, Validators};
use frame_support::{assert_noop, assert_ok};
use pallet_session::SessionManager;
use sp_runtime::DispatchError;

fn set() -> Vec<u64> {
	Validators::<Test>::get().into_inner()
}

#[test]
fn genesis_set_is_reported_at_genesis_only() {
	new_test_ext(vec![1, 2, 3]).execute_with(|| {
		assert_eq!(ValidatorSet::new_session_genesis(0), Some(vec![1, 2, 3]));
		// Nothing changed since: rotation keeps the current set.
		assert_eq!(ValidatorSet::new_session(1), None);
	});
}

#[test]
fn add_validator_is_planned_at_next_rotation() {
	new_test_ext(vec![1, 2, 3]).execute_with(|| {
		assert_ok!(ValidatorSet::add_validator(RuntimeOrigin::root(), 4));
		System::assert_last_event(Event::ValidatorAdded { who: 4 }.into());
		assert_eq!(set(), vec![1, 2, 3, 4]);
		assert!(SetChanged::<Test>::get());
		assert_eq!(ValidatorSet::new_session(2), Some(vec![1, 2, 3, 4]));
		System::assert_last_event(Event::NewSetPlanned { session: 2, validators: 4 }.into());
		// Reported once.
		assert_eq!(ValidatorSet::new_session(3), None);
	});
}

#[test]
fn remove_validator_is_planned_at_next_rotation() {
	new_test_ext(vec![1, 2, 3]).execute_with(|| {
		assert_ok!(ValidatorSet::remove_validator(RuntimeOrigin::root(), 2));
		System::assert_last_event(Event::ValidatorRemoved { who: 2 }.into());
		assert_eq!(ValidatorSet::new_session(2), Some(vec![1, 3]));
	});
}

#[test]
fn only_the_configured_origin_changes_the_set() {
	new_test_ext(vec![1, 2, 3]).execute_with(|| {
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::signed(1), 4),
			DispatchError::BadOrigin
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::signed(1), 2),
			DispatchError::BadOrigin
		);
	});
}

#[test]
fn duplicates_and_unknowns_are_rejected() {
	new_test_ext(vec![1, 2, 3]).execute_with(|| {
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 2),
			Error::<Test>::AlreadyValidator
		);
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 9),
			Error::<Test>::NotValidator
		);
		assert!(!SetChanged::<Test>::get());
	});
}

#[test]
fn bounds_hold() {
	new_test_ext(vec![1, 2, 3, 4, 5]).execute_with(|| {
		assert_noop!(
			ValidatorSet::add_validator(RuntimeOrigin::root(), 6),
			Error::<Test>::TooManyValidators
		);
	});
	new_test_ext(vec![1]).execute_with(|| {
		assert_noop!(
			ValidatorSet::remove_validator(RuntimeOrigin::root(), 1),
			Error::<Test>::TooFewValidators
		);
		assert_eq!(set(), vec![1]);
	});
}
