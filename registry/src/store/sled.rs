//! The embedded default: [`Tables`] on sled, one tree per [`Table`]. The only module that names
//! sled: its types, its files and its errors, which it turns into the store's own ([`Fault`],
//! [`StoreError::Locked`]) where it sees them.
//!
//! ## What a durable write means here
//!
//! sled 0.34's `flush()` writes its log buffers with `pwrite` and, on Linux, waits on
//! `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`. That survives the process being killed at any
//! instant (the data is in the kernel's page cache), but not a power loss: `sync_file_range` neither
//! writes the file's metadata (the log grows, so its size changes) nor flushes the drive's volatile
//! cache. sled's background thread calls `fsync` only every 500 ms. So [`Tables::durable`] follows
//! `flush()` with an `fsync` of sled's log file, which does both: an acknowledged write survives a
//! power loss as far as the drive honours cache flushes. Group commit makes one flush and one fsync
//! cover every write waiting at the time.
//!
//! ## One process, so conditions are checked in memory
//! sled locks its directory: one process writes a store. [`Tables::apply`] holds the expected key
//! in a lock of this process ([`KeyLocks`]), reads it, and only if it holds the expected bytes
//! makes its changes, in order, each key atomically: sled recovers a prefix of its log after a
//! crash, which is what the crash contract of `Store::update_code` asks ([`Tables::apply_held`]
//! holds the same lock from its read to its changes). The read costs
//! microseconds beside the flush and fsync the update waits for; sled's own transactions would
//! cost a synchronous log write each and serialise every writer.
//!
//! A change over several keys ([`Tables::apply_all`], a carton's move) must be all or nothing
//! across a crash too, so it is one sled transaction over the trees, which sled's log recovers
//! whole or not at all; its keys are held in this process's locks first, in key order.
//!
//! ## When the device fails
//!
//! sled 0.34 keeps the first I/O error it meets (a full disk, say) and refuses every later write
//! with it, even once space is back. So the engine classifies the error ([`Fault`]: full, or
//! otherwise unavailable), refuses writes at once from then on, and keeps answering reads. At most
//! every [`PROBE_EVERY`], [`Tables::writable`] (called before each write, and by the readiness
//! probe) writes and syncs a test file of two segments beside the store; once that works it
//! reopens sled on what the disk holds and has everything kept in memory in front of it dropped,
//! so nothing that was only ever in memory (a write whose sync failed) is served afterwards.
//! Writers hold the engine's read lock while they write, so a reopen never lands in the middle of
//! a write.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::group_commit::GroupCommit;
use super::key_locks::KeyLocks;
use super::tables::{
    Change, Entry, Expect, Holds, Judge, Merge, Pair, Table, Tables, in_key_order,
};
use super::{Entries, Fault, StoreError, StoreResult};

/// sled's log, in the data directory: there once a store was created.
const LOG_FILE: &str = "db";

/// Whether `dir` holds a store.
pub(super) fn holds_store(dir: &Path) -> bool {
    dir.join(LOG_FILE).is_file()
}

pub struct SledTables {
    dir: PathBuf,
    cache_bytes: u64,
    /// The open engine. Writers hold the read side for the length of a write, so a reopen (the
    /// write side) never lands in the middle of one; readers take a handle and let go. `None` only
    /// if reopening after a write failure failed (the next probe tries again).
    engine: RwLock<Option<Arc<Engine>>>,
    commits: GroupCommit<Fault>,
    /// Keys a conditional change is checking and changing.
    conditions: KeyLocks,
    /// Set while writes fail; [`Tables::writable`] probes the device and recovers.
    faulted: AtomicBool,
    health: Mutex<Health>,
}

/// One open sled database and its trees.
struct Engine {
    db: sled::Db,
    /// One tree per table, in [`Table::ALL`] order.
    trees: Vec<sled::Tree>,
    /// sled's log file, fsynced after each flush (see the module docs).
    log: File,
}

impl Engine {
    fn open(dir: &Path, cache_bytes: u64) -> StoreResult<Self> {
        let db = open_db(dir, cache_bytes)?;
        let trees = Table::ALL
            .iter()
            .map(|table| db.open_tree(table.name()).map_err(engine))
            .collect::<StoreResult<_>>()?;
        Ok(Engine {
            trees,
            log: File::open(dir.join(LOG_FILE))?,
            db,
        })
    }

    fn tree(&self, table: Table) -> &sled::Tree {
        &self.trees[usize::from(table.tag())]
    }
}

/// The write fault, while there is one.
#[derive(Default)]
struct Health {
    fault: Option<Fault>,
    /// When the device was last tested (or the fault seen): tests come at most every
    /// [`PROBE_EVERY`].
    probed: Option<Instant>,
}

/// How often a faulted store tests whether its device takes writes again. Also the least time
/// between a write failure and the engine's reopening, so a writer that wrote just before the
/// failure has called [`Store::durable`] (and been told it failed) by then.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);
/// What the device must take before the engine is reopened: two of sled's segments (it reclaims
/// and grows its log a segment at a time).
const PROBE_BYTES: usize = 2 * SEGMENT_SIZE;
/// The probe's file in the data directory, removed after each test.
const PROBE_FILE: &str = "write-probe";

/// Writes [`PROBE_BYTES`] to a file beside the store and syncs it: the device takes writes again.
fn probe(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(PROBE_FILE);
    let result = (|| {
        let mut file = File::create(&path)?;
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    })();
    let removed = std::fs::remove_file(&path);
    result.and(removed)
}

fn closed() -> StoreError {
    Fault::Unavailable("the store is being reopened after a write failure".into()).into()
}

/// Any store error as the fault it leaves writes in.
fn as_fault(e: StoreError) -> Fault {
    e.fault()
        .unwrap_or_else(|| Fault::Unavailable(e.to_string()))
}

fn engine(e: sled::Error) -> StoreError {
    match e {
        // Classified here, where the I/O error is seen: a full disk or another fault.
        sled::Error::Io(io) => io_fault(&io).into(),
        sled::Error::Corruption { .. } => StoreError::corrupt("the embedded store", e),
        other => StoreError::Engine(other.to_string()),
    }
}

/// The fault an I/O error from sled stands for. sled keeps the first I/O error it meets and hands
/// out copies of it: new errors of the same kind whose text is the original's `Debug` form
/// (`Os { code: 28, kind: StorageFull, message: "No space left on device" }`), without its number.
/// The number is read back from that text, so the fault is classified, and worded, as the
/// operating system's own error.
fn io_fault(io: &std::io::Error) -> Fault {
    let original = io
        .to_string()
        .split_once("Os { code: ")
        .and_then(|(_, rest)| {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
            digits.parse().ok()
        })
        .map(std::io::Error::from_raw_os_error);
    Fault::of_io(original.as_ref().unwrap_or(io))
}

/// sled reports its directory held by another process only as an I/O error with this text
/// (sled 0.34 `Config::try_lock`).
fn is_held(io: &std::io::Error) -> bool {
    io.to_string().contains("could not acquire lock")
}

/// sled's segment (and log buffer) size for new stores. sled reclaims space a segment at a time,
/// and with its default of 512 KiB a store of a million codes took 304 bytes a code on disk; with
/// 2 MiB, 283 (BENCHMARKS.md). Larger segments cost more for small stores (a segment is the least
/// a tree takes) and slowed durable writes.
const SEGMENT_SIZE: usize = 2 << 20;
/// What stores created before [`SEGMENT_SIZE`] was set use; sled cannot change it afterwards.
const FIRST_SEGMENT_SIZE: usize = 512 << 10;

/// Opens sled, waiting up to [`LOCK_WAIT`] for the directory's lock. sled takes an exclusive lock on
/// its file; a handle dropped a moment ago in this process releases it only once sled's background
/// threads have let go, so a reopen right after a close can find it still held. Another process
/// holding it (a running server) still gets the lock error after the wait.
fn open_db(dir: &Path, cache_bytes: u64) -> StoreResult<sled::Db> {
    let started = std::time::Instant::now();
    let mut segment_size = SEGMENT_SIZE;
    loop {
        match sled::Config::new()
            .path(dir)
            .cache_capacity(cache_bytes)
            .segment_size(segment_size)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e)) if is_held(&e) && started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // Another process holds the store: no fault, and nothing to wait for.
            Err(sled::Error::Io(e)) if is_held(&e) => {
                return Err(StoreError::Locked(dir.display().to_string()));
            }
            // A store made with the first segment size keeps it.
            Err(sled::Error::Unsupported(why))
                if why.contains("io buffer size") && segment_size != FIRST_SEGMENT_SIZE =>
            {
                segment_size = FIRST_SEGMENT_SIZE;
            }
            Err(e) => return Err(engine(e)),
        }
    }
}

/// How long opening waits for a lock another handle is releasing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

impl SledTables {
    /// Opens (creating if needed) the engine in `dir`, caching up to `cache_bytes` of sled's
    /// pages.
    pub(super) fn open(dir: &Path, cache_bytes: u64) -> StoreResult<Self> {
        let engine = Engine::open(dir, cache_bytes)?;
        Ok(SledTables {
            dir: dir.to_owned(),
            cache_bytes,
            commits: GroupCommit::default(),
            conditions: KeyLocks::default(),
            faulted: AtomicBool::new(false),
            health: Mutex::default(),
            engine: RwLock::new(Some(Arc::new(engine))),
        })
    }

    /// The engine, for a read.
    fn current(&self) -> StoreResult<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(closed)
    }

    /// Runs a write on the engine, failing at once while the store is faulted and noting the
    /// fault if the write meets one.
    fn write<T>(&self, f: impl FnOnce(&Engine) -> StoreResult<T>) -> StoreResult<T> {
        if self.faulted.load(Ordering::Acquire) {
            let fault = self
                .health
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fault
                .clone();
            if let Some(fault) = fault {
                return Err(fault.into());
            }
        }
        let result = {
            let slot = self.engine.read().unwrap_or_else(PoisonError::into_inner);
            match slot.as_deref() {
                Some(engine) => f(engine),
                None => Err(closed()),
            }
        };
        // With the engine let go: recovery takes the health lock, then the engine's.
        if let Err(e) = &result {
            if let Some(fault) = e.fault() {
                self.fail(fault);
            }
        }
        result
    }

    /// Notes that writes fail. sled 0.34 keeps its first I/O error and refuses every later write,
    /// so from here on writes fail at once until [`Tables::writable`] finds the device writable
    /// and reopens the engine.
    fn fail(&self, fault: Fault) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.fault.is_none() {
            tracing::error!(error = %fault, "the store cannot write; reads go on, writes are refused until it can");
            health.probed = Some(Instant::now());
        }
        health.fault = Some(fault);
        self.faulted.store(true, Ordering::Release);
    }

    /// Replaces the engine that failed with a fresh one opened on what the disk holds. Writes that
    /// sled took in memory but never wrote are gone (none was acknowledged: their sync failed).
    /// False if the old engine is still in use (a long read): the next probe tries again.
    fn reopen(&self) -> StoreResult<bool> {
        let mut slot = self.engine.write().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|old| Arc::strong_count(old) > 1) {
            return Ok(false);
        }
        // sled releases its directory lock only once the old handle is gone.
        drop(slot.take());
        *slot = Some(Arc::new(Engine::open(&self.dir, self.cache_bytes)?));
        Ok(true)
    }
}

/// Makes `changes` in order, each key atomically.
fn make(e: &Engine, changes: &[Change]) -> StoreResult<()> {
    for change in changes {
        match change {
            Change::Put(table, k, v) => {
                e.tree(*table)
                    .insert(k.as_slice(), v.as_slice())
                    .map_err(engine)?;
            }
            Change::Remove(table, k) => {
                e.tree(*table).remove(k).map_err(engine)?;
            }
        }
    }
    Ok(())
}

impl Tables for SledTables {
    fn get(&self, table: Table, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        let value = self.current()?.tree(table).get(key).map_err(engine)?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn scan(&self, table: Table, prefix: &[u8]) -> Entries<'_, Pair> {
        let e = match self.current() {
            Ok(e) => e,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        // The iterator holds the engine: no reopen while it runs.
        let entries = e.tree(table).scan_prefix(prefix);
        Box::new(entries.map(move |entry| {
            let _engine = &e;
            let (k, v) = entry.map_err(engine)?;
            Ok((k.to_vec(), v.to_vec()))
        }))
    }

    fn put(&self, table: Table, key: &[u8], value: &[u8]) -> StoreResult<()> {
        self.write(|e| {
            e.tree(table).insert(key, value).map_err(engine)?;
            Ok(())
        })
    }

    fn insert_new(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> StoreResult<Vec<Option<Vec<u8>>>> {
        use rayon::prelude::*;
        // Each on its own with compare-and-swap, in parallel: sled's atomic batches would cost a
        // synchronous log write each and serialise every writer.
        self.write(|e| {
            let tree = e.tree(table);
            entries
                .par_iter()
                .map(|(k, v)| {
                    match tree
                        .compare_and_swap(k, None::<&[u8]>, Some(v.as_slice()))
                        .map_err(engine)?
                    {
                        Ok(()) => Ok(None),
                        Err(taken) => match taken.current {
                            Some(bytes) => Ok(Some(bytes.to_vec())),
                            None => Err(StoreError::corrupt(
                                String::from_utf8_lossy(k),
                                "vanished during insert",
                            )),
                        },
                    }
                })
                .collect()
        })
    }

    fn apply(&self, expect: Option<Expect<'_>>, changes: &[Change]) -> StoreResult<()> {
        // One process: a lock in memory makes the check and the changes one step for every other
        // conditional writer of the key (see the module docs).
        let _held = expect.map(|x| self.conditions.lock(x.table, x.key));
        self.write(|e| {
            if let Some(x) = expect {
                let stored = e.tree(x.table).get(x.key).map_err(engine)?;
                if stored.as_deref() != Some(x.expected) {
                    return Err(StoreError::Conflict);
                }
            }
            make(e, changes)
        })
    }

    fn apply_all(&self, holds: &[Holds<'_>], changes: &[Change]) -> StoreResult<()> {
        use sled::Transactional;
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        let (holds, changes) = in_key_order(holds, changes)?;
        // In key order, as every writer of several keys takes them: none waits for another in turn.
        let _held: Vec<_> = holds
            .iter()
            .map(|h| self.conditions.lock(h.table, h.key))
            .collect();
        self.write(|e| {
            let made = e.trees[..].transaction(|trees| {
                for h in &holds {
                    let stored = trees[usize::from(h.table.tag())].get(h.key)?;
                    if stored.as_deref() != h.expected {
                        return Err(ConflictableTransactionError::Abort(StoreError::Conflict));
                    }
                }
                for change in &changes {
                    match change {
                        Change::Put(table, k, v) => {
                            trees[usize::from(table.tag())].insert(k.as_slice(), v.as_slice())?;
                        }
                        Change::Remove(table, k) => {
                            trees[usize::from(table.tag())].remove(k.as_slice())?;
                        }
                    }
                }
                Ok(())
            });
            match made {
                Ok(()) => Ok(()),
                Err(TransactionError::Abort(refused)) => Err(refused),
                Err(TransactionError::Storage(err)) => Err(engine(err)),
            }
        })
    }

    fn apply_held(&self, table: Table, key: &[u8], judge: &mut Judge<'_>) -> StoreResult<()> {
        // The same lock as a conditional change's: every other writer of the key waits.
        let _held = self.conditions.lock(table, key);
        let stored = self.get(table, key)?;
        match judge(stored.as_deref()) {
            Some(changes) => self.write(|e| make(e, &changes)),
            None => Ok(()),
        }
    }

    fn merge(
        &self,
        table: Table,
        entries: &[(Vec<u8>, Vec<u8>)],
        merge: &Merge<'_>,
    ) -> StoreResult<Vec<Vec<u8>>> {
        self.write(|e| {
            let tree = e.tree(table);
            entries
                .iter()
                .map(|(k, given)| {
                    loop {
                        // Compare-and-swap until no other writer came in between.
                        let stored = tree.get(k).map_err(engine)?;
                        let merged = merge(stored.as_deref(), given)?;
                        let swapped = tree
                            .compare_and_swap(k, stored, Some(merged.as_slice()))
                            .map_err(engine)?;
                        if swapped.is_ok() {
                            return Ok(merged);
                        }
                    }
                })
                .collect()
        })
    }

    fn unique_id(&self) -> StoreResult<u64> {
        self.current()?.db.generate_id().map_err(engine)
    }

    fn durable(&self) -> StoreResult<()> {
        self.commits
            .wait(|| {
                let e = self.current().map_err(as_fault)?;
                e.db.flush().map_err(|err| as_fault(engine(err)))?;
                e.log.sync_all().map_err(|err| Fault::of_io(&err))
            })
            .map_err(|fault| {
                self.fail(fault.clone());
                fault.into()
            })
    }

    fn writable(&self, reset: &dyn Fn() -> StoreResult<()>) -> Result<(), Fault> {
        if !self.faulted.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(fault) = health.fault.clone() else {
            return Ok(());
        };
        if health.probed.is_some_and(|at| at.elapsed() < PROBE_EVERY) {
            return Err(fault);
        }
        health.probed = Some(Instant::now());
        if let Err(e) = probe(&self.dir) {
            let fault = Fault::of_io(&e);
            health.fault = Some(fault.clone());
            return Err(fault);
        }
        // Writes stay refused (the fault is still noted) until what sat in front of the old
        // engine is dropped.
        match self.reopen().and_then(|reopened| {
            if reopened {
                reset()?;
            }
            Ok(reopened)
        }) {
            Ok(true) => {
                health.fault = None;
                self.faulted.store(false, Ordering::Release);
                tracing::info!(
                    "the store writes again: its device takes writes and the engine was reopened"
                );
                Ok(())
            }
            Ok(false) => Err(fault),
            Err(e) => {
                let fault = as_fault(e);
                tracing::error!(error = %fault, "reopening the store after a write failure failed; retrying");
                health.fault = Some(fault.clone());
                Err(fault)
            }
        }
    }

    fn shared(&self) -> Option<Duration> {
        // One process has the directory: what it keeps in memory stays true until it writes.
        None
    }

    fn len(&self, table: Table) -> StoreResult<u64> {
        Ok(self.current()?.tree(table).len() as u64)
    }

    fn bytes_on_disk(&self) -> StoreResult<u64> {
        self.current()?.db.size_on_disk().map_err(engine)
    }

    fn load(&self, entries: &mut dyn Iterator<Item = StoreResult<Entry>>) -> StoreResult<u64> {
        // Not through `write`: an error reading the backup file is no fault of the store. sled has
        // no transaction this size: the registry restores into a new directory and renames it
        // into place only once the whole file loaded.
        let e = self.current()?;
        let mut n = 0;
        for entry in entries {
            let (table, k, v) = entry?;
            e.tree(table).insert(k, v).map_err(engine)?;
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    #[test]
    fn copies_of_an_io_error_are_the_fault_the_original_was() {
        let original = Error::from_raw_os_error(28);
        // What sled hands out after its first I/O error: the kind, and the original's Debug text.
        let copy = Error::new(original.kind(), format!("{original:?}"));
        let fault = io_fault(&copy);
        assert!(fault.is_full(), "{fault}");
        assert_eq!(
            fault,
            Fault::of_io(&original),
            "the operating system's message"
        );
        let copy = Error::other(format!("{original:?}"));
        assert!(
            io_fault(&copy).is_full(),
            "known by the number in its text alone"
        );
        assert!(!io_fault(&Error::from_raw_os_error(5)).is_full(), "EIO");
        assert!(!io_fault(&Error::other("no number here")).is_full());
    }

    #[test]
    fn a_directory_another_handle_holds_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let _held = sled::Config::new()
            .path(dir.path())
            .segment_size(SEGMENT_SIZE)
            .open()
            .unwrap();
        let e = open_db(dir.path(), 1 << 20).err().unwrap();
        assert!(matches!(e, StoreError::Locked(_)), "{e}");
        assert!(e.to_string().contains("`partseal serve`"), "{e}");
    }
}
