//! The storage engine a test runs on, and registries on it.
//!
//! One suite, two engines: a test file `x.rs` runs on sled; `x_on_postgres.rs`, which only
//! includes `x.rs` (`#[path = "x.rs"] mod on_postgres;`), runs the same tests on PostgreSQL.
//! [`engine`] tells them apart by the test binary's name, so the helpers here open a sled store
//! in a temporary directory or a new database ([`TestDatabase`]) without the test saying which.

use std::path::Path;

use registry::{Location, Registry, RegistryConfig};

use crate::postgres::TestDatabase;

/// The storage engine a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sled,
    Postgres,
}

/// This test binary's engine: PostgreSQL for the `…_on_postgres` test files.
pub fn engine() -> Engine {
    if crate::test_binary().ends_with("_on_postgres") {
        Engine::Postgres
    } else {
        Engine::Sled
    }
}

/// A registry on this test binary's engine: in `dir`/data, or in a new database (returned too: it
/// must outlive the registry).
pub fn open_registry(dir: &Path, config: RegistryConfig) -> (Registry, Option<TestDatabase>) {
    match engine() {
        Engine::Sled => (Registry::open(&dir.join("data"), config).unwrap(), None),
        Engine::Postgres => {
            let database = TestDatabase::create_or_skip();
            let registry = Registry::connect(&database.url, config).unwrap();
            (registry, Some(database))
        }
    }
}

/// The registry again, as a restarted process opens it: sled in `data_dir`, or the database.
pub fn reopen(data_dir: &Path, database: Option<&TestDatabase>) -> Registry {
    match database {
        None => Registry::open(data_dir, RegistryConfig::default()).unwrap(),
        Some(database) => Registry::connect(&database.url, RegistryConfig::default()).unwrap(),
    }
}

/// Restores `backup` into a new store on this binary's engine, as `partseal registry restore`
/// does: the registry on it, and what must outlive it.
pub fn restore(backup: &[u8]) -> (Registry, tempfile::TempDir, Option<TestDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = match engine() {
        Engine::Sled => None,
        Engine::Postgres => Some(TestDatabase::create_or_skip()),
    };
    location(&data, database.as_ref())
        .restore(&mut &backup[..])
        .unwrap();
    (reopen(&data, database.as_ref()), dir, database)
}

/// Where a store is: the database if there is one, else the directory `data_dir`.
pub fn location(data_dir: &Path, database: Option<&TestDatabase>) -> Location {
    match database {
        None => Location::Directory(data_dir.to_owned()),
        Some(database) => Location::Database(database.url.clone()),
    }
}
