//! The embedded default: [`Store`] on sled. The only module that names sled's types.
//!
//! ## What a durable write means here
//!
//! sled 0.34's `flush()` writes its log buffers with `pwrite` and, on Linux, waits on
//! `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)`. That survives the process being killed at any
//! instant (the data is in the kernel's page cache), but not a power loss: `sync_file_range` neither
//! writes the file's metadata (the log grows, so its size changes) nor flushes the drive's volatile
//! cache. sled's background thread calls `fsync` only every 500 ms. So [`SledStore::durable`] follows
//! `flush()` with an `fsync` of sled's log file, which does both: an acknowledged write survives a
//! power loss as far as the drive honours cache flushes. Group commit makes one flush and one fsync
//! cover every write waiting at the time.
//!
//! ## When the device fails
//!
//! sled 0.34 keeps the first I/O error it meets (a full disk, say) and refuses every later write
//! with it, even once space is back. So the store classifies the error ([`Fault`]: full, or
//! otherwise unavailable), refuses writes at once from then on, and keeps answering reads. At most
//! every [`PROBE_EVERY`], [`Store::writable`] (called before each write, and by the readiness
//! probe) writes and syncs a test file of two segments beside the store; once that works it
//! reopens sled on what the disk holds, reloads the batch table and empties the record cache, so
//! nothing that was only ever in memory (a write whose sync failed) is served afterwards. Writers
//! hold the engine's read lock while they write, so a reopen never lands in the middle of a write.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use signer::{Certificate, Gtin, Lot, RevocationList, Timestamp, VerifyingKey};

use super::group_commit::GroupCommit;
use super::record_cache::RecordCache;
use super::{Entries, Fault, Store, StoreError, StoreResult, StoreStats, TrustEntry};
use crate::custody::Custody;
use crate::event::Event;
use crate::key::CodeKey;
use crate::notes::AlertNote;
use crate::notices::Notice;
use crate::parties::{Party, Report, TokenRecord};
use crate::party::PartyId;
use crate::record::{Batch, CodeRecord, LotRecall};
use crate::scans::ScanStats;
use crate::vin::Vin;

// Every tree, by a constant name: a mistyped tree name would silently be a new, empty tree.
/// CodeKey → CodeRecord, referring to its batch by number.
const CODES: &str = "codes";
/// Batch number (u32, big-endian) → Batch: what the codes of one lot share, stored once.
const BATCHES: &str = "batches";
/// CodeKey || seq (u32, big-endian) → Event, for every event after the commissioning.
const EVENTS: &str = "events";
/// GTIN (8 bytes) || lot length || lot → LotRecall.
const LOT_RECALLS: &str = "lot_recalls";
/// CodeKey → ScanStats.
const SCANS: &str = "scans";
/// Derived: manufacturer length || manufacturer || CodeKey → time flagged (8 bytes) and, once the
/// manufacturer investigates, the time it began (8 more bytes).
const ALERTS: &str = "alerts";
/// Derived: VIN (17 bytes) || CodeKey → nothing.
const VEHICLES: &str = "vehicles";
/// `root/…`, `cert/…`, `revocations` → known-at time (8 bytes) || the signed bytes.
const TRUST: &str = "trust";
/// `format`, `scan_salt`.
const META: &str = "meta";
/// PartyId → Party.
const PARTIES: &str = "parties";
/// Token id → TokenRecord (the secret's hash, never the secret).
const TOKENS: &str = "tokens";
/// Manufacturer length || manufacturer || time (8 bytes) || report id → Report (version 1
/// reports: || CodeKey instead of the id).
const REPORTS: &str = "reports";
/// Party length || party || time (8 bytes) || a number sled hands out in increasing order → Notice.
const NOTICES: &str = "notices";
/// Manufacturer length || manufacturer || CodeKey || time (8 bytes) || sled id (8 bytes) →
/// AlertNote: append-only, in the order written, never removed with the alert.
const ALERT_NOTES: &str = "alert_notes";

/// The order trees appear in backups; the index is the tree's tag there (new trees go last).
const TREES: [&str; 14] = [
    CODES,
    EVENTS,
    LOT_RECALLS,
    SCANS,
    ALERTS,
    VEHICLES,
    TRUST,
    META,
    PARTIES,
    TOKENS,
    REPORTS,
    BATCHES,
    NOTICES,
    ALERT_NOTES,
];

const FORMAT_KEY: &[u8] = b"format";
const FORMAT: &[u8] = b"partseal-registry-1";
const SALT_KEY: &[u8] = b"scan_salt";

const BACKUP_MAGIC: &[u8; 16] = b"PARTSEAL-BACKUP1";
const BACKUP_END: u8 = 0xFF;

pub struct SledStore {
    dir: PathBuf,
    cache_bytes: u64,
    /// The open engine. Writers hold the read side for the length of a write, so a reopen (the
    /// write side) never lands in the middle of one; readers take a handle and let go. `None` only
    /// if reopening after a write failure failed (the next probe tries again).
    engine: RwLock<Option<Arc<Engine>>>,
    /// Every batch, in memory: a record names its batch by number, and a lookup must not cost a
    /// second read.
    batch_table: RwLock<BatchTable>,
    /// Code records in memory, in front of the `codes` tree.
    records: RecordCache,
    commits: GroupCommit<Fault>,
    /// Set while writes fail; [`Store::writable`] probes the device and recovers.
    faulted: AtomicBool,
    health: Mutex<Health>,
}

/// One open sled database and its trees.
struct Engine {
    db: sled::Db,
    codes: sled::Tree,
    events: sled::Tree,
    lot_recalls: sled::Tree,
    scans: sled::Tree,
    alerts: sled::Tree,
    vehicles: sled::Tree,
    trust: sled::Tree,
    meta: sled::Tree,
    parties: sled::Tree,
    tokens: sled::Tree,
    reports: sled::Tree,
    batches: sled::Tree,
    notices: sled::Tree,
    alert_notes: sled::Tree,
    /// sled's log file, fsynced after each flush (see the module docs).
    log: File,
}

impl Engine {
    fn open(dir: &Path, cache_bytes: u64) -> StoreResult<Self> {
        let db = open_db(dir, cache_bytes)?;
        let tree = |name: &str| db.open_tree(name).map_err(engine);
        Ok(Engine {
            codes: tree(CODES)?,
            events: tree(EVENTS)?,
            lot_recalls: tree(LOT_RECALLS)?,
            scans: tree(SCANS)?,
            alerts: tree(ALERTS)?,
            vehicles: tree(VEHICLES)?,
            trust: tree(TRUST)?,
            meta: tree(META)?,
            parties: tree(PARTIES)?,
            tokens: tree(TOKENS)?,
            reports: tree(REPORTS)?,
            batches: tree(BATCHES)?,
            notices: tree(NOTICES)?,
            alert_notes: tree(ALERT_NOTES)?,
            log: File::open(dir.join("db"))?,
            db,
        })
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
        sled::Error::Io(io) => Fault::of_io(&io).into(),
        sled::Error::Corruption { .. } => StoreError::corrupt("sled", e),
        other => StoreError::Engine(other.to_string()),
    }
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
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < LOCK_WAIT =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            // Another process holds the store (callers tell this apart from a fault).
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Io(e));
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

impl SledStore {
    /// Opens (creating if needed) the store in `dir`, caching up to `cache_bytes` of sled's pages
    /// and `record_cache_bytes` of code records (see `record_cache`).
    pub fn open(dir: &Path, cache_bytes: u64, record_cache_bytes: u64) -> StoreResult<Self> {
        let engine = Engine::open(dir, cache_bytes)?;
        match engine.meta.get(FORMAT_KEY).map_err(self::engine)? {
            None => {
                engine
                    .meta
                    .insert(FORMAT_KEY, FORMAT)
                    .map_err(self::engine)?;
                engine.db.flush().map_err(self::engine)?;
                engine.log.sync_all()?;
            }
            Some(found) if found.as_ref() == FORMAT => {}
            Some(found) => {
                return Err(StoreError::corrupt(
                    "format",
                    format!(
                        "{} holds {:?}, this version reads {:?}",
                        dir.display(),
                        String::from_utf8_lossy(&found),
                        String::from_utf8_lossy(FORMAT)
                    ),
                ));
            }
        }
        let store = SledStore {
            dir: dir.to_owned(),
            cache_bytes,
            batch_table: RwLock::default(),
            records: RecordCache::new(record_cache_bytes),
            commits: GroupCommit::default(),
            faulted: AtomicBool::new(false),
            health: Mutex::default(),
            engine: RwLock::new(None),
        };
        store.load_batches(&engine)?;
        *store.engine.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(engine));
        Ok(store)
    }

    /// The engine, for a read.
    fn current(&self) -> StoreResult<Arc<Engine>> {
        self.engine
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(closed)
    }

    /// Runs a write on the engine, failing at once while the store is faulted (after a recovery
    /// attempt if one is due) and noting the fault if the write meets one.
    fn write<T>(&self, f: impl FnOnce(&Engine) -> StoreResult<T>) -> StoreResult<T> {
        self.writable()?;
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
    /// so from here on writes fail at once until [`Store::writable`] finds the device writable
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
    /// sled took in memory but never wrote are gone (none was acknowledged: their sync failed), so
    /// everything kept in memory in front of it is dropped too. False if the old engine is still
    /// in use (a long read): the next probe tries again.
    fn reopen(&self) -> StoreResult<bool> {
        let mut slot = self.engine.write().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|old| Arc::strong_count(old) > 1) {
            return Ok(false);
        }
        // sled releases its directory lock only once the old handle is gone.
        drop(slot.take());
        self.records.clear();
        let engine = Engine::open(&self.dir, self.cache_bytes)?;
        self.load_batches(&engine)?;
        *slot = Some(Arc::new(engine));
        self.records.clear();
        Ok(true)
    }

    fn load_batches(&self, eng: &Engine) -> StoreResult<()> {
        let mut table = BatchTable::default();
        for entry in eng.batches.iter() {
            let (number, value) = entry.map_err(engine)?;
            let number = number
                .as_ref()
                .try_into()
                .map(u32::from_be_bytes)
                .map_err(|_| StoreError::corrupt("batch number", "not 4 bytes"))?;
            let batch = Batch::decode(&value).map_err(|e| StoreError::corrupt("batch", e))?;
            table.add(number, batch);
        }
        *self
            .batch_table
            .write()
            .unwrap_or_else(PoisonError::into_inner) = table;
        Ok(())
    }

    /// The number of the record's batch, storing the batch first if it is new (so no record can
    /// refer to a batch a crash lost: sled recovers a prefix of its log).
    fn batch_number(&self, eng: &Engine, record: &CodeRecord) -> StoreResult<u32> {
        let batch = record.batch();
        if let Some(&n) = self.batches().numbers.get(&batch) {
            return Ok(n);
        }
        let mut table = self
            .batch_table
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(&n) = table.numbers.get(&batch) {
            return Ok(n);
        }
        let n = table.next;
        eng.batches
            .insert(n.to_be_bytes(), batch.encode())
            .map_err(engine)?;
        table.add(n, batch);
        Ok(n)
    }

    fn batches(&self) -> std::sync::RwLockReadGuard<'_, BatchTable> {
        self.batch_table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn encode_code(&self, eng: &Engine, record: &CodeRecord) -> StoreResult<Vec<u8>> {
        Ok(record.encode(self.batch_number(eng, record)?))
    }

    fn decode_record(&self, key: &CodeKey, value: &[u8]) -> StoreResult<CodeRecord> {
        CodeRecord::decode(key, value, |n| self.batches().by_number.get(&n).cloned())
            .map_err(|e| StoreError::corrupt(key.to_string(), e))
    }

    fn decode_code(&self, key: &[u8], value: &[u8]) -> StoreResult<(CodeKey, CodeRecord)> {
        let key = CodeKey::from_bytes(key).map_err(|e| StoreError::corrupt("code key", e))?;
        let record = self.decode_record(&key, value)?;
        Ok((key, record))
    }
}

/// The batches by number and by content.
#[derive(Default)]
struct BatchTable {
    by_number: HashMap<u32, Batch>,
    numbers: HashMap<Batch, u32>,
    next: u32,
}

impl BatchTable {
    fn add(&mut self, number: u32, batch: Batch) {
        self.next = self.next.max(number + 1);
        self.numbers.insert(batch.clone(), number);
        self.by_number.insert(number, batch);
    }
}

fn event_key(key: &CodeKey, seq: u32) -> Vec<u8> {
    let mut out = key.as_bytes().to_vec();
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

fn lot_key(gtin: &Gtin, lot: &Lot) -> Vec<u8> {
    let mut out = CodeKey::gtin_prefix(gtin).to_vec();
    out.push(lot.as_str().len() as u8);
    out.extend_from_slice(lot.as_str().as_bytes());
    out
}

/// The GTIN and lot of a [`lot_key`].
fn decode_lot_key(bytes: &[u8]) -> StoreResult<(Gtin, Lot)> {
    let bad = |why: String| StoreError::corrupt("lot recall key", why);
    let gtin = CodeKey::gtin_of_prefix(bytes).map_err(|e| bad(e.to_string()))?;
    let rest = &bytes[8..];
    let lot = match rest.split_first() {
        Some((&len, lot)) if usize::from(len) == lot.len() => std::str::from_utf8(lot)
            .map_err(|e| bad(e.to_string()))
            .and_then(|l| Lot::parse(l).map_err(|e| bad(e.to_string())))?,
        _ => return Err(bad("lot length does not match".into())),
    };
    Ok((gtin, lot))
}

fn alert_key(manufacturer: &PartyId, key: &CodeKey) -> Vec<u8> {
    let mut out = alert_prefix(manufacturer);
    out.extend_from_slice(key.as_bytes());
    out
}

fn alert_prefix(manufacturer: &PartyId) -> Vec<u8> {
    let mut out = vec![manufacturer.as_str().len() as u8];
    out.extend_from_slice(manufacturer.as_str().as_bytes());
    out
}

fn vehicle_key(vin: &Vin, key: &CodeKey) -> Vec<u8> {
    let mut out = vin.as_bytes().to_vec();
    out.extend_from_slice(key.as_bytes());
    out
}

fn installed_vin(record: &CodeRecord) -> Option<Vin> {
    match &record.custody.custody {
        Custody::Installed { vin, .. } => Some(*vin),
        _ => None,
    }
}

fn trust_key(entry: &TrustEntry) -> Vec<u8> {
    match entry {
        TrustEntry::Root { key, .. } => {
            format!("root/{}", signer::KeyId::of(key).to_base64()).into_bytes()
        }
        TrustEntry::Certificate { cert, .. } => format!("cert/{:020}", cert.serial()).into_bytes(),
        TrustEntry::Revocations { .. } => b"revocations".to_vec(),
    }
}

fn decode_trust(key: &[u8], value: &[u8]) -> StoreResult<TrustEntry> {
    let corrupt = |why: String| StoreError::corrupt(String::from_utf8_lossy(key), why);
    let (time, bytes) = value
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("too short".into()))?;
    let known_at = Timestamp(i64::from_be_bytes(*time));
    if key.starts_with(b"root/") {
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| corrupt("not a 32-byte key".into()))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Root { key, known_at })
    } else if key.starts_with(b"cert/") {
        let cert = Certificate::from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Certificate { cert, known_at })
    } else {
        let list = RevocationList::from_bytes(bytes).map_err(|e| corrupt(e.to_string()))?;
        Ok(TrustEntry::Revocations { list, known_at })
    }
}

impl Store for SledStore {
    fn code(&self, key: &CodeKey) -> StoreResult<Option<CodeRecord>> {
        let miss = match self
            .records
            .get(key.as_bytes(), |bytes| self.decode_record(key, bytes))
        {
            Ok(cached) => return cached.map(Some),
            Err(miss) => miss,
        };
        let e = self.current()?;
        match e.codes.get(key.as_bytes()).map_err(engine)? {
            None => Ok(None),
            Some(bytes) => {
                let record = self.decode_record(key, &bytes)?;
                self.records.fill(miss, key.as_bytes(), &bytes);
                Ok(Some(record))
            }
        }
    }

    fn insert_new_code(
        &self,
        key: &CodeKey,
        record: &CodeRecord,
    ) -> StoreResult<Option<CodeRecord>> {
        self.write(|e| {
            let value = self.encode_code(e, record)?;
            let swapped = e
                .codes
                .compare_and_swap(key.as_bytes(), None::<&[u8]>, Some(value.as_slice()))
                .map_err(engine)?;
            match swapped {
                Ok(()) => {
                    self.records.wrote(key.as_bytes(), &value);
                    Ok(None)
                }
                Err(taken) => match taken.current {
                    Some(bytes) => self.decode_record(key, &bytes).map(Some),
                    None => Err(StoreError::corrupt(
                        key.to_string(),
                        "vanished during insert",
                    )),
                },
            }
        })
    }

    fn update_code(
        &self,
        key: &CodeKey,
        event: Option<&Event>,
        before: &CodeRecord,
        after: &CodeRecord,
    ) -> StoreResult<()> {
        self.write(|e| {
            // Plain inserts in the order of the trait's crash contract: sled recovers a prefix of its
            // log, so no interrupted update can leave a record without its event or an index without
            // an entry it needs.
            let alert = alert_key(&after.manufacturer, key);
            let alerting = (before.flags.alerting(), after.flags.alerting());
            let vins = (installed_vin(before), installed_vin(after));
            let vin_changed = vins.0 != vins.1;
            if alerting == (false, true) {
                let since = after.custody.since.0.to_be_bytes();
                e.alerts.insert(&alert, &since).map_err(engine)?;
            }
            if let (true, Some(vin)) = (vin_changed, &vins.1) {
                e.vehicles
                    .insert(vehicle_key(vin, key), &[])
                    .map_err(engine)?;
            }
            if let Some(event) = event {
                e.events
                    .insert(event_key(key, event.seq), event.encode())
                    .map_err(engine)?;
            }
            let value = self.encode_code(e, after)?;
            e.codes
                .insert(key.as_bytes(), value.as_slice())
                .map_err(engine)?;
            self.records.wrote(key.as_bytes(), &value);
            if let (true, Some(vin)) = (vin_changed, &vins.0) {
                e.vehicles.remove(vehicle_key(vin, key)).map_err(engine)?;
            }
            if alerting == (true, false) {
                e.alerts.remove(&alert).map_err(engine)?;
            }
            Ok(())
        })
    }

    fn events(&self, key: &CodeKey) -> StoreResult<Vec<Event>> {
        let e = self.current()?;
        e.events
            .scan_prefix(key.as_bytes())
            .map(|entry| {
                let (_, value) = entry.map_err(engine)?;
                Event::decode(&value).map_err(|e| StoreError::corrupt(key.to_string(), e))
            })
            .collect()
    }

    fn codes(&self) -> Entries<'_, (CodeKey, CodeRecord)> {
        let e = match self.current() {
            Ok(e) => e,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        // The iterator holds the engine: no reopen while it runs.
        let entries = e.codes.iter();
        Box::new(entries.map(move |entry| {
            let _engine = &e;
            let (k, v) = entry.map_err(engine)?;
            self.decode_code(&k, &v)
        }))
    }

    fn all_events(&self) -> Entries<'_, (CodeKey, Event)> {
        let e = match self.current() {
            Ok(e) => e,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        // The iterator holds the engine: no reopen while it runs.
        let entries = e.events.iter();
        Box::new(entries.map(move |entry| {
            let _engine = &e;
            let (k, v) = entry.map_err(engine)?;
            let code = k
                .len()
                .checked_sub(4)
                .and_then(|n| CodeKey::from_bytes(&k[..n]).ok())
                .ok_or_else(|| StoreError::corrupt("event key", "malformed"))?;
            let event = Event::decode(&v).map_err(|e| StoreError::corrupt(code.to_string(), e))?;
            if k[k.len() - 4..] != event.seq.to_be_bytes() {
                return Err(StoreError::corrupt(
                    code.to_string(),
                    "event stored under another sequence number",
                ));
            }
            Ok((code, event))
        }))
    }

    fn lot_recall(&self, gtin: &Gtin, lot: &Lot) -> StoreResult<Option<LotRecall>> {
        let e = self.current()?;
        match e.lot_recalls.get(lot_key(gtin, lot)).map_err(engine)? {
            None => Ok(None),
            Some(bytes) => LotRecall::decode(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("lot recall", e)),
        }
    }

    fn put_lot_recall(&self, gtin: &Gtin, lot: &Lot, recall: &LotRecall) -> StoreResult<()> {
        self.write(|e| {
            e.lot_recalls
                .insert(lot_key(gtin, lot), recall.encode())
                .map_err(engine)?;
            Ok(())
        })
    }

    fn lot_recalls(&self) -> StoreResult<Vec<(Gtin, Lot, LotRecall)>> {
        let e = self.current()?;
        let mut out = Vec::new();
        for entry in e.lot_recalls.iter() {
            let (key, value) = entry.map_err(engine)?;
            let (gtin, lot) = decode_lot_key(&key)?;
            let recall =
                LotRecall::decode(&value).map_err(|e| StoreError::corrupt("lot recall", e))?;
            out.push((gtin, lot, recall));
        }
        Ok(out)
    }

    fn scans(&self, key: &CodeKey) -> StoreResult<Option<ScanStats>> {
        let e = self.current()?;
        match e.scans.get(key.as_bytes()).map_err(engine)? {
            None => Ok(None),
            Some(bytes) => ScanStats::decode(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("scan stats", e)),
        }
    }

    fn put_scans(&self, key: &CodeKey, stats: &ScanStats) -> StoreResult<()> {
        self.write(|e| {
            e.scans
                .insert(key.as_bytes(), stats.encode())
                .map_err(engine)?;
            Ok(())
        })
    }

    fn alerts(&self, manufacturer: &PartyId) -> StoreResult<Vec<CodeKey>> {
        let e = self.current()?;
        let prefix = alert_prefix(manufacturer);
        e.alerts
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, _) = entry.map_err(engine)?;
                CodeKey::from_bytes(&k[prefix.len()..])
                    .map_err(|e| StoreError::corrupt("alert index", e))
            })
            .collect()
    }

    fn alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> StoreResult<Option<Timestamp>> {
        let e = self.current()?;
        let value = e.alerts.get(alert_key(manufacturer, key)).map_err(engine)?;
        Ok(value.and_then(|v| {
            v.get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(|b| Timestamp(i64::from_be_bytes(b)))
        }))
    }

    fn set_alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        at: Timestamp,
    ) -> StoreResult<bool> {
        self.write(|e| {
            let entry = alert_key(manufacturer, key);
            let Some(value) = e.alerts.get(&entry).map_err(engine)? else {
                return Ok(false);
            };
            let mut marked = value.get(..8).unwrap_or_default().to_vec();
            marked.extend_from_slice(&at.0.to_be_bytes());
            e.alerts.insert(entry, marked).map_err(engine)?;
            Ok(true)
        })
    }

    fn add_alert_note(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        note: &AlertNote,
    ) -> StoreResult<()> {
        self.write(|e| {
            let mut k = alert_key(manufacturer, key);
            k.extend_from_slice(&note.at.0.to_be_bytes());
            // Two notes in the same second keep their order and never overwrite each other.
            k.extend_from_slice(&e.db.generate_id().map_err(engine)?.to_be_bytes());
            e.alert_notes.insert(k, note.encode()).map_err(engine)?;
            Ok(())
        })
    }

    fn alert_notes(&self, manufacturer: &PartyId, key: &CodeKey) -> StoreResult<Vec<AlertNote>> {
        let e = self.current()?;
        let prefix = alert_key(manufacturer, key);
        e.alert_notes
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                // Code keys are prefix-free, so the prefix holds this code's notes only.
                if k.len() != prefix.len() + 16 {
                    return Err(StoreError::corrupt("alert note", "malformed key"));
                }
                AlertNote::decode(&v).map_err(|e| StoreError::corrupt("alert note", e))
            })
            .collect()
    }

    fn all_alerts(&self) -> Entries<'_, (PartyId, CodeKey)> {
        let e = match self.current() {
            Ok(e) => e,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        // The iterator holds the engine: no reopen while it runs.
        let entries = e.alerts.iter();
        Box::new(entries.map(move |entry| {
            let _engine = &e;
            let (k, _) = entry.map_err(engine)?;
            let corrupt = || StoreError::corrupt("alert index", "malformed entry");
            let len = usize::from(*k.first().ok_or_else(corrupt)?);
            let party = k
                .get(1..1 + len)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| PartyId::parse(s).ok())
                .ok_or_else(corrupt)?;
            let key = CodeKey::from_bytes(&k[1 + len..]).map_err(|_| corrupt())?;
            Ok((party, key))
        }))
    }

    fn installed_in(&self, vin: &Vin) -> StoreResult<Vec<CodeKey>> {
        let e = self.current()?;
        e.vehicles
            .scan_prefix(vin.as_bytes())
            .map(|entry| {
                let (k, _) = entry.map_err(engine)?;
                CodeKey::from_bytes(&k[17..]).map_err(|e| StoreError::corrupt("vehicle index", e))
            })
            .collect()
    }

    fn all_installed(&self) -> Entries<'_, (Vin, CodeKey)> {
        let e = match self.current() {
            Ok(e) => e,
            Err(err) => return Box::new(std::iter::once(Err(err))),
        };
        // The iterator holds the engine: no reopen while it runs.
        let entries = e.vehicles.iter();
        Box::new(entries.map(move |entry| {
            let _engine = &e;
            let (k, _) = entry.map_err(engine)?;
            let corrupt = || StoreError::corrupt("vehicle index", "malformed entry");
            let vin = k
                .get(..17)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|s| Vin::parse_confirmed(s).ok())
                .ok_or_else(corrupt)?;
            let key = CodeKey::from_bytes(&k[17..]).map_err(|_| corrupt())?;
            Ok((vin, key))
        }))
    }

    fn trust(&self) -> StoreResult<Vec<TrustEntry>> {
        let e = self.current()?;
        e.trust
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                decode_trust(&k, &v)
            })
            .collect()
    }

    fn put_trust(&self, entry: &TrustEntry) -> StoreResult<()> {
        self.write(|e| {
            let (known_at, bytes): (Timestamp, &[u8]) = match entry {
                TrustEntry::Root { key, known_at } => (*known_at, key.as_bytes()),
                TrustEntry::Certificate { cert, known_at } => (*known_at, cert.to_bytes()),
                TrustEntry::Revocations { list, known_at } => (*known_at, list.to_bytes()),
            };
            let mut value = known_at.0.to_be_bytes().to_vec();
            value.extend_from_slice(bytes);
            e.trust.insert(trust_key(entry), value).map_err(engine)?;
            Ok(())
        })
    }

    fn party(&self, id: &PartyId) -> StoreResult<Option<Party>> {
        let e = self.current()?;
        match e.parties.get(id.as_str()).map_err(engine)? {
            None => Ok(None),
            Some(bytes) => Party::decode(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("party", e)),
        }
    }

    fn put_party(&self, party: &Party) -> StoreResult<()> {
        self.write(|e| {
            e.parties
                .insert(party.id.as_str(), party.encode())
                .map_err(engine)?;
            Ok(())
        })
    }

    fn parties(&self) -> StoreResult<Vec<Party>> {
        let e = self.current()?;
        e.parties
            .iter()
            .map(|entry| {
                let (_, v) = entry.map_err(engine)?;
                Party::decode(&v).map_err(|e| StoreError::corrupt("party", e))
            })
            .collect()
    }

    fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        let e = self.current()?;
        match e.tokens.get(id).map_err(engine)? {
            None => Ok(None),
            Some(bytes) => TokenRecord::decode(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt("token", e)),
        }
    }

    fn put_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.write(|e| {
            e.tokens
                .insert(token.id.as_str(), token.encode())
                .map_err(engine)?;
            Ok(())
        })
    }

    fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let e = self.current()?;
        e.tokens
            .iter()
            .map(|entry| {
                let (_, v) = entry.map_err(engine)?;
                TokenRecord::decode(&v).map_err(|e| StoreError::corrupt("token", e))
            })
            .collect()
    }

    /// Keyed by maker, time and the report's own random id, so reports never overwrite each
    /// other. (Version 1 reports were keyed by maker, time and code; they still read.)
    fn add_report(&self, report: &Report) -> StoreResult<()> {
        self.write(|e| {
            let mut key = alert_prefix(&report.manufacturer);
            key.extend_from_slice(&report.at.0.to_be_bytes());
            key.extend_from_slice(report.id.as_bytes());
            e.reports.insert(key, report.encode()).map_err(engine)?;
            Ok(())
        })
    }

    fn add_notice(&self, notice: &Notice) -> StoreResult<()> {
        self.write(|e| {
            let mut key = alert_prefix(&notice.party);
            key.extend_from_slice(&notice.at.0.to_be_bytes());
            // Notices of one second in the order they were written.
            key.extend_from_slice(&e.db.generate_id().map_err(engine)?.to_be_bytes());
            e.notices
                .insert(key, notice.encode_value())
                .map_err(engine)?;
            Ok(())
        })
    }

    fn notices(&self, party: &PartyId) -> StoreResult<Vec<Notice>> {
        let e = self.current()?;
        let prefix = alert_prefix(party);
        e.notices
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                let at = k
                    .get(prefix.len()..prefix.len() + 8)
                    .and_then(|b| b.try_into().ok())
                    .map(|b| Timestamp(i64::from_be_bytes(b)))
                    .ok_or_else(|| StoreError::corrupt("notice", "malformed key"))?;
                Notice::decode_value(party.clone(), at, &v)
                    .map_err(|e| StoreError::corrupt("notice", e))
            })
            .collect()
    }

    fn reports(&self, manufacturer: &PartyId) -> StoreResult<Vec<Report>> {
        let e = self.current()?;
        let prefix = alert_prefix(manufacturer);
        e.reports
            .scan_prefix(&prefix)
            .map(|entry| {
                let (k, v) = entry.map_err(engine)?;
                let legacy_code = || {
                    k.get(prefix.len() + 8..)
                        .and_then(|b| CodeKey::from_bytes(b).ok())
                };
                Report::decode(&v, legacy_code).map_err(|e| StoreError::corrupt("report", e))
            })
            .collect()
    }

    fn scan_salt(&self) -> StoreResult<[u8; 32]> {
        if let Some(salt) = self.current()?.meta.get(SALT_KEY).map_err(engine)? {
            return salt
                .as_ref()
                .try_into()
                .map_err(|_| StoreError::corrupt("scan salt", "not 32 bytes"));
        }
        let mut salt = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        // Two first callers racing must end up with one salt: keep whichever landed first.
        self.write(|e| {
            let _ = e
                .meta
                .compare_and_swap(SALT_KEY, None::<&[u8]>, Some(&salt[..]))
                .map_err(engine)?;
            Ok(())
        })?;
        self.durable()?;
        self.scan_salt()
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

    fn writable(&self) -> Result<(), Fault> {
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
        match self.reopen() {
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

    fn stats(&self) -> StoreResult<StoreStats> {
        let e = self.current()?;
        Ok(StoreStats {
            codes: e.codes.len() as u64,
            events: e.events.len() as u64,
            alerts: e.alerts.len() as u64,
            lot_recalls: e.lot_recalls.len() as u64,
            scanned_codes: e.scans.len() as u64,
            bytes_on_disk: e.db.size_on_disk().map_err(engine)?,
        })
    }

    fn record_cache(&self) -> super::RecordCacheStats {
        self.records.stats()
    }

    fn backup(&self, out: &mut dyn Write) -> StoreResult<u64> {
        let e = self.current()?;
        let mut hasher = Sha256::new();
        let mut write = |bytes: &[u8]| -> StoreResult<()> {
            hasher.update(bytes);
            out.write_all(bytes)?;
            Ok(())
        };
        write(BACKUP_MAGIC)?;
        let mut records = 0u64;
        for (tag, name) in TREES.iter().enumerate() {
            let tree = e.db.open_tree(name).map_err(engine)?;
            for entry in tree.iter() {
                let (k, v) = entry.map_err(engine)?;
                write(&[tag as u8])?;
                write(&(k.len() as u32).to_be_bytes())?;
                write(&k)?;
                write(&(v.len() as u32).to_be_bytes())?;
                write(&v)?;
                records += 1;
            }
        }
        write(&[BACKUP_END])?;
        write(&records.to_be_bytes())?;
        let digest = hasher.finalize();
        out.write_all(&digest)?;
        out.flush()?;
        Ok(records)
    }

    fn restore(&self, input: &mut dyn Read) -> StoreResult<u64> {
        // Not through `write`: an error reading the backup file is no fault of the store.
        let e = self.current()?;
        if !e.codes.is_empty() || !e.events.is_empty() || !e.trust.is_empty() {
            return Err(StoreError::Backup(
                "the target store is not empty; restore into a new data directory".into(),
            ));
        }
        let bad = |why: &str| StoreError::Backup(format!("not a valid partseal backup: {why}"));
        let mut hasher = Sha256::new();
        let mut read = |n: usize| -> StoreResult<Vec<u8>> {
            let mut buf = vec![0u8; n];
            input.read_exact(&mut buf).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => bad("it ends early (truncated?)"),
                _ => StoreError::Io(e),
            })?;
            hasher.update(&buf);
            Ok(buf)
        };
        if read(BACKUP_MAGIC.len())? != BACKUP_MAGIC {
            return Err(bad("wrong header"));
        }
        let trees: Vec<sled::Tree> = TREES
            .iter()
            .map(|name| e.db.open_tree(name).map_err(engine))
            .collect::<StoreResult<_>>()?;
        let mut records = 0u64;
        loop {
            let tag = read(1)?[0];
            if tag == BACKUP_END {
                break;
            }
            let tree = trees
                .get(usize::from(tag))
                .ok_or_else(|| bad("unknown tree tag"))?;
            let len = u32::from_be_bytes(read(4)?.try_into().unwrap_or_default()) as usize;
            if len > 1 << 20 {
                return Err(bad("a key longer than 1 MiB"));
            }
            let key = read(len)?;
            let len = u32::from_be_bytes(read(4)?.try_into().unwrap_or_default()) as usize;
            if len > 64 << 20 {
                return Err(bad("a value longer than 64 MiB"));
            }
            let value = read(len)?;
            tree.insert(key, value).map_err(engine)?;
            records += 1;
        }
        let count = u64::from_be_bytes(read(8)?.try_into().unwrap_or_default());
        let expected = hasher.finalize();
        let mut found = [0u8; 32];
        input
            .read_exact(&mut found)
            .map_err(|_| bad("the checksum is missing"))?;
        if found[..] != expected[..] {
            return Err(bad("the checksum does not match (damaged file)"));
        }
        if count != records {
            return Err(bad("the record count does not match"));
        }
        let mut rest = [0u8; 1];
        if input.read(&mut rest)? != 0 {
            return Err(bad("bytes after the end"));
        }
        self.durable()?;
        self.load_batches(&e)?;
        self.records.clear();
        Ok(records)
    }
}
