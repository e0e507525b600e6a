//! Undoing a carton's receiving: every code's receiving corrected in one atomic change, or, when
//! any one code's correction is refused, none; on both engines (`carton_undo_on_postgres.rs`).

#![allow(clippy::unwrap_used)]

use registry::event::What;
use registry::{
    Action, CartonError, CodeKey, CodeMoved, CorrectionError, Custody, Outcome, RegistryError,
};
use signer::{CompanyPrefix, Sscc};
use testkit::world::*;

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

fn custody(w: &World, key: &CodeKey) -> Custody {
    w.registry
        .status(key)
        .unwrap()
        .unwrap()
        .record
        .custody
        .custody
        .clone()
}

fn events(w: &World, keys: &[CodeKey]) -> Vec<u32> {
    keys.iter()
        .map(|k| w.registry.status(k).unwrap().unwrap().record.events)
        .collect()
}

/// Why one code's correction refused a carton's undo.
fn undo_refused(refusal: CartonError) -> CorrectionError {
    match refusal {
        CartonError::UndoRefused { why, .. } => *why,
        other => panic!("expected one code's correction refused, got {other}"),
    }
}

/// What a station keeps of a carton's receiving: each code and its receiving's event.
fn receipt(moved: &[CodeMoved]) -> Vec<(CodeKey, u32)> {
    moved.iter().map(|m| (m.key.clone(), m.event.seq)).collect()
}

/// A pallet of two cartons (codes `C000`..`C005`) the maker shipped to `dist-1` and `dist-1`
/// received on day 4: the codes and the receiving.
fn received_pallet(w: &World) -> (Vec<CodeKey>, Vec<(CodeKey, u32)>) {
    w.add_parties(&["dist-1", "shop-1", "shop-2"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys: Vec<CodeKey> = (0..6).map(|i| w.registered(&format!("C{i:03}"))).collect();
    let typed = |keys: &[CodeKey]| keys.iter().map(|k| (k.clone(), None)).collect::<Vec<_>>();
    r.pack_carton(&maker, &sscc(1), &typed(&keys[..3]), &[], day(2))
        .unwrap();
    r.pack_carton(&maker, &sscc(2), &typed(&keys[3..]), &[], day(2))
        .unwrap();
    r.pack_carton(&maker, &sscc(100), &[], &[sscc(1), sscc(2)], day(2))
        .unwrap();
    r.ship_carton(&maker, &sscc(100), &party("dist-1"), day(3))
        .unwrap();
    let received = r
        .receive_carton(&party("dist-1"), &sscc(100), day(4))
        .unwrap();
    (keys, receipt(&received))
}

#[test]
fn undoing_a_pallets_receiving_restores_every_codes_custody_and_names_the_carton() {
    let w = World::new();
    let (keys, received) = received_pallet(&w);
    let r = &w.registry;
    let in_transit = Custody::InTransit {
        from: w.maker_party(),
        to: party("dist-1"),
    };
    let undone = r
        .undo_carton_receiving(
            &party("dist-1"),
            &sscc(100),
            &received,
            "wrong pallet",
            day(5),
        )
        .unwrap();
    assert_eq!(undone.len(), keys.len());
    for ((key, seq), moved) in received.iter().zip(&undone) {
        assert_eq!(&moved.key, key);
        assert_eq!(custody(&w, key), in_transit, "{key}");
        let history = r.history(key).unwrap().unwrap();
        let last = history.events.last().unwrap();
        assert_eq!(
            last.carton,
            Some(sscc(100)),
            "the correction names the carton"
        );
        assert_eq!(
            last.what,
            What::Action(Action::Correct {
                corrects: *seq,
                reason: "wrong pallet".into()
            })
        );
    }
    // Undone, the pallet can be received again, by its addressee.
    r.receive_carton(&party("dist-1"), &sscc(100), day(6))
        .unwrap();
    assert!(keys.iter().all(|k| custody(&w, k)
        == Custody::Held {
            by: party("dist-1")
        }));
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn another_partys_later_event_on_one_code_refuses_the_whole_undo_and_stores_nothing() {
    let w = World::new();
    let (keys, received) = received_pallet(&w);
    let r = &w.registry;
    // A shop scanned one part's label while the distributor held it: evidence of a copy, which
    // stands on the distributor's receiving (undone, the scan would have been the part's arrival).
    let scan = r
        .record_genuine_scan(&keys[1], &party("shop-1"), Action::Receive, day(5))
        .unwrap();
    assert!(matches!(scan.event.outcome, Outcome::Conflict { .. }));
    let before = events(&w, &keys);
    let refused = r
        .undo_carton_receiving(
            &party("dist-1"),
            &sscc(100),
            &received,
            "wrong pallet",
            day(6),
        )
        .unwrap_err();
    match &refused {
        RegistryError::Carton(CartonError::UndoRefused { sscc: s, key, why }) => {
            assert_eq!(*s, sscc(100));
            assert_eq!(key, &keys[1], "names the code");
            assert!(matches!(**why, CorrectionError::DependedOn { .. }), "{why}");
        }
        other => panic!("expected the undo refused for one code, got {other:?}"),
    }
    assert!(
        refused.to_string().contains(&keys[1].to_string()),
        "{refused}"
    );
    assert_eq!(events(&w, &keys), before, "nothing stored");
    assert!(keys.iter().all(|k| custody(&w, k)
        == Custody::Held {
            by: party("dist-1")
        }));
}

#[test]
fn a_second_undo_another_partys_undo_and_a_foreign_event_are_refused() {
    let w = World::new();
    let (keys, received) = received_pallet(&w);
    let r = &w.registry;
    let refusal = |result: Result<Vec<CodeMoved>, RegistryError>| match result {
        Err(RegistryError::Carton(why)) => why,
        other => panic!("expected a carton refusal, got {other:?}"),
    };
    // Only the receiving's author may undo it.
    let other = refusal(r.undo_carton_receiving(
        &party("shop-2"),
        &sscc(100),
        &received,
        "not mine",
        day(5),
    ));
    assert!(matches!(
        undo_refused(other),
        CorrectionError::AnotherAuthor(_)
    ));
    // An event that is not this carton's receiving (the shipping before it) is not reached.
    let mut shipping = received.clone();
    shipping[0].1 -= 1;
    assert_eq!(
        refusal(r.undo_carton_receiving(&party("dist-1"), &sscc(100), &shipping, "x", day(5))),
        CartonError::NotItsReceiving {
            sscc: sscc(100),
            key: keys[0].clone(),
            event: received[0].1 - 1,
        }
    );
    let before = events(&w, &keys);
    r.undo_carton_receiving(
        &party("dist-1"),
        &sscc(100),
        &received,
        "wrong pallet",
        day(5),
    )
    .unwrap();
    assert_eq!(
        events(&w, &keys),
        before.iter().map(|n| n + 1).collect::<Vec<_>>()
    );
    let again = refusal(r.undo_carton_receiving(
        &party("dist-1"),
        &sscc(100),
        &received,
        "wrong pallet",
        day(5),
    ));
    assert!(matches!(
        undo_refused(again),
        CorrectionError::AlreadyCorrected(_)
    ));
    assert_eq!(
        events(&w, &keys),
        before.iter().map(|n| n + 1).collect::<Vec<_>>(),
        "the second undo stored nothing"
    );
    // Outside the correction window: refused whole.
    let w = World::new();
    let (_, received) = received_pallet(&w);
    let late = refusal(w.registry.undo_carton_receiving(
        &party("dist-1"),
        &sscc(100),
        &received,
        "late",
        day(400),
    ));
    assert!(matches!(
        undo_refused(late),
        CorrectionError::WindowClosed { .. }
    ));
}
