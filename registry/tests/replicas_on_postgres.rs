//! Several processes on one PostgreSQL database, as replicas of the service run: each test opens
//! more than one registry on the same database and checks that no process lock is what keeps
//! them correct.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use registry::{Action, CodeKey, Outcome, Party, PartyId, Registry, RegistryConfig, Role, Vin};
use signer::{Lot, SignedCode};
use testkit::world::*;

/// `n` more registries on the world's database, as other processes open it.
fn replicas(w: &World, n: usize) -> Vec<Arc<Registry>> {
    let url = &w.database.as_ref().expect("a PostgreSQL world").url;
    (0..n)
        .map(|_| Arc::new(Registry::connect(url, RegistryConfig::default()).unwrap()))
        .collect()
}

/// Polls `check` until it holds or `within` has passed; returns how long it took.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "not seen within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

#[test]
fn one_install_wins_when_three_replicas_install_the_same_code_at_once() {
    let w = World::new();
    let replicas = replicas(&w, 3);
    let vins = [VIN_A, VIN_B, VIN_C];
    for round in 0..10 {
        let key = w.registered(&format!("XRACE{round}"));
        let barrier = Arc::new(Barrier::new(vins.len()));
        let outcomes: Vec<Outcome> = std::thread::scope(|s| {
            let handles: Vec<_> = vins
                .iter()
                .zip(&replicas)
                .enumerate()
                .map(|(i, (v, registry))| {
                    let (barrier, key) = (barrier.clone(), key.clone());
                    s.spawn(move || {
                        let shop = PartyId::parse(&format!("shop-{i}")).unwrap();
                        barrier.wait();
                        registry
                            .record_genuine_scan(
                                &key,
                                &shop,
                                Action::Install {
                                    vin: Vin::parse(v).unwrap(),
                                },
                                day(2),
                            )
                            .unwrap()
                            .event
                            .outcome
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let applied = outcomes.iter().filter(|o| **o == Outcome::Applied).count();
        assert_eq!(applied, 1, "round {round}: {outcomes:?}");
        // Every attempt is in the chain, each once, as a process that did not take part sees it
        // (within the bound on its cached copy).
        eventually(Duration::from_millis(1500), || {
            let history = w.registry.history(&key).unwrap().unwrap();
            history.record.events as usize == 1 + vins.len()
                && history.events.len() == 1 + vins.len()
        });
    }
    assert!(w.registry.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn a_replica_sees_another_replicas_write_within_the_bound_and_its_own_at_once() {
    let w = World::new();
    let key = w.registered("STALE1");
    let other = replicas(&w, 1).remove(0);
    // The other replica reads (and keeps) the record before the write.
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    let shop = party("shop-1");
    w.registry
        .record_genuine_scan(&key, &shop, Action::Receive, day(2))
        .unwrap();
    assert_eq!(w.registry.status(&key).unwrap().unwrap().record.events, 2);
    let took = eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().record.events == 2
    });
    assert!(took <= Duration::from_millis(1100), "{took:?}");
    // A write through the other replica judged on its stale copy would be wrong: it is judged on
    // the stored record (the receive is a repeat, not a second take-over).
    let next = other
        .record_genuine_scan(&key, &shop, Action::Receive, day(3))
        .unwrap();
    assert_eq!(next.event.seq, 2);
}

#[test]
fn revocations_and_recalls_through_one_replica_hold_in_every_other_within_a_second() {
    let w = World::new();
    let other = replicas(&w, 1).remove(0);
    w.registry
        .add_party(Party {
            id: party("shop-1"),
            role: Role::Shop,
            name: "Shop".into(),
            region: None,
            created_at: day(0),
            revoked_at: None,
        })
        .unwrap();
    let token = w
        .registry
        .issue_token(&party("shop-1"), None, day(1))
        .unwrap();
    assert!(other.authenticate(token.reveal(), day(1)).unwrap().is_ok());
    w.registry.revoke_token(&token.record.id, day(2)).unwrap();
    // Tokens are read from the database on every request: refused at once.
    assert!(other.authenticate(token.reveal(), day(2)).unwrap().is_err());

    // A lot recalled through one replica reads recalled through the other within the bound.
    let key = w.registered("RECALL1");
    assert!(other.status(&key).unwrap().unwrap().lot_recall.is_none());
    let gtin = signer::Gtin::parse(GTIN).unwrap();
    w.registry
        .recall_lot(
            &gtin,
            &Lot::parse("L2026A").unwrap(),
            &w.maker_party(),
            "brake fade",
            day(3),
        )
        .unwrap();
    eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().lot_recall.is_some()
    });

    // A certificate trusted through one replica lets the other register its codes within it.
    let maker = key_of(9);
    let cert = certificate(&w.authority, &maker, 11, "second-maker");
    w.registry.add_certificate(cert, day(3)).unwrap();
    let code = SignedCode::sign(part(GTIN, "L2026B", "SECOND1"), &maker);
    eventually(Duration::from_millis(1500), || {
        other
            .register(std::slice::from_ref(&code), None, day(3))
            .unwrap()[0]
            .code()
            == "registered"
    });
    assert!(other.status(&CodeKey::of(&code.part)).unwrap().is_some());
}

fn key_of(n: u8) -> signer::SigningKey {
    key(n)
}

#[test]
fn scans_counted_by_several_replicas_add_up() {
    let w = World::new();
    let key = w.registered("SCANS1");
    let replicas = replicas(&w, 3);
    let now = day(2);
    // Each replica counts scans from its own networks, and writes them behind, twice.
    for round in 0..2u8 {
        std::thread::scope(|s| {
            for (i, r) in replicas.iter().enumerate() {
                let key = key.clone();
                s.spawn(move || {
                    for n in 0..5u8 {
                        let ip = std::net::IpAddr::from([10, i as u8, round * 10 + n, 1]);
                        r.record_scan(&key, &r.scan_context(ip, None), now).unwrap();
                    }
                    r.write_scans().unwrap();
                });
            }
        });
    }
    let stored = w.registry.scans(&key).unwrap().unwrap();
    assert_eq!(stored.total, 30, "every replica's scans, none overwritten");
    assert_eq!(stored.daily, vec![(now.0.div_euclid(86_400), 30)]);
    // The replicas share the store's salt, so one network is one context in all of them.
    assert_eq!(
        stored.distinct_networks(now, registry::ScanPolicy::default()),
        30
    );
}

#[test]
fn told_of_each_others_changes_replicas_keep_records_longer_and_see_a_change_at_once() {
    let w = World::new();
    let key = w.registered("TOLD1");
    let other = replicas(&w, 1).remove(0);
    // Listening starts moments after opening.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    // Past the 1 s bound, the record is still served from memory: nothing changed it.
    std::thread::sleep(Duration::from_millis(1300));
    let hits = other.record_cache().hits;
    assert_eq!(other.status(&key).unwrap().unwrap().record.events, 1);
    assert_eq!(other.record_cache().hits, hits + 1, "served from memory");
    // A change through another replica reaches it well within the bound.
    w.registry
        .record_genuine_scan(&key, &party("shop-1"), Action::Receive, day(2))
        .unwrap();
    let took = eventually(Duration::from_millis(1500), || {
        other.status(&key).unwrap().unwrap().record.events == 2
    });
    assert!(took < Duration::from_millis(300), "{took:?}");
}
