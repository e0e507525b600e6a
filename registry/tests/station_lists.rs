//! The shop stations' lists of recent scans as the store keeps them, per shop.
//!
//! Apart from `parties.rs`: that file's check that no token secret reaches the store's files reads
//! the files byte by byte, and is kept alone in its test binary.

#![allow(clippy::unwrap_used)]

use testkit::world::*;

/// A shop station's list of recent scans is the shop's: kept in the store (what it holds is the
/// verifier's), replaced whole, apart per party, carried by a backup and there after reopening.
#[test]
fn a_station_list_is_kept_per_party_and_survives_reopen_and_restore() {
    let w = World::new();
    let r = &w.registry;
    assert_eq!(r.station_list(&party("shop-1")).unwrap(), None);
    r.put_station_list(&party("shop-1"), b"first").unwrap();
    r.put_station_list(&party("shop-1"), b"second").unwrap();
    r.put_station_list(&party("shop-2"), b"theirs").unwrap();
    assert_eq!(
        r.station_list(&party("shop-1")).unwrap().as_deref(),
        Some(&b"second"[..])
    );
    let mut backup = Vec::new();
    r.backup(&mut backup).unwrap();
    let (restored, _dir, _db) = testkit::engine::restore(&backup);
    assert_eq!(
        restored.station_list(&party("shop-2")).unwrap().as_deref(),
        Some(&b"theirs"[..])
    );
    drop(restored);
    let dir = w.dir.path().join("data");
    drop(w.registry);
    let reopened = testkit::engine::reopen(&dir, w.database.as_ref());
    assert_eq!(
        reopened.station_list(&party("shop-1")).unwrap().as_deref(),
        Some(&b"second"[..])
    );
}
