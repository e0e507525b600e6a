//! The index of packing records by packer: a party's cartons newest first, page by page, kept in
//! the same atomic change as the records (packing adds, nesting keeps, unpacking removes), carried
//! by backups, checked by the audit, and built for a store packed before the index existed (on
//! opening an embedded store; by the migration on PostgreSQL). `packing_records_on_postgres.rs`
//! runs them on the other engine.

#![allow(clippy::unwrap_used)]

use registry::{CodeKey, PartyId, Registry};
use signer::{CompanyPrefix, Sscc, Timestamp};
use testkit::engine::{Engine, engine, reopen, restore};
use testkit::world::*;

/// A carton number under the maker's prefix.
fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

fn listed(r: &Registry, packer: &PartyId, after: Option<(Timestamp, Sscc)>, n: usize) -> Vec<Sscc> {
    r.cartons_packed_by(packer, after, n)
        .unwrap()
        .into_iter()
        .map(|(sscc, _)| sscc)
        .collect()
}

fn clean(r: &Registry) {
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// Cartons 1 (packed on day 2), 2 and 3 (both on day 3) and the pallet 4 holding carton 1 (day 4),
/// each of one of the maker's codes.
fn packed(w: &World) -> Vec<CodeKey> {
    let r = &w.registry;
    let maker = w.maker_party();
    let keys: Vec<CodeKey> = (0..3).map(|i| w.registered(&format!("P{i:03}"))).collect();
    for (i, at) in [(0, day(2)), (1, day(3)), (2, day(3))] {
        let codes = [(keys[i].clone(), None)];
        r.pack_carton(&maker, &sscc(i as u64 + 1), &codes, &[], at)
            .unwrap();
    }
    r.pack_carton(&maker, &sscc(4), &[], &[sscc(1)], day(4))
        .unwrap();
    keys
}

#[test]
fn a_partys_records_list_newest_first_page_by_page_and_leave_when_unpacked() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    packed(&w);
    let (r, maker) = (&w.registry, w.maker_party());
    // Newest first; of one moment, by number. Carton 1 stays listed inside the pallet.
    assert_eq!(
        listed(r, &maker, None, 10),
        [sscc(4), sscc(2), sscc(3), sscc(1)]
    );
    assert_eq!(listed(r, &maker, None, 2), [sscc(4), sscc(2)]);
    assert_eq!(
        listed(r, &maker, Some((day(3), sscc(2))), 2),
        [sscc(3), sscc(1)]
    );
    assert_eq!(listed(r, &maker, Some((day(2), sscc(1))), 2), []);
    assert_eq!(listed(r, &party("dist-1"), None, 10), []);
    clean(r);

    // Unpacked, a record leaves the list in the same change.
    r.unpack_carton(&maker, &sscc(3)).unwrap();
    r.unpack_carton(&maker, &sscc(4)).unwrap();
    assert_eq!(listed(r, &maker, None, 10), [sscc(2), sscc(1)]);
    clean(r);

    // A backup carries the index.
    let mut backup = Vec::new();
    r.backup(&mut backup).unwrap();
    let (restored, _dir, _database) = restore(&backup);
    assert_eq!(listed(&restored, &maker, None, 10), [sscc(2), sscc(1)]);
    clean(&restored);
}

#[test]
fn a_store_packed_before_the_index_is_indexed() {
    let w = World::new();
    packed(&w);
    let maker = w.maker_party();
    let World {
        dir,
        registry,
        database,
        ..
    } = w;
    drop(registry);
    let data = dir.path().join("data");
    // The index as a store written before it has it: none.
    match engine() {
        Engine::Sled => {
            let db = raw_sled(&data);
            db.drop_tree("cartons_by_packer").unwrap();
            db.flush().unwrap();
        }
        Engine::Postgres => {
            let url = &database.as_ref().unwrap().url;
            testkit::postgres::psql(
                url,
                &format!(
                    "DROP TABLE cartons_by_packer; {}",
                    include_str!("../src/store/postgres/migrations/0006_cartons_by_packer.sql")
                ),
            );
        }
    }
    let r = reopen(&data, database.as_ref());
    assert_eq!(
        listed(&r, &maker, None, 10),
        [sscc(4), sscc(2), sscc(3), sscc(1)]
    );
    clean(&r);
}

/// The store's files opened directly with sled, as an older version left them. sled lets go of
/// its directory's lock only once a dropped handle's threads have: wait for it.
fn raw_sled(dir: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sled::Config::new().path(dir).segment_size(2 << 20).open() {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            opened => return opened.unwrap(),
        }
    }
}
