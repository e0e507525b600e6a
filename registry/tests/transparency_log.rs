//! The transparency log in the registry: every registration and event reaches the log through the
//! pool, entries open to what the store holds, and the tree only ever grows consistently, across
//! rounds, reopening, restoring and racing sequencers (`docs/transparency-log.md`).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::sync::{Arc, Barrier};

use registry::{Action, CodeKey, Registry};
use signer::SignedCode;
use testkit::engine::reopen;
use testkit::world::*;
use tlog::{Entry, LabelKey, LogKey, Opening, SignedCheckpoint, check_batch_path, tree};

const ORIGIN: &str = "verify.example.cn/partseal-log";

fn log_key(registry: &Registry) -> LogKey {
    LogKey::new(ORIGIN, registry.log_signing_key().unwrap()).unwrap()
}

fn checkpoint(registry: &Registry) -> SignedCheckpoint {
    let head = registry.log_head().unwrap();
    log_key(registry)
        .verifier()
        .open_checkpoint(&head.checkpoint)
        .unwrap()
}

/// Checks that the log proves every event of `key`: its entry opens to the stored event, under the
/// code's label, and the checkpoint's tree holds it.
fn assert_logged(r: &Registry, code: &SignedCode) {
    let key = &CodeKey::of(&code.part);
    let head = checkpoint(r);
    let history = r.history(key).unwrap().unwrap();
    let label = LabelKey::from_signature(&code.signature.to_bytes());
    for event in &history.events {
        let opened = r
            .log_opening(key, event.seq)
            .unwrap()
            .unwrap_or_else(|| panic!("{key} event {} not logged", event.seq));
        let commitment = label.commit(&Opening {
            salt: opened.salt,
            code: key.as_bytes().to_vec(),
            event: event.encode(),
        });
        let entry = Entry::from_bytes(&r.log_entry(opened.index).unwrap().unwrap()).unwrap();
        if opened.batch_size == 0 {
            assert_eq!(entry.tag, label.tag(event.seq));
            assert_eq!(entry.value, commitment.0);
        } else {
            if opened.batch_position == 0 {
                assert_eq!(
                    entry.tag,
                    label.tag(0),
                    "a batch is found by its first code's t(0)"
                );
            }
            let batch = r.log_batch(opened.index).unwrap();
            let tree = tlog::BatchTree::new(&batch).unwrap();
            let path = tree.path(u64::from(opened.batch_position)).unwrap();
            assert_eq!(path.size, u64::from(opened.batch_size));
            check_batch_path(&path, &commitment, tlog::Hash(entry.value)).unwrap();
        }
        let proof = r.log_inclusion_proof(head.size, opened.index).unwrap();
        tree::check_inclusion(
            &proof,
            head.size,
            head.root,
            opened.index,
            entry.leaf_hash(),
        )
        .unwrap();
    }
}

#[test]
fn registrations_and_events_reach_the_log_and_open_to_what_the_store_holds() {
    let w = World::new();
    w.add_parties(&["dist-1", "shop-1"]);
    let codes: Vec<_> = ["LOG1", "LOG2", "LOG3"].iter().map(|s| w.code(s)).collect();
    w.registry.register(&codes, None, day(1)).unwrap();
    let key = CodeKey::of(&codes[0].part);
    let maker = w.maker_party();
    w.registry
        .record_genuine_scan(
            &key,
            &maker,
            Action::Ship {
                to: party("dist-1"),
            },
            day(2),
        )
        .unwrap();
    w.registry
        .record_genuine_scan(&key, &party("dist-1"), Action::Receive, day(3))
        .unwrap();

    // Nothing is in the log until a sequencer round.
    assert_eq!(w.registry.log_head().unwrap().size, 0);
    assert!(w.registry.log_opening(&key, 0).unwrap().is_none());

    let done = w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    // One entry for the registration call's three codes, one for each event.
    assert_eq!((done.entries, done.size, done.lost_race), (3, 3, false));
    assert_eq!(checkpoint(&w.registry).size, 3);
    for code in &codes {
        assert_logged(&w.registry, code);
    }
    // The three codes share the registration's entry, each with its own place in it.
    let places: Vec<_> = codes
        .iter()
        .map(|c| {
            let o = w
                .registry
                .log_opening(&CodeKey::of(&c.part), 0)
                .unwrap()
                .unwrap();
            (o.index, o.batch_position, o.batch_size)
        })
        .collect();
    assert_eq!(places, [(0, 0, 3), (0, 1, 3), (0, 2, 3)]);

    // A round with nothing new adds nothing and keeps the checkpoint.
    let before = w.registry.log_head().unwrap();
    let idle = w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    assert_eq!((idle.entries, idle.size), (0, 3));
    assert_eq!(w.registry.log_head().unwrap(), before);
}

#[test]
fn receipts_of_the_latest_logged_event_check_offline() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let codes: Vec<_> = ["RCPT1", "RCPT2"].iter().map(|s| w.code(s)).collect();
    w.registry.register(&codes, None, day(1)).unwrap();
    let key = CodeKey::of(&codes[1].part);
    let verifier = log_key(&w.registry).verifier();
    // Not before the log holds an event of the code.
    assert!(
        w.registry
            .log_receipt(&key, "link".into())
            .unwrap()
            .is_none()
    );
    w.registry.sequence_log(&log_key(&w.registry)).unwrap();

    // The registration, through its batch path.
    let receipt = w
        .registry
        .log_receipt(&key, "link".into())
        .unwrap()
        .unwrap();
    assert_eq!(
        (receipt.seq, receipt.batch.as_ref().map(|b| b.size)),
        (0, Some(2))
    );
    let checked = receipt
        .check(&verifier, key.as_bytes(), &codes[1].signature.to_bytes())
        .unwrap();
    let history = w.registry.history(&key).unwrap().unwrap();
    assert_eq!(checked.event, history.events[0].encode());

    // An event: until it is sequenced the receipt is still the registration's; then the event's.
    w.registry
        .record_genuine_scan(
            &key,
            &w.maker_party(),
            Action::Ship {
                to: party("dist-1"),
            },
            day(2),
        )
        .unwrap();
    assert_eq!(
        w.registry
            .log_receipt(&key, "link".into())
            .unwrap()
            .unwrap()
            .seq,
        0
    );
    w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    let receipt = w
        .registry
        .log_receipt(&key, "link".into())
        .unwrap()
        .unwrap();
    assert_eq!((receipt.seq, receipt.batch.is_none()), (1, true));
    let checked = receipt
        .check(&verifier, key.as_bytes(), &codes[1].signature.to_bytes())
        .unwrap();
    let history = w.registry.history(&key).unwrap().unwrap();
    assert_eq!(checked.event, history.events[1].encode());
    // Another label's signature opens nothing.
    assert!(
        receipt
            .check(&verifier, key.as_bytes(), &codes[0].signature.to_bytes())
            .is_err()
    );
}

/// Anyone who scans the label may ask for a receipt, so it opens only what the owner's page tells:
/// never the vehicle a part is installed in, nor another party's claim.
#[test]
fn a_receipt_opens_no_vehicle_and_no_claim() {
    let w = World::new();
    w.add_parties(&["shop-1", "shop-2"]);
    let code = w.code("RCPTVIN");
    w.registry
        .register(std::slice::from_ref(&code), None, day(1))
        .unwrap();
    let key = CodeKey::of(&code.part);
    let (maker, shop, other) = (w.maker_party(), party("shop-1"), party("shop-2"));
    let vin = registry::Vin::parse(VIN_A).unwrap();
    let r = &w.registry;
    r.record_genuine_scan(&key, &maker, Action::Ship { to: shop.clone() }, day(2))
        .unwrap();
    r.record_genuine_scan(&key, &shop, Action::Receive, day(3))
        .unwrap();
    r.record_genuine_scan(&key, &shop, Action::Install { vin }, day(4))
        .unwrap();
    // Refused and kept as a claim: another shop does not hold the part.
    let refused = r
        .record_genuine_scan(&key, &other, Action::Ship { to: shop }, day(5))
        .unwrap();
    assert!(refused.event.outcome.is_claim(), "{refused:?}");
    r.sequence_log(&log_key(r)).unwrap();
    let history = r.history(&key).unwrap().unwrap();
    assert_eq!(history.events.len(), 5);
    assert!(
        r.log_opening(&key, 4).unwrap().is_some(),
        "the claim is logged"
    );

    let receipt = r.log_receipt(&key, "link".into()).unwrap().unwrap();
    assert_eq!(
        receipt.seq, 2,
        "the receiving, the latest event without a vehicle"
    );
    let checked = receipt
        .check(
            &log_key(r).verifier(),
            key.as_bytes(),
            &code.signature.to_bytes(),
        )
        .unwrap();
    assert_eq!(checked.event, history.events[2].encode());
    let json = receipt.to_json();
    for secret in [VIN_A, "shop-2"] {
        assert!(!json.contains(secret), "{secret} in {json}");
        assert!(
            !checked
                .event
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{secret} in the opened event"
        );
    }
}

#[test]
fn carton_moves_join_the_log_as_every_other_event() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let codes: Vec<_> = ["BOX1", "BOX2", "BOX3"].iter().map(|s| w.code(s)).collect();
    w.registry.register(&codes, None, day(1)).unwrap();
    let keys: Vec<(CodeKey, Option<signer::DigitalLink>)> =
        codes.iter().map(|c| (CodeKey::of(&c.part), None)).collect();
    let sscc =
        signer::Sscc::compose(3, &signer::CompanyPrefix::parse("690123").unwrap(), 1).unwrap();
    let maker = w.maker_party();
    w.registry
        .pack_carton(&maker, &sscc, &keys, &[], day(2))
        .unwrap();
    w.registry
        .ship_carton(&maker, &sscc, &party("dist-1"), day(3))
        .unwrap();
    w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    // Every code's shipment through the carton, in its own entry, opens to the stored event.
    for code in &codes {
        let history = w
            .registry
            .history(&CodeKey::of(&code.part))
            .unwrap()
            .unwrap();
        assert_eq!(history.events.len(), 2, "{:?}", history.events);
        assert_eq!(history.events[1].carton.as_ref(), Some(&sscc));
        assert_logged(&w.registry, code);
    }
}

#[test]
fn a_code_registered_again_is_logged_once() {
    let w = World::new();
    let codes = vec![w.code("AGAIN1")];
    w.registry.register(&codes, None, day(1)).unwrap();
    w.registry.register(&codes, None, day(2)).unwrap();
    let done = w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    assert_eq!(done.entries, 1);
    w.registry.register(&codes, None, day(3)).unwrap();
    assert_eq!(
        w.registry
            .sequence_log(&log_key(&w.registry))
            .unwrap()
            .entries,
        0
    );
    assert_logged(&w.registry, &codes[0]);
}

#[test]
fn the_tree_grows_consistently_across_rounds_and_a_reopened_store() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let key = w.registered("GROW1");
    let code = w.code("GROW1");
    w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    let first = checkpoint(&w.registry);
    let log_public = log_key(&w.registry).verifier_key();

    w.registry
        .record_genuine_scan(
            &key,
            &w.maker_party(),
            Action::Ship {
                to: party("dist-1"),
            },
            day(2),
        )
        .unwrap();
    // The pool outlives the process: the event is logged by the next one.
    let World {
        dir,
        registry,
        database,
        ..
    } = w;
    drop(registry);
    let registry = reopen(&dir.path().join("data"), database.as_ref());
    assert_eq!(
        log_key(&registry).verifier_key(),
        log_public,
        "the log key is the store's"
    );
    registry.sequence_log(&log_key(&registry)).unwrap();
    let second = checkpoint(&registry);
    assert_eq!(second.size, first.size + 1);
    let proof = registry
        .log_consistency_proof(second.size, first.size)
        .unwrap();
    tree::check_consistency(&proof, second.size, second.root, first.size, first.root).unwrap();
    assert_logged(&registry, &code);
}

#[test]
fn a_restored_store_continues_the_same_tree() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let key = w.registered("REST1");
    w.registry.sequence_log(&log_key(&w.registry)).unwrap();
    let before = checkpoint(&w.registry);
    let mut backup = Vec::new();
    w.registry.backup(&mut backup).unwrap();

    let (restored, _dir, _db) = testkit::engine::restore(&backup);
    assert_eq!(
        log_key(&restored).verifier_key(),
        log_key(&w.registry).verifier_key()
    );
    restored
        .record_genuine_scan(
            &key,
            &w.maker_party(),
            Action::Ship {
                to: party("dist-1"),
            },
            day(2),
        )
        .unwrap();
    restored.sequence_log(&log_key(&restored)).unwrap();
    let after = checkpoint(&restored);
    assert_eq!(after.size, before.size + 1);
    let proof = restored
        .log_consistency_proof(after.size, before.size)
        .unwrap();
    tree::check_consistency(&proof, after.size, after.root, before.size, before.root).unwrap();
    assert_logged(&restored, &w.code("REST1"));
}

#[test]
fn racing_sequencers_sign_one_consistent_history() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let keys: Vec<CodeKey> = (0..6).map(|i| w.registered(&format!("RACE{i}"))).collect();
    // On PostgreSQL, a second process's registry on the same database races too.
    let other = w
        .database
        .as_ref()
        .map(|db| Arc::new(reopen(std::path::Path::new("unused"), Some(db))));
    let registries: Vec<&Registry> = std::iter::once(&w.registry)
        .chain(other.as_deref())
        .collect();
    let mut seen: Vec<SignedCheckpoint> = Vec::new();
    for (round, key) in keys.iter().enumerate() {
        w.registry
            .record_genuine_scan(
                key,
                &w.maker_party(),
                Action::Ship {
                    to: party("dist-1"),
                },
                day(2),
            )
            .unwrap();
        let barrier = Barrier::new(4);
        std::thread::scope(|s| {
            for i in 0..4 {
                let r = registries[i % registries.len()];
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    r.sequence_log(&log_key(r)).unwrap()
                });
            }
        });
        let now = checkpoint(&w.registry);
        assert!(now.size > round as u64, "round {round}: {now:?}");
        seen.push(now);
    }
    // Every checkpoint extends every earlier one.
    for pair in seen.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        let proof = w
            .registry
            .log_consistency_proof(new.size, old.size)
            .unwrap();
        tree::check_consistency(&proof, new.size, new.root, old.size, old.root).unwrap();
    }
    for i in 0..keys.len() {
        assert_logged(&w.registry, &w.code(&format!("RACE{i}")));
    }
}
