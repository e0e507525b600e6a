//! Where a store is, and the one place that knows which engines there are.
//!
//! A [`Location`] is an embedded data directory or a PostgreSQL database. Opening (and creating),
//! restoring, and asking whether a store is there all go through it, so nothing above the store
//! names an engine, its files or its error texts: a caller that needs to tell a held directory or
//! a missing store from other failures gets a typed [`StoreError`] (`Locked`, `Missing`,
//! `NotEmpty`).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::postgres::{self, PgTables};
use super::sled::{self, SledTables};
use super::tables::Tables;
use super::{Store, StoreError, StoreResult};

/// Where a registry's store is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A data directory of the embedded engine, which one process at a time has open.
    Directory(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL, which any number of processes share. The
    /// URL may carry a password: a location shows itself (`Display`, `Debug`) by hosts and
    /// database only.
    Database(String),
}

/// Whether opening may create the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Create it where there is none: the directory, or the schema in an empty database.
    IfMissing,
    /// Refuse a location that holds no store ([`StoreError::Missing`]): a mistyped location is
    /// an error, not a new, empty registry.
    Never,
}

/// Memory kept in front of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caches {
    /// The embedded engine's page cache (a database server keeps its own).
    pub pages: u64,
    /// Code records the store keeps in memory (see `record_cache`); 0 switches it off.
    pub records: u64,
}

/// What a restore keeps in memory: the embedded engine's pages as the registry's default, and no
/// records, as nothing reads the restored store through this handle.
const RESTORING: Caches = Caches {
    pages: 1 << 30,
    records: 0,
};

impl Location {
    /// Opens the store here, creating it only where `create` allows. A directory another process
    /// has open is [`StoreError::Locked`]; a database applies its pending schema migrations.
    pub fn open(&self, create: Create, caches: Caches) -> StoreResult<Store> {
        let tables = self.engine(create, caches.pages)?;
        Store::on(tables, self.to_string(), caches.records)
    }

    /// The engine here, without the store on top (what `registry/tests/tables.rs` holds every
    /// engine to).
    pub fn engine(&self, create: Create, page_cache_bytes: u64) -> StoreResult<Box<dyn Tables>> {
        if create == Create::Never && !self.exists()? {
            return Err(StoreError::Missing(self.to_string()));
        }
        Ok(match self {
            Location::Directory(dir) => {
                std::fs::create_dir_all(dir)?;
                Box::new(SledTables::open(dir, page_cache_bytes)?)
            }
            Location::Database(url) => Box::new(PgTables::connect(url)?),
        })
    }

    /// Whether a store is here: the embedded engine's files in the directory, or the store's
    /// schema in the database (read, never changed).
    pub fn exists(&self) -> StoreResult<bool> {
        match self {
            Location::Directory(dir) => Ok(sled::holds_store(dir)),
            Location::Database(url) => postgres::holds_store(url),
        }
    }

    /// Restores a backup here, all or nothing, and returns the number of entries loaded: into a
    /// new (or empty) directory, filled under a name beside it and renamed into place once the
    /// whole file loaded; or into a database holding no data, in one transaction. A damaged
    /// backup (checked to its last byte) leaves nothing behind; a location holding data is
    /// [`StoreError::NotEmpty`].
    pub fn restore(&self, input: &mut dyn Read) -> StoreResult<u64> {
        match self {
            Location::Directory(dir) => restore_directory(dir, input),
            Location::Database(_) => self.open(Create::IfMissing, RESTORING)?.restore(input),
        }
    }
}

fn restore_directory(dir: &Path, input: &mut dyn Read) -> StoreResult<u64> {
    if dir.exists() && dir.read_dir()?.next().is_some() {
        return Err(StoreError::NotEmpty(dir.display().to_string()));
    }
    let mut partial = dir.as_os_str().to_owned();
    partial.push(".restoring");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    // The store is closed (dropped) before its directory moves.
    let loaded = Location::Directory(partial.clone())
        .open(Create::IfMissing, RESTORING)
        .and_then(|store| store.restore(input));
    match loaded {
        Ok(n) => {
            if dir.exists() {
                std::fs::remove_dir(dir)?;
            }
            std::fs::rename(&partial, dir)?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            Err(e)
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Directory(dir) => write!(f, "{}", dir.display()),
            Location::Database(url) => f.write_str(&postgres::describe_url(url)),
        }
    }
}

/// As `Display`: never a database's password.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Directory(dir) => f.debug_tuple("Directory").field(dir).finish(),
            Location::Database(_) => f.debug_tuple("Database").field(&self.to_string()).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_location_never_shows_its_password() {
        let location = Location::Database("postgres://u:secret@h1:5433/reg".into());
        assert_eq!(location.to_string(), "postgres://h1:5433/reg");
        assert!(!format!("{location:?}").contains("secret"));
        let unreadable = Location::Database("postgres://u:secret@[::1".into());
        assert!(!unreadable.to_string().contains("secret"), "{unreadable}");
    }

    #[test]
    fn opening_without_creating_refuses_an_empty_directory() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::Directory(dir.path().join("data"));
        let caches = Caches {
            pages: 1 << 20,
            records: 0,
        };
        assert!(!location.exists().unwrap());
        let e = location.open(Create::Never, caches).err().unwrap();
        assert!(matches!(e, StoreError::Missing(_)), "{e}");
        assert!(!dir.path().join("data").exists(), "nothing created");
        drop(location.open(Create::IfMissing, caches).unwrap());
        assert!(location.exists().unwrap());
        location.open(Create::Never, caches).unwrap();
    }
}
