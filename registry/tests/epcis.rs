//! The EPCIS export of a real history (registered, shipped, installed, cloned, corrected, recalled,
//! resolved, destroyed), validated against the official GS1 EPCIS 2.0 JSON Schema
//! (`standards/epcis-2.0-json-schema.json`, draft-07) and checked field by field.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::HashSet;

use registry::epcis::{BIZ_STEP_RECALLING, BIZ_STEP_RESOLVING, ERROR_REASON};
use registry::{
    Action, CodeKey, History, Outcome, PartyId, Registry, RegistryConfig, Resolution, Vin,
    history_document,
};
use serde_json::{Value, json};
use signer::{
    Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, PartId, Serial, SignedCode, SigningKey,
    Timestamp, keys,
};
use testkit::world::add_parties;

const SCHEMA: &str = include_str!("standards/epcis-2.0-json-schema.json");
const GTIN: &str = "06901234567892";
const SERIAL: &str = "X7K2P9QD4M";
const LOT: &str = "L2026A";
const VIN: &str = "LSVAU218XN2183294";
const OTHER_VIN: &str = "1M8GDM9AXKP042788";

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::draft7::options()
        // Formats (date-time, uri) are part of what the schema says; check them, whatever the
        // crate's default for the draft.
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn schema_errors(document: &Value) -> Vec<String> {
    validator()
        .iter_errors(document)
        .map(|e| format!("{} (at {})", e, e.instance_path()))
        .collect()
}

fn assert_valid(document: &Value) {
    let errors = schema_errors(document);
    assert!(
        errors.is_empty(),
        "{} schema errors:\n{}\n\ndocument:\n{}",
        errors.len(),
        errors.join("\n"),
        serde_json::to_string_pretty(document).unwrap()
    );
}

#[test]
fn the_vendored_schema_accepts_a_minimal_document_and_needs_each_field() {
    let minimal = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-02T08:00:00Z",
        "epcisBody": { "eventList": [] },
    });
    assert_valid(&minimal);
    for field in [
        "type",
        "@context",
        "schemaVersion",
        "creationDate",
        "epcisBody",
    ] {
        let mut broken = minimal.clone();
        broken.as_object_mut().unwrap().remove(field);
        assert!(
            !schema_errors(&broken).is_empty(),
            "accepted without {field}"
        );
    }
}

fn p(id: &str) -> PartyId {
    PartyId::parse(id).unwrap()
}

fn t0() -> Timestamp {
    Timestamp::parse("2026-11-02T08:00:00Z").unwrap()
}

fn at(hours: i64) -> Timestamp {
    Timestamp(t0().0 + hours * 3600)
}

struct Setup {
    _dir: tempfile::TempDir,
    registry: Registry,
    _database: Option<testkit::postgres::TestDatabase>,
    maker: SigningKey,
}

/// A registry that trusts one authority, which certified `acme-brakes` for prefix 690123.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (registry, database) =
        testkit::engine::open_registry(dir.path(), RegistryConfig::default());
    let (authority, maker) = (keys::generate(), keys::generate());
    let cert = Certificate::issue(
        CertificateBody {
            serial: 1,
            manufacturer_id: "acme-brakes".into(),
            legal_name: "Acme Brakes".into(),
            public_key: maker.verifying_key(),
            prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
            not_before: t0().plus_days(-1),
            not_after: t0().plus_days(365),
        },
        &authority,
    )
    .unwrap();
    registry
        .add_root(authority.verifying_key(), t0().plus_days(-1))
        .unwrap();
    registry.add_certificate(cert, t0().plus_days(-1)).unwrap();
    add_parties(&registry, &["dist-1", "shop-1"]);
    Setup {
        _dir: dir,
        registry,
        _database: database,
        maker,
    }
}

fn register(s: &Setup, serial: &str, lot: &str) -> CodeKey {
    let part = PartId {
        gtin: Gtin::parse(GTIN).unwrap(),
        lot: Some(Lot::parse(lot).unwrap()),
        serial: Serial::parse(serial).unwrap(),
    };
    let code = SignedCode::sign(part.clone(), &s.maker);
    let results = s.registry.register(&[code], None, t0()).unwrap();
    assert_eq!(results[0].code(), "registered");
    CodeKey::of(&part)
}

/// The whole life of one code, one event an hour; returns the history.
fn full_history(s: &Setup) -> (CodeKey, History) {
    let key = register(s, SERIAL, LOT);
    let (acme, dist, shop, shop2) = (p("acme-brakes"), p("dist-1"), p("shop-1"), p("shop-2"));
    let steps: Vec<(PartyId, Action)> = vec![
        (acme.clone(), Action::Ship { to: dist.clone() }), // 1
        (dist.clone(), Action::Receive),                   // 2
        (dist.clone(), Action::Ship { to: shop.clone() }), // 3
        (shop.clone(), Action::Receive),                   // 4
        (
            shop.clone(),
            Action::Install {
                vin: Vin::parse(VIN).unwrap(),
            },
        ), // 5
        // A clone of the label, fitted to another car by another shop: a conflict.
        (
            shop2.clone(),
            Action::Install {
                vin: Vin::parse(OTHER_VIN).unwrap(),
            },
        ), // 6
        (
            shop2.clone(),
            Action::Correct {
                corrects: 6,
                reason: "scanned the label of the part on the bench, not the one fitted".into(),
            },
        ), // 7
        (shop.clone(), Action::Remove { vin: None }), // 8
        (
            acme.clone(),
            Action::Recall {
                reason: "friction material below spec".into(),
            },
        ), // 9
        (
            acme.clone(),
            Action::Resolve {
                resolution: Resolution::Genuine,
                genuine: None,
                note: "shop-2 mis-scanned; withdrawn by its correction".into(),
            },
        ), // 10
        (
            shop.clone(),
            Action::Destroy {
                reason: "recalled part scrapped".into(),
            },
        ), // 11
    ];
    for (i, (actor, action)) in steps.into_iter().enumerate() {
        let hour = i as i64 + 1;
        let recorded = s
            .registry
            .record_genuine_scan(&key, &actor, action, at(hour))
            .unwrap();
        let conflict = matches!(recorded.event.outcome, Outcome::Conflict { .. });
        assert_eq!(conflict, hour == 6, "event {hour}: {:?}", recorded.event);
        if hour == 9 {
            // The whole lot is recalled half an hour after this code was.
            s.registry
                .recall_lot(
                    &Gtin::parse(GTIN).unwrap(),
                    &Lot::parse(LOT).unwrap(),
                    &acme,
                    "friction material below spec",
                    Timestamp(at(9).0 + 1800),
                )
                .unwrap();
        }
    }
    let history = s.registry.history(&key).unwrap().unwrap();
    assert_eq!(history.events.len(), 12);
    assert!(history.lot_recall.is_some());
    (key, history)
}

fn chain_id(history: &History, seq: usize) -> String {
    let hex: String = history.events[seq]
        .hash(&history.key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("ni:///sha-256;{hex}?ver=partseal-event-v1")
}

fn events(document: &Value) -> &Vec<Value> {
    document["epcisBody"]["eventList"].as_array().unwrap()
}

#[test]
fn a_full_history_exports_to_a_valid_epcis_document() {
    let s = setup();
    let (key, history) = full_history(&s);
    let created = at(24);
    let document = s.registry.export_epcis(&key, created).unwrap().unwrap();
    assert_valid(&document);

    // Deterministic, and the same as the free function on the same history.
    assert_eq!(document, history_document(&history, created).unwrap());
    assert_eq!(document["type"], "EPCISDocument");
    assert_eq!(document["schemaVersion"], "2.0");
    assert_eq!(document["creationDate"], "2026-11-03T08:00:00Z");
    assert_eq!(
        document["@context"],
        json!([
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            { "partseal": "urn:partseal:epcis:" }
        ])
    );

    // One event per stored event, in chain order, the lot recall placed by its time.
    let list = events(&document);
    let steps: Vec<&str> = list
        .iter()
        .map(|e| e["bizStep"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "commissioning",
            "shipping",
            "receiving",
            "shipping",
            "receiving",
            "installing",
            "installing",
            "installing", // 7: the correction, as the error declaration of 6
            "removing",
            BIZ_STEP_RECALLING,
            BIZ_STEP_RECALLING, // the lot recall
            BIZ_STEP_RESOLVING,
            "destroying",
        ]
    );
    let actions: Vec<&str> = list.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[0], "ADD");
    assert_eq!(actions[12], "DELETE");
    assert!(
        actions[1..12].iter().all(|a| *a == "OBSERVE"),
        "{actions:?}"
    );
    assert!(list.iter().all(|e| e["type"] == "ObjectEvent"));
    assert!(list.iter().all(|e| e["eventTimeZoneOffset"] == "+00:00"));

    // The code as a GS1 Digital Link URI on every event of the code.
    let epc = json!([format!("https://id.gs1.org/01/{GTIN}/21/{SERIAL}")]);
    for (i, e) in list.iter().enumerate() {
        if i != 10 {
            assert_eq!(e["epcList"], epc, "event {i}");
        }
    }

    // Event IDs: derived from the chain hashes, distinct, and linked by partseal:prev.
    let chain_entries: Vec<(usize, usize)> = [0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 12]
        .iter()
        .map(|&i| (i, if i < 10 { i } else { i - 1 }))
        .collect();
    for &(i, seq) in &chain_entries {
        let e = &list[i];
        assert_eq!(e["eventID"], chain_id(&history, seq), "event {i}");
        assert_eq!(e["partseal:seq"], seq, "event {i}");
        if seq == 0 {
            assert!(e.get("partseal:prev").is_none());
        } else {
            assert_eq!(e["partseal:prev"], chain_id(&history, seq - 1), "event {i}");
        }
        assert_eq!(e["eventTime"], at(seq as i64).to_string());
        assert_eq!(e["recordTime"], e["eventTime"]);
    }
    let ids: HashSet<&str> = list
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(_, e)| e["eventID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        12,
        "every event but the error declaration has its own ID"
    );
    // The record's head is the last event's hash.
    let head: String = history
        .record
        .head
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(list[12]["eventID"].as_str().unwrap().contains(&head));

    // Commissioning: lot in ilmd, and the signed code to check against the certificate.
    let commissioning = &list[0];
    assert_eq!(commissioning["ilmd"], json!({ "cbvmda:lotNumber": LOT }));
    assert_eq!(commissioning["disposition"], "active");
    assert_eq!(
        commissioning["partseal:actor"],
        "urn:partseal:party:acme-brakes"
    );
    let signed = commissioning["partseal:signedCode"].as_str().unwrap();
    assert!(
        signed.starts_with(&format!("/01/{GTIN}/10/{LOT}/21/{SERIAL}?k=")),
        "{signed}"
    );
    assert!(list[1..].iter().all(|e| e.get("ilmd").is_none()));

    // Shipping: who from, who to, in possession terms.
    assert_eq!(
        list[1]["sourceList"],
        json!([{ "type": "possessing_party", "source": "urn:partseal:party:acme-brakes" }])
    );
    assert_eq!(
        list[1]["destinationList"],
        json!([{ "type": "possessing_party", "destination": "urn:partseal:party:dist-1" }])
    );
    assert_eq!(list[1]["disposition"], "in_transit");
    assert_eq!(list[4]["partseal:actor"], "urn:partseal:party:shop-1");

    // Install, then the conflicting install by another shop.
    assert_eq!(list[5]["partseal:vin"], VIN);
    assert_eq!(list[5]["partseal:outcome"], "applied");
    let conflict = &list[6];
    assert_eq!(conflict["partseal:vin"], OTHER_VIN);
    assert_eq!(conflict["partseal:actor"], "urn:partseal:party:shop-2");
    assert_eq!(conflict["partseal:outcome"], "conflict");
    assert_eq!(
        conflict["partseal:conflict"],
        "installed_in_another_vehicle"
    );
    assert_eq!(conflict["partseal:conflictsWith"], chain_id(&history, 5));
    assert!(conflict.get("errorDeclaration").is_none());

    // The correction: event 6 again, same ID and content, declared erroneous.
    let declaration = &list[7];
    let mut copy = declaration.clone();
    let details = copy
        .as_object_mut()
        .unwrap()
        .remove("errorDeclaration")
        .unwrap();
    copy["recordTime"] = conflict["recordTime"].clone();
    assert_eq!(
        &copy, conflict,
        "an error declaration repeats the erroneous event"
    );
    assert_eq!(declaration["eventID"], chain_id(&history, 6));
    assert_eq!(declaration["eventTime"], at(6).to_string());
    assert_eq!(declaration["recordTime"], at(7).to_string());
    assert_eq!(ERROR_REASON, "did_not_occur");
    assert_eq!(
        details,
        json!({
            "declarationTime": at(7).to_string(),
            "reason": "did_not_occur",
            "partseal:correction": chain_id(&history, 7),
            "partseal:seq": 7,
            "partseal:prev": chain_id(&history, 6),
            "partseal:actor": "urn:partseal:party:shop-2",
            "partseal:reason": "scanned the label of the part on the bench, not the one fitted",
        })
    );
    // The chain goes on from the correction.
    assert_eq!(list[8]["partseal:prev"], chain_id(&history, 7));

    // The code's recall, then the lot's.
    assert_eq!(list[9]["disposition"], "recalled");
    assert_eq!(list[9]["partseal:reason"], "friction material below spec");
    let lot_recall = &list[10];
    assert_eq!(
        lot_recall["quantityList"],
        json!([{ "epcClass": format!("https://id.gs1.org/01/{GTIN}/10/{LOT}") }])
    );
    assert!(lot_recall.get("epcList").is_none());
    assert_eq!(lot_recall["disposition"], "recalled");
    assert_eq!(lot_recall["eventTime"], "2026-11-02T17:30:00Z");
    assert_eq!(
        lot_recall["partseal:actor"],
        "urn:partseal:party:acme-brakes"
    );
    let lot_id = lot_recall["eventID"].as_str().unwrap();
    assert!(
        lot_id.starts_with("ni:///sha-256;") && lot_id.ends_with("?ver=partseal-lot-recall-v1"),
        "{lot_id}"
    );

    // Resolution and destruction.
    assert_eq!(list[11]["partseal:resolution"], "genuine");
    assert!(list[11].get("disposition").is_none());
    assert_eq!(list[12]["disposition"], "destroyed");
    assert_eq!(list[12]["partseal:reason"], "recalled part scrapped");
}

#[test]
fn the_lot_recall_has_one_id_in_every_codes_export() {
    let s = setup();
    let (_, history) = full_history(&s);
    let sibling = register(&s, "SIBLING01", LOT);
    let other = s.registry.export_epcis(&sibling, at(24)).unwrap().unwrap();
    assert_valid(&other);
    let ours = history_document(&history, at(24)).unwrap();
    assert_eq!(events(&other).len(), 2, "commissioning and the lot recall");
    assert_eq!(events(&other)[1]["eventID"], events(&ours)[10]["eventID"]);
    assert_ne!(events(&other)[0]["eventID"], events(&ours)[0]["eventID"]);
}

#[test]
fn serials_and_lots_are_percent_encoded_in_digital_link_uris() {
    let s = setup();
    let key = register(&s, "AB/12%3", "L/1");
    s.registry
        .recall_lot(
            &Gtin::parse(GTIN).unwrap(),
            &Lot::parse("L/1").unwrap(),
            &p("acme-brakes"),
            "test",
            at(1),
        )
        .unwrap();
    let document = s.registry.export_epcis(&key, at(2)).unwrap().unwrap();
    assert_valid(&document);
    let list = events(&document);
    assert_eq!(
        list[0]["epcList"],
        json!([format!("https://id.gs1.org/01/{GTIN}/21/AB%2F12%253")])
    );
    assert_eq!(list[0]["ilmd"]["cbvmda:lotNumber"], "L/1");
    assert_eq!(
        list[1]["quantityList"][0]["epcClass"],
        format!("https://id.gs1.org/01/{GTIN}/10/L%2F1")
    );
}

#[test]
fn an_unregistered_code_has_no_export() {
    let s = setup();
    let key = CodeKey::new(
        &Gtin::parse(GTIN).unwrap(),
        &Serial::parse("NEVER").unwrap(),
    );
    assert!(s.registry.export_epcis(&key, at(1)).unwrap().is_none());
}

/// The validator really checks: each of these breaks the document in one place.
#[test]
fn broken_documents_fail_validation() {
    let s = setup();
    let (key, _) = full_history(&s);
    let good = s.registry.export_epcis(&key, at(24)).unwrap().unwrap();
    assert_valid(&good);

    type Breakage = fn(&mut Value);
    let breakages: [(&str, Breakage); 8] = [
        ("document without type", |d| {
            d.as_object_mut().unwrap().remove("type");
        }),
        ("document without @context", |d| {
            d.as_object_mut().unwrap().remove("@context");
        }),
        ("unknown action", |d| {
            d["epcisBody"]["eventList"][1]["action"] = "MOVE".into();
        }),
        (
            "bizStep in the reserved CBV namespace that CBV does not define",
            |d| {
                d["epcisBody"]["eventList"][9]["bizStep"] =
                    "urn:epcglobal:cbv:bizstep:recalling".into();
            },
        ),
        (
            "error reason as a CBV URN (the JSON form is the bare word)",
            |d| {
                d["epcisBody"]["eventList"][7]["errorDeclaration"]["reason"] =
                    "urn:epcglobal:cbv:er:incorrect_data".into();
            },
        ),
        ("eventTime that is not a date-time", |d| {
            d["epcisBody"]["eventList"][2]["eventTime"] = "yesterday".into();
        }),
        ("ilmd on an OBSERVE event", |d| {
            d["epcisBody"]["eventList"][1]["ilmd"] = json!({ "cbvmda:lotNumber": LOT });
        }),
        ("an extension field without a namespace", |d| {
            d["epcisBody"]["eventList"][5]["vin"] = VIN.into();
        }),
    ];
    for (what, breakage) in breakages {
        let mut broken = good.clone();
        breakage(&mut broken);
        assert!(
            !schema_errors(&broken).is_empty(),
            "{what}: the schema accepted it"
        );
    }
}
