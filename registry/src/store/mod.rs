//! Storage behind a narrow, domain-level trait.
//!
//! The registry's rules live above [`Store`]; below it, [`TableStore`](table_store::TableStore)
//! lays records, events and their derived indexes out in key-ordered tables, the same for every
//! engine, and an engine only moves bytes ([`tables::Tables`]): [`sled`] is the embedded default,
//! [`postgres`] the server database for more than one machine. Engine types never appear outside
//! the engine's module.
//!
//! | module | what lives there |
//! |---|---|
//! | [`location`] | where a store is: opening, creating, restoring; the one place an engine is chosen |
//! | [`tables`] | the engine interface: tables, conditional changes |
//! | [`keys`] | how keys and small values are laid out |
//! | [`table_store`] | [`Store`] on any engine: batches, record cache, crash order, conflicts |
//! | [`batches`], [`record_cache`] | what is kept in memory in front of the engine |
//! | [`group_commit`] | many writers, one sync |
//! | [`backup`] | the engine-independent backup file |
//! | [`sled`], [`postgres`] | the engines |
//!
//! Every method is blocking. Async callers run them on a blocking pool (`tokio::task::spawn_blocking`)
//! so an fsync or a database round trip never stalls the executor.

pub mod backup;
pub mod batches;
pub mod group_commit;
pub mod keys;
pub mod location;
pub mod record_cache;
pub mod table_store;
pub mod tables;

pub use location::{Caches, Create, Location};
pub use record_cache::RecordCacheStats;
pub mod postgres;
pub mod sled;

use std::io::{Read, Write};

use signer::{Certificate, Gtin, Lot, RevocationList, Timestamp, VerifyingKey};

use crate::event::Event;
use crate::key::CodeKey;
use crate::notices::Notice;
use crate::parties::{Party, Report, TokenRecord};
use crate::party::PartyId;
use crate::record::{CodeRecord, LotRecall};
use crate::scans::ScanStats;
use crate::vin::Vin;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage engine error: {0}")]
    Engine(String),
    #[error("stored data is damaged ({what}): {why}")]
    Corrupt { what: String, why: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Backup(String),
    /// The store cannot write at the moment (its device is full, or failing); see [`Fault`].
    #[error(transparent)]
    Fault(#[from] Fault),
    /// Another process changed the code since its record was read: judge again on the fresh one.
    #[error("the code changed while the update was being judged")]
    Conflict,
    /// Another process has the embedded store open: it holds the directory until it ends.
    #[error(
        "{0} is in use by another process: a running `partseal serve`, or another partseal \
         command, holds the store"
    )]
    Locked(String),
    /// Opening without creating found no store there (a mistyped location, say).
    #[error("{0} holds no registry")]
    Missing(String),
    /// A restore goes only into a new directory or an empty database, never over data.
    #[error("{0} already holds data; restore into a new directory or an empty database")]
    NotEmpty(String),
}

impl StoreError {
    pub fn corrupt(what: impl Into<String>, why: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            what: what.into(),
            why: why.to_string(),
        }
    }

    /// The storage fault behind this error, if it is one: a full device, or an I/O failure that
    /// may pass (as opposed to damaged data or a bug, which waiting does not mend).
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Fault(fault) => Some(fault.clone()),
            StoreError::Io(e) => Some(Fault::of_io(e)),
            _ => None,
        }
    }
}

/// Why the store cannot write: cloneable, so one failed sync can fail every writer it covered.
///
/// Classified where the error is seen, in the engine: the layers above map it to what their
/// callers understand (HTTP 507 or 503, a CLI message) without knowing the engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// No space (or quota) left on the store's device: writes fail until space is freed; reads go
    /// on.
    #[error("no space left on the store's device: {0}")]
    Full(String),
    /// Another I/O failure, or the engine being reopened after one: writes may work again shortly.
    #[error("the store cannot write: {0}")]
    Unavailable(String),
}

impl Fault {
    /// An operating system's I/O error, by its kind and number alone: ENOSPC and EDQUOT are a full
    /// device, anything else leaves the store unavailable. (An engine that hands out copies of
    /// errors without their number recovers it first: see `sled.rs`.)
    pub fn of_io(e: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        let full = matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
            || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT));
        if full {
            Fault::Full(e.to_string())
        } else {
            Fault::Unavailable(e.to_string())
        }
    }

    pub fn is_full(&self) -> bool {
        matches!(self, Fault::Full(_))
    }

    /// The cause, without the sentence around it.
    pub fn cause(&self) -> &str {
        match self {
            Fault::Full(why) | Fault::Unavailable(why) => why,
        }
    }
}

/// Linux's numbers (the same on the other Unix systems the service runs on, except EDQUOT).
const ENOSPC: i32 = 28;
const EDQUOT: i32 = 122;

pub type StoreResult<T> = Result<T, StoreError>;

/// A piece of trust state with the time it became known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustEntry {
    Root {
        key: VerifyingKey,
        known_at: Timestamp,
    },
    Certificate {
        cert: Certificate,
        known_at: Timestamp,
    },
    Revocations {
        list: RevocationList,
        known_at: Timestamp,
    },
}

/// Counts and sizes for `partseal registry stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub codes: u64,
    /// Events beyond the commissioning each code carries.
    pub events: u64,
    pub alerts: u64,
    pub lot_recalls: u64,
    pub scanned_codes: u64,
    pub bytes_on_disk: u64,
}

pub type Entries<'a, T> = Box<dyn Iterator<Item = StoreResult<T>> + 'a>;

/// What the registry needs from storage.
///
/// ## Crash contract of [`Store::update_code`]
/// An engine need not make the several keys of one update atomic (sled's atomic batches cost a
/// synchronous log write each and serialise all writers), but it must write them in this order,
/// each key atomically, and recover to a prefix of its writes after a crash:
/// 1. index entries the update adds (a vehicle's new part, a newly flagged code),
/// 2. the event, under the code key and its sequence number,
/// 3. the code's record,
/// 4. index entries the update removes.
///
/// So a crash leaves the old record or the new one. An event stored with a sequence number equal to
/// its record's event count is the remains of an update that was never acknowledged: readers ignore
/// it and the next update overwrites it. Indexes may hold left-over entries but never miss one;
/// readers check every index hit against the record.
pub trait Store: Send + Sync {
    fn code(&self, key: &CodeKey) -> StoreResult<Option<CodeRecord>>;

    /// Inserts freshly registered codes whose keys are free, each atomically, and returns for each
    /// the record already there, if any. Safe to call from many threads and processes at once.
    fn insert_new_codes(
        &self,
        codes: &[(CodeKey, CodeRecord)],
    ) -> StoreResult<Vec<Option<CodeRecord>>>;

    /// Appends `event` (if any) to the code's chain and replaces its record (`before` → `after`),
    /// with the derived indexes and the `notices` about the event, in the order the trait's crash
    /// contract sets (notices first: a reader ignores one whose event the record does not count).
    /// [`StoreError::Conflict`], with nothing written, if the stored record is no longer `before`.
    fn update_code(
        &self,
        key: &CodeKey,
        event: Option<&Event>,
        notices: &[Notice],
        before: &CodeRecord,
        after: &CodeRecord,
    ) -> StoreResult<()>;

    /// The code's stored events after the commissioning (which its record holds), in order,
    /// including the remains of an interrupted update (see the crash contract).
    fn events(&self, key: &CodeKey) -> StoreResult<Vec<Event>>;

    /// Every code, in key order.
    fn codes(&self) -> Entries<'_, (CodeKey, CodeRecord)>;

    /// Every stored event with its code, in key order (for the audit).
    fn all_events(&self) -> Entries<'_, (CodeKey, Event)>;

    fn lot_recall(&self, gtin: &Gtin, lot: &Lot) -> StoreResult<Option<LotRecall>>;
    fn put_lot_recall(&self, gtin: &Gtin, lot: &Lot, recall: &LotRecall) -> StoreResult<()>;
    /// Every lot recall (there are few: one per recalled lot), for the registry to hold in memory.
    fn lot_recalls(&self) -> StoreResult<Vec<(Gtin, Lot, LotRecall)>>;

    fn scans(&self, key: &CodeKey) -> StoreResult<Option<ScanStats>>;
    /// Adds scans counted by this process (see [`ScanStats::merge`]) to each code's stored
    /// aggregate, and returns the aggregates stored, in order. Safe to call from many processes at
    /// once: none overwrites another's scans.
    fn add_scans(&self, deltas: &[(CodeKey, ScanStats)]) -> StoreResult<Vec<ScanStats>>;

    /// Codes of this manufacturer with a flag that needs attention, per the alert index (which may
    /// hold left-over entries).
    fn alerts(&self, manufacturer: &PartyId) -> StoreResult<Vec<CodeKey>>;
    /// When the manufacturer began investigating this flagged code, if it has.
    fn alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> StoreResult<Option<Timestamp>>;
    /// Marks a flagged code's alert as under investigation; false if the code has no alert. The
    /// mark goes when the alert does (its flags are resolved).
    fn set_alert_investigating(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Keeps a manufacturer's note on one of its codes, after the notes already kept.
    fn add_alert_note(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
        note: &crate::notes::AlertNote,
    ) -> StoreResult<()>;
    /// The manufacturer's notes on a code, oldest first.
    fn alert_notes(
        &self,
        manufacturer: &PartyId,
        key: &CodeKey,
    ) -> StoreResult<Vec<crate::notes::AlertNote>>;
    /// Every alert index entry (for the audit).
    fn all_alerts(&self) -> Entries<'_, (PartyId, CodeKey)>;

    /// Codes installed in this vehicle, per the vehicle index (which may hold left-over entries).
    fn installed_in(&self, vin: &Vin) -> StoreResult<Vec<CodeKey>>;
    /// Every vehicle index entry (for the audit).
    fn all_installed(&self) -> Entries<'_, (Vin, CodeKey)>;

    fn trust(&self) -> StoreResult<Vec<TrustEntry>>;
    fn put_trust(&self, entry: &TrustEntry) -> StoreResult<()>;

    fn party(&self, id: &PartyId) -> StoreResult<Option<Party>>;
    fn put_party(&self, party: &Party) -> StoreResult<()>;
    fn parties(&self) -> StoreResult<Vec<Party>>;

    fn token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    fn put_token(&self, token: &TokenRecord) -> StoreResult<()>;
    fn tokens(&self) -> StoreResult<Vec<TokenRecord>>;

    /// This party's notices, oldest first.
    fn notices(&self, party: &PartyId) -> StoreResult<Vec<Notice>>;

    /// A browser session, by [`session_key`](crate::session_key).
    fn session(&self, key: &[u8; 32]) -> StoreResult<Option<crate::SessionRecord>>;
    fn put_session(&self, key: &[u8; 32], session: &crate::SessionRecord) -> StoreResult<()>;
    fn remove_session(&self, key: &[u8; 32]) -> StoreResult<()>;
    /// Removes the sessions that expired before `now`; returns how many.
    fn remove_expired_sessions(&self, now: Timestamp) -> StoreResult<usize>;

    fn add_report(&self, report: &Report) -> StoreResult<()>;
    /// Reports on this manufacturer's codes, oldest first.
    fn reports(&self, manufacturer: &PartyId) -> StoreResult<Vec<Report>>;

    /// The store's secret salt for scan contexts, created on first use.
    fn scan_salt(&self) -> StoreResult<[u8; 32]>;

    /// Returns once every write that returned before this call is durable. Concurrent callers share
    /// one sync (group commit).
    fn durable(&self) -> StoreResult<()>;

    /// Whether writes go through: `Err` with the fault while they cannot (reads go on). While
    /// faulted this may test the device and, once it takes writes again, recover the engine, so
    /// calling it now and then (a readiness probe) is enough for writes to resume by themselves.
    fn writable(&self) -> Result<(), Fault> {
        Ok(())
    }

    /// Counts walk the store: seconds for millions of codes.
    fn stats(&self) -> StoreResult<StoreStats>;

    /// `Some(bound)` if other processes write to the same store (replicas on one database): what
    /// a process keeps in memory must then be read again at least this often.
    fn shared(&self) -> Option<std::time::Duration> {
        None
    }

    /// How the records kept in memory in front of the engine serve (cheap).
    fn record_cache(&self) -> RecordCacheStats {
        RecordCacheStats::default()
    }

    /// Writes every record to `out` in a self-checking format. The caller keeps writers out while it
    /// runs, so the copy is consistent.
    fn backup(&self, out: &mut dyn Write) -> StoreResult<u64>;

    /// Loads a backup into this store, which must be empty. Checks the whole file before writing
    /// anything.
    fn restore(&self, input: &mut dyn Read) -> StoreResult<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Error, ErrorKind};

    #[test]
    fn a_full_device_or_quota_is_full_and_other_io_errors_are_unavailable() {
        assert!(Fault::of_io(&Error::from_raw_os_error(ENOSPC)).is_full());
        assert!(Fault::of_io(&Error::from_raw_os_error(EDQUOT)).is_full());
        assert!(Fault::of_io(&Error::from(ErrorKind::StorageFull)).is_full());
        assert!(!Fault::of_io(&Error::from_raw_os_error(5)).is_full(), "EIO");
        assert!(
            !Fault::of_io(&Error::from_raw_os_error(30)).is_full(),
            "EROFS"
        );
        // The operating system's message is kept.
        let fault = Fault::of_io(&Error::from_raw_os_error(ENOSPC));
        assert!(fault.cause().contains("No space left on device"), "{fault}");
        // Only the kind and the number count, never the text.
        assert!(!Fault::of_io(&Error::other("No space left on device")).is_full());
        // A store error says which fault it is, and damage is none.
        assert!(
            StoreError::Io(Error::from_raw_os_error(5))
                .fault()
                .is_some()
        );
        assert!(StoreError::corrupt("x", "y").fault().is_none());
        assert!(StoreError::Locked("data".into()).fault().is_none());
    }
}
