//! [`Registry`]: the rules over a [`Store`]. Registration, custody events, flags, public scans, trust
//! state, audit and backup.
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

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash as _, Hasher};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use signer::{
    Certificate, CheckTimes, Gtin, Lot, RevocationList, SignedCode, Timestamp, TrustStore,
    VerifyingKey,
};

use crate::custody::{self, Custody, CustodyState, Transition};
use crate::event::{Action, Event, MAX_TEXT_LEN, Outcome, What};
use crate::key::CodeKey;
use crate::parties::{self, AuthError, IssuedToken, Party, Report, TokenRecord};
use crate::party::PartyId;
use crate::record::{CodeRecord, Evidence, LotRecall, MAX_EVIDENCE, ScanAnomaly};
use crate::register::{self, Registration};
use crate::scan_cache::ScanCache;
use crate::scans::{ScanContext, ScanPolicy, ScanStats};
use crate::store::sled::SledStore;
use crate::store::{RecordCacheStats, Store, StoreError, StoreStats, TrustEntry};
use crate::vin::Vin;

/// Mutexes serialising writers per code.
pub const LOCK_STRIPES: usize = 1024;

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

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("code {0} is not registered")]
    NotRegistered(CodeKey),
    #[error("{0}")]
    NotAllowed(String),
    #[error("cannot correct: {0}")]
    InvalidCorrection(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("trust state refused: {0}")]
    Trust(String),
}

impl RegistryError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Store(_) => "storage",
            RegistryError::NotRegistered(_) => "not_registered",
            RegistryError::NotAllowed(_) => "not_allowed",
            RegistryError::InvalidCorrection(_) => "invalid_correction",
            RegistryError::InvalidInput(_) => "invalid_input",
            RegistryError::Trust(_) => "trust_refused",
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What recording an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub event: Event,
    /// The code's record after the event.
    pub record: CodeRecord,
    /// For a conflict: what it means, in words a shop understands.
    pub explanation: Option<String>,
}

/// Everything a scan needs to answer, from one or two reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeStatus {
    pub key: CodeKey,
    pub record: CodeRecord,
    /// The recall of the code's whole lot, if there was one.
    pub lot_recall: Option<LotRecall>,
}

/// A code's history: the record and every event, commissioning first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History {
    pub key: CodeKey,
    pub record: CodeRecord,
    pub events: Vec<Event>,
    pub lot_recall: Option<LotRecall>,
}

pub struct Registry {
    store: Box<dyn Store>,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// Opens the embedded sled store in `dir`, creating it if needed.
    pub fn open(dir: &Path, config: RegistryConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(StoreError::Io)?;
        let store = SledStore::open(dir, config.cache_bytes, config.record_cache_bytes)?;
        Self::with_store(Box::new(store), config)
    }

    pub fn with_store(store: Box<dyn Store>, config: RegistryConfig) -> Result<Self> {
        let trust = load_trust(&store.trust()?)?;
        let salt = store.scan_salt()?;
        let mut lot_recalls = LotRecalls::new();
        for (gtin, lot, recall) in store.lot_recalls()? {
            lot_recalls
                .entry(gtin.as_str().to_owned())
                .or_default()
                .insert(lot.as_str().to_owned(), recall);
        }
        Ok(Registry {
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

    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    fn stripe(&self, key: &CodeKey) -> MutexGuard<'_, ()> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        lock(&self.stripes[(h.finish() as usize) % LOCK_STRIPES])
    }

    fn write_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.writes.read().unwrap_or_else(PoisonError::into_inner)
    }

    // ---- Trust state ----

    /// The trust state in force (authority keys, certificates, revocations).
    pub fn trust(&self) -> RwLockReadGuard<'_, TrustStore> {
        self.trust.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn change_trust(
        &self,
        entry: TrustEntry,
        apply: impl FnOnce(&mut TrustStore) -> Result<(), String>,
    ) -> Result<()> {
        let _gate = self.write_gate();
        let mut trust = self.trust.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = trust.clone();
        apply(&mut next).map_err(RegistryError::Trust)?;
        self.store.put_trust(&entry)?;
        self.store.durable()?;
        *trust = next;
        Ok(())
    }

    /// Trusts an authority root key.
    pub fn add_root(&self, key: VerifyingKey, now: Timestamp) -> Result<()> {
        if self.trust().roots().contains(&key) {
            return Ok(());
        }
        self.change_trust(TrustEntry::Root { key, known_at: now }, |t| {
            let mut roots = t.roots().to_vec();
            roots.push(key);
            *t = rebuild(roots, t);
            Ok(())
        })
    }

    /// Adds a certificate, after checking a trusted authority signed it.
    pub fn add_certificate(&self, cert: Certificate, now: Timestamp) -> Result<()> {
        if self.trust().certificates().contains(&cert) {
            return Ok(());
        }
        let entry = TrustEntry::Certificate {
            cert: cert.clone(),
            known_at: now,
        };
        self.change_trust(entry, |t| {
            t.add_certificate(cert).map_err(|e| e.to_string())
        })
    }

    /// Puts a revocation list in force, after checking its signature; an older list is refused.
    pub fn set_revocations(&self, list: RevocationList, now: Timestamp) -> Result<()> {
        if self.trust().revocations() == Some(&list) {
            return Ok(());
        }
        let entry = TrustEntry::Revocations {
            list: list.clone(),
            known_at: now,
        };
        self.change_trust(entry, |t| {
            t.set_revocations(list).map_err(|e| e.to_string())
        })
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
        let checked = self.check_codes(codes, as_party, now);
        self.store_checked(codes, checked, now)
    }

    /// The first half of [`Registry::register`]: trust rules and signatures, on every core, with no
    /// lock held. Splitting it out lets a manifest's next chunk be checked while this one is stored.
    pub(crate) fn check_codes(
        &self,
        codes: &[SignedCode],
        as_party: Option<&PartyId>,
        now: Timestamp,
    ) -> Vec<Result<PartyId, register::Rejection>> {
        let trust = self.trust();
        register::check_codes(&trust, codes, as_party, CheckTimes::offline(now))
    }

    /// The second half of [`Registry::register`]: stores what passed, durably.
    pub(crate) fn store_checked(
        &self,
        codes: &[SignedCode],
        checked: Vec<Result<PartyId, register::Rejection>>,
        now: Timestamp,
    ) -> Result<Vec<Registration>> {
        let results = {
            let _gate = self.write_gate();
            register::store_codes(self.store.as_ref(), codes, checked, now)?
        };
        self.store.durable()?;
        Ok(results)
    }

    // ---- Custody events ----

    /// Records `action` on a code by `actor`, and returns once it is durable.
    ///
    /// Custody moves are judged by [`custody::transition`]: an impossible move is still recorded,
    /// as a conflict, and flags the code `duplicate_suspected`. Refused (nothing stored): an
    /// unregistered code, a manufacturer-only action by another party, an invalid correction, text
    /// over [`MAX_TEXT_LEN`] bytes.
    pub fn record(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: Action,
        now: Timestamp,
    ) -> Result<Recorded> {
        if let Some(text) = action.text() {
            if text.len() > MAX_TEXT_LEN {
                return Err(RegistryError::InvalidInput(format!(
                    "the {} text is {} bytes; at most {MAX_TEXT_LEN} are kept",
                    action.step().as_str(),
                    text.len()
                )));
            }
        }
        let recorded = {
            let _gate = self.write_gate();
            let _code = self.stripe(key);
            let before = self
                .store
                .code(key)?
                .ok_or_else(|| RegistryError::NotRegistered(key.clone()))?;
            let (after, outcome, explanation) = self.apply(key, &before, actor, &action, now)?;
            let mut after = after;
            let event = Event {
                seq: before.events,
                prev: before.head,
                at: now,
                actor: actor.clone(),
                what: What::Action(action),
                outcome,
            };
            after.events = before.events + 1;
            after.head = event.hash(key);
            self.store.update_code(key, Some(&event), &before, &after)?;
            Recorded {
                event,
                record: after,
                explanation,
            }
        };
        self.store.durable()?;
        if let Outcome::Conflict { kind, .. } = recorded.event.outcome {
            tracing::warn!(code = %key, conflict = kind.code(), "duplicate suspected");
        }
        Ok(recorded)
    }

    /// Works out the record after `action` and the outcome to store with it.
    fn apply(
        &self,
        key: &CodeKey,
        before: &CodeRecord,
        actor: &PartyId,
        action: &Action,
        now: Timestamp,
    ) -> Result<(CodeRecord, Outcome, Option<String>)> {
        let mut after = before.clone();
        let seq = before.events;
        let manufacturer_only = matches!(
            action,
            Action::Decommission { .. } | Action::Recall { .. } | Action::Resolve { .. }
        );
        if manufacturer_only && actor != &before.manufacturer {
            return Err(RegistryError::NotAllowed(format!(
                "only the code's manufacturer may record {}",
                action.step().as_str()
            )));
        }
        match action {
            Action::Recall { .. } => {
                if before.flags.recalled.is_some() {
                    return Ok((after, Outcome::Repeated, None));
                }
                after.flags.recalled = Some((now, seq));
                Ok((after, Outcome::Applied, None))
            }
            Action::Resolve { .. } => {
                after.flags.duplicate.clear();
                after.flags.conflicts = 0;
                after.flags.scan_anomaly = None;
                Ok((after, Outcome::Applied, None))
            }
            Action::Correct { corrects, .. } => {
                let events = self.events(key, before)?;
                check_correction(&events, *corrects, actor, now, &self.config)?;
                let (custody, recalled) = replay(before, &events, Some(*corrects));
                after.custody = custody;
                after.flags.recalled = recalled;
                Ok((after, Outcome::Applied, None))
            }
            _ => match custody::transition(&before.custody.custody, actor, action) {
                Transition::Applied(next) => {
                    after.custody = CustodyState {
                        custody: next,
                        since: now,
                        event: seq,
                    };
                    Ok((after, Outcome::Applied, None))
                }
                Transition::Repeated => Ok((after, Outcome::Repeated, None)),
                Transition::Conflict(kind) => {
                    let evidence = Evidence {
                        kind,
                        event: seq,
                        with: before.custody.event,
                        at: now,
                        since: before.custody.since,
                    };
                    let explanation = evidence.explain();
                    if after.flags.duplicate.len() < MAX_EVIDENCE {
                        after.flags.duplicate.push(evidence);
                    }
                    after.flags.conflicts = after.flags.conflicts.saturating_add(1);
                    let outcome = Outcome::Conflict {
                        kind,
                        with: before.custody.event,
                    };
                    Ok((after, outcome, Some(explanation)))
                }
            },
        }
    }

    /// Recalls a whole lot: one record, effective for every code of the lot. Only a manufacturer
    /// certified for the GTIN may do it.
    pub fn recall_lot(
        &self,
        gtin: &Gtin,
        lot: &Lot,
        actor: &PartyId,
        reason: &str,
        now: Timestamp,
    ) -> Result<LotRecall> {
        if reason.len() > MAX_TEXT_LEN {
            return Err(RegistryError::InvalidInput(format!(
                "the recall reason is {} bytes; at most {MAX_TEXT_LEN} are kept",
                reason.len()
            )));
        }
        let certified = self
            .trust()
            .certificates()
            .iter()
            .any(|c| c.body().manufacturer_id == actor.as_str() && c.covers(gtin));
        if !certified {
            return Err(RegistryError::NotAllowed(format!(
                "{actor} holds no certificate for GTIN {}",
                gtin.as_str()
            )));
        }
        let _gate = self.write_gate();
        let mut recalls = self
            .lot_recalls
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = self.store.lot_recall(gtin, lot)? {
            return Ok(existing);
        }
        let recall = LotRecall {
            actor: actor.clone(),
            at: now,
            reason: reason.to_owned(),
        };
        self.store.put_lot_recall(gtin, lot, &recall)?;
        self.store.durable()?;
        recalls
            .entry(gtin.as_str().to_owned())
            .or_default()
            .insert(lot.as_str().to_owned(), recall.clone());
        Ok(recall)
    }

    // ---- Queries ----

    /// The code's record and its lot's recall: what a scan needs. `None` if never registered.
    pub fn status(&self, key: &CodeKey) -> Result<Option<CodeStatus>> {
        let Some(record) = self.store.code(key)? else {
            return Ok(None);
        };
        let lot_recall = match &record.lot {
            Some(lot) => self.lot_recall(key, lot)?,
            None => None,
        };
        Ok(Some(CodeStatus {
            key: key.clone(),
            record,
            lot_recall,
        }))
    }

    /// The recall of this code's lot, from memory.
    fn lot_recall(&self, key: &CodeKey, lot: &Lot) -> Result<Option<LotRecall>> {
        let recalls = self
            .lot_recalls
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if recalls.is_empty() {
            return Ok(None);
        }
        let gtin = key.gtin().map_err(corrupt)?;
        Ok(recalls
            .get(gtin.as_str())
            .and_then(|lots| lots.get(lot.as_str()))
            .cloned())
    }

    pub fn history(&self, key: &CodeKey) -> Result<Option<History>> {
        let Some(status) = self.status(key)? else {
            return Ok(None);
        };
        let mut events = vec![status.record.commissioning()];
        events.extend(self.events(key, &status.record)?);
        Ok(Some(History {
            key: status.key,
            record: status.record,
            events,
            lot_recall: status.lot_recall,
        }))
    }

    /// Codes of this manufacturer whose flags need attention.
    pub fn alerts(&self, manufacturer: &PartyId) -> Result<Vec<CodeStatus>> {
        let mut out = Vec::new();
        for key in self.store.alerts(manufacturer)? {
            // The index may hold entries left by an interrupted write; the record decides.
            match self.status(&key)? {
                Some(status)
                    if status.record.flags.alerting()
                        && &status.record.manufacturer == manufacturer =>
                {
                    out.push(status)
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// When this manufacturer began investigating the alert on a code (the alert workflow: new,
    /// investigating, then resolved by a `resolving` event).
    pub fn investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> Result<Option<Timestamp>> {
        Ok(self.store.alert_investigating(manufacturer, key)?)
    }

    /// Marks the alert on one of the manufacturer's flagged codes as under investigation. False if
    /// the code has no alert (nothing to investigate, or someone resolved it meanwhile).
    pub fn mark_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        now: Timestamp,
    ) -> Result<bool> {
        let marked = {
            let _gate = self.write_gate();
            // Under the code's lock, so a resolution cannot remove the alert in between.
            let _code = self.stripe(key);
            match self.store.code(key)? {
                Some(r) if &r.manufacturer == manufacturer && r.flags.alerting() => {
                    self.store.set_alert_investigating(manufacturer, key, now)?
                }
                _ => false,
            }
        };
        if marked {
            self.store.durable()?;
        }
        Ok(marked)
    }

    /// Codes installed in this vehicle now.
    pub fn installed_in(&self, vin: &Vin) -> Result<Vec<CodeStatus>> {
        let mut out = Vec::new();
        for key in self.store.installed_in(vin)? {
            // The index may hold entries left by an interrupted write; the record decides.
            match self.status(&key)? {
                Some(status)
                    if matches!(&status.record.custody.custody,
                                Custody::Installed { vin: v, .. } if v == vin) =>
                {
                    out.push(status)
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The code's events after the commissioning, without the remains of an interrupted update.
    pub(crate) fn events(&self, key: &CodeKey, record: &CodeRecord) -> Result<Vec<Event>> {
        let mut events = self.store.events(key)?;
        events.retain(|e| e.seq < record.events);
        Ok(events)
    }

    /// The code's scan aggregate, including scans not yet written to the store.
    pub fn scans(&self, key: &CodeKey) -> Result<Option<ScanStats>> {
        match self.scans.get(key) {
            Some(stats) => Ok(Some(stats)),
            None => Ok(self.store.scans(key)?),
        }
    }

    /// Counts and sizes of the whole store. It walks the store: seconds for millions of codes.
    pub fn stats(&self) -> Result<StoreStats> {
        Ok(self.store.stats()?)
    }

    /// How the code records kept in memory serve lookups (cheap).
    pub fn record_cache(&self) -> RecordCacheStats {
        self.store.record_cache()
    }

    /// Whether writes go through; see [`Store::writable`] (which this also gives its chance to
    /// recover the store).
    pub fn writable(&self) -> std::result::Result<(), crate::store::Fault> {
        self.store.writable()
    }

    // ---- Public scans ----

    /// The context of a scan from `ip`, hashed with this store's salt.
    pub fn scan_context(&self, ip: std::net::IpAddr, region: Option<&str>) -> ScanContext {
        ScanContext::from_ip(ip, &self.salt, region)
    }

    /// Counts one public scan of a registered code and raises `scan_anomaly` when an installed code
    /// is scanned from too many networks within the window. Returns the anomaly if this scan raised
    /// it.
    ///
    /// Scans are analytics, not acknowledged writes: the count is kept in memory and written by
    /// [`Registry::write_scans`] (see `scan_cache`), so this is a lookup in memory unless the code
    /// was not scanned lately. The flag, when raised, is written to the code's record at once.
    pub fn record_scan(
        &self,
        key: &CodeKey,
        ctx: &ScanContext,
        now: Timestamp,
    ) -> Result<Option<ScanAnomaly>> {
        let policy = self.config.scans;
        let contexts = self.scans.add(
            key,
            ctx,
            now,
            || self.store.scans(key),
            |stats| stats.distinct_networks(now, policy),
        )?;
        if contexts < policy.threshold {
            return Ok(None);
        }
        let _gate = self.write_gate();
        let _code = self.stripe(key);
        let Some(before) = self.store.code(key)? else {
            return Ok(None);
        };
        if before.flags.scan_anomaly.is_some()
            || !matches!(before.custody.custody, Custody::Installed { .. })
        {
            return Ok(None);
        }
        let anomaly = ScanAnomaly {
            at: now,
            contexts,
            window_hours: policy.window_hours,
            threshold: policy.threshold,
        };
        let mut after = before.clone();
        after.flags.scan_anomaly = Some(anomaly.clone());
        self.store.update_code(key, None, &before, &after)?;
        tracing::warn!(code = %key, contexts, "scan anomaly");
        Ok(Some(anomaly))
    }

    /// Writes the scan aggregates counted since the last call to the store; returns how many codes'
    /// aggregates were written. The service calls it every few seconds and at shutdown; dropping
    /// the registry calls it too.
    pub fn write_scans(&self) -> Result<usize> {
        let _gate = self.write_gate();
        Ok(self
            .scans
            .write(|key, stats| self.store.put_scans(key, stats))?)
    }

    // ---- Operations ----

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

    /// Restores a backup into a new data directory `dir`: the file is loaded into `dir.restoring`
    /// and renamed into place only once it checked out completely, so a damaged backup leaves
    /// nothing behind.
    pub fn restore(input: &mut dyn Read, dir: &Path) -> Result<u64> {
        if dir.exists() && dir.read_dir().map_err(StoreError::Io)?.next().is_some() {
            return Err(RegistryError::InvalidInput(format!(
                "{} already holds data; restore into a new directory",
                dir.display()
            )));
        }
        let mut partial = dir.as_os_str().to_owned();
        partial.push(".restoring");
        let partial = std::path::PathBuf::from(partial);
        if partial.exists() {
            std::fs::remove_dir_all(&partial).map_err(StoreError::Io)?;
        }
        let result = (|| {
            std::fs::create_dir_all(&partial)?;
            // Nothing reads the restored store through this handle: no record cache.
            let store = SledStore::open(&partial, RegistryConfig::default().cache_bytes, 0)?;
            let n = store.restore(input)?;
            drop(store);
            Ok::<_, StoreError>(n)
        })();
        match result {
            Ok(n) => {
                if dir.exists() {
                    std::fs::remove_dir(dir).map_err(StoreError::Io)?;
                }
                std::fs::rename(&partial, dir).map_err(StoreError::Io)?;
                Ok(n)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                Err(e.into())
            }
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("code key", e)
}

/// A TrustStore with these roots and the certificates and revocations of `old`.
fn rebuild(roots: Vec<VerifyingKey>, old: &TrustStore) -> TrustStore {
    let mut t = TrustStore::new(roots);
    for cert in old.certificates() {
        let _ = t.add_certificate(cert.clone());
    }
    if let Some(list) = old.revocations() {
        let _ = t.set_revocations(list.clone());
    }
    t
}

fn load_trust(entries: &[TrustEntry]) -> Result<TrustStore> {
    let roots = entries
        .iter()
        .filter_map(|e| match e {
            TrustEntry::Root { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    let mut trust = TrustStore::new(roots);
    for entry in entries {
        let checked = match entry {
            TrustEntry::Certificate { cert, .. } => trust
                .add_certificate(cert.clone())
                .map_err(|e| e.to_string()),
            TrustEntry::Revocations { list, .. } => trust
                .set_revocations(list.clone())
                .map_err(|e| e.to_string()),
            TrustEntry::Root { .. } => Ok(()),
        };
        checked.map_err(|why| StoreError::corrupt("stored trust state", why))?;
    }
    Ok(trust)
}

fn check_correction(
    events: &[Event],
    corrects: u32,
    actor: &PartyId,
    now: Timestamp,
    config: &RegistryConfig,
) -> Result<()> {
    let invalid = |why: String| Err(RegistryError::InvalidCorrection(why));
    let Some(target) = events.iter().find(|e| e.seq == corrects) else {
        return invalid(format!(
            "the code has no event {corrects} to correct (registration, event 0, cannot be corrected)"
        ));
    };
    if &target.actor != actor {
        return invalid(format!(
            "event {corrects} was recorded by another party; only its author may correct it"
        ));
    }
    if matches!(
        target.what,
        What::Action(Action::Correct { .. } | Action::Resolve { .. })
    ) {
        return invalid(format!(
            "event {corrects} is a {}, which cannot itself be corrected",
            target.step().as_str()
        ));
    }
    let deadline = target.at.plus_days(config.correction_window_days);
    if now > deadline {
        return invalid(format!(
            "event {corrects} is older than the {}-day correction window (it closed {deadline})",
            config.correction_window_days
        ));
    }
    let already = events.iter().any(
        |e| matches!(&e.what, What::Action(Action::Correct { corrects: c, .. }) if *c == corrects),
    );
    if already {
        return invalid(format!("event {corrects} has already been corrected"));
    }
    Ok(())
}

/// Custody and recall after replaying the events that took effect, leaving out corrected ones (and
/// `also_corrected`, the one a correction being recorded now retracts). Used when a correction
/// changes the past, and by the audit to check each record against its history.
pub(crate) fn replay(
    record: &CodeRecord,
    events: &[Event],
    also_corrected: Option<u32>,
) -> (CustodyState, Option<(Timestamp, u32)>) {
    let mut corrected: Vec<u32> = events
        .iter()
        .filter_map(|e| match &e.what {
            What::Action(Action::Correct { corrects, .. }) => Some(*corrects),
            _ => None,
        })
        .collect();
    corrected.extend(also_corrected);
    let mut custody = CustodyState {
        custody: Custody::AtManufacturer,
        since: record.registered_at,
        event: 0,
    };
    let mut recalled = None;
    for e in events {
        if e.outcome != Outcome::Applied || corrected.contains(&e.seq) {
            continue;
        }
        let What::Action(action) = &e.what else {
            continue;
        };
        match action {
            Action::Recall { .. } => recalled = Some((e.at, e.seq)),
            Action::Correct { .. } | Action::Resolve { .. } => {}
            _ => {
                if let Transition::Applied(next) =
                    custody::transition(&custody.custody, &e.actor, action)
                {
                    custody = CustodyState {
                        custody: next,
                        since: e.at,
                        event: e.seq,
                    };
                }
            }
        }
    }
    (custody, recalled)
}

// ---- Parties, tokens and reports ----

impl Registry {
    /// Adds a party. Its id must be new; for a manufacturer it is the certificate's
    /// `manufacturer_id`, which ties its codes to it.
    pub fn add_party(&self, party: Party) -> Result<()> {
        party.validate().map_err(RegistryError::InvalidInput)?;
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        if self.store.party(&party.id)?.is_some() {
            return Err(RegistryError::InvalidInput(format!(
                "party {} already exists",
                party.id
            )));
        }
        self.store.put_party(&party)?;
        self.store.durable()?;
        Ok(())
    }

    /// Revokes a party: its tokens stop working; its history stays.
    pub fn revoke_party(&self, id: &PartyId, now: Timestamp) -> Result<Party> {
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        let mut party = self
            .store
            .party(id)?
            .ok_or_else(|| RegistryError::InvalidInput(format!("no party {id}")))?;
        party.revoked_at.get_or_insert(now);
        self.store.put_party(&party)?;
        self.store.durable()?;
        Ok(party)
    }

    pub fn party(&self, id: &PartyId) -> Result<Option<Party>> {
        Ok(self.store.party(id)?)
    }

    pub fn parties(&self) -> Result<Vec<Party>> {
        Ok(self.store.parties()?)
    }

    /// Issues a token for an existing, unrevoked party. The secret is in the returned value only.
    pub fn issue_token(
        &self,
        party: &PartyId,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedToken> {
        match self.store.party(party)? {
            Some(p) if p.revoked_at.is_none() => {}
            Some(_) => {
                return Err(RegistryError::InvalidInput(format!(
                    "party {party} is revoked"
                )));
            }
            None => return Err(RegistryError::InvalidInput(format!("no party {party}"))),
        }
        let issued = parties::new_token(party, now, expires_at);
        let _gate = self.write_gate();
        self.store.put_token(&issued.record)?;
        self.store.durable()?;
        Ok(issued)
    }

    pub fn revoke_token(&self, id: &str, now: Timestamp) -> Result<TokenRecord> {
        let _gate = self.write_gate();
        let _serial = lock(&self.registering);
        let mut token = self
            .store
            .token(id)?
            .ok_or_else(|| RegistryError::InvalidInput(format!("no token {id}")))?;
        token.revoked_at.get_or_insert(now);
        self.store.put_token(&token)?;
        self.store.durable()?;
        Ok(token)
    }

    pub fn tokens(&self) -> Result<Vec<TokenRecord>> {
        Ok(self.store.tokens()?)
    }

    /// The party a bearer token stands for, if the token is valid now.
    pub fn authenticate(&self, token: &str, now: Timestamp) -> Result<Result<Party, AuthError>> {
        let Some((id, secret)) = parties::split_token(token) else {
            return Ok(Err(AuthError::Malformed));
        };
        let Some(record) = self.store.token(id)? else {
            return Ok(Err(AuthError::Unknown));
        };
        if !parties::secret_matches(&record, secret) {
            return Ok(Err(AuthError::Unknown));
        }
        if record.revoked_at.is_some_and(|t| t <= now) {
            return Ok(Err(AuthError::Revoked));
        }
        if record.expires_at.is_some_and(|t| t <= now) {
            return Ok(Err(AuthError::Expired));
        }
        match self.store.party(&record.party)? {
            Some(p) if p.revoked_at.is_none_or(|t| t > now) => Ok(Ok(p)),
            _ => Ok(Err(AuthError::PartyRevoked)),
        }
    }

    /// Who a public report about this code goes to: the code's manufacturer, or, for a code the
    /// registry does not hold (a forged label, say), the certified maker of its GTIN. `None` if no
    /// certified manufacturer makes the GTIN.
    pub fn report_recipient(&self, key: &CodeKey) -> Result<Option<PartyId>> {
        if let Some(status) = self.status(key)? {
            return Ok(Some(status.record.manufacturer));
        }
        let gtin = key.gtin().map_err(corrupt)?;
        Ok(self
            .trust()
            .certificates()
            .iter()
            .find(|c| c.covers(&gtin))
            .and_then(|c| PartyId::parse(&c.body().manufacturer_id).ok()))
    }

    /// Keeps a public report about a code for its manufacturer.
    pub fn add_report(&self, report: Report) -> Result<()> {
        report.validate().map_err(RegistryError::InvalidInput)?;
        let _gate = self.write_gate();
        self.store.add_report(&report)?;
        self.store.durable()?;
        Ok(())
    }

    pub fn reports(&self, manufacturer: &PartyId) -> Result<Vec<Report>> {
        Ok(self.store.reports(manufacturer)?)
    }
}
