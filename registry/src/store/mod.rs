//! Storage: one [`Store`] on one of two engines, chosen in one place ([`Location`]).
//!
//! The registry's rules live above [`Store`]; it lays records, events and their derived indexes
//! out in key-ordered tables, the same for every engine, and an engine only moves bytes
//! ([`Tables`]): [`sled`] is the embedded default, [`postgres`] the server database for more than
//! one machine. Engine types never appear outside the engine's module, and only [`location`]
//! knows which engines there are.
//!
//! | module | what lives there |
//! |---|---|
//! | [`location`] | where a store is: opening, creating, restoring; the one place an engine is chosen |
//! | [`table_store`] | the [`Store`] on any engine: batches, record cache, crash order, conflicts |
//! | [`tables`] | the engine interface: tables, conditional changes, all-or-nothing changes over several keys |
//! | [`keys`] | how keys and small values are laid out |
//! | [`batches`], [`record_cache`] | what is kept in memory in front of the engine |
//! | [`group_commit`] | many writers, one sync |
//! | [`key_locks`] | one conditional writer per key within a process |
//! | [`backup`] | the engine-independent backup file |
//! | [`log`] | the transparency log's pool, written with each event, and its sequencer |
//! | [`sled`], [`postgres`] | the engines |
//!
//! Every method is blocking. Async callers run them on a blocking pool (`tokio::task::spawn_blocking`)
//! so an fsync or a database round trip never stalls the executor.

pub mod backup;
pub mod batches;
pub mod group_commit;
pub mod key_locks;
pub mod keys;
pub mod location;
pub mod log;
pub mod postgres;
pub mod record_cache;
pub mod sled;
pub mod table_store;
pub mod tables;

pub use location::{Caches, Create, Location};
pub use record_cache::RecordCacheStats;
pub use table_store::{CartonUpdate, CodeUpdate, InCarton, MovedCode, Store};
pub use tables::Tables;

use signer::{Certificate, RevocationList, Timestamp, VerifyingKey};

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

pub type Entries<'a, T> = Box<dyn Iterator<Item = StoreResult<T>> + 'a>;

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
