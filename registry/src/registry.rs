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
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use signer::{
    Certificate, CheckTimes, Gtin, Lot, RevocationList, SignedCode, Timestamp, TrustStore,
    VerifyingKey,
};

use crate::custody::Custody;
use crate::event::{Action, Basis, Event, MAX_TEXT_LEN, Outcome, Resolution, What};
use crate::key::CodeKey;
use crate::notices::{Notice, NoticeKind};
use crate::parties::{self, AuthError, IssuedToken, Party, Report, TokenRecord};
use crate::party::PartyId;
use crate::record::{CodeRecord, LotRecall, ScanAnomaly};
use crate::register::{self, Registration};
use crate::rules;
use crate::scan_cache::ScanCache;
use crate::scans::{ScanContext, ScanPolicy, ScanStats};
use crate::store::{
    Caches, Create, Location, RecordCacheStats, Store, StoreError, StoreStats, TrustEntry,
};
use crate::vin::Vin;

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
    #[error("this part is recalled: {0}")]
    Recalled(String),
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
            RegistryError::Recalled(_) => "recalled",
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
    /// For a conflict, claim or refusal: what it means, in words a shop understands.
    pub explanation: Option<String>,
    /// Something the party should know although the event was recorded (a recalled part).
    pub warning: Option<String>,
}

/// What an owner's "is this part in my vehicle?" gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VehicleAnswer {
    /// The part is recorded as installed in this vehicle now.
    Recorded,
    /// It is not.
    NotRecorded,
    /// A part was recorded under this code in this vehicle, and the manufacturer found it was a
    /// copy.
    FoundCounterfeit,
}

/// An event as a party submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub action: Action,
    /// Whether the party scanned the label (its signature compared with the registered one) or
    /// typed the numbers.
    pub basis: Basis,
    /// Install a recalled part anyway (the shop's explicit choice, recorded with the event).
    pub recall_override: bool,
    /// The party confirmed a VIN whose check digit does not verify against the registration
    /// certificate (recorded with the event); required to install into such a VIN.
    pub vin_confirmed: bool,
}

impl Submission {
    pub fn scanned(action: Action) -> Self {
        Submission {
            action,
            basis: Basis::Scanned,
            recall_override: false,
            vin_confirmed: false,
        }
    }

    pub fn typed(action: Action) -> Self {
        Submission {
            action,
            basis: Basis::Typed,
            recall_override: false,
            vin_confirmed: false,
        }
    }
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
        self.refresh_shared();
        self.trust.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where other processes share the store (replicas), reads the trust state and the lot
    /// recalls again once they are older than the store's bound: a revocation or recall made
    /// through any replica is in force in every one within it. A failed read keeps what is held
    /// and tries again at the next call.
    fn refresh_shared(&self) {
        use std::sync::atomic::Ordering;
        let Some(bound) = self.store.shared() else {
            return;
        };
        let now = self.opened.elapsed().as_millis() as u64;
        let due = self.refresh_due.load(Ordering::Acquire);
        if now < due
            || self
                .refresh_due
                .compare_exchange(
                    due,
                    now + bound.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_err()
        {
            return;
        }
        let fresh = self
            .store
            .trust()
            .map_err(RegistryError::from)
            .and_then(|entries| load_trust(&entries))
            .and_then(|trust| Ok((trust, load_lot_recalls(&self.store)?)));
        match fresh {
            // Never waits: a caller on this thread may hold a read guard (it would deadlock); a
            // busy lock is tried again at the next call.
            Ok((trust, recalls)) => match (self.trust.try_write(), self.lot_recalls.try_write()) {
                (Ok(mut held_trust), Ok(mut held_recalls)) => {
                    *held_trust = trust;
                    *held_recalls = recalls;
                }
                _ => self.refresh_due.store(now, Ordering::Release),
            },
            Err(e) => {
                self.refresh_due.store(now, Ordering::Release);
                tracing::warn!(error = %e, "cannot read the shared trust state and recalls again");
            }
        }
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
        let checked = self.check_codes(codes, as_party, now);
        self.store_checked(codes, names, checked, now)
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

    // ---- Custody events ----

    /// Records `action` by `actor` with the label scanned: [`Registry::submit`] with
    /// [`Submission::scanned`].
    pub fn record(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: Action,
        now: Timestamp,
    ) -> Result<Recorded> {
        self.submit(key, actor, Submission::scanned(action), now)
    }

    /// Records an event by `actor` on a code, and returns once it is durable.
    ///
    /// Custody moves are judged by [`custody::decide`] (see `docs/custody-rules.md`): applied,
    /// repeated, recorded as evidence (the code is flagged `duplicate_suspected`), kept as a claim,
    /// or refused and kept as a claim ([`Outcome::Refused`]; the caller answers `not_holder`).
    /// Refused with nothing stored: an unregistered code, a manufacturer-only action by another
    /// party, an invalid correction or resolution, an install of a recalled part without
    /// override, text over [`MAX_TEXT_LEN`] bytes.
    pub fn submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        submission: Submission,
        now: Timestamp,
    ) -> Result<Recorded> {
        let Submission {
            action,
            basis,
            recall_override,
            vin_confirmed,
        } = submission;
        if let Action::Install { vin } = &action {
            // A VIN that does not verify is taken only as a person's confirmed reading of the
            // registration certificate, never as a typing error slipped through.
            if !vin.check_digit_verifies() && !vin_confirmed {
                return Err(RegistryError::InvalidInput(format!(
                    "the check digit (character 9) of VIN {vin} does not verify: compare it with \
                     the vehicle's registration certificate and confirm it"
                )));
            }
        }
        if basis == Basis::Legacy {
            // Legacy events keep the outcome stored with them; a new one has none to keep.
            return Err(RegistryError::InvalidInput(
                "a new event is scanned or typed".into(),
            ));
        }
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
            let mut conflicts = 0;
            loop {
                match self.try_submit(
                    key,
                    actor,
                    &action,
                    basis,
                    recall_override,
                    vin_confirmed,
                    now,
                ) {
                    // Another replica wrote the code since it was read: judge again on what it wrote.
                    Err(RegistryError::Store(StoreError::Conflict))
                        if conflicts < MAX_CONFLICTS =>
                    {
                        conflicts += 1;
                    }
                    result => break result?,
                }
            }
        };
        self.store.durable()?;
        match recorded.event.outcome {
            Outcome::Conflict { kind, .. } => {
                tracing::warn!(code = %key, conflict = kind.code(), "duplicate suspected")
            }
            Outcome::Refused { kind, .. } => {
                tracing::info!(code = %key, party = %actor, kind = kind.code(), "refused: not the holder")
            }
            _ => {}
        }
        Ok(recorded)
    }

    /// One attempt of [`Registry::submit`] on the code's record as stored now, under the code's
    /// lock.
    #[allow(clippy::too_many_arguments)]
    fn try_submit(
        &self,
        key: &CodeKey,
        actor: &PartyId,
        action: &Action,
        basis: Basis,
        recall_override: bool,
        vin_confirmed: bool,
        now: Timestamp,
    ) -> Result<Recorded> {
        let before = self
            .store
            .code(key)?
            .ok_or_else(|| RegistryError::NotRegistered(key.clone()))?;
        let mut event = Event {
            seq: before.events,
            prev: before.head,
            at: now,
            actor: actor.clone(),
            basis,
            recall_override,
            // Recorded only where it means something: a VIN that does not verify.
            vin_confirmed: vin_confirmed
                && matches!(action, Action::Install { vin } if !vin.check_digit_verifies()),
            what: What::Action(action.clone()),
            outcome: Outcome::Applied,
        };
        let (mut after, warning) = self.judge(key, &before, &mut event)?;
        after.events = before.events + 1;
        after.head = event.hash(key);
        let notices = notices_of(key, &before, &event);
        self.store
            .update_code(key, Some(&event), &notices, &before, &after)?;
        let explanation = match event.outcome {
            Outcome::Conflict { kind, .. }
            | Outcome::Claim { kind, .. }
            | Outcome::Refused { kind, .. } => Some(kind.explain(before.custody.since, event.at)),
            _ => None,
        };
        Ok(Recorded {
            event,
            record: after,
            explanation,
            warning,
        })
    }

    /// Works out the record after `event` and sets its outcome; refuses what must not be stored.
    /// Returns the record and a warning for the party (a recalled part received).
    fn judge(
        &self,
        key: &CodeKey,
        before: &CodeRecord,
        event: &mut Event,
    ) -> Result<(CodeRecord, Option<String>)> {
        let What::Action(action) = &event.what else {
            return Err(RegistryError::InvalidInput(
                "registration is not a custody event".into(),
            ));
        };
        let actor = &event.actor;
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
        let mut after = before.clone();
        match action {
            Action::Correct { corrects, .. } => {
                let events = self.events(key, before)?;
                check_correction(&events, *corrects, actor, event.at, &self.config)?;
                after = corrected_record(before, &events, *corrects)?;
                event.outcome = Outcome::Applied;
                return Ok((after, None));
            }
            Action::Resolve {
                resolution,
                genuine,
                note,
            } => {
                if note.trim().is_empty() {
                    return Err(RegistryError::InvalidInput(
                        "a resolution needs a note saying what the investigation found".into(),
                    ));
                }
                let events = match (resolution, genuine) {
                    (Resolution::Genuine, Some(_)) => {
                        return Err(RegistryError::InvalidInput(
                            "a genuine resolution (a false alarm) names no genuine copy".into(),
                        ));
                    }
                    (Resolution::Counterfeit, None) => {
                        return Err(RegistryError::InvalidInput(
                            "a counterfeit resolution must say which copy is genuine: a vehicle, \
                             a holder, or that none is known"
                                .into(),
                        ));
                    }
                    (Resolution::Counterfeit, Some(g)) => {
                        let events = self.events(key, before)?;
                        if !rules::genuine_is_known(&before.custody.custody, g, &events) {
                            return Err(RegistryError::InvalidInput(
                                "the history of this code records no such vehicle or holder; \
                                 name one its events record, or that none is known"
                                    .into(),
                            ));
                        }
                        events
                    }
                    (Resolution::Genuine, None) => Vec::new(),
                };
                event.outcome = rules::apply(&mut after, event, &events);
                // Ending an alert ends its scan anomaly too; a later anomaly raises a new one.
                after.flags.scan_anomaly = None;
                return Ok((after, None));
            }
            _ => {}
        }
        event.outcome = rules::apply(&mut after, event, &[]);
        let recall = self.recall_reason(key, before)?;
        let mut warning = None;
        if let (Some(reason), Outcome::Applied) = (recall, event.outcome) {
            match action {
                Action::Install { .. } if !event.recall_override => {
                    return Err(RegistryError::Recalled(reason));
                }
                Action::Install { .. } | Action::Receive => {
                    warning = Some(format!("this part is recalled: {reason}"));
                }
                _ => {}
            }
        }
        Ok((after, warning))
    }

    /// Why the code or its lot is recalled, if it is: the lot recall's reason, or the code's
    /// recall event's.
    pub fn recall_reason(&self, key: &CodeKey, record: &CodeRecord) -> Result<Option<String>> {
        if let Some(lot) = &record.lot {
            if let Some(recall) = self.lot_recall(key, lot)? {
                return Ok(Some(recall.reason));
            }
        }
        let Some((_, seq)) = record.flags.recalled else {
            return Ok(None);
        };
        let reason = self
            .events(key, record)?
            .into_iter()
            .find(|e| e.seq == seq)
            .and_then(|e| match e.what {
                What::Action(Action::Recall { reason }) => Some(reason),
                _ => None,
            })
            .filter(|r| !r.trim().is_empty())
            .unwrap_or_else(|| "recalled by its manufacturer".to_owned());
        Ok(Some(reason))
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
        self.refresh_shared();
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

    /// What the registry can tell the owner of vehicle `vin` about this code: whether the part is
    /// recorded in their vehicle, or whether the part recorded under it in their vehicle was found
    /// counterfeit (the manufacturer resolved the code's copies, naming another copy or none as
    /// genuine). Nothing else is revealed.
    pub fn vehicle_answer(&self, key: &CodeKey, vin: &Vin) -> Result<VehicleAnswer> {
        let Some(status) = self.status(key)? else {
            return Ok(VehicleAnswer::NotRecorded);
        };
        let record = &status.record;
        if matches!(&record.custody.custody, Custody::Installed { vin: v, .. } if v == vin) {
            return Ok(VehicleAnswer::Recorded);
        }
        if record.flags.copies.is_none() {
            return Ok(VehicleAnswer::NotRecorded);
        }
        let recorded_here = self.events(key, record)?.iter().any(|e| {
            matches!(&e.what, What::Action(Action::Install { vin: v }) if v == vin)
                && !e.outcome.is_claim()
        });
        Ok(if recorded_here {
            VehicleAnswer::FoundCounterfeit
        } else {
            VehicleAnswer::NotRecorded
        })
    }

    /// This party's notices, newest first: parts it had that another party moved (see
    /// [`crate::notices`]).
    pub fn notices(&self, party: &PartyId) -> Result<Vec<Notice>> {
        let mut out = Vec::new();
        for notice in self.store.notices(party)?.into_iter().rev() {
            // A notice written by an update that did not complete names an event never counted.
            match self.store.code(&notice.key)? {
                Some(record) if notice.seq < record.events => out.push(notice),
                _ => {}
            }
        }
        Ok(out)
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

    /// Counts one public scan of a registered code and raises `scan_anomaly` when the code is
    /// scanned from more networks within the window than its custody makes plausible (see
    /// [`ScanPolicy::threshold_for`]): a part at its maker should not be in the public's hands at
    /// all, a part in stock is seen by a few buyers, a fitted part by its owner and a shop or two.
    /// Returns the anomaly if this scan raised it. An anomaly is a warning and an alert for the
    /// manufacturer, never a verdict of a copy.
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
        if contexts < policy.lowest_threshold() {
            return Ok(None);
        }
        let _gate = self.write_gate();
        let _code = self.stripe(key);
        let mut conflicts = 0;
        let (before, anomaly) = loop {
            let Some(before) = self.store.code(key)? else {
                return Ok(None);
            };
            let Some(threshold) = policy.threshold_for(&before.custody.custody) else {
                return Ok(None);
            };
            if contexts < threshold || before.flags.scan_anomaly.is_some() {
                return Ok(None);
            }
            let anomaly = ScanAnomaly {
                at: now,
                contexts,
                window_hours: policy.window_hours,
                threshold,
            };
            let mut after = before.clone();
            after.flags.scan_anomaly = Some(anomaly.clone());
            match self.store.update_code(key, None, &[], &before, &after) {
                Ok(()) => break (before, anomaly),
                // Another replica wrote the code meanwhile: look again.
                Err(StoreError::Conflict) if conflicts < MAX_CONFLICTS => conflicts += 1,
                Err(e) => return Err(e.into()),
            }
        };
        tracing::warn!(code = %key, contexts, custody = before.custody.custody.name(), "scan anomaly");
        Ok(Some(anomaly))
    }

    /// Writes the scan aggregates counted since the last call to the store; returns how many codes'
    /// aggregates were written. The service calls it every few seconds and at shutdown; dropping
    /// the registry calls it too.
    pub fn write_scans(&self) -> Result<usize> {
        let _gate = self.write_gate();
        Ok(self.scans.write(|deltas| self.store.add_scans(deltas))?)
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
}

fn load_lot_recalls(store: &Store) -> Result<LotRecalls> {
    let mut lot_recalls = LotRecalls::new();
    for (gtin, lot, recall) in store.lot_recalls()? {
        lot_recalls
            .entry(gtin.as_str().to_owned())
            .or_default()
            .insert(lot.as_str().to_owned(), recall);
    }
    Ok(lot_recalls)
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

/// Who must hear of an applied event that moved a part away from them: the installer of a part
/// another shop removed; the addressee and sender of a shipment another business received.
fn notices_of(key: &CodeKey, before: &CodeRecord, event: &Event) -> Vec<Notice> {
    if event.outcome != Outcome::Applied {
        return Vec::new();
    }
    let notice = |party: &PartyId, kind| Notice {
        party: party.clone(),
        key: key.clone(),
        seq: event.seq,
        at: event.at,
        actor: event.actor.clone(),
        kind,
    };
    let actor = &event.actor;
    match (&event.what, &before.custody.custody) {
        (What::Action(Action::Remove { .. }), Custody::Installed { by, .. }) if by != actor => {
            vec![notice(by, NoticeKind::RemovedByAnotherShop)]
        }
        (What::Action(Action::Receive), Custody::InTransit { from, to })
            if to != actor && from != actor =>
        {
            vec![
                notice(to, NoticeKind::ReceivedElsewhere),
                notice(from, NoticeKind::ReceivedElsewhere),
            ]
        }
        _ => Vec::new(),
    }
}

/// The record as it would be had event `corrects` never happened, unless an event of another
/// party after it depends on it (its outcome would change): then the correction is refused,
/// naming that event.
fn corrected_record(before: &CodeRecord, events: &[Event], corrects: u32) -> Result<CodeRecord> {
    let mut retracted = rules::corrected(events);
    let (_, outcomes_now) = rules::replay(before, events, &retracted);
    retracted.insert(corrects);
    let (mut after, outcomes_then) = rules::replay(before, events, &retracted);
    let Some(author) = events.iter().find(|e| e.seq == corrects).map(|e| &e.actor) else {
        return Err(RegistryError::InvalidCorrection(format!(
            "the code has no event {corrects}"
        )));
    };
    for ((event, now), then) in events.iter().zip(&outcomes_now).zip(&outcomes_then) {
        if event.seq > corrects && &event.actor != author && now != then {
            return Err(RegistryError::InvalidCorrection(format!(
                "event {} ({}, {}) was recorded by another party after event {corrects} and \
                 depends on it: without event {corrects} it would be {}",
                event.seq,
                event.step().as_str(),
                event.at.date(),
                then.map_or("left out", |o| o.as_str()),
            )));
        }
    }
    after.flags.scan_anomaly = before.flags.scan_anomaly.clone();
    Ok(after)
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

    /// Whether the token `token_id` still stands for `party` now: not revoked, not expired, and
    /// its party not revoked. A signed-in browser session asks on every request, so it lives no
    /// longer than the token it was opened with.
    pub fn token_in_force(&self, token_id: &str, party: &PartyId, now: Timestamp) -> Result<bool> {
        let Some(record) = self.store.token(token_id)? else {
            return Ok(false);
        };
        if &record.party != party
            || record.revoked_at.is_some_and(|t| t <= now)
            || record.expires_at.is_some_and(|t| t <= now)
        {
            return Ok(false);
        }
        Ok(matches!(self.store.party(party)?, Some(p) if p.revoked_at.is_none_or(|t| t > now)))
    }

    /// The browser session with this id (the cookie's value), if the store has it.
    pub fn session(&self, id: &str) -> Result<Option<crate::SessionRecord>> {
        Ok(self.store.session(&crate::session_key(id))?)
    }

    /// Keeps a browser session (new, or changed) for every replica. Returns once durable.
    pub fn put_session(&self, id: &str, session: &crate::SessionRecord) -> Result<()> {
        let _gate = self.write_gate();
        self.store.put_session(&crate::session_key(id), session)?;
        Ok(self.store.durable()?)
    }

    /// Ends a browser session in every replica.
    pub fn end_session(&self, id: &str) -> Result<()> {
        let _gate = self.write_gate();
        self.store.remove_session(&crate::session_key(id))?;
        Ok(self.store.durable()?)
    }

    /// Forgets the sessions that expired before `now`.
    pub fn remove_expired_sessions(&self, now: Timestamp) -> Result<usize> {
        let _gate = self.write_gate();
        Ok(self.store.remove_expired_sessions(now)?)
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

    /// Keeps a public report about a code for its manufacturer, under a new random id, which it
    /// returns.
    pub fn add_report(&self, mut report: Report) -> Result<String> {
        report.id = Report::new_id();
        report.validate().map_err(RegistryError::InvalidInput)?;
        let _gate = self.write_gate();
        self.store.add_report(&report)?;
        self.store.durable()?;
        Ok(report.id)
    }

    pub fn reports(&self, manufacturer: &PartyId) -> Result<Vec<Report>> {
        Ok(self.store.reports(manufacturer)?)
    }

    /// Keeps a note of the manufacturer's on one of its own codes (written with a dashboard
    /// action), beside the code's history: append-only, kept after the alert ends.
    pub fn add_alert_note(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        note: &crate::notes::AlertNote,
    ) -> Result<()> {
        note.validate().map_err(RegistryError::InvalidInput)?;
        match self.store.code(key)? {
            Some(r) if &r.manufacturer == manufacturer => {}
            _ => {
                return Err(RegistryError::NotAllowed(format!(
                    "{manufacturer} did not register this code"
                )));
            }
        }
        let _gate = self.write_gate();
        self.store.add_alert_note(manufacturer, key, note)?;
        self.store.durable()?;
        Ok(())
    }

    /// The manufacturer's notes on a code, oldest first.
    pub fn alert_notes(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> Result<Vec<crate::notes::AlertNote>> {
        Ok(self.store.alert_notes(manufacturer, key)?)
    }

    /// The manufacturer's lots with their code counts, public scans and open alerts, from a walk
    /// of the code records that stops after `max_codes` of them (everyone's codes count towards
    /// the bound; [`crate::Lots::complete`] says whether it was reached). It reads each of the
    /// manufacturer's codes' scan figures too: seconds for a million codes, so it serves a page
    /// asked for, never one loaded on every visit.
    pub fn lots(&self, manufacturer: &PartyId, max_codes: u64) -> Result<crate::Lots> {
        let mut by_lot: std::collections::BTreeMap<(String, String), crate::LotSummary> =
            std::collections::BTreeMap::new();
        let mut out = crate::Lots {
            complete: true,
            ..crate::Lots::default()
        };
        for entry in self.store.codes() {
            if out.examined >= max_codes {
                out.complete = false;
                break;
            }
            let (key, record) = entry?;
            out.examined += 1;
            if &record.manufacturer != manufacturer {
                continue;
            }
            let gtin = key.gtin().map_err(corrupt)?;
            let lot_name = record
                .lot
                .as_ref()
                .map(|l| l.as_str().to_owned())
                .unwrap_or_default();
            let recalled = match &record.lot {
                Some(lot) => self.lot_recall(&key, lot)?.is_some(),
                None => false,
            };
            let scans = self.scans(&key)?.map_or(0, |s| s.total);
            let summary = by_lot
                .entry((gtin.as_str().to_owned(), lot_name))
                .or_insert_with(|| crate::LotSummary {
                    gtin,
                    lot: record.lot.clone(),
                    codes: 0,
                    scans: 0,
                    alerting: 0,
                    recalled,
                });
            summary.codes += 1;
            summary.scans += scans;
            summary.alerting += u64::from(record.flags.alerting());
        }
        out.lots = by_lot.into_values().collect();
        Ok(out)
    }
}
