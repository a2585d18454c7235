//! Drawing the committee of a request.
//!
//! When the executor set is no larger than `MaxCommittee`, every executor attests every request
//! (the strongest setting, and the default on small networks). Above it, `MaxCommittee`
//! executors are drawn per request by a partial Fisher-Yates shuffle seeded with
//! `blake2_256(parent block hash ++ request id)`.
//!
//! Limits of that randomness: the parent hash is known one block ahead and the author of the
//! parent block could grind it (by choosing which transactions to include) to steer the draw of
//! a request it can predict. That makes it unsuitable where a committee seat is worth much more
//! than a block reward; a VRF (BABE) or a commit-reveal beacon would then replace the seed.
use alloc::vec::Vec;
use sp_io::hashing::blake2_256;

/// Picks `size` distinct indices out of `0..population`, deterministic in `seed`. Returns all of
/// them, in order, when `size >= population`.
pub fn draw(population: usize, size: usize, seed: [u8; 32]) -> Vec<usize> {
	let mut indices: Vec<usize> = (0..population).collect();
	if size >= population {
		return indices;
	}
	let mut entropy = seed;
	for i in 0..size {
		entropy = blake2_256(&entropy);
		let r = u64::from_le_bytes([
			entropy[0], entropy[1], entropy[2], entropy[3], entropy[4], entropy[5], entropy[6],
			entropy[7],
		]);
		let j = i + (r % (population - i) as u64) as usize;
		indices.swap(i, j);
	}
	indices.truncate(size);
	indices.sort_unstable();
	indices
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn small_sets_are_taken_whole() {
		assert_eq!(draw(3, 16, [0; 32]), alloc::vec![0, 1, 2]);
		assert_eq!(draw(0, 16, [0; 32]), Vec::<usize>::new());
	}

	#[test]
	fn draws_are_distinct_deterministic_and_seed_dependent() {
		let a = draw(100, 16, [1; 32]);
		assert_eq!(a.len(), 16);
		let mut dedup = a.clone();
		dedup.dedup();
		assert_eq!(dedup.len(), 16);
		assert!(a.iter().all(|i| *i < 100));
		assert_eq!(a, draw(100, 16, [1; 32]));
		assert_ne!(a, draw(100, 16, [2; 32]));
	}

	#[test]
	fn every_member_gets_drawn_sometimes() {
		let mut seen = [0u32; 10];
		for s in 0..200u8 {
			for i in draw(10, 3, [s; 32]) {
				seen[i] += 1;
			}
		}
		// 600 seats over 10 members: each expects 60.
		assert!(seen.iter().all(|n| *n > 30 && *n < 90), "{seen:?}");
	}
}
