//! `partseal serve` on PostgreSQL as a newcomer meets it: the server's NOTICEs stay out of the
//! service's log.

#![allow(clippy::unwrap_used)]

use testkit::cli::Partseal;
use testkit::postgres::TestDatabase;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

#[test]
fn the_servers_notices_stay_out_of_the_info_log() {
    let database = TestDatabase::create_or_skip();
    let tmp = tempfile::tempdir().unwrap();
    let args = ["--data", "data", "--database-url", database.url.as_str()];
    // The first start creates the schema; the second meets it, where PostgreSQL says NOTICE
    // ("relation ... already exists, skipping").
    PARTSEAL.serve_logged(tmp.path(), &args, "first.log").stop();
    let log = PARTSEAL
        .serve_logged(tmp.path(), &args, "second.log")
        .stop();
    assert!(log.contains("partseal serving"), "{log}");
    for noise in ["NOTICE", "already exists, skipping"] {
        assert!(!log.contains(noise), "{noise:?} in the log: {log}");
    }
}
