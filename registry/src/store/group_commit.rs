//! Group commit: many writers, one sync.
//!
//! A writer that needs its write durable calls [`GroupCommit::wait`]. If no sync is running, it
//! becomes the leader: it runs one sync covering every write made so far and then wakes everyone it
//! covered. Writers arriving during a sync wait for the next one, which a single one of them leads.
//! Under load each sync covers many writes, so durability costs one sync per group rather than one
//! per write; alone, a writer pays exactly one sync.
//!
//! Before syncing, a leader gathers: it waits while other writers keep arriving (each wait at most
//! [`GATHER_STEP`], all of them at most [`MAX_GATHER`]). Without it, the first writer to finish after
//! a sync would lead the next one alone, and the others, a moment behind, would wait a whole sync
//! longer: many concurrent writers then commit in alternating small and large groups.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a leader waits for one more writer.
pub const GATHER_STEP: Duration = Duration::from_micros(50);
/// The most a leader delays its sync to gather writers.
pub const MAX_GATHER: Duration = Duration::from_millis(1);

/// `E` is the sync's error, handed to every writer the failed sync covered.
pub struct GroupCommit<E = String> {
    state: Mutex<State<E>>,
    synced: Condvar,
    arrived: Condvar,
}

struct State<E> {
    /// Tickets handed out: each caller's writes happened before it took its ticket.
    issued: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    syncing: bool,
    /// The last failure and the tickets it covered: those callers get the error.
    failed: Option<(u64, E)>,
}

impl<E> Default for GroupCommit<E> {
    fn default() -> Self {
        GroupCommit {
            state: Mutex::new(State {
                issued: 0,
                durable: 0,
                syncing: false,
                failed: None,
            }),
            synced: Condvar::new(),
            arrived: Condvar::new(),
        }
    }
}

impl<E: Clone> GroupCommit<E> {
    /// Returns once a sync that started after this call has completed. `sync` is run by at most one
    /// caller at a time.
    pub fn wait(&self, sync: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.issued += 1;
        let ticket = state.issued;
        self.arrived.notify_one();
        let mut sync = Some(sync);
        loop {
            if state.durable >= ticket {
                return match &state.failed {
                    Some((upto, why)) if *upto >= ticket => Err(why.clone()),
                    _ => Ok(()),
                };
            }
            if !state.syncing {
                state.syncing = true;
                let deadline = Instant::now() + MAX_GATHER;
                loop {
                    let seen = state.issued;
                    state = self
                        .arrived
                        .wait_timeout(state, GATHER_STEP)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    if state.issued == seen || Instant::now() >= deadline {
                        break;
                    }
                }
                let covers = state.issued;
                drop(state);
                // Only a leader reaches this, once: `sync` is still here.
                let result = sync.take().map_or(Ok(()), |f| f());
                state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.syncing = false;
                state.durable = covers;
                if let Err(why) = result {
                    state.failed = Some((covers, why));
                }
                self.synced.notify_all();
                continue;
            }
            state = self
                .synced
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn concurrent_writers_share_syncs_and_each_is_covered() {
        let gc = Arc::new(GroupCommit::<String>::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let synced_upto = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (gc, syncs, written, synced_upto) = (
                    gc.clone(),
                    syncs.clone(),
                    written.clone(),
                    synced_upto.clone(),
                );
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let mine = written.fetch_add(1, Ordering::SeqCst) + 1;
                        gc.wait(|| {
                            syncs.fetch_add(1, Ordering::SeqCst);
                            let upto = written.load(Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            synced_upto.fetch_max(upto, Ordering::SeqCst);
                            Ok(())
                        })
                        .unwrap();
                        // The write this thread made is covered by a completed sync.
                        assert!(synced_upto.load(Ordering::SeqCst) >= mine);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(syncs.load(Ordering::SeqCst) < 3200, "no grouping happened");
    }

    #[test]
    fn a_failed_sync_fails_the_writers_it_covered() {
        let gc = GroupCommit::<String>::default();
        assert_eq!(gc.wait(|| Err("disk full".into())), Err("disk full".into()));
        assert_eq!(gc.wait(|| Ok(())), Ok(()));
    }
}
