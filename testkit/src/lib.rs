//! The fixtures the workspace's tests share, for tests only (a dev-dependency of every crate).
//!
//! | module | what it offers |
//! |---|---|
//! | [`world`] | keys, times, part numbers, signed codes and certificates; with `registry`: parties, tokens, a certified [`world::Maker`], and the library tests' [`world::World`] (a registry on the test's engine trusting a certified maker) |
//! | [`engine`] (`registry`) | the engine a test binary runs on (sled, or PostgreSQL for `*_on_postgres` binaries) and registries opened, reopened and restored on it |
//! | [`postgres`] | a new database per test on the run's server (the one `PARTSEAL_TEST_DATABASE_URL` names, or a shared throwaway cluster the testkit starts), the skip notice where there is none, and clusters of a test's own to stop, kill or promote |
//! | [`disk`] | a small tmpfs of a test's own, filled until it takes no more, and freed |
//! | [`service`] (`service`) | the verifier on a port-0 listener over a registry on the test's engine; signing in to its pages |
//! | [`browser`] (`browser`) | headless Chromium over chromedriver at a phone's viewport, and what page tests do with it |
//! | [`camera`] (`browser`) | a fake camera for Chromium: a label's PNG centred in a Y4M video, and the arguments that play it |
//! | [`cli`] | the real `partseal` binary (its path given by the test) run in a directory, a served `partseal serve`, raw HTTP to it |
//!
//! Only what two or more test files share lives here; a fixture one file uses stays in it.
//! Features keep what a crate's tests build small: `registry`, `service` (the verifier) and
//! `browser` (fantoccini).
//!
//! ```
//! use testkit::world::{GTIN, code, key};
//!
//! // The library tests' maker signs a part of the tests' GTIN and lot.
//! let signed = code(&key(2), "X7K2P9QD4M");
//! assert_eq!(signed.part.gtin.as_str(), GTIN);
//! ```
//!
//! A registry test starts from `testkit::world::World::new()` (a registry on the test binary's
//! engine, trusting a certified maker), a service test from `testkit::service::start`.

// A fixture that cannot set its world up fails the test that asked for it, as an unwrap in the
// test would.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "browser")]
pub mod browser;
#[cfg(feature = "browser")]
pub mod camera;
pub mod cli;
pub mod disk;
#[cfg(feature = "registry")]
pub mod engine;
pub mod postgres;
#[cfg(feature = "service")]
pub mod service;
pub mod world;

/// The running test binary's name: its test file's (`custody_on_postgres` for
/// `tests/custody_on_postgres.rs`), without the hash cargo appends.
pub fn test_binary() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.rsplit_once('-') {
        Some((test, _hash)) => test.to_owned(),
        None => name,
    }
}
