//! Every cell of the carton table in `docs/custody-rules.md`, checked against a real registry, as
//! `custody_rules.rs` checks the custody table: the document is the expectation.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use registry::{Action, CartonError, CodeKey, Outcome, PartyId, Registry, RegistryError, Vin};
use signer::{CompanyPrefix, Sscc};
use testkit::world::*;

const RULES: &str = include_str!("../../docs/custody-rules.md");

const COLUMNS: [&str; 4] = ["pack", "ship", "receive", "unpack"];

/// The table's rows: state, relation, and one expected word per column.
fn table() -> Vec<(String, String, Vec<String>)> {
    let begin = RULES.find("<!-- carton-rules:begin -->").unwrap();
    let end = RULES.find("<!-- carton-rules:end -->").unwrap();
    RULES[begin..end]
        .lines()
        .skip(3)
        .filter_map(|line| {
            let cells: Vec<String> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            (cells.len() >= 2).then(|| {
                assert_eq!(cells.len(), 2 + COLUMNS.len(), "row {line}");
                (cells[0].clone(), cells[1].clone(), cells[2..].to_vec())
            })
        })
        .collect()
}

const HOLDER: &str = "shop-h";
const SENDER: &str = "dist-f";
const ADDRESSEE: &str = "shop-t";
const INSTALLER: &str = "shop-s";
const VEHICLE_SHOP: &str = "shop-v";
const OTHER: &str = "shop-x";

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

/// A fresh code, packed by its maker into carton `carton` if one is given, then brought into
/// `state` through real scans of its own label.
fn code_in(w: &World, serial: &str, state: &str, carton: Option<&Sscc>) -> CodeKey {
    let key = w.registered(serial);
    let r = &w.registry;
    let maker = w.maker_party();
    if let Some(carton) = carton {
        r.pack_carton(&maker, carton, &[(key.clone(), None)], &[], day(1))
            .unwrap();
    }
    let mut at = 2;
    let mut rec = |actor: &PartyId, action: Action| {
        let recorded = r.record_genuine_scan(&key, actor, action, day(at)).unwrap();
        assert_eq!(
            recorded.event.outcome,
            Outcome::Applied,
            "setting up {state}"
        );
        at += 1;
    };
    let vin = Vin::parse(VIN_A).unwrap();
    match state {
        "at_manufacturer" => {}
        "held" => {
            rec(&maker, Action::Ship { to: party(HOLDER) });
            rec(&party(HOLDER), Action::Receive);
        }
        "in_transit" => {
            rec(&maker, Action::Ship { to: party(SENDER) });
            rec(&party(SENDER), Action::Receive);
            rec(
                &party(SENDER),
                Action::Ship {
                    to: party(ADDRESSEE),
                },
            );
        }
        "installed" => {
            rec(&party(INSTALLER), Action::Receive);
            rec(&party(INSTALLER), Action::Install { vin });
        }
        "destroyed" => {
            rec(&party(HOLDER), Action::Receive);
            rec(
                &party(HOLDER),
                Action::Destroy {
                    reason: "scrapped".into(),
                },
            );
        }
        "voided" => rec(
            &maker,
            Action::Decommission {
                reason: "misprint".into(),
            },
        ),
        other => panic!("unknown state {other}"),
    }
    key
}

fn actor(w: &World, state: &str, relation: &str) -> PartyId {
    match (state, relation) {
        ("at_manufacturer", "holder") | (_, "manufacturer") => w.maker_party(),
        (_, "holder") => party(HOLDER),
        (_, "sender") => party(SENDER),
        (_, "addressee") => party(ADDRESSEE),
        (_, "installer") => party(INSTALLER),
        (_, "vehicle shop") => party(VEHICLE_SHOP),
        (_, "other") => party(OTHER),
        other => panic!("unknown relation {other:?}"),
    }
}

fn word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Applied => "applied",
        Outcome::Repeated => "repeated",
        Outcome::Conflict { .. } => "evidence",
        Outcome::Claim { .. } => "claim",
        Outcome::Refused { .. } => "refused",
    }
}

/// The word for a whole-carton answer: applied, or refused (nothing stored) for `not_holder`.
fn answer<T>(
    result: Result<T, RegistryError>,
    moved: impl FnOnce(T) -> &'static str,
) -> &'static str {
    match result {
        Ok(done) => moved(done),
        Err(RegistryError::Carton(CartonError::NotHolder(_))) => "refused",
        Err(e) => panic!("unexpected refusal: {e}"),
    }
}

#[test]
fn every_cell_of_the_carton_table_holds() {
    let rows = table();
    assert_eq!(rows.len(), 17, "the table lost or gained rows");
    let w = World::new();
    w.add_parties(&[HOLDER, SENDER, ADDRESSEE, "dist-z"]);
    let r: &Registry = &w.registry;
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (n, (state, relation, expected)) in rows.iter().enumerate() {
        for (c, want) in expected.iter().enumerate() {
            let column = COLUMNS[c];
            let serial = format!("CARTON{n}X{c}");
            let carton = sscc((n * 10 + c) as u64);
            let packed_first = column != "pack";
            let key = code_in(&w, &serial, state, packed_first.then_some(&carton));
            let before = r.status(&key).unwrap().unwrap().record;
            let who = actor(&w, state, relation);
            let single = |moved: Vec<registry::CodeMoved>| word(moved[0].event.outcome);
            let got = match column {
                "pack" => answer(
                    r.pack_carton(&who, &carton, &[(key.clone(), None)], &[], day(30)),
                    |_| "applied",
                ),
                "ship" => answer(
                    r.ship_carton(&who, &carton, &party("dist-z"), day(30)),
                    single,
                ),
                "receive" => answer(r.receive_carton(&who, &carton, day(30)), single),
                _ => answer(r.unpack_carton(&who, &carton), |_| "applied"),
            };
            cells += 1;
            if got != want {
                wrong.push(format!(
                    "{state} / {relation} / {column}: table says {want}, registry did {got}"
                ));
                continue;
            }
            let after = r.status(&key).unwrap().unwrap().record;
            let in_carton = r.carton_of(&key).unwrap();
            match (column, got) {
                // Packing and unpacking change what the code is in, never its custody or history.
                ("pack", "applied") => assert_eq!(in_carton, Some(carton)),
                ("unpack", "applied") => assert_eq!(in_carton, None),
                (_, "refused") => {
                    assert_eq!(after, before, "a refusal stores nothing");
                    assert_eq!(in_carton, packed_first.then_some(carton));
                }
                (_, "applied") => assert_ne!(after.custody, before.custody),
                _ => {
                    assert_eq!(after.custody, before.custody);
                    assert!(!after.flags.alerting(), "a carton never flags a part");
                }
            }
            if matches!(column, "ship" | "receive") && got != "refused" {
                assert_eq!(after.events, before.events + 1, "one event per code");
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, 68);
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}
