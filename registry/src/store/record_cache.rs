//! Stored code records kept in memory, in front of the engine: a scan's lookup is then one hash
//! probe instead of a walk down sled's tree.
//!
//! sled keeps at most 16 keys in a leaf, so a lookup among ten million codes visits four pages,
//! and every 64th visit to a part of its page cache stops to reorder that part's LRU list: the
//! median lookup took 6 µs and the 99th percentile 24 µs (BENCHMARKS.md). This cache holds the
//! records decoded and shared (`Arc<CodeRecord>`), so a hit costs a hash probe and a pointer's
//! clone: holding their bytes instead, every hit decoded the record again (allocating its strings,
//! hashing its commissioning event) under its shard's lock. Records are decoded before the lock is
//! taken. The budget counts what a decoded record takes (`CodeRecord::memory`, about 550 bytes a
//! code with the map's overhead); the cache is filled by every write (registration included: a new
//! code is about to be shipped, received and scanned) and by reads, and forgets the oldest entries
//! when full.
//!
//! It must never answer with a record older than the store's. Writers update the store, then the
//! cache. Where other processes write to the same store (PostgreSQL replicas), it cannot see their
//! writes: then an entry is served for at most its maximum age after it was read or written, the
//! bound on how stale a replica's answer can be. A reader that missed reads the store and may then
//! insert what it read, unless a write to the same shard happened meanwhile (each shard counts its
//! writes): otherwise a reader could put back a record a writer had just replaced.
//!
//! Each key held is in its shard's eviction queue exactly once, so the budget (which counts a
//! queue slot in each entry's cost) is what the cache really holds. A forgotten record (another
//! process changed it) therefore keeps its entry, without its value, until it is read again (in
//! place) or its turn to be evicted comes: removing it would leave its queue slot behind, and
//! reading it again would queue the key a second time, without bound on a replica that is told
//! of every change another makes.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::record::CodeRecord;

/// Independent locks, so lookups of different codes rarely wait for each other.
const SHARDS: usize = 64;
/// What an entry costs beyond its key and value: the map's slot, the eviction queue's, the shared
/// key's and value's headers and the allocator's rounding.
const ENTRY_OVERHEAD: usize = 120;

/// What a cached value takes in memory, in bytes: what the budget counts.
pub(crate) trait Weighed {
    fn memory(&self) -> usize;
}

impl Weighed for CodeRecord {
    fn memory(&self) -> usize {
        CodeRecord::memory(self)
    }
}

pub(crate) struct RecordCache<V = CodeRecord> {
    shards: Vec<Mutex<Shard<V>>>,
    /// Bytes each shard may hold.
    shard_budget: usize,
    /// How long an entry may be served, in milliseconds; `u64::MAX`: until replaced (no other
    /// process writes). Changes while the cache runs (see [`RecordCache::set_max_age`]).
    max_age_ms: AtomicU64,
}

struct Entry<V> {
    /// `None`: forgotten, keeping its place in the queue (see the module's docs).
    value: Option<Arc<V>>,
    /// What the budget counts for it (its value's part only while it holds one).
    cost: usize,
    /// When it was read or written (only kept with a maximum age).
    at: Option<Instant>,
}

struct Shard<V> {
    records: HashMap<Arc<[u8]>, Entry<V>>,
    /// The keys of `records`, each once, in the order they came in: the oldest is evicted first.
    order: VecDeque<Arc<[u8]>>,
    /// Entries of `records` forgotten and not read again.
    forgotten: usize,
    bytes: usize,
    /// Writes so far, so a reader can tell whether one happened while it read the store.
    writes: u64,
    /// Lookups answered here, and not.
    hits: u64,
    misses: u64,
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Shard {
            records: HashMap::new(),
            order: VecDeque::new(),
            forgotten: 0,
            bytes: 0,
            writes: 0,
            hits: 0,
            misses: 0,
        }
    }
}

/// What the cache holds and how well it serves, for the operators' metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordCacheStats {
    pub records: u64,
    pub bytes: u64,
    pub hits: u64,
    pub misses: u64,
}

/// What a reader that missed must show [`RecordCache::fill`].
pub(crate) struct Miss(u64);

/// An entry's cost without its value (forgotten).
fn key_cost(key: &[u8]) -> usize {
    key.len() + ENTRY_OVERHEAD
}

impl<V: Weighed> RecordCache<V> {
    /// A cache of at most `budget` bytes; 0 switches it off.
    pub fn new(budget: u64) -> Self {
        RecordCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_budget: usize::try_from(budget).unwrap_or(usize::MAX) / SHARDS,
            max_age_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// Serves each entry for at most `max_age` after it was read or written.
    pub fn with_max_age(self, max_age: Duration) -> Self {
        self.set_max_age(max_age);
        self
    }

    /// From now on, serves each entry for at most `max_age` after it was read or written (e.g.
    /// longer while the engine reports every other process's write, shorter when it cannot).
    pub fn set_max_age(&self, max_age: Duration) {
        let ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX - 1);
        self.max_age_ms.store(ms, Ordering::Release);
    }

    /// The entry's record, if it may be served.
    fn served<'a>(&self, entry: &'a Entry<V>) -> Option<&'a Arc<V>> {
        let max = self.max_age_ms.load(Ordering::Acquire);
        let fresh = match entry.at {
            Some(at) if max != u64::MAX => at.elapsed() < Duration::from_millis(max),
            _ => true,
        };
        entry.value.as_ref().filter(|_| fresh)
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard<V>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        self.shards[(h.finish() as usize) % SHARDS]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `key`'s record, or a [`Miss`] to [`fill`](Self::fill) with once the store has been read.
    pub fn get(&self, key: &[u8]) -> Result<Arc<V>, Miss> {
        let mut shard = self.shard(key);
        match shard.records.get(key).and_then(|e| self.served(e)) {
            Some(value) => {
                let found = value.clone();
                shard.hits += 1;
                Ok(found)
            }
            None => {
                shard.misses += 1;
                Err(Miss(shard.writes))
            }
        }
    }

    /// Keeps what a reader read from the store after `miss`, unless a write to the shard came
    /// in between (it may have replaced what was read).
    pub fn fill(&self, miss: Miss, key: &[u8], value: &Arc<V>) {
        let mut shard = self.shard(key);
        let present = shard
            .records
            .get(key)
            .is_some_and(|e| self.served(e).is_some());
        if shard.writes == miss.0 && !present {
            self.insert(&mut shard, key, value.clone());
        }
    }

    /// Forgets `key`'s entry: the store holds something else than this process last saw (another
    /// process wrote it).
    pub fn forget(&self, key: &[u8]) {
        let mut shard = self.shard(key);
        shard.writes += 1;
        Self::drop_value(&mut shard, key);
    }

    /// Forgets `key`'s record but keeps its entry (see the module's docs).
    fn drop_value(shard: &mut Shard<V>, key: &[u8]) {
        let Some(entry) = shard.records.get_mut(key) else {
            return;
        };
        if entry.value.take().is_some() {
            let kept = key_cost(key);
            shard.bytes -= entry.cost - kept;
            entry.cost = kept;
            shard.forgotten += 1;
        }
    }

    /// Records a write the store has just made.
    pub fn wrote(&self, key: &[u8], value: Arc<V>) {
        let mut shard = self.shard(key);
        shard.writes += 1;
        self.insert(&mut shard, key, value);
    }

    pub fn stats(&self) -> RecordCacheStats {
        let mut stats = RecordCacheStats::default();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            stats.records += (shard.records.len() - shard.forgotten) as u64;
            stats.bytes += shard.bytes as u64;
            stats.hits += shard.hits;
            stats.misses += shard.misses;
        }
        stats
    }

    /// Forgets everything (e.g. after the store's contents were replaced).
    pub fn clear(&self) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.writes += 1;
            shard.records.clear();
            shard.order.clear();
            shard.forgotten = 0;
            shard.bytes = 0;
        }
    }

    fn insert(&self, shard: &mut Shard<V>, key: &[u8], value: Arc<V>) {
        let added = key_cost(key) + value.memory();
        if added > self.shard_budget {
            // Too large to keep (or the cache is off): an older copy must not stay either.
            Self::drop_value(shard, key);
            return;
        }
        let entry = Entry {
            value: Some(value),
            cost: added,
            at: (self.max_age_ms.load(Ordering::Relaxed) != u64::MAX).then(Instant::now),
        };
        match shard.records.get_mut(key) {
            // In place, keeping its place in the queue.
            Some(old) => {
                let was_forgotten = old.value.is_none();
                shard.bytes = shard.bytes - old.cost + added;
                *old = entry;
                if was_forgotten {
                    shard.forgotten -= 1;
                }
            }
            None => {
                let key: Arc<[u8]> = key.into();
                shard.bytes += added;
                shard.order.push_back(key.clone());
                shard.records.insert(key, entry);
            }
        }
        // Over budget: evict the oldest entries (never the one just written, which is newest,
        // unless it came in long ago and was replaced since).
        while shard.bytes > self.shard_budget {
            let Some(oldest) = shard.order.pop_front() else {
                break;
            };
            if let Some(old) = shard.records.remove(&oldest) {
                shard.bytes -= old.cost;
                if old.value.is_none() {
                    shard.forgotten -= 1;
                }
            }
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).bytes)
            .sum()
    }

    /// Keys in the eviction queues, and keys in the maps.
    #[cfg(test)]
    fn queued_and_held(&self) -> (usize, usize) {
        self.shards.iter().fold((0, 0), |(queued, held), s| {
            let s = s.lock().unwrap_or_else(PoisonError::into_inner);
            (queued + s.order.len(), held + s.records.len())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte strings stand in for records here; they weigh their length.
    impl Weighed for Vec<u8> {
        fn memory(&self) -> usize {
            self.len()
        }
    }

    type Cache = RecordCache<Vec<u8>>;

    fn value(bytes: &[u8]) -> Arc<Vec<u8>> {
        Arc::new(bytes.to_vec())
    }

    fn hit(cache: &Cache, key: &[u8]) -> Option<Vec<u8>> {
        cache.get(key).ok().map(|v| v.to_vec())
    }

    #[test]
    fn writes_and_reads_fill_it_and_a_write_replaces() {
        let cache = Cache::new(1 << 20);
        assert!(hit(&cache, b"a").is_none());
        cache.wrote(b"a", value(b"one"));
        assert_eq!(hit(&cache, b"a").unwrap(), b"one");
        cache.wrote(b"a", value(b"two"));
        assert_eq!(hit(&cache, b"a").unwrap(), b"two");
        let Err(miss) = cache.get(b"b") else {
            panic!("not yet cached")
        };
        cache.fill(miss, b"b", &value(b"read"));
        assert_eq!(hit(&cache, b"b").unwrap(), b"read");
        let stats = cache.stats();
        assert_eq!((stats.records, stats.hits, stats.misses), (2, 3, 2));
    }

    #[test]
    fn a_read_that_raced_a_write_does_not_put_back_the_old_record() {
        let cache = Cache::new(1 << 20);
        let Err(miss) = cache.get(b"k") else {
            panic!("empty")
        };
        // The reader read "old" from the store; a writer stored "new" and told the cache.
        cache.wrote(b"k", value(b"new"));
        cache.fill(miss, b"k", &value(b"old"));
        assert_eq!(hit(&cache, b"k").unwrap(), b"new");
        // Even if the writer's entry were gone by then (evicted), the stale read stays out.
        let Err(miss) = cache.get(b"j") else {
            panic!("empty")
        };
        cache.clear();
        cache.fill(miss, b"j", &value(b"old"));
        assert!(hit(&cache, b"j").is_none());
    }

    #[test]
    fn it_stays_within_its_budget_and_off_means_off() {
        let budget = 64 * 1024;
        let cache = Cache::new(budget as u64);
        for i in 0..10_000u32 {
            cache.wrote(&i.to_be_bytes(), value(&[7; 72]));
            assert!(hit(&cache, &i.to_be_bytes()).is_some(), "the newest stays");
        }
        assert!(cache.bytes() <= budget);
        assert!(cache.bytes() > budget / 2, "{}", cache.bytes());

        let off = Cache::new(0);
        off.wrote(b"a", value(b"one"));
        assert!(hit(&off, b"a").is_none());
        assert_eq!(off.bytes(), 0);
    }

    #[test]
    fn records_forgotten_and_read_again_keep_one_place_in_the_queue() {
        // A replica told of another's changes forgets a record and reads it again, over and over
        // for a busy code; every such key must still be queued once, as the budget counts it.
        let cache = Cache::new(1 << 20);
        let keys: Vec<[u8; 4]> = (0..64u32).map(u32::to_be_bytes).collect();
        for round in 0..2_000u32 {
            for key in &keys {
                cache.forget(key);
                let Err(miss) = cache.get(key) else {
                    panic!("just forgotten")
                };
                cache.fill(miss, key, &value(&round.to_be_bytes()));
                assert_eq!(hit(&cache, key).unwrap(), round.to_be_bytes());
            }
        }
        let (queued, held) = cache.queued_and_held();
        assert_eq!((queued, held), (keys.len(), keys.len()));
        assert_eq!(cache.stats().records, keys.len() as u64);
        assert_eq!(cache.bytes(), keys.len() * (key_cost(&keys[0]) + 4));

        // Forgotten and not read again, they stay counted until the budget needs the room.
        for key in &keys {
            cache.forget(key);
            assert!(hit(&cache, key).is_none());
        }
        assert_eq!(cache.stats().records, 0);
        let (queued, held) = cache.queued_and_held();
        assert!(queued == held && held <= keys.len(), "{queued} {held}");
        let small = Cache::new(64 * 1024);
        for i in 0..10_000u32 {
            let key = (i % 500).to_be_bytes();
            small.wrote(&key, value(&[7; 72]));
            if i % 3 == 0 {
                small.forget(&key);
            }
        }
        let (queued, held) = small.queued_and_held();
        assert_eq!(queued, held);
        assert!(small.bytes() <= 64 * 1024);
    }

    #[test]
    fn with_a_maximum_age_an_entry_is_served_only_that_long_and_can_be_forgotten() {
        let cache = Cache::new(1 << 20).with_max_age(Duration::from_millis(50));
        cache.wrote(b"a", value(b"one"));
        assert_eq!(hit(&cache, b"a").unwrap(), b"one");
        std::thread::sleep(Duration::from_millis(60));
        let Err(miss) = cache.get(b"a") else {
            panic!("older than its maximum age")
        };
        cache.fill(miss, b"a", &value(b"two"));
        assert_eq!(hit(&cache, b"a").unwrap(), b"two");
        cache.forget(b"a");
        assert!(hit(&cache, b"a").is_none());
    }
}
