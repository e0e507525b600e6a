//! One conditional writer per key within a process.
//!
//! A conditional change ([`Tables::apply`](super::tables::Tables::apply) with an
//! [`Expect`](super::tables::Expect)) must look at the key and write as one step for every other
//! conditional writer of the key. The registry's code locks already serialise its own writers, but
//! the engine's contract must not rest on its caller: the embedded engine checks the condition in
//! memory under this lock, and the server engine uses it so that two updates of one key never
//! share a transaction (where the database could not tell them apart). Only writers of the same
//! key wait for each other.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::tables::Table;

#[derive(Default)]
pub struct KeyLocks {
    held: Mutex<HashSet<(Table, Vec<u8>)>>,
    released: Condvar,
}

/// A key held: let go when dropped.
pub struct KeyLock<'a> {
    locks: &'a KeyLocks,
    key: Option<(Table, Vec<u8>)>,
}

impl KeyLocks {
    /// Waits until no other writer holds `table[key]`, then holds it.
    pub fn lock(&self, table: Table, key: &[u8]) -> KeyLock<'_> {
        let wanted = (table, key.to_vec());
        let mut held = self.held();
        while held.contains(&wanted) {
            held = self
                .released
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        held.insert(wanted.clone());
        KeyLock {
            locks: self,
            key: Some(wanted),
        }
    }

    fn held(&self) -> MutexGuard<'_, HashSet<(Table, Vec<u8>)>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for KeyLock<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.locks.held().remove(&key);
            self.locks.released.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn writers_of_one_key_take_turns_and_other_keys_do_not_wait() {
        let locks = KeyLocks::default();
        let inside = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100 {
                        let _held = locks.lock(Table::Codes, b"k");
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        let _one = locks.lock(Table::Codes, b"k");
        let _other_key = locks.lock(Table::Codes, b"j");
        let _other_table = locks.lock(Table::Meta, b"k");
    }
}
