//! The store on a real full disk (a small tmpfs, filled with a file beside it): writes are refused
//! as a full-device fault while reads go on, writes resume once the file is deleted without
//! reopening the registry, and what the store then serves (through the records it keeps in
//! memory) is exactly what a fresh open of the directory finds: a write whose sync failed is not
//! served.
//!
//! Mounting needs root: the test skips when not root and `CI` is unset, and fails when `CI` is set
//! and it cannot mount (CI runs as root).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use registry::{CodeKey, Registry, RegistryConfig, RegistryError};
use testkit::disk::{Tmpfs, fill};
use testkit::world::*;

fn open(dir: &Path) -> Registry {
    Registry::open(dir, RegistryConfig::default()).unwrap()
}

#[test]
fn a_full_disk_refuses_writes_and_after_it_the_store_serves_exactly_what_it_holds() {
    let Some(disk) = Tmpfs::mount("24m") else {
        return;
    };
    let data = disk.path().join("data");
    let registry = open(&data);
    let authority = key(1);
    let maker = key(2);
    registry.add_root(authority.verifying_key(), t0()).unwrap();
    registry
        .add_certificate(certificate(&authority, &maker, 10, "acme-brakes"), t0())
        .unwrap();
    let code =
        |i: usize| signer::SignedCode::sign(part(GTIN, "L2026A", &format!("D{i:06}")), &maker);
    let mut keys: Vec<CodeKey> = Vec::new();
    let mut acknowledged: Vec<CodeKey> = Vec::new();
    for i in 0..10 {
        registry.register(&[code(i)], None, day(1)).unwrap();
        acknowledged.push(CodeKey::of(&code(i).part));
    }
    keys.extend(acknowledged.iter().cloned());

    // One code at a time until the disk refuses; then every write is refused the same way.
    let filler = fill(disk.path());
    let mut refused = 0;
    for i in 10..5_000 {
        let c = code(i);
        keys.push(CodeKey::of(&c.part));
        match registry.register(std::slice::from_ref(&c), None, day(1)) {
            Ok(_) => acknowledged.push(CodeKey::of(&c.part)),
            Err(RegistryError::Store(e)) => {
                let fault = e.fault().unwrap_or_else(|| panic!("not a fault: {e}"));
                assert!(fault.is_full(), "{fault}");
                refused += 1;
                if refused == 20 {
                    break;
                }
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(refused, 20, "the disk never filled");
    assert!(registry.writable().unwrap_err().is_full());
    for key in &acknowledged {
        assert!(registry.status(key).unwrap().is_some(), "reads go on");
    }

    // Space returns: writes resume on the same registry (tested at most once a second).
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while registry.writable().is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    registry.writable().unwrap();
    let after = code(9_999);
    assert_eq!(
        registry
            .register(std::slice::from_ref(&after), None, day(1))
            .unwrap()[0]
            .code(),
        "registered"
    );
    keys.push(CodeKey::of(&after.part));
    acknowledged.push(CodeKey::of(&after.part));

    // What it serves is what the directory holds: nothing only ever in memory.
    let served: Vec<_> = keys.iter().map(|k| registry.status(k).unwrap()).collect();
    let audit = registry.audit(|_| {}).unwrap();
    assert!(audit.is_clean(), "{:?}", audit.problems);
    drop(registry);
    let fresh = open(&data);
    for (key, served) in keys.iter().zip(&served) {
        assert_eq!(&fresh.status(key).unwrap(), served, "{key}");
    }
    for key in &acknowledged {
        assert!(
            fresh.status(key).unwrap().is_some(),
            "{key} was acknowledged"
        );
    }
}
