//! What the manufacturer's dashboard keeps and counts: notes beside a code's history, and lots.

#![allow(clippy::unwrap_used)]

use registry::{AlertNote, Registry};
use testkit::world::*;

fn note(at: i64, action: &str, text: &str) -> AlertNote {
    AlertNote {
        at: day(at),
        action: action.into(),
        note: text.into(),
    }
}

#[test]
fn notes_are_the_makers_own_append_only_and_survive_a_reopen_and_a_backup() {
    let w = World::new();
    let key = w.registered("NOTE0001");
    let maker = w.maker_party();
    // Two in the same second keep their order and do not overwrite each other.
    w.registry
        .add_alert_note(&maker, &key, &note(2, "investigating", "first"))
        .unwrap();
    w.registry
        .add_alert_note(&maker, &key, &note(2, "investigating", "second"))
        .unwrap();
    w.registry
        .add_alert_note(&maker, &key, &note(3, "recall", "third"))
        .unwrap();
    // Another party cannot write notes on the maker's code, nor is it told more.
    assert!(
        w.registry
            .add_alert_note(&party("rival"), &key, &note(3, "investigating", "x"))
            .is_err()
    );
    // Too long a note is refused, nothing kept.
    assert!(
        w.registry
            .add_alert_note(&maker, &key, &note(3, "investigating", &"x".repeat(501)))
            .is_err()
    );
    let texts = |r: &Registry| -> Vec<String> {
        r.alert_notes(&maker, &key)
            .unwrap()
            .into_iter()
            .map(|n| n.note)
            .collect()
    };
    assert_eq!(texts(&w.registry), ["first", "second", "third"]);
    let mut backup = Vec::new();
    w.registry.backup(&mut backup).unwrap();
    let World {
        dir,
        registry,
        database,
        ..
    } = w;
    drop(registry);
    let reopened = testkit::engine::reopen(&dir.path().join("data"), database.as_ref());
    assert_eq!(texts(&reopened), ["first", "second", "third"]);
    let (restored, _dir, _database) = testkit::engine::restore(&backup);
    assert_eq!(texts(&restored), ["first", "second", "third"]);
}

#[test]
fn lots_are_counted_and_the_walk_says_when_it_stopped() {
    let w = World::new();
    for i in 0..5 {
        w.registered(&format!("LOT{i:04}"));
    }
    let lots = w.registry.lots(&w.maker_party(), 100).unwrap();
    assert!(lots.complete);
    assert_eq!(lots.lots.len(), 1);
    assert_eq!(lots.lots[0].codes, 5);
    assert_eq!(lots.lots[0].lot.as_ref().unwrap().as_str(), "L2026A");
    let bounded = w.registry.lots(&w.maker_party(), 3).unwrap();
    assert!(!bounded.complete);
    assert_eq!((bounded.examined, bounded.lots[0].codes), (3, 3));
    assert!(
        w.registry
            .lots(&party("rival"), 100)
            .unwrap()
            .lots
            .is_empty()
    );
}
