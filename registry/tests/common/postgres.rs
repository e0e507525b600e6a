//! A new, empty PostgreSQL database per test, on the server `PARTSEAL_TEST_DATABASE_URL` names
//! (`.ci/run` starts one with `scripts/pg-cluster.sh`). Without that variable the tests that need
//! PostgreSQL are skipped (their whole test binary, which holds only such tests, exits at the first
//! one), unless `CI` is set: then they fail, so CI can never pass without them.

#![allow(clippy::unwrap_used, dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable naming the test server (a URL to a database there that may create
/// databases).
pub const SERVER: &str = "PARTSEAL_TEST_DATABASE_URL";

/// The server's URL, or `None` (the test should return) where there is none and CI is not set.
pub fn server() -> Option<String> {
    match std::env::var(SERVER) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{SERVER} is not set, and CI needs the PostgreSQL tests to run")
        }
        _ => {
            eprintln!("skipped: {SERVER} is not set (scripts/pg-cluster.sh starts a server)");
            None
        }
    }
}

pub struct TestDatabase {
    /// The new database's URL.
    pub url: String,
    name: String,
    server: String,
}

fn psql(server: &str, sql: &str) {
    let out = Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .expect("psql runs (package postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The URL of database `name` on the server at `server`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (server, String::new()),
    };
    let slash = base
        .rfind('/')
        .filter(|&i| i > "postgres://".len())
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..slash])
}

impl TestDatabase {
    /// A new, empty database; without a server (outside CI), ends this test binary, whose tests
    /// all need one, as skipped.
    pub fn create_or_skip() -> TestDatabase {
        match Self::create() {
            Some(database) => database,
            None => std::process::exit(0),
        }
    }

    /// A new, empty database, or `None` (see [`server`]).
    pub fn create() -> Option<TestDatabase> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let server = server()?;
        let name = format!(
            "partseal_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        psql(&server, &format!("CREATE DATABASE {name}"));
        Some(TestDatabase {
            url: with_database(&server, &name),
            name,
            server,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.server.as_str(),
                "-qAtc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
