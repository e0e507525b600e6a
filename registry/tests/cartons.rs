//! Cartons and pallets in the registry: packing, shipping, receiving and unpacking, each code
//! judged by its own rules and the whole carton moved or not at all; and the carton attacks
//! (`DOMAIN.md`, attack 7). `cartons_on_postgres.rs` runs them on the other engine.

#![allow(clippy::unwrap_used)]

use registry::{Action, CartonError, CodeKey, Custody, Outcome, PartyId, RegistryError};
use signer::{CompanyPrefix, Sscc};
use testkit::world::*;

/// A carton number under the maker's prefix.
fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

/// A carton number under another company's prefix.
fn foreign_sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("471234").unwrap(), n).unwrap()
}

fn carton_error(result: Result<impl std::fmt::Debug, RegistryError>) -> CartonError {
    match result {
        Err(RegistryError::Carton(why)) => why,
        other => panic!("expected a carton refusal, got {other:?}"),
    }
}

fn typed(keys: &[CodeKey]) -> Vec<(CodeKey, Option<signer::DigitalLink>)> {
    keys.iter().map(|k| (k.clone(), None)).collect()
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

fn events(w: &World, key: &CodeKey) -> u32 {
    w.registry.status(key).unwrap().unwrap().record.events
}

/// The maker's codes `C000`…, registered.
fn registered(w: &World, n: usize) -> Vec<CodeKey> {
    (0..n).map(|i| w.registered(&format!("C{i:03}"))).collect()
}

#[test]
fn a_carton_moves_every_part_in_it_and_each_history_names_the_carton() {
    let w = World::new();
    w.add_parties(&["dist-1", "shop-1"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 5);
    let labelled: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), Some(w.label(&format!("C{i:03}")))))
        .collect();
    let carton = r
        .pack_carton(&maker, &sscc(1), &labelled, &[], day(2))
        .unwrap();
    assert_eq!(carton.codes, keys);
    assert_eq!(r.carton(&sscc(1)).unwrap(), Some(carton));
    assert!(
        keys.iter()
            .all(|k| r.carton_of(k).unwrap() == Some(sscc(1)))
    );

    let shipped = r
        .ship_carton(&maker, &sscc(1), &party("dist-1"), day(3))
        .unwrap();
    assert_eq!(shipped.len(), 5);
    let received = r
        .receive_carton(&party("dist-1"), &sscc(1), day(4))
        .unwrap();
    assert!(received.iter().all(|m| m.event.outcome == Outcome::Applied));
    for key in &keys {
        assert_eq!(
            custody(&w, key),
            Custody::Held {
                by: party("dist-1")
            }
        );
        let history = r.history(key).unwrap().unwrap();
        let last = history.events.last().unwrap();
        assert_eq!(last.carton, Some(sscc(1)), "which carton");
        assert_eq!(last.actor, party("dist-1"), "whose");
        assert_eq!(last.what, registry::event::What::Action(Action::Receive));
    }
    // The distributor breaks the carton and ships a part on by itself.
    r.unpack_carton(&party("dist-1"), &sscc(1)).unwrap();
    assert_eq!(r.carton(&sscc(1)).unwrap(), None);
    assert!(keys.iter().all(|k| r.carton_of(k).unwrap().is_none()));
    r.record_genuine_scan(
        &keys[0],
        &party("dist-1"),
        Action::Ship {
            to: party("shop-1"),
        },
        day(5),
    )
    .unwrap();
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn a_pallet_of_cartons_moves_as_one_and_its_cartons_only_after_it_is_broken() {
    let w = World::new();
    w.add_parties(&["dist-1", "shop-1"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 6);
    r.pack_carton(&maker, &sscc(1), &typed(&keys[..3]), &[], day(2))
        .unwrap();
    r.pack_carton(&maker, &sscc(2), &typed(&keys[3..]), &[], day(2))
        .unwrap();
    r.pack_carton(&maker, &sscc(100), &[], &[sscc(1), sscc(2)], day(2))
        .unwrap();
    assert_eq!(r.carton(&sscc(1)).unwrap().unwrap().parent, Some(sscc(100)));
    // A carton inside a pallet moves with the pallet.
    let nested = r.ship_carton(&maker, &sscc(1), &party("dist-1"), day(3));
    assert_eq!(carton_error(nested), CartonError::Nested(sscc(1)));
    r.ship_carton(&maker, &sscc(100), &party("dist-1"), day(3))
        .unwrap();
    let received = r
        .receive_carton(&party("dist-1"), &sscc(100), day(4))
        .unwrap();
    assert_eq!(received.len(), 6);
    assert!(keys.iter().all(|k| custody(&w, k)
        == Custody::Held {
            by: party("dist-1")
        }));
    // Broken into cartons, which go on to a shop.
    r.unpack_carton(&party("dist-1"), &sscc(100)).unwrap();
    assert_eq!(r.carton(&sscc(1)).unwrap().unwrap().parent, None);
    r.ship_carton(&party("dist-1"), &sscc(1), &party("shop-1"), day(5))
        .unwrap();
    r.receive_carton(&party("shop-1"), &sscc(1), day(6))
        .unwrap();
    assert!(keys[..3].iter().all(|k| custody(&w, k)
        == Custody::Held {
            by: party("shop-1")
        }));
    assert!(keys[3..].iter().all(|k| custody(&w, k)
        == Custody::Held {
            by: party("dist-1")
        }));
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[test]
fn only_the_holder_of_every_part_packs_ships_or_unpacks_and_a_refusal_stores_nothing() {
    let w = World::new();
    w.add_parties(&["dist-1", "dist-2"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 3);
    // One part went to dist-2 on its own: the maker no longer holds it.
    r.record_genuine_scan(
        &keys[2],
        &maker,
        Action::Ship {
            to: party("dist-2"),
        },
        day(2),
    )
    .unwrap();
    r.record_genuine_scan(&keys[2], &party("dist-2"), Action::Receive, day(2))
        .unwrap();
    let refused = r.pack_carton(&maker, &sscc(1), &typed(&keys), &[], day(3));
    assert_eq!(carton_error(refused), CartonError::NotHolder(sscc(1)));
    assert_eq!(r.carton(&sscc(1)).unwrap(), None);
    assert!(keys.iter().all(|k| r.carton_of(k).unwrap().is_none()));

    r.pack_carton(&maker, &sscc(1), &typed(&keys[..2]), &[], day(3))
        .unwrap();
    let before: Vec<u32> = keys.iter().map(|k| events(&w, k)).collect();
    for (who, attempt) in [
        (
            "ship",
            r.ship_carton(&party("dist-2"), &sscc(1), &party("dist-1"), day(4))
                .map(|_| ()),
        ),
        (
            "unpack",
            r.unpack_carton(&party("dist-2"), &sscc(1)).map(|_| ()),
        ),
    ] {
        assert_eq!(
            carton_error(attempt),
            CartonError::NotHolder(sscc(1)),
            "{who}"
        );
    }
    let after: Vec<u32> = keys.iter().map(|k| events(&w, k)).collect();
    assert_eq!(before, after, "nothing stored");
    assert!(r.carton(&sscc(1)).unwrap().is_some());
}

#[test]
fn bad_packings_are_refused_with_their_reason_and_nothing_stored() {
    let w = World::new();
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 3);
    let refusal = |result| carton_error(result).code();
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &[], &[], day(2))),
        "carton_empty"
    );
    assert_eq!(
        refusal(r.pack_carton(&maker, &foreign_sscc(1), &typed(&keys), &[], day(2))),
        "sscc_prefix"
    );
    let twice = typed(&[keys[0].clone(), keys[1].clone(), keys[0].clone()]);
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &twice, &[], day(2))),
        "packed_twice"
    );
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &typed(&keys), &[sscc(1)], day(2))),
        "carton_cycle"
    );
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &typed(&keys), &[sscc(9)], day(2))),
        "unknown_carton"
    );
    let many: Vec<CodeKey> = (0..10_000)
        .map(|i| CodeKey::parse(GTIN, &format!("M{i}")).unwrap())
        .collect();
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &typed(&many), &[], day(2))),
        "carton_too_large"
    );
    assert_eq!(r.carton(&sscc(1)).unwrap(), None);

    // A code in at most one carton; a carton number packed once; a carton in at most one carton.
    r.pack_carton(&maker, &sscc(1), &typed(&keys[..2]), &[], day(2))
        .unwrap();
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(2), &typed(&keys[1..]), &[], day(2))),
        "already_packed"
    );
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(1), &typed(&keys[2..]), &[], day(2))),
        "carton_exists"
    );
    r.pack_carton(&maker, &sscc(3), &[], &[sscc(1)], day(2))
        .unwrap();
    assert_eq!(
        refusal(r.pack_carton(&maker, &sscc(4), &[], &[sscc(1)], day(2))),
        "already_packed"
    );
    let unknown = r.receive_carton(&maker, &sscc(7), day(3));
    assert_eq!(carton_error(unknown).code(), "unknown_carton");
    assert!(r.carton_of(&keys[2]).unwrap().is_none());
    // A party that is no certified maker packs under any well-formed SSCC.
    w.add_parties(&["dist-1"]);
    r.ship_carton(&maker, &sscc(3), &party("dist-1"), day(3))
        .unwrap();
    r.receive_carton(&party("dist-1"), &sscc(3), day(3))
        .unwrap();
    r.unpack_carton(&party("dist-1"), &sscc(3)).unwrap();
    r.unpack_carton(&party("dist-1"), &sscc(1)).unwrap();
    r.pack_carton(
        &party("dist-1"),
        &foreign_sscc(5),
        &typed(&keys[..2]),
        &[],
        day(4),
    )
    .unwrap();
}

#[test]
fn attack_copies_packed_under_a_genuine_carton_number_move_nothing() {
    // A counterfeiter holding copies of genuine labels packs them into a carton under a genuine
    // SSCC: it holds none of the genuine parts, so nothing is packed and nothing is stored.
    let w = World::new();
    w.add_parties(&["fake-co"]);
    let r = &w.registry;
    let keys = registered(&w, 2);
    let copies: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), Some(w.label(&format!("C{i:03}")))))
        .collect();
    let refused = r.pack_carton(&party("fake-co"), &sscc(1), &copies, &[], day(2));
    assert_eq!(carton_error(refused), CartonError::NotHolder(sscc(1)));
    assert_eq!(r.carton(&sscc(1)).unwrap(), None);
    assert!(keys.iter().all(|k| events(&w, k) == 1));
}

#[test]
fn attack_a_copied_carton_label_received_elsewhere_is_a_claim_per_part_and_flags_nothing() {
    // The genuine carton is on its way to dist-1; a copy of its label turns up at fake-co, which
    // "receives" it. A carton number proves nothing about the parts: each code gets a claim for
    // the maker, custody stays, no part is flagged.
    let w = World::new();
    w.add_parties(&["dist-1", "fake-co"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 3);
    r.pack_carton(&maker, &sscc(1), &typed(&keys), &[], day(2))
        .unwrap();
    r.ship_carton(&maker, &sscc(1), &party("dist-1"), day(3))
        .unwrap();
    let copied = r
        .receive_carton(&party("fake-co"), &sscc(1), day(4))
        .unwrap();
    assert!(
        copied
            .iter()
            .all(|m| matches!(m.event.outcome, Outcome::Claim { .. }))
    );
    for key in &keys {
        let record = r.status(key).unwrap().unwrap().record;
        assert_eq!(
            record.custody.custody,
            Custody::InTransit {
                from: maker.clone(),
                to: party("dist-1")
            }
        );
        assert!(
            !record.flags.alerting(),
            "a copied carton label flags no part"
        );
    }
    // The real carton still arrives.
    let real = r
        .receive_carton(&party("dist-1"), &sscc(1), day(5))
        .unwrap();
    assert!(real.iter().all(|m| m.event.outcome == Outcome::Applied));
}

#[test]
fn attack_a_part_swapped_out_of_a_sealed_carton_is_flagged_by_its_own_later_scan() {
    // Someone opens the carton on the way, takes a genuine part out and puts a copy in its place.
    // The carton's receiving records the genuine code as received by the shop: inference cannot
    // tell. The genuine part's own label, scanned later somewhere else, is the conflict.
    let w = World::new();
    w.add_parties(&["shop-1", "shop-2"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 3);
    r.pack_carton(&maker, &sscc(1), &typed(&keys), &[], day(2))
        .unwrap();
    r.ship_carton(&maker, &sscc(1), &party("shop-1"), day(3))
        .unwrap();
    r.receive_carton(&party("shop-1"), &sscc(1), day(4))
        .unwrap();
    assert_eq!(
        custody(&w, &keys[1]),
        Custody::Held {
            by: party("shop-1")
        }
    );
    let swapped_out = r
        .submit(
            &keys[1],
            &party("shop-2"),
            registry::Submission::scanned(Action::Receive, w.label("C001")),
            day(6),
        )
        .unwrap();
    assert!(matches!(
        swapped_out.event.outcome,
        Outcome::Conflict { .. }
    ));
    assert!(swapped_out.record.flags.alerting());
    // The parts left in the carton are untouched.
    assert!(!r.status(&keys[0]).unwrap().unwrap().record.flags.alerting());
}

#[test]
fn two_shipments_of_one_carton_at_once_move_every_part_the_same_way() {
    // Two shipments of the same carton race: each is judged under every part's lock and made as
    // one atomic change, so whichever lands last, no part is left behind the others.
    let w = World::new();
    w.add_parties(&["dist-1", "dist-2"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 20);
    r.pack_carton(&maker, &sscc(1), &typed(&keys), &[], day(2))
        .unwrap();
    let to: [PartyId; 2] = [party("dist-1"), party("dist-2")];
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = to
            .iter()
            .map(|to| {
                let maker = &maker;
                s.spawn(move || r.ship_carton(maker, &sscc(1), to, day(3)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let shipped: Vec<_> = results.iter().filter(|r| r.is_ok()).collect();
    // The maker may ship twice in a row (the sender re-addresses): what matters is that every
    // part went the same way.
    assert!(!shipped.is_empty());
    let first = custody(&w, &keys[0]);
    assert!(
        keys.iter().all(|k| custody(&w, k) == first),
        "every part moved together"
    );
}

/// A distributor takes two parts and a carton out of a pallet and leaves the rest packed; naming
/// something that is not directly inside, or naming it twice, takes nothing out; the last content
/// taken out leaves no carton behind.
#[test]
fn unpacking_named_contents_leaves_the_rest_packed() {
    let w = World::new();
    w.add_parties(&["dist-1"]);
    let r = &w.registry;
    let maker = w.maker_party();
    let keys = registered(&w, 6);
    r.pack_carton(&maker, &sscc(1), &typed(&keys[..2]), &[], day(2))
        .unwrap();
    r.pack_carton(&maker, &sscc(2), &typed(&keys[2..]), &[sscc(1)], day(2))
        .unwrap();
    let before = r.carton(&sscc(2)).unwrap();

    // The maker holds everything; another party may not even learn what is inside.
    let refused = r.unpack_from(&party("dist-1"), &sscc(2), &keys[2..3], &[]);
    assert_eq!(carton_error(refused), CartonError::NotHolder(sscc(2)));
    // A code packed in the inner carton is not directly in the pallet.
    let refused = r.unpack_from(&maker, &sscc(2), &keys[0..1], &[]);
    assert_eq!(
        carton_error(refused),
        CartonError::NotInside {
            carton: sscc(2),
            what: keys[0].to_string()
        }
    );
    let twice = [keys[2].clone(), keys[2].clone()];
    let refused = r.unpack_from(&maker, &sscc(2), &twice, &[]);
    assert_eq!(
        carton_error(refused),
        CartonError::CodeTwice(keys[2].clone())
    );
    assert_eq!(r.carton(&sscc(2)).unwrap(), before, "nothing taken out");

    let taken = r
        .unpack_from(&maker, &sscc(2), &keys[2..4], &[sscc(1)])
        .unwrap();
    assert_eq!(
        (taken.codes, taken.cartons),
        (keys[2..4].to_vec(), vec![sscc(1)])
    );
    let left = r.carton(&sscc(2)).unwrap().unwrap();
    assert_eq!((left.codes, left.cartons), (keys[4..].to_vec(), vec![]));
    assert!(keys[2..4].iter().all(|k| r.carton_of(k).unwrap().is_none()));
    assert!(
        keys[4..]
            .iter()
            .all(|k| r.carton_of(k).unwrap() == Some(sscc(2)))
    );
    // The inner carton is on its own now, still holding its parts.
    assert_eq!(r.carton(&sscc(1)).unwrap().unwrap().parent, None);
    assert!(
        keys[..2]
            .iter()
            .all(|k| r.carton_of(k).unwrap() == Some(sscc(1)))
    );

    // Shipping the rest moves only what is left in it.
    let moved = r
        .ship_carton(&maker, &sscc(2), &party("dist-1"), day(3))
        .unwrap();
    assert_eq!(moved.len(), 2);
    assert_eq!(events(&w, &keys[2]), 1, "a part taken out did not move");

    // Taking out the last contents leaves no carton.
    r.receive_carton(&party("dist-1"), &sscc(2), day(4))
        .unwrap();
    r.unpack_from(&party("dist-1"), &sscc(2), &keys[4..], &[])
        .unwrap();
    assert_eq!(r.carton(&sscc(2)).unwrap(), None);
    let audit = r.audit(|_| {}).unwrap();
    assert!(audit.is_clean(), "{audit:?}");
}
