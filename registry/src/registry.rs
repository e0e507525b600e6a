//! [`Registry`]: the rules over a [`Store`]. Registration, custody events, flags, public scans, trust
//! state, audit and backup.
//!
//! This file holds the registry itself (its state, locks, opening and the store's operations);
//! each of the registry's other jobs is an `impl Registry` block of its own:
//!
//! | module | what it does |
//! |---|---|
//! | `trust` | the trust state in force, changed durably, read again where processes share the store |
//! | `recalls` | recall reasons; lot recalls, held in memory |
//! | `labels` | whether a scanned label is the registered one: the one place that decides it |
//! | `submit` | custody events: submission, judging under the code's lock, durable answer |
//! | `cartons` | packing, shipping, receiving and unpacking cartons: every code judged by its own rules, all moved or none |
//! | `packing_records` | a party's packing records, newest first, through the store's index by packer |
//! | `corrections` | an author's correction of its own event, and the record without it |
//! | `queries` | a code's status and history, vehicles, scan and store figures, a maker's lots |
//! | `public_scans` | public scans counted in memory, written behind; `scan_anomaly` |
//! | `alerts` | a manufacturer's alerts, the investigation workflow and its notes |
//! | `reports` | public reports for manufacturers; notices to businesses |
//! | `accounts` | parties, API tokens, authentication |
//! | `browser_sessions` | signed-in browsers' sessions, shared by every replica |
//!
//! ## Concurrency
//! Writers on one code are serialised by a striped lock (a code's key picks one of
//! [`LOCK_STRIPES`] mutexes), so when two shops install the same code at the same instant exactly
//! one install takes effect and the other is recorded as the conflict. Registrations take no lock:
//! each code is inserted with compare-and-swap, so it is registered once however many uploads race. A backup takes the write gate
//! exclusively: reads go on, writes wait until the copy is complete.
//!
//! ## Blocking
//! Every method blocks (sled reads and writes, fsync, Ed25519). From async code, call them inside
//! `tokio::task::spawn_blocking`; the registry is `Send + Sync` and meant to be shared in an `Arc`.

mod accounts;
mod alerts;
mod browser_sessions;
mod capture;
mod cartons;
mod corrections;
mod labels;
mod log;
mod packing_records;
mod public_scans;
mod queries;
mod recalls;
mod reports;
mod submit;
mod trust;

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use signer::{CheckTimes, SignedCode, Timestamp, TrustStore};

use self::recalls::load_lot_recalls;
use self::trust::load_trust;
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::record::LotRecall;
use crate::register::{self, Registration};
use crate::scan_cache::ScanCache;
use crate::scans::ScanPolicy;
use crate::store::{Caches, Create, Location, Store, StoreError};

pub use self::cartons::CodeMoved;
pub use self::corrections::AlsoChanged;
pub use self::labels::{LabelStatus, ScannedLabel};
pub use self::queries::{CodeStatus, History, VehicleAnswer};
pub use self::submit::{Presented, Recorded, Submission};
pub use crate::error::RegistryError;

/// Mutexes serialising writers per code.
pub const LOCK_STRIPES: usize = 1024;
/// How often one write is judged again because other replicas kept changing its code meanwhile,
/// before it gives up (and the caller sees a store error to retry).
const MAX_CONFLICTS: u32 = 32;

/// Policy the registry applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// How long after an event its actor may still correct it (the EU medicines system allows 10 days).
    pub correction_window_days: i64,
    pub scans: ScanPolicy,
    /// Memory the embedded store may use to cache its pages. Lookups stay in microseconds while the
    /// registered codes fit (about 290 bytes each on disk, more in memory).
    pub cache_bytes: u64,
    /// Memory for code records kept in front of the store (about 190 bytes a code): a lookup of
    /// one of them is a hash probe rather than a walk down the store's tree. 0 switches it off.
    pub record_cache_bytes: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            correction_window_days: 10,
            scans: ScanPolicy::default(),
            cache_bytes: 1 << 30,
            // About 1.4 million codes: the ones written or looked up lately.
            record_cache_bytes: 256 << 20,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

pub struct Registry {
    store: Store,
    trust: RwLock<TrustStore>,
    stripes: Vec<Mutex<()>>,
    registering: Mutex<()>,
    /// Writers hold it shared; a backup holds it exclusively.
    writes: RwLock<()>,
    config: RegistryConfig,
    salt: [u8; 32],
    /// Every lot recall, by GTIN and lot: a scan must know whether its lot is recalled, and lots
    /// are recalled rarely, so they are read once at open rather than on every scan.
    lot_recalls: RwLock<LotRecalls>,
    scans: ScanCache,
    /// Where other processes share the store: when the trust state and lot recalls held in
    /// memory are next read again from it (milliseconds since `opened`).
    refresh_due: std::sync::atomic::AtomicU64,
    opened: std::time::Instant,
}

type LotRecalls = HashMap<String, HashMap<String, LotRecall>>;

impl Drop for Registry {
    /// Scans still counted only in memory go to the store, which persists them as it closes.
    fn drop(&mut self) {
        if let Err(e) = self.write_scans() {
            tracing::error!(error = %e, "cannot write the last scan counts");
        }
    }
}

/// The stripe of [`Registry::stripes`] that serialises writers of `key`.
fn stripe_of(key: &CodeKey) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % LOCK_STRIPES
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Opens the embedded store in `dir`, creating it if needed.
    pub fn open(dir: &Path, config: RegistryConfig) -> Result<Self> {
        Self::open_at(
            &Location::Directory(dir.to_owned()),
            Create::IfMissing,
            config,
        )
    }

    /// Connects to the PostgreSQL database at `url`, applying pending schema migrations: the
    /// store for more than one machine, shared by any number of processes.
    pub fn connect(url: &str, config: RegistryConfig) -> Result<Self> {
        Self::open_at(
            &Location::Database(url.to_owned()),
            Create::IfMissing,
            config,
        )
    }

    /// Opens the store at `location` (see [`Location::open`]).
    pub fn open_at(location: &Location, create: Create, config: RegistryConfig) -> Result<Self> {
        let caches = Caches {
            pages: config.cache_bytes,
            records: config.record_cache_bytes,
        };
        let store = location.open(create, caches)?;
        let trust = load_trust(&store.trust()?)?;
        let salt = store.scan_salt()?;
        let lot_recalls = load_lot_recalls(&store)?;
        Ok(Registry {
            refresh_due: std::sync::atomic::AtomicU64::new(0),
            opened: std::time::Instant::now(),
            lot_recalls: RwLock::new(lot_recalls),
            scans: ScanCache::default(),
            store,
            trust: RwLock::new(trust),
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            registering: Mutex::new(()),
            writes: RwLock::new(()),
            config,
            salt,
        })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    fn stripe(&self, key: &CodeKey) -> MutexGuard<'_, ()> {
        lock(&self.stripes[stripe_of(key)])
    }

    /// The locks of several codes at once (a carton's), taken in stripe order so that two writers
    /// of overlapping sets of codes wait for each other rather than deadlock.
    fn stripes<'a>(&self, keys: impl IntoIterator<Item = &'a CodeKey>) -> Vec<MutexGuard<'_, ()>> {
        let stripes: std::collections::BTreeSet<usize> = keys.into_iter().map(stripe_of).collect();
        stripes
            .into_iter()
            .map(|i| lock(&self.stripes[i]))
            .collect()
    }

    fn write_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.writes.read().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- Registration ----

    /// Registers signed codes (the commissioning event of each) and answers per code, in order.
    ///
    /// Each code's certificate must be valid now and not revoked, its GTIN inside the certificate's
    /// prefixes, and its signature valid (checked in parallel batches). With `as_party`, only codes
    /// of that manufacturer's certificates are accepted. A code registered before with the same
    /// signature is `AlreadyRegistered`; with a different signature or key it is rejected as a
    /// conflict. Returns once the registrations are durable.
    pub fn register(
        &self,
        codes: &[SignedCode],
        as_party: Option<&PartyId>,
        now: Timestamp,
    ) -> Result<Vec<Registration>> {
        self.register_named(codes, &[], as_party, now)
    }

    /// [`Registry::register`] with each code's part name (`names[i]` for `codes[i]`; missing or
    /// `None`: no name), kept once per batch.
    pub fn register_named(
        &self,
        codes: &[SignedCode],
        names: &[Option<String>],
        as_party: Option<&PartyId>,
        now: Timestamp,
    ) -> Result<Vec<Registration>> {
        let checked = self.check_codes(codes, as_party, now, register::RegisterOptions::default());
        self.store_checked(codes, names, checked, now)
    }

    /// The first half of [`Registry::register`]: trust rules and signatures, on every core, with no
    /// lock held. Splitting it out lets a manifest's next chunk be checked while this one is stored.
    pub(crate) fn check_codes(
        &self,
        codes: &[SignedCode],
        as_party: Option<&PartyId>,
        now: Timestamp,
        options: register::RegisterOptions,
    ) -> Vec<Result<PartyId, register::Rejection>> {
        let trust = self.trust();
        register::check_codes(&trust, codes, as_party, CheckTimes::offline(now), options)
    }

    /// The second half of [`Registry::register`]: stores what passed, durably.
    pub(crate) fn store_checked(
        &self,
        codes: &[SignedCode],
        names: &[Option<String>],
        checked: Vec<Result<PartyId, register::Rejection>>,
        now: Timestamp,
    ) -> Result<Vec<Registration>> {
        let results = {
            let _gate = self.write_gate();
            register::store_codes(&self.store, codes, names, checked, now)?
        };
        self.store.durable()?;
        Ok(results)
    }

    // ---- Operations ----

    /// Whether writes go through; see [`Store::writable`] (which this also gives its chance to
    /// recover the store).
    pub fn writable(&self) -> std::result::Result<(), crate::store::Fault> {
        self.store.writable()
    }

    /// Writes the scans counted in memory and waits until every write so far is durable (e.g.
    /// before shutdown).
    pub fn flush(&self) -> Result<()> {
        self.write_scans()?;
        Ok(self.store.durable()?)
    }

    /// Copies the whole store to `out` while it stays in use: reads go on, writes wait for the copy.
    pub fn backup(&self, out: &mut dyn Write) -> Result<u64> {
        // Scans counted so far belong in the copy; later ones wait in memory for the next pass.
        self.write_scans()?;
        let _exclusive = self.writes.write().unwrap_or_else(PoisonError::into_inner);
        Ok(self.store.backup(out)?)
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("code key", e)
}
