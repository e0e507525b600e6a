//! Operations: the audit catching tampering, and online backup and restore.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use registry::{Action, CodeKey, Location, Registry, RegistryConfig, StoreError, Vin};
use testkit::world::*;

/// Restores a backup into a new data directory, as `partseal registry restore --data` does.
fn restore(input: &mut dyn std::io::Read, dir: &std::path::Path) -> Result<u64, StoreError> {
    Location::Directory(dir.to_owned()).restore(input)
}

fn history_with_events(w: &World, serial: &str) -> CodeKey {
    let key = w.registered(serial);
    let shop = party("shop-1");
    let r = &w.registry;
    r.record_genuine_scan(&key, &shop, Action::Receive, day(2))
        .unwrap();
    r.record_genuine_scan(
        &key,
        &shop,
        Action::Install {
            vin: Vin::parse(VIN_A).unwrap(),
        },
        day(3),
    )
    .unwrap();
    r.record_genuine_scan(&key, &shop, Action::Remove { vin: None }, day(4))
        .unwrap();
    key
}

/// The store's files opened directly with sled, as someone with disk access would (with the
/// segment size the registry gives new stores, which sled insists on).
/// sled lets go of its directory's lock only once a dropped handle's threads have: wait for it.
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

/// Opens the store's files directly, as someone with disk access would, and changes stored bytes.
fn tamper(dir: &std::path::Path, tree: &str, edit: impl Fn(&[u8], &mut Vec<u8>) -> bool) {
    let db = raw_sled(dir);
    let tree = db.open_tree(tree).unwrap();
    for entry in tree.iter() {
        let (k, v) = entry.unwrap();
        let mut value = v.to_vec();
        if edit(&k, &mut value) {
            tree.insert(k, value).unwrap();
            break;
        }
    }
    db.flush().unwrap();
}

#[test]
fn the_audit_is_clean_on_honest_history_and_catches_an_altered_event() {
    let w = World::new();
    let key = history_with_events(&w, "AUD1");
    let report = w.registry.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!((report.codes, report.events), (1, 4));
    let dir = w.dir.path().join("data");
    drop(w.registry);

    // Rewrite event 2's time (byte offset 1 + 4 + 32 = the i64 time): still decodes, chain broken.
    tamper(&dir, "events", |k, v| {
        if k.ends_with(&2u32.to_be_bytes()) {
            v[37 + 7] ^= 1;
            return true;
        }
        false
    });
    let r = Registry::open(&dir, RegistryConfig::default()).unwrap();
    let report = r.audit(|_| {}).unwrap();
    assert!(!report.is_clean());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains(&key.to_string()) && p.contains("does not chain to event 2")),
        "{:?}",
        report.problems
    );
}

#[test]
fn the_audit_catches_a_deleted_event_and_a_missing_index_entry() {
    let w = World::new();
    history_with_events(&w, "AUD2"); // received, installed, removed
    let installed = w.registered("AUD3");
    let shop = party("shop-1");
    let vin = Vin::parse(VIN_B).unwrap();
    w.registry
        .record_genuine_scan(&installed, &shop, Action::Install { vin }, day(2))
        .unwrap();
    let dir = w.dir.path().join("data");
    drop(w.registry);
    {
        let db = raw_sled(&dir);
        let events = db.open_tree("events").unwrap();
        let aud2 = CodeKey::of(&part(GTIN, "L2026A", "AUD2"));
        let mut second = aud2.as_bytes().to_vec();
        second.extend_from_slice(&2u32.to_be_bytes());
        events.remove(second).unwrap();
        let vehicles = db.open_tree("vehicles").unwrap();
        assert_eq!(vehicles.len(), 1);
        vehicles.clear().unwrap();
        db.flush().unwrap();
    }
    let r = Registry::open(&dir, RegistryConfig::default()).unwrap();
    let problems = r.audit(|_| {}).unwrap().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("(01)06901234567892(21)AUD2: event 3 found where 2 belongs")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("the vehicle index misses")),
        "{problems:?}"
    );
}

#[test]
fn remains_of_an_interrupted_write_are_invisible_and_harmless() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let key = history_with_events(&w, "INT1");
    let dir = w.dir.path().join("data");
    drop(w.registry);
    {
        // What a crash between steps 2 and 3 of an update leaves: the next event, but not the
        // record naming it; and a vehicle index entry the record does not back.
        let db = raw_sled(&dir);
        let events = db.open_tree("events").unwrap();
        let (k, v) = events.iter().next_back().unwrap().unwrap();
        let mut next = k[..k.len() - 4].to_vec();
        next.extend_from_slice(&4u32.to_be_bytes());
        let mut value = v.to_vec();
        value[1..5].copy_from_slice(&4u32.to_be_bytes());
        events.insert(next, value).unwrap();
        let mut entry = VIN_C.as_bytes().to_vec();
        entry.extend_from_slice(key.as_bytes());
        db.open_tree("vehicles")
            .unwrap()
            .insert(entry, &[])
            .unwrap();
        db.flush().unwrap();
    }
    let r = Registry::open(&dir, RegistryConfig::default()).unwrap();
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.interrupted, 2);
    assert_eq!(r.history(&key).unwrap().unwrap().events.len(), 4);
    assert!(
        r.installed_in(&Vin::parse(VIN_C).unwrap())
            .unwrap()
            .is_empty()
    );
    // The next write takes the left-over event's place.
    r.record_genuine_scan(
        &key,
        &party("shop-1"),
        Action::Ship {
            to: party("dist-1"),
        },
        day(6),
    )
    .unwrap();
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.interrupted, 1); // only the index entry remains
}

#[test]
fn an_online_backup_restores_to_an_identical_store() {
    let w = World::new();
    for i in 0..50 {
        history_with_events(&w, &format!("BAK{i}"));
    }
    let registry = Arc::new(w.registry);
    let stop = Arc::new(AtomicBool::new(false));
    // A writer keeps registering and recording while the backup runs.
    let writer = {
        let (registry, stop, maker) = (registry.clone(), stop.clone(), w.maker.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let code =
                    signer::SignedCode::sign(part(GTIN, "L2026A", &format!("LIVE{i}")), &maker);
                registry
                    .register(std::slice::from_ref(&code), None, day(1))
                    .unwrap();
                registry
                    .record_genuine_scan(
                        &CodeKey::of(&code.part),
                        &party("shop-1"),
                        Action::Receive,
                        day(2),
                    )
                    .unwrap();
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let file = w.dir.path().join("backup.psb");
    let records = registry
        .backup(&mut std::io::BufWriter::new(
            std::fs::File::create(&file).unwrap(),
        ))
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert!(written > 0);
    assert!(records > 50);

    let restored_dir = w.dir.path().join("restored");
    let n = restore(&mut std::fs::File::open(&file).unwrap(), &restored_dir).unwrap();
    assert_eq!(n, records);
    let restored = Registry::open(&restored_dir, RegistryConfig::default()).unwrap();
    let report = restored.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    // Everything from before the backup is there, trust state included.
    for i in 0..50 {
        let key = CodeKey::of(&part(GTIN, "L2026A", &format!("BAK{i}")));
        assert_eq!(
            restored.history(&key).unwrap().unwrap(),
            registry.history(&key).unwrap().unwrap()
        );
    }
    assert_eq!(
        restored.trust().certificates(),
        registry.trust().certificates()
    );
    assert_eq!(
        restored
            .installed_in(&Vin::parse(VIN_A).unwrap())
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn a_damaged_backup_is_refused_and_leaves_nothing_behind() {
    let w = World::new();
    history_with_events(&w, "DMG1");
    let mut bytes = Vec::new();
    w.registry.backup(&mut bytes).unwrap();
    for (what, damaged) in [
        ("truncated", bytes[..bytes.len() - 10].to_vec()),
        ("flipped", {
            let mut b = bytes.clone();
            let mid = b.len() / 2;
            b[mid] ^= 1;
            b
        }),
        ("not a backup", b"hello".to_vec()),
    ] {
        let target = w
            .dir
            .path()
            .join(format!("restore-{}", what.replace(' ', "-")));
        let e = restore(&mut damaged.as_slice(), &target).unwrap_err();
        assert!(
            e.to_string().contains("not a valid partseal backup"),
            "{what}: {e}"
        );
        assert!(!target.exists(), "{what}");
    }
    // Restoring over existing data is refused.
    let e = restore(&mut bytes.as_slice(), &w.dir.path().join("data")).unwrap_err();
    assert!(e.to_string().contains("already holds data"), "{e}");
}

#[test]
fn scan_counts_written_behind_and_lot_recalls_survive_a_reopen() {
    let w = World::new();
    let r = &w.registry;
    let scanned = w.registered("SCANNED");
    let ctx = r.scan_context(std::net::IpAddr::from([203, 0, 113, 9]), Some("CN-44"));
    for _ in 0..3 {
        r.record_scan(&scanned, &ctx, day(3)).unwrap();
    }
    // Counted in memory, and already what readers see.
    assert_eq!(r.scans(&scanned).unwrap().unwrap().total, 3);
    let gtin = signer::Gtin::parse(GTIN).unwrap();
    let lot = signer::Lot::parse("L2026A").unwrap();
    r.recall_lot(&gtin, &lot, &w.maker_party(), "brake fluid leak", day(4))
        .unwrap();
    assert!(r.status(&scanned).unwrap().unwrap().lot_recall.is_some());

    // A backup holds the counts so far, though no pass had written them yet.
    let file = w.dir.path().join("scans.psb");
    r.backup(&mut std::fs::File::create(&file).unwrap())
        .unwrap();
    let restored_dir = w.dir.path().join("restored");
    restore(&mut std::fs::File::open(&file).unwrap(), &restored_dir).unwrap();
    let restored = Registry::open(&restored_dir, RegistryConfig::default()).unwrap();
    assert_eq!(restored.scans(&scanned).unwrap().unwrap().total, 3);
    drop(restored);

    // One more scan, then the registry closes: dropping it writes what is left.
    r.record_scan(&scanned, &ctx, day(5)).unwrap();
    let dir = w.dir.path().join("data");
    drop(w.registry);
    let reopened = Registry::open(&dir, RegistryConfig::default()).unwrap();
    let stats = reopened.scans(&scanned).unwrap().unwrap();
    assert_eq!(
        (stats.total, stats.regions.clone()),
        (4, vec![("CN-44".to_owned(), 4)])
    );
    let status = reopened.status(&scanned).unwrap().unwrap();
    assert_eq!(status.lot_recall.unwrap().reason, "brake fluid leak");
    // Other lots of the GTIN are not recalled.
    let other = {
        let code = signer::SignedCode::sign(part(GTIN, "L2027B", "OTHERLOT"), &w.maker);
        reopened
            .register(std::slice::from_ref(&code), None, day(6))
            .unwrap();
        CodeKey::of(&code.part)
    };
    assert!(
        reopened
            .status(&other)
            .unwrap()
            .unwrap()
            .lot_recall
            .is_none()
    );
}

#[test]
fn lookups_never_go_back_to_an_older_record_while_it_is_written() {
    // A small record cache, so entries are dropped and read back from the store all the time.
    let w = World::with_config(RegistryConfig {
        record_cache_bytes: 64 * 1024,
        ..RegistryConfig::default()
    });
    w.add_parties(&["shop-a", "shop-b"]);
    let codes: Vec<CodeKey> = (0..64).map(|i| w.registered(&format!("RACE{i}"))).collect();
    let registry = Arc::new(w.registry);
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (registry, stop, codes) = (registry.clone(), stop.clone(), codes.clone());
            std::thread::spawn(move || {
                let mut seen = vec![0u32; codes.len()];
                let mut lookups = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    for (i, key) in codes.iter().enumerate() {
                        let events = registry.status(key).unwrap().unwrap().record.events;
                        assert!(events >= seen[i], "{key}: saw {} then {events}", seen[i]);
                        seen[i] = events;
                        lookups += 1;
                    }
                }
                lookups
            })
        })
        .collect();
    // Receive and ship back and forth: every event moves the record on.
    let (a, b) = (party("shop-a"), party("shop-b"));
    for round in 0..20 {
        for key in &codes {
            let (from, to) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
            registry
                .record_genuine_scan(key, from, Action::Receive, day(2))
                .unwrap();
            registry
                .record_genuine_scan(key, from, Action::Ship { to: to.clone() }, day(2))
                .unwrap();
        }
    }
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        assert!(reader.join().unwrap() > 0);
    }
    for key in &codes {
        let record = registry.status(key).unwrap().unwrap().record;
        assert_eq!(record.events, 1 + 40);
        assert!(record.flags.is_clear(), "{key}: {:?}", record.flags);
    }
}
