//! Every cell of the custody table in `docs/custody-rules.md`, checked against a real registry: the
//! document is the test's expectation, so the rules and their description cannot drift apart.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use registry::{Action, CodeKey, Outcome, PartyId, Registry, Submission, Vin};
use testkit::world::*;

const RULES: &str = include_str!("../../docs/custody-rules.md");

const STEPS: [&str; 5] = ["ship", "receive", "install", "remove", "destroy"];

/// The table's rows: state, relation, and one expected word per step and basis.
fn table() -> Vec<(String, String, Vec<String>)> {
    let begin = RULES.find("<!-- custody-rules:begin -->").unwrap();
    let end = RULES.find("<!-- custody-rules:end -->").unwrap();
    let mut rows = Vec::new();
    for line in RULES[begin..end].lines().skip(3) {
        let cells: Vec<String> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        if cells.len() < 2 {
            continue;
        }
        assert_eq!(cells.len(), 2 + 2 * STEPS.len(), "row {line}");
        rows.push((cells[0].clone(), cells[1].clone(), cells[2..].to_vec()));
    }
    rows
}

const HOLDER: &str = "shop-h";
const SENDER: &str = "dist-f";
const ADDRESSEE: &str = "shop-t";
const INSTALLER: &str = "shop-s";
const VEHICLE_SHOP: &str = "shop-v";
const OTHER: &str = "shop-x";

/// A fresh code brought into `state` through real events.
fn code_in(w: &World, serial: &str, state: &str) -> CodeKey {
    let key = w.registered(serial);
    let r = &w.registry;
    let maker = w.maker_party();
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
            rec(&party(INSTALLER), Action::Install { vin: vin(VIN_A) });
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

fn vin(s: &str) -> Vin {
    Vin::parse(s).unwrap()
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

/// The action for a column; the vehicle shop names the part's vehicle, everyone else another.
fn action(step: &str, relation: &str) -> Action {
    let named = if relation == "vehicle shop" {
        vin(VIN_A)
    } else {
        vin(VIN_B)
    };
    match step {
        "ship" => Action::Ship {
            to: party("dist-z"),
        },
        "receive" => Action::Receive,
        "install" => Action::Install { vin: named },
        "remove" => Action::Remove { vin: Some(named) },
        "destroy" => Action::Destroy {
            reason: "scrapped".into(),
        },
        other => panic!("unknown step {other}"),
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

#[test]
fn every_cell_of_the_custody_table_holds() {
    let rows = table();
    assert_eq!(rows.len(), 17, "the table lost or gained rows");
    let w = World::new();
    w.add_parties(&[HOLDER, SENDER, ADDRESSEE, "dist-z"]);
    let r: &Registry = &w.registry;
    let mut cells = 0;
    let mut wrong = Vec::new();
    for (n, (state, relation, expected)) in rows.iter().enumerate() {
        for (c, want) in expected.iter().enumerate() {
            let step = STEPS[c / 2];
            let typed = c % 2 == 1;
            let serial = format!("RULE{n}X{c}");
            let key = code_in(&w, &serial, state);
            let before = r.status(&key).unwrap().unwrap().record;
            let who = actor(&w, state, relation);
            let act = action(step, relation);
            let submission = if typed {
                Submission::typed(act)
            } else {
                Submission::scanned(act, w.label(&serial))
            };
            let recorded = r.submit(&key, &who, submission, day(30)).unwrap();
            let got = word(recorded.event.outcome);
            cells += 1;
            let basis = if typed { "typed" } else { "scanned" };
            if got != want {
                wrong.push(format!(
                    "{state} / {relation} / {step}, {basis}: table says {want}, registry did {got}"
                ));
                continue;
            }
            // What each word promises, on the stored record.
            let after = r.status(&key).unwrap().unwrap().record;
            assert_eq!(after.events, before.events + 1, "every cell is recorded");
            match got {
                "applied" => assert_ne!(after.custody, before.custody),
                "evidence" => {
                    assert_eq!(after.custody, before.custody);
                    assert_eq!(after.flags.duplicate.len(), 1);
                }
                _ => {
                    assert_eq!(after.custody, before.custody, "{state}/{relation}/{step}");
                    assert!(after.flags.duplicate.is_empty());
                    let claims = u32::from(matches!(got, "claim" | "refused"));
                    assert_eq!(after.flags.claims, before.flags.claims + claims);
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, 170);
    assert!(r.audit(|_| {}).unwrap().is_clean());
}
