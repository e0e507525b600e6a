//! Public scans counted in memory and written behind.
//!
//! A scan is analytics: the person scanning is told a verdict, not that the scan was stored. Reading,
//! updating and writing a code's aggregate in the store for every scan cost more CPU than the
//! answer itself (BENCHMARKS.md), so the registry keeps the aggregates of recently scanned codes here,
//! updates them in place, and writes the changed ones in one pass ([`crate::Registry::write_scans`]),
//! which the service runs every few seconds and at shutdown. A crash loses at most the scans counted
//! since the last pass. A flag that scans raise (`scan_anomaly`) is not kept here: it is written to
//! the code's record at once.
//!
//! A pass writes the scans counted since the last one, not the aggregate: the store adds them to
//! what it holds ([`Store::add_scans`](crate::Store::add_scans)), so processes that count scans of
//! the same code (replicas on one database) never overwrite each other's, and each then holds
//! every process's scans up to its last pass.
//!
//! Memory stays bounded: after each pass, a shard holding more than [`KEEP_PER_SHARD`] aggregates
//! forgets those already written; they are read back from the store if scanned again.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use signer::Timestamp;

use crate::key::CodeKey;
use crate::scans::{ScanContext, ScanStats};
use crate::store::StoreResult;

/// Independent locks, so scans of different codes rarely wait for each other.
const SHARDS: usize = 64;
/// Written aggregates a shard keeps after a pass: 131,072 codes in all, about 32 MB.
pub const KEEP_PER_SHARD: usize = 2048;

pub(crate) struct ScanCache {
    shards: Vec<Mutex<Shard>>,
    /// One pass at a time, so a pass never marks written what another is still writing.
    writing: Mutex<()>,
}

type Shard = HashMap<CodeKey, Cached>;

struct Cached {
    /// The stored aggregate as last read or written, with the scans counted since.
    stats: ScanStats,
    /// The scans counted since the last pass: what the next pass adds to the store.
    unwritten: ScanStats,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for ScanCache {
    fn default() -> Self {
        ScanCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            writing: Mutex::new(()),
        }
    }
}

impl ScanCache {
    fn shard(&self, key: &CodeKey) -> MutexGuard<'_, Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        lock(&self.shards[(h.finish() as usize) % SHARDS])
    }

    /// Adds a scan to the code's aggregate, loading it with `load` if it is not in memory, and
    /// returns `read` of the updated aggregate.
    pub fn add<T>(
        &self,
        key: &CodeKey,
        ctx: &ScanContext,
        at: Timestamp,
        load: impl FnOnce() -> StoreResult<Option<ScanStats>>,
        read: impl FnOnce(&ScanStats) -> T,
    ) -> StoreResult<T> {
        // The shard stays locked while loading, so two first scans of one code cannot both load
        // the stored aggregate and one overwrite the other.
        let mut shard = self.shard(key);
        // Looked up before `entry`, which would take the key by value: a copy for every scan.
        let cached = match shard.get_mut(key) {
            Some(cached) => cached,
            None => shard.entry(key.clone()).or_insert(Cached {
                stats: load()?.unwrap_or_default(),
                unwritten: ScanStats::default(),
            }),
        };
        cached.stats.add(ctx, at);
        cached.unwritten.add(ctx, at);
        Ok(read(&cached.stats))
    }

    /// The code's aggregate if it is in memory (it is then newer than the stored one).
    pub fn get(&self, key: &CodeKey) -> Option<ScanStats> {
        self.shard(key).get(key).map(|c| c.stats.clone())
    }

    /// Adds the scans counted since the last pass to the store with `add` (one call per shard,
    /// which returns the stored aggregates they made, in order); returns for how many codes.
    /// Scans counted while a shard is being written wait for the next pass; those of a failed
    /// write are kept for it too.
    pub fn write(
        &self,
        mut add: impl FnMut(&[(CodeKey, ScanStats)]) -> StoreResult<Vec<ScanStats>>,
    ) -> StoreResult<usize> {
        let _one_pass = lock(&self.writing);
        let mut count = 0;
        for shard in &self.shards {
            let taken: Vec<(CodeKey, ScanStats)> = lock(shard)
                .iter_mut()
                .filter(|(_, c)| c.unwritten.total > 0)
                .map(|(k, c)| (k.clone(), std::mem::take(&mut c.unwritten)))
                .collect();
            if taken.is_empty() {
                continue;
            }
            match add(&taken) {
                Ok(stored) => {
                    let mut shard = lock(shard);
                    for ((key, _), stored) in taken.iter().zip(stored) {
                        // Present: only this pass removes entries, and it has not yet.
                        if let Some(c) = shard.get_mut(key) {
                            // What every process wrote, and what this one counted meanwhile.
                            c.stats = stored;
                            c.stats.merge(&c.unwritten);
                        }
                    }
                    count += taken.len();
                }
                Err(e) => {
                    let mut shard = lock(shard);
                    for (key, delta) in taken {
                        if let Some(c) = shard.get_mut(&key) {
                            c.unwritten.merge(&delta);
                        }
                    }
                    return Err(e);
                }
            }
            let mut shard = lock(shard);
            if shard.len() > KEEP_PER_SHARD {
                shard.retain(|_, c| c.unwritten.total > 0);
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signer::{Gtin, Serial};
    use std::cell::RefCell;
    use std::net::IpAddr;

    fn key(i: u32) -> CodeKey {
        CodeKey::new(
            &Gtin::parse("06901234567892").unwrap(),
            &Serial::parse(&format!("S{i}")).unwrap(),
        )
    }

    fn ctx(i: u8) -> ScanContext {
        ScanContext::from_ip(IpAddr::from([10, 0, i, 1]), &[5; 32], None)
    }

    #[test]
    fn adds_to_the_stored_aggregate_and_writes_each_change_once() {
        let cache = ScanCache::default();
        let mut stored = ScanStats::default();
        stored.add(&ctx(1), Timestamp(1_000));
        let loads = RefCell::new(0);
        let load = || {
            *loads.borrow_mut() += 1;
            Ok(Some(stored.clone()))
        };
        let total = |s: &ScanStats| s.total;
        assert_eq!(
            cache
                .add(&key(1), &ctx(2), Timestamp(2_000), load, total)
                .unwrap(),
            2
        );
        assert_eq!(
            cache
                .add(&key(1), &ctx(3), Timestamp(3_000), || unreachable!(), total)
                .unwrap(),
            3
        );
        assert_eq!(*loads.borrow(), 1);
        assert_eq!(cache.get(&key(1)).unwrap().total, 3);

        // The pass adds the two new scans to what the store holds, which another process has
        // added to meanwhile: afterwards the cache counts them all.
        let mut store = stored.clone();
        store.add(&ctx(9), Timestamp(2_500));
        let mut written = Vec::new();
        let n = cache
            .write(|deltas| {
                let (k, delta) = &deltas[0];
                written.push((k.clone(), delta.total));
                store.merge(delta);
                Ok(vec![store.clone()])
            })
            .unwrap();
        assert_eq!((n, written), (1, vec![(key(1), 2)]));
        assert_eq!(store.total, 4);
        assert_eq!(cache.get(&key(1)).unwrap().total, 4);
        // Nothing counted since: nothing to write.
        assert_eq!(cache.write(|_| panic!("unchanged")).unwrap(), 0);
        cache
            .add(&key(1), &ctx(4), Timestamp(4_000), || unreachable!(), total)
            .unwrap();
        let written = cache.write(|deltas| {
            assert_eq!(deltas[0].1.total, 1);
            store.merge(&deltas[0].1);
            Ok(vec![store.clone()])
        });
        assert_eq!(written.unwrap(), 1);
        assert_eq!(store.total, 5);
    }

    #[test]
    fn a_failed_write_leaves_the_scans_to_write_next_time() {
        let cache = ScanCache::default();
        cache
            .add(&key(1), &ctx(1), Timestamp(1), || Ok(None), |_| ())
            .unwrap();
        let failed = cache.write(|_| {
            Err(crate::store::StoreError::Io(std::io::Error::other(
                "disk full",
            )))
        });
        assert!(failed.is_err());
        // The scan waits for the next pass, once: not lost, not doubled.
        let mut totals = Vec::new();
        let written = cache.write(|deltas| {
            totals.extend(deltas.iter().map(|(_, d)| d.total));
            Ok(deltas.iter().map(|(_, d)| d.clone()).collect())
        });
        assert_eq!((written.unwrap(), totals), (1, vec![1]));
        assert_eq!(cache.write(|_| panic!("written")).unwrap(), 0);
    }

    #[test]
    fn memory_stays_bounded_by_forgetting_written_aggregates() {
        let cache = ScanCache::default();
        let codes = (SHARDS * KEEP_PER_SHARD * 2) as u32;
        for i in 0..codes {
            cache
                .add(&key(i), &ctx(1), Timestamp(1), || Ok(None), |_| ())
                .unwrap();
        }
        assert_eq!(
            cache
                .write(|deltas| Ok(deltas.iter().map(|(_, d)| d.clone()).collect()))
                .unwrap(),
            codes as usize
        );
        let kept: usize = cache.shards.iter().map(|s| lock(s).len()).sum();
        assert_eq!(kept, 0, "every shard was over its bound and fully written");
        // Forgotten aggregates are loaded again from the store when scanned.
        let loaded = cache
            .add(
                &key(7),
                &ctx(2),
                Timestamp(2),
                || {
                    let mut s = ScanStats::default();
                    s.add(&ctx(1), Timestamp(1));
                    Ok(Some(s))
                },
                |s| s.total,
            )
            .unwrap();
        assert_eq!(loaded, 2);
    }
}
