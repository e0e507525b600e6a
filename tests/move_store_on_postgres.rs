//! Moving a registry between the engines with the commands an operator runs: a sled store backed
//! up and restored into an empty PostgreSQL database, and that database backed up and restored
//! into a new sled directory, the same self-checking file format both ways, every code there and
//! the audit clean at each step. A damaged file loads nothing into the database.

#![allow(clippy::unwrap_used)]

use testkit::cli::Partseal;
use testkit::postgres::TestDatabase;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

#[test]
fn a_registry_moves_from_sled_to_postgresql_and_back() {
    let target = TestDatabase::create_or_skip();
    let url = target.url.as_str();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 2_000);
    let register = [
        "registry",
        "register",
        "--data",
        "sled",
        "--trust",
        "ca/authority.pub",
        "--cert",
        "acme.cert",
        "batch.jsonl",
    ];
    assert!(
        PARTSEAL
            .ok(d, &register)
            .contains("registered:          2000")
    );
    PARTSEAL.ok(
        d,
        &[
            "registry",
            "backup",
            "--data",
            "sled",
            "--out",
            "from-sled.psb",
        ],
    );

    // A damaged copy is refused and leaves the database empty.
    let mut damaged = std::fs::read(d.join("from-sled.psb")).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(d.join("damaged.psb"), &damaged).unwrap();
    let refused = PARTSEAL.run(
        d,
        &[
            "registry",
            "restore",
            "--database-url",
            url,
            "--from",
            "damaged.psb",
        ],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("checksum"),
        "{refused:?}"
    );
    let stats = PARTSEAL.ok(d, &["registry", "stats", "--database-url", url]);
    assert!(stats.contains("codes:            0"), "{stats}");

    // Into PostgreSQL: every code, the audit clean, and registering again changes nothing.
    let restored = PARTSEAL.ok(
        d,
        &[
            "registry",
            "restore",
            "--database-url",
            url,
            "--from",
            "from-sled.psb",
        ],
    );
    assert!(restored.contains("(2000 codes; audit clean)"), "{restored}");
    let again = [
        "registry",
        "register",
        "--database-url",
        url,
        "--trust",
        "ca/authority.pub",
        "--cert",
        "acme.cert",
        "batch.jsonl",
    ];
    assert!(PARTSEAL.ok(d, &again).contains("already registered:  2000"));

    // And back into a new sled directory, from PostgreSQL's backup.
    PARTSEAL.ok(
        d,
        &[
            "registry",
            "backup",
            "--database-url",
            url,
            "--out",
            "from-pg.psb",
        ],
    );
    let back = PARTSEAL.ok(
        d,
        &[
            "registry",
            "restore",
            "--data",
            "sled-again",
            "--from",
            "from-pg.psb",
        ],
    );
    assert!(back.contains("(2000 codes; audit clean)"), "{back}");
    assert!(
        PARTSEAL
            .ok(d, &["registry", "audit", "--data", "sled-again"])
            .contains("intact")
    );
}
