//! `partseal serve` on PostgreSQL as a newcomer meets it: the server's NOTICEs stay out of the
//! service's log, and the PostgreSQL demo keeps its files apart from the embedded store's demo.

#![allow(clippy::unwrap_used)]

use testkit::cli::Partseal;
use testkit::postgres::TestDatabase;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

fn token_after(stdout: &str, heading: &str) -> String {
    let mut lines = stdout.lines();
    lines.find(|l| l.contains(heading)).unwrap();
    lines.next().unwrap().trim().to_owned()
}

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

#[test]
fn the_postgresql_demo_keeps_the_embedded_demos_tokens() {
    let database = TestDatabase::create_or_skip();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let embedded = PARTSEAL.serve(d, &["--demo"]);
    let shop = token_after(&embedded.stdout, "The shop's API token");
    embedded.stop();
    let kept = std::fs::read_to_string(d.join("data/demo/shop.token")).unwrap();

    let on_postgres = PARTSEAL.serve(d, &["--demo", "--database-url", &database.url]);
    let pg_shop = token_after(&on_postgres.stdout, "The shop's API token");
    assert!(
        on_postgres.stdout.contains("data/demo-postgres-"),
        "{}",
        on_postgres.stdout
    );
    on_postgres.stop();
    assert_ne!(pg_shop, shop, "a token of another store");
    assert_eq!(
        std::fs::read_to_string(d.join("data/demo/shop.token")).unwrap(),
        kept,
        "the PostgreSQL demo replaced the embedded demo's token file"
    );

    // Each demo, run again, prints the token it printed before.
    let embedded = PARTSEAL.serve(d, &["--demo"]);
    assert_eq!(token_after(&embedded.stdout, "The shop's API token"), shop);
    embedded.stop();
    let on_postgres = PARTSEAL.serve(d, &["--demo", "--database-url", &database.url]);
    assert_eq!(
        token_after(&on_postgres.stdout, "The shop's API token"),
        pg_shop
    );
    on_postgres.stop();
}
