//! Cartons as the store keeps them: a carton move (every code's event and record, the carton each
//! code is in, the cartons' packing records) is made whole or not at all, refused whole when any
//! part of what it was judged on changed, and carried by a backup. `carton_store_on_postgres.rs`
//! runs it on the other engine.

#![allow(clippy::unwrap_used)]

use registry::carton::Carton;
use registry::store::{CartonUpdate, InCarton, MovedCode};
use registry::{
    Action, Basis, Caches, CodeKey, CodeRecord, Create, Event, Outcome, Store, StoreError,
};
use signer::Sscc;
use testkit::engine::location;
use testkit::world::*;

const CACHES: Caches = Caches {
    pages: 16 << 20,
    records: 1 << 20,
};

/// Registers `n` codes through the registry, then opens its store alone.
fn store_with_codes(
    n: usize,
) -> (
    Store,
    Vec<CodeKey>,
    tempfile::TempDir,
    Option<testkit::postgres::TestDatabase>,
) {
    let w = World::new();
    let keys: Vec<CodeKey> = (0..n).map(|i| w.registered(&format!("C{i:03}"))).collect();
    let World {
        dir,
        registry,
        database,
        ..
    } = w;
    drop(registry);
    let store = location(&dir.path().join("data"), database.as_ref())
        .open(Create::Never, CACHES)
        .unwrap();
    (store, keys, dir, database)
}

type Row = (CodeKey, CodeRecord, Event, CodeRecord);

fn code_updates(rows: &[Row]) -> Vec<MovedCode<'_>> {
    rows.iter()
        .map(|(key, before, event, after)| MovedCode {
            key,
            event: Some(event),
            notices: &[],
            before,
            after,
        })
        .collect()
}

/// What the move does to one code: an event after its last, as a carton's receiving would add.
fn moved(record: &CodeRecord, key: &CodeKey) -> (Event, CodeRecord) {
    let event = Event {
        seq: record.events,
        prev: record.head,
        at: day(3),
        actor: party("dist-1"),
        basis: Basis::Scanned,
        recall_override: false,
        vin_confirmed: false,
        carton: None,
        what: registry::event::What::Action(Action::Receive),
        outcome: Outcome::Applied,
    };
    let mut after = record.clone();
    after.events += 1;
    after.head = event.hash(key);
    (event, after)
}

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &signer::CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

fn carton(codes: &[CodeKey]) -> Carton {
    Carton {
        packed_by: party("acme-brakes"),
        packed_at: day(2),
        parent: None,
        codes: codes.to_vec(),
        cartons: vec![],
    }
}

#[test]
fn a_carton_move_is_made_whole_and_refused_whole() {
    let (store, keys, _dir, _db) = store_with_codes(5);
    let before: Vec<CodeRecord> = keys
        .iter()
        .map(|k| CodeRecord::clone(&store.code(k).unwrap().unwrap()))
        .collect();
    let changes: Vec<(Event, CodeRecord)> =
        keys.iter().zip(&before).map(|(k, r)| moved(r, k)).collect();
    let (a, b) = (sscc(1), sscc(2));
    let packed = carton(&keys[..4]);
    let updates = |befores: &[CodeRecord], n: usize| -> Vec<Row> {
        (0..n)
            .map(|i| {
                (
                    keys[i].clone(),
                    befores[i].clone(),
                    changes[i].0.clone(),
                    changes[i].1.clone(),
                )
            })
            .collect()
    };

    // Four codes packed into carton A and moved: every record, every code's carton, the carton.
    let rows = updates(&before, 4);
    let into_a: Vec<InCarton<'_>> = keys[..4]
        .iter()
        .map(|key| InCarton {
            key,
            before: None,
            after: Some(&a),
        })
        .collect();
    let new_a = [CartonUpdate {
        sscc: &a,
        before: None,
        after: Some(&packed),
    }];
    store
        .move_cartons(&code_updates(&rows), &into_a, &new_a)
        .unwrap();
    for (i, key) in keys[..4].iter().enumerate() {
        assert_eq!(*store.code(key).unwrap().unwrap(), changes[i].1);
        assert_eq!(store.events(key).unwrap().last(), Some(&changes[i].0));
        assert_eq!(store.carton_of(key).unwrap(), Some(a));
    }
    assert_eq!(store.carton(&a).unwrap(), Some(packed.clone()));
    assert_eq!(store.carton_of(&keys[4]).unwrap(), None);

    // Each way the move's premises can fail, alone, it is refused whole and nothing is written: a
    // code's record changed since it was judged (here: the move already made), codes already in a
    // carton, a carton already there.
    let stale = updates(&before, 5);
    let into_b: Vec<InCarton<'_>> = keys
        .iter()
        .map(|key| InCarton {
            key,
            before: None,
            after: Some(&b),
        })
        .collect();
    let all = carton(&keys);
    let new_b = [CartonUpdate {
        sscc: &b,
        before: None,
        after: Some(&all),
    }];
    let fresh: Vec<CodeRecord> = keys
        .iter()
        .map(|k| CodeRecord::clone(&store.code(k).unwrap().unwrap()))
        .collect();
    let fresh_rows: Vec<_> = keys
        .iter()
        .zip(&fresh)
        .map(|(k, r)| {
            let (event, after) = moved(r, k);
            (k.clone(), r.clone(), event, after)
        })
        .collect();
    let again_a = [CartonUpdate {
        sscc: &a,
        before: None,
        after: Some(&all),
    }];
    for (what, rows, in_cartons, cartons) in [
        ("stale records", &stale, &Vec::new(), &new_b),
        ("codes already in a carton", &fresh_rows, &into_b, &new_b),
        (
            "a carton already there",
            &fresh_rows[4..].to_vec(),
            &into_b[4..].to_vec(),
            &again_a,
        ),
    ] {
        let refused = store.move_cartons(&code_updates(rows), in_cartons, cartons);
        assert!(
            matches!(refused, Err(StoreError::Conflict)),
            "{what}: {refused:?}"
        );
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(*store.code(key).unwrap().unwrap(), fresh[i], "{what}");
            let expected = (i < 4).then_some(a);
            assert_eq!(store.carton_of(key).unwrap(), expected, "{what}");
        }
        assert_eq!(store.carton(&b).unwrap(), None, "{what}");
        assert_eq!(store.carton(&a).unwrap(), Some(packed.clone()), "{what}");
    }

    // Unpacking: out of the carton, and the carton's record gone, together.
    let out_of_a: Vec<InCarton<'_>> = keys[..4]
        .iter()
        .map(|key| InCarton {
            key,
            before: Some(&a),
            after: None,
        })
        .collect();
    let gone_a = [CartonUpdate {
        sscc: &a,
        before: Some(&packed),
        after: None,
    }];
    store.move_cartons(&[], &out_of_a, &gone_a).unwrap();
    assert_eq!(store.carton(&a).unwrap(), None);
    assert!(keys.iter().all(|k| store.carton_of(k).unwrap().is_none()));
    let listed: Vec<_> = store.all_cartons().collect::<Result<_, _>>().unwrap();
    assert!(listed.is_empty());
}

#[test]
fn a_backup_carries_the_cartons_and_what_each_code_is_in() {
    let (store, keys, _dir, _db) = store_with_codes(2);
    let a = sscc(7);
    let packed = carton(&keys);
    let in_a: Vec<InCarton<'_>> = keys
        .iter()
        .map(|key| InCarton {
            key,
            before: None,
            after: Some(&a),
        })
        .collect();
    let new_a = [CartonUpdate {
        sscc: &a,
        before: None,
        after: Some(&packed),
    }];
    store.move_cartons(&[], &in_a, &new_a).unwrap();
    let mut backup = Vec::new();
    store.backup(&mut backup).unwrap();
    let (restored, dir, database) = testkit::engine::restore(&backup);
    drop(restored);
    let store = location(&dir.path().join("data"), database.as_ref())
        .open(Create::Never, CACHES)
        .unwrap();
    assert_eq!(store.carton(&a).unwrap(), Some(packed));
    let listed: Vec<(CodeKey, Sscc)> = store.all_code_cartons().collect::<Result<_, _>>().unwrap();
    let mut expected: Vec<(CodeKey, Sscc)> = keys.iter().map(|k| (k.clone(), a)).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

#[test]
fn the_audit_checks_each_carton_against_what_its_codes_are_in() {
    let (store, keys, dir, database) = store_with_codes(3);
    let a = sscc(9);
    let packed = carton(&keys[..2]);
    let in_a: Vec<InCarton<'_>> = keys[..2]
        .iter()
        .map(|key| InCarton {
            key,
            before: None,
            after: Some(&a),
        })
        .collect();
    let new_a = [CartonUpdate {
        sscc: &a,
        before: None,
        after: Some(&packed),
    }];
    store.move_cartons(&[], &in_a, &new_a).unwrap();
    let audit = |store: Store| {
        drop(store);
        let registry = testkit::engine::reopen(&dir.path().join("data"), database.as_ref());
        let report = registry.audit(|_| {}).unwrap();
        drop(registry);
        let store = location(&dir.path().join("data"), database.as_ref())
            .open(Create::Never, CACHES)
            .unwrap();
        (report, store)
    };
    let (report, store) = audit(store);
    assert!(report.is_clean(), "{:?}", report.problems);

    // One side changed without the other (only a damaged store does this): each is found.
    let out = [InCarton {
        key: &keys[0],
        before: Some(&a),
        after: None,
    }];
    store.move_cartons(&[], &out, &[]).unwrap();
    let stray = [InCarton {
        key: &keys[2],
        before: None,
        after: Some(&a),
    }];
    store.move_cartons(&[], &stray, &[]).unwrap();
    let (report, _store) = audit(store);
    let problems = report.problems.join("\n");
    assert!(
        problems.contains(&format!(
            "carton {a} holds {}, which is not recorded in it",
            keys[0]
        )),
        "{problems}"
    );
    assert!(
        problems.contains(&format!(
            "{} is recorded in carton {a}, which does not hold it",
            keys[2]
        )),
        "{problems}"
    );
    assert_eq!(report.problems.len(), 2, "{problems}");
}
