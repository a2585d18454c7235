//! The session cache: loaded models kept in memory, least recently used dropped first.
use ort::session::Session;
use std::{
	collections::VecDeque,
	sync::{Arc, Mutex},
};

struct Cached {
	id: [u8; 32],
	session: Arc<Mutex<Session>>,
}

/// At most `capacity` sessions, keyed by model hash. A hit moves the model to the front.
pub(crate) struct SessionCache {
	capacity: usize,
	entries: Mutex<VecDeque<Cached>>,
}

impl SessionCache {
	pub(crate) fn new(capacity: usize) -> Self {
		SessionCache { capacity: capacity.max(1), entries: Mutex::new(VecDeque::new()) }
	}

	pub(crate) fn get(&self, id: &[u8; 32]) -> Option<Arc<Mutex<Session>>> {
		let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		let pos = entries.iter().position(|m| &m.id == id)?;
		let entry = entries.remove(pos)?;
		let session = entry.session.clone();
		entries.push_front(entry);
		Some(session)
	}

	pub(crate) fn insert(&self, id: [u8; 32], session: Session) -> Arc<Mutex<Session>> {
		let session = Arc::new(Mutex::new(session));
		let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
		entries.retain(|m| m.id != id);
		entries.push_front(Cached { id, session: session.clone() });
		entries.truncate(self.capacity);
		session
	}
}
