//! Custody events through the registry: every transition, every duplicate rule with its
//! explanation, corrections, resolutions, recalls, the concurrent-install race, scans, persistence.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use registry::{
    Action, ConflictKind, CorrectionError, Custody, GenuineCopy, Outcome, PartyId, RegistryConfig,
    RegistryError, Resolution, ResolutionError, ScanPolicy, Step, TextError, TextField, Vin,
};
use testkit::world::*;

fn vin(s: &str) -> Vin {
    Vin::parse(s).unwrap()
}

fn conflict_of(outcome: Outcome) -> Option<ConflictKind> {
    match outcome {
        Outcome::Conflict { kind, .. } => Some(kind),
        _ => None,
    }
}

#[test]
fn the_whole_life_of_a_part_is_recorded_in_order() {
    let w = World::new();
    w.add_parties(&["dist-1", "shop-1"]);
    let key = w.registered("LIFE1");
    let r = &w.registry;
    let (maker, dist, shop, shop2) = (
        w.maker_party(),
        party("dist-1"),
        party("shop-1"),
        party("shop-2"),
    );
    let steps = [
        (&maker, Action::Ship { to: dist.clone() }, "in_transit"),
        (&dist, Action::Receive, "held"),
        (&dist, Action::Ship { to: shop.clone() }, "in_transit"),
        (&shop, Action::Receive, "held"),
        (&shop, Action::Install { vin: vin(VIN_A) }, "installed"),
        (
            &shop2,
            Action::Remove {
                vin: Some(vin(VIN_A)),
            },
            "held",
        ),
        (
            &shop2,
            Action::Destroy {
                reason: "worn out".into(),
            },
            "destroyed",
        ),
    ];
    for (i, (actor, action, custody)) in steps.into_iter().enumerate() {
        let recorded = r
            .record_genuine_scan(&key, actor, action, day(2 + i as i64))
            .unwrap();
        assert_eq!(recorded.event.outcome, Outcome::Applied);
        assert_eq!(recorded.event.seq, i as u32 + 1);
        assert_eq!(recorded.record.custody.custody.name(), custody);
        assert!(recorded.record.flags.duplicate.is_empty());
    }
    let history = r.history(&key).unwrap().unwrap();
    let steps: Vec<&str> = history.events.iter().map(|e| e.step().as_str()).collect();
    assert_eq!(
        steps,
        [
            "commissioning",
            "shipping",
            "receiving",
            "shipping",
            "receiving",
            "installing",
            "removing",
            "destroying"
        ]
    );
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

/// Puts a fresh code into `custody` through real events and returns its key.
fn code_in(w: &World, serial: &str, custody: &str) -> registry::CodeKey {
    let key = w.registered(serial);
    let r = &w.registry;
    let shop = party("shop-1");
    match custody {
        "held" => {
            r.record_genuine_scan(&key, &shop, Action::Receive, day(2))
                .unwrap();
        }
        "installed" => {
            r.record_genuine_scan(&key, &shop, Action::Receive, day(2))
                .unwrap();
            r.record_genuine_scan(&key, &shop, Action::Install { vin: vin(VIN_A) }, day(3))
                .unwrap();
        }
        "destroyed" => {
            r.record_genuine_scan(&key, &shop, Action::Receive, day(2))
                .unwrap();
            r.record_genuine_scan(
                &key,
                &shop,
                Action::Destroy {
                    reason: "scrap".into(),
                },
                day(3),
            )
            .unwrap();
        }
        "voided" => {
            let maker = w.maker_party();
            r.record_genuine_scan(
                &key,
                &maker,
                Action::Decommission {
                    reason: "misprint".into(),
                },
                day(2),
            )
            .unwrap();
        }
        other => panic!("{other}"),
    }
    key
}

#[test]
fn every_duplicate_rule_flags_the_code_and_explains_itself() {
    let w = World::new();
    let r = &w.registry;
    let other = party("shop-9");
    let cases = [
        (
            "installed",
            Action::Install { vin: vin(VIN_B) },
            ConflictKind::InstalledInAnotherVehicle,
            "installed in a different vehicle since 2026-11-04",
        ),
        (
            "installed",
            Action::Receive,
            ConflictKind::StillInstalled,
            "never removed",
        ),
        (
            "destroyed",
            Action::Receive,
            ConflictKind::AfterDestroyed,
            "destroyed on 2026-11-04",
        ),
        (
            "voided",
            Action::Install { vin: vin(VIN_B) },
            ConflictKind::AfterVoided,
            "voided this code on 2026-11-03",
        ),
        (
            "held",
            Action::Receive,
            ConflictKind::HeldByAnother,
            "another business has held it since 2026-11-03 and never shipped it",
        ),
        (
            "held",
            Action::Install { vin: vin(VIN_C) },
            ConflictKind::HeldByAnother,
            "One part cannot be in two places",
        ),
    ];
    for (i, (custody, action, kind, words)) in cases.into_iter().enumerate() {
        let key = code_in(&w, &format!("DUP{i}"), custody);
        let before = r.status(&key).unwrap().unwrap().record;
        let recorded = r
            .record_genuine_scan(&key, &other, action, day(10))
            .unwrap();
        assert_eq!(conflict_of(recorded.event.outcome), Some(kind), "{custody}");
        let explanation = recorded.explanation.unwrap();
        assert!(explanation.contains(words), "{explanation}");
        assert!(!explanation.contains(VIN_A), "{explanation}");
        // Custody is unchanged, the event is stored, and the flag stays with its evidence.
        let after = r.status(&key).unwrap().unwrap().record;
        assert_eq!(after.custody, before.custody);
        assert_eq!(after.events, before.events + 1);
        assert_eq!(after.flags.duplicate.len(), 1);
        assert_eq!(after.flags.duplicate[0].kind, kind);
        assert_eq!(after.flags.duplicate[0].explain(), explanation);
        // The manufacturer sees it among its alerts.
        let alerts = r.alerts(&w.maker_party()).unwrap();
        assert!(alerts.iter().any(|s| s.key == key));
    }
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn the_flag_stays_until_the_manufacturer_resolves_it() {
    let w = World::new();
    let r = &w.registry;
    let key = code_in(&w, "RES1", "installed");
    r.record_genuine_scan(
        &key,
        &party("shop-2"),
        Action::Install { vin: vin(VIN_B) },
        day(5),
    )
    .unwrap();
    // Later events do not clear it.
    let shop = party("shop-1");
    r.record_genuine_scan(&key, &shop, Action::Remove { vin: None }, day(6))
        .unwrap();
    assert!(
        !r.status(&key)
            .unwrap()
            .unwrap()
            .record
            .flags
            .duplicate
            .is_empty()
    );
    // Only the manufacturer may resolve.
    let resolve = Action::Resolve {
        resolution: Resolution::Genuine,
        genuine: None,
        note: "scan typo at shop-2".into(),
    };
    let refused = r
        .record_genuine_scan(&key, &shop, resolve.clone(), day(7))
        .unwrap_err();
    assert!(matches!(refused, RegistryError::NotAllowed(_)), "{refused}");
    let events_before = r.status(&key).unwrap().unwrap().record.events;
    r.record_genuine_scan(&key, &w.maker_party(), resolve, day(7))
        .unwrap();
    let record = r.status(&key).unwrap().unwrap().record;
    assert!(record.flags.duplicate.is_empty());
    assert!(!record.flags.alerting());
    assert_eq!(record.events, events_before + 1);
    assert!(r.alerts(&w.maker_party()).unwrap().is_empty());
}

#[test]
fn when_two_shops_install_the_same_code_at_once_exactly_one_takes_effect() {
    let w = World::new();
    let key = w.registered("RACE1");
    let registry = Arc::new(w.registry);
    let vins = [VIN_A, VIN_B, VIN_C];
    for round in 0..5 {
        let key = if round == 0 {
            key.clone()
        } else {
            let code = signer::SignedCode::sign(
                part(GTIN, "L2026A", &format!("RACE{}", round + 1)),
                &w.maker,
            );
            registry
                .register(std::slice::from_ref(&code), None, day(1))
                .unwrap();
            registry::CodeKey::of(&code.part)
        };
        let barrier = Arc::new(Barrier::new(vins.len()));
        let outcomes: Vec<Outcome> = std::thread::scope(|s| {
            let handles: Vec<_> = vins
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let (registry, barrier, key) = (registry.clone(), barrier.clone(), key.clone());
                    s.spawn(move || {
                        let shop = PartyId::parse(&format!("shop-{i}")).unwrap();
                        barrier.wait();
                        registry
                            .record_genuine_scan(
                                &key,
                                &shop,
                                Action::Install { vin: vin(v) },
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
        assert_eq!(applied, 1, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .filter(|o| **o != Outcome::Applied)
                .all(|o| conflict_of(*o) == Some(ConflictKind::InstalledInAnotherVehicle))
        );
        let record = registry.status(&key).unwrap().unwrap().record;
        assert_eq!(record.events, 4);
        assert_eq!(record.flags.duplicate.len(), 2);
    }
    assert!(registry.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn repeated_scans_are_recorded_but_change_nothing() {
    let w = World::new();
    let key = code_in(&w, "REP1", "installed");
    let r = &w.registry;
    let shop = party("shop-1");
    let again = r
        .record_genuine_scan(&key, &shop, Action::Install { vin: vin(VIN_A) }, day(4))
        .unwrap();
    assert_eq!(again.event.outcome, Outcome::Repeated);
    assert!(again.record.flags.duplicate.is_empty());
    assert_eq!(again.record.events, 4);
}

#[test]
fn corrections_replay_custody_within_the_window_for_their_author_only() {
    let w = World::new();
    let r = &w.registry;
    let shop = party("shop-1");
    let key = code_in(&w, "COR1", "installed"); // events: 1 receive, 2 install VIN_A
    let wrong = r
        .record_genuine_scan(
            &key,
            &shop,
            Action::Correct {
                corrects: 2,
                reason: "x".into(),
            },
            day(4),
        )
        .unwrap();
    assert_eq!(
        wrong.record.custody.custody,
        Custody::Held { by: shop.clone() }
    );
    assert!(r.installed_in(&vin(VIN_A)).unwrap().is_empty());
    // The right vehicle, then a correction attempt by someone else, twice, and too late.
    r.record_genuine_scan(&key, &shop, Action::Install { vin: vin(VIN_B) }, day(4))
        .unwrap();
    assert_eq!(r.installed_in(&vin(VIN_B)).unwrap().len(), 1);
    let refusals = [
        (party("shop-2"), 4, day(5), "only its author"),
        (shop.clone(), 2, day(5), "already been corrected"),
        (shop.clone(), 4, day(30), "10-day correction window"),
        (shop.clone(), 0, day(5), "cannot be corrected"),
        (shop.clone(), 3, day(5), "cannot itself be corrected"),
    ];
    for (actor, seq, at, words) in refusals {
        let events = r.status(&key).unwrap().unwrap().record.events;
        let e = r
            .record_genuine_scan(
                &key,
                &actor,
                Action::Correct {
                    corrects: seq,
                    reason: "y".into(),
                },
                at,
            )
            .unwrap_err();
        assert!(matches!(e, RegistryError::InvalidCorrection(_)));
        assert!(e.to_string().contains(words), "{e}");
        assert_eq!(r.status(&key).unwrap().unwrap().record.events, events);
    }
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn recalls_by_code_and_by_lot() {
    let w = World::new();
    let r = &w.registry;
    let key = w.registered("REC1");
    let maker = w.maker_party();
    let refused = r
        .record_genuine_scan(
            &key,
            &party("shop-1"),
            Action::Recall { reason: "x".into() },
            day(2),
        )
        .unwrap_err();
    assert!(matches!(refused, RegistryError::NotAllowed(_)));
    let recalled = r
        .record_genuine_scan(
            &key,
            &maker,
            Action::Recall {
                reason: "brake fade".into(),
            },
            day(2),
        )
        .unwrap();
    assert_eq!(recalled.record.flags.recalled, Some((day(2), 1)));

    let other = w.registered("REC2");
    let lot = signer::Lot::parse("L2026A").unwrap();
    let gtin = signer::Gtin::parse(GTIN).unwrap();
    assert!(
        r.recall_lot(&gtin, &lot, &party("shop-1"), "x", day(3))
            .is_err()
    );
    r.recall_lot(&gtin, &lot, &maker, "batch defect", day(3))
        .unwrap();
    let status = r.status(&other).unwrap().unwrap();
    assert_eq!(status.lot_recall.unwrap().reason, "batch defect");
}

#[test]
fn decommissioning_is_for_the_manufacturer_and_voids_the_code() {
    let w = World::new();
    let r = &w.registry;
    let key = w.registered("VOID1");
    let action = Action::Decommission {
        reason: "misprint".into(),
    };
    assert!(
        r.record_genuine_scan(&key, &party("shop-1"), action.clone(), day(2))
            .is_err()
    );
    let done = r
        .record_genuine_scan(&key, &w.maker_party(), action, day(2))
        .unwrap();
    assert_eq!(done.record.custody.custody, Custody::Voided);
}

#[test]
fn unregistered_codes_and_oversized_text_are_refused_and_nothing_is_stored() {
    let w = World::new();
    let r = &w.registry;
    let ghost = registry::CodeKey::of(&part(GTIN, "L2026A", "GHOST"));
    let e = r
        .record_genuine_scan(&ghost, &party("shop-1"), Action::Receive, day(2))
        .unwrap_err();
    assert_eq!(e.code(), "not_registered");
    let key = w.registered("TXT1");
    let e = r
        .record_genuine_scan(
            &key,
            &party("shop-1"),
            Action::Destroy {
                reason: "x".repeat(501),
            },
            day(2),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            RegistryError::Text(TextError {
                field: TextField::Step(Step::Destroying),
                len: 501
            })
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the destroying text is 501 bytes; at most 500 are kept"
    );
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, 1);
}

#[test]
fn a_label_that_is_not_the_registered_one_never_writes_into_the_history() {
    let w = World::new();
    let r = &w.registry;
    let shop = party("shop-1");
    let key = w.registered("FORGE1");
    let genuine = w.label("FORGE1");
    // A forger's own key signs the genuine serial; a genuine signature on another lot; a label
    // without its signature; the genuine label of another code.
    let forged = signer::DigitalLink::parse(
        &signer::SignedCode::sign(part(GTIN, "L2026A", "FORGE1"), &testkit::world::key(9))
            .path_and_query(),
    )
    .unwrap();
    let other_lot = signer::DigitalLink {
        part: part(GTIN, "L2026B", "FORGE1"),
        ..genuine.clone()
    };
    let unsigned = signer::DigitalLink {
        signature: None,
        ..genuine.clone()
    };
    w.registered("FORGE2");
    let other_code = w.label("FORGE2");
    let actions = || {
        [
            Action::Receive,
            Action::Install { vin: vin(VIN_A) },
            Action::Recall {
                reason: "forged recall".into(),
            },
        ]
    };
    for label in [&forged, &other_lot, &unsigned, &other_code] {
        assert!(matches!(
            r.label_status(label.into()).unwrap(),
            registry::LabelStatus::NotThisLabel | registry::LabelStatus::Registered(_)
        ));
        for action in actions() {
            let submission = registry::Submission::scanned(action, label.clone());
            let e = r.submit(&key, &shop, submission, day(2)).unwrap_err();
            assert!(
                matches!(&e, RegistryError::LabelMismatch(k) if k == &key),
                "{e}"
            );
            assert_eq!(e.code(), "code_mismatch");
        }
    }
    assert!(matches!(
        r.label_status((&forged).into()).unwrap(),
        registry::LabelStatus::NotThisLabel
    ));
    let history = r.history(&key).unwrap().unwrap();
    assert_eq!(history.events.len(), 1, "a refused label stored an event");
    assert_eq!(history.record.custody.custody, Custody::AtManufacturer);
    // The registered label is taken, and says so.
    match r.label_status((&genuine).into()).unwrap() {
        registry::LabelStatus::Registered(status) => assert_eq!(status.key, key),
        other => panic!("the registered label: {other:?}"),
    }
    let scanned = registry::Submission::scanned(Action::Receive, genuine);
    let recorded = r.submit(&key, &shop, scanned, day(2)).unwrap();
    assert_eq!(recorded.event.basis, registry::Basis::Scanned);
    assert_eq!(recorded.event.outcome, Outcome::Applied);
    // A label of a code nobody registered.
    assert!(matches!(
        r.label_status((&w.label("GHOST")).into()).unwrap(),
        registry::LabelStatus::NotRegistered
    ));
}

#[test]
fn the_makers_own_acts_name_no_label_and_custody_moves_must() {
    let w = World::new();
    let r = &w.registry;
    w.add_parties(&["dist-1"]);
    let maker = w.maker_party();
    let key = w.registered("OWN1");
    let recall = registry::Submission::without_label(Action::Recall {
        reason: "cracks".into(),
    });
    let recorded = r.submit(&key, &maker, recall, day(2)).unwrap();
    // No label was compared: recorded as the code named by its numbers, never as scanned.
    assert_eq!(recorded.event.basis, registry::Basis::Typed);
    assert!(recorded.record.flags.recalled.is_some());
    // A move of the part itself needs a label or numbers; nothing is stored.
    for action in [
        Action::Receive,
        Action::Ship {
            to: party("dist-1"),
        },
        Action::Destroy {
            reason: "scrapped".into(),
        },
    ] {
        let submission = registry::Submission::without_label(action);
        let e = r.submit(&key, &maker, submission, day(3)).unwrap_err();
        assert!(matches!(e, RegistryError::LabelNeeded(_)), "{e}");
    }
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, 2);
    // A shipment to a party the registry does not know is refused, nothing stored.
    let ship = registry::Submission::typed(Action::Ship {
        to: party("nobody"),
    });
    let e = r.submit(&key, &maker, ship, day(3)).unwrap_err();
    assert!(
        matches!(&e, RegistryError::UnknownRecipient(p) if p == &party("nobody")),
        "{e}"
    );
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, 2);
    let typed = registry::Submission::typed(Action::Receive);
    let ghost = registry::CodeKey::of(&part(GTIN, "L2026A", "GHOST"));
    let e = r.submit(&ghost, &maker, typed, day(3)).unwrap_err();
    assert!(matches!(e, RegistryError::NotRegistered(_)), "{e}");
}

/// A scan of a code whose scan anomaly is raised already is counted in memory and answered
/// without waiting for writes (a backup holds them up while it copies the store).
#[test]
fn a_scan_of_a_code_flagged_already_does_not_wait_for_writes() {
    let config = RegistryConfig {
        scans: ScanPolicy {
            window_hours: 24,
            threshold: 2,
            threshold_held: 2,
            threshold_at_manufacturer: 2,
        },
        ..RegistryConfig::default()
    };
    let w = World::with_config(config);
    let r = &w.registry;
    let key = w.registered("SCANGATE");
    let ctx = |i: u8| r.scan_context(std::net::IpAddr::from([198, 51, i, 7]), None);
    for i in 0..3 {
        r.record_scan(&key, &ctx(i), day(5)).unwrap();
    }
    let record = r.status(&key).unwrap().unwrap().record;
    assert!(record.flags.scan_anomaly.is_some());

    /// A backup's output that stalls at its first write until told to go on.
    struct Stalled {
        started: Option<mpsc::Sender<()>>,
        go: mpsc::Receiver<()>,
    }
    impl std::io::Write for Stalled {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Some(started) = self.started.take() {
                started.send(()).unwrap();
                self.go.recv().unwrap();
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (started, copying) = mpsc::channel();
    let (go, stalled) = mpsc::channel();
    std::thread::scope(|s| {
        let backup = s.spawn(move || {
            let mut out = Stalled {
                started: Some(started),
                go: stalled,
            };
            r.backup(&mut out).unwrap();
        });
        copying.recv().unwrap();
        let (done, answered) = mpsc::channel();
        let (key, scan) = (&key, ctx(9));
        let scanner = s.spawn(move || {
            let raised = r.record_scan(key, &scan, day(5)).unwrap();
            done.send(raised).unwrap();
        });
        let raised = answered.recv_timeout(Duration::from_secs(5));
        go.send(()).unwrap();
        scanner.join().unwrap();
        backup.join().unwrap();
        assert_eq!(
            raised,
            Ok(None),
            "the scan waited for the backup to end, or raised the anomaly again"
        );
    });
}

#[test]
fn many_networks_scanning_a_code_raise_a_scan_anomaly_at_its_custody_threshold() {
    let config = RegistryConfig {
        scans: ScanPolicy {
            window_hours: 24,
            threshold: 5,
            threshold_held: 8,
            threshold_at_manufacturer: 12,
        },
        ..RegistryConfig::default()
    };
    let w = World::with_config(config);
    let r = &w.registry;
    let fresh = w.registered("SCAN1");
    let installed = code_in(&w, "SCAN2", "installed");
    let mut raised = None;
    let mut raised_fresh = None;
    for i in 0..20u8 {
        let ctx = r.scan_context(std::net::IpAddr::from([198, 51, i, 7]), Some("CN-44"));
        if let Some(a) = r.record_scan(&fresh, &ctx, day(5)).unwrap() {
            assert!(raised_fresh.is_none(), "raised twice");
            raised_fresh = Some((i, a));
        }
        if let Some(a) = r.record_scan(&installed, &ctx, day(5)).unwrap() {
            assert!(raised.is_none(), "raised twice");
            raised = Some((i, a));
        }
    }
    // A label still at its maker, scanned by the public from twelve networks: a clone sold
    // before anything was installed.
    let (i, anomaly) = raised_fresh.unwrap();
    assert_eq!((i, anomaly.contexts, anomaly.threshold), (11, 12, 12));
    let fresh_record = r.status(&fresh).unwrap().unwrap().record;
    assert!(fresh_record.flags.alerting() && fresh_record.flags.duplicate.is_empty());
    let (i, anomaly) = raised.unwrap();
    assert_eq!(i, 4);
    assert_eq!(anomaly.contexts, 5);
    assert!(
        anomaly
            .explain()
            .contains("5 different networks within 24 hours")
    );
    // Many scans from one network never raise it; storage stays bounded.
    let same = r.scan_context(std::net::IpAddr::from([198, 51, 100, 7]), None);
    let other = code_in(&w, "SCAN3", "installed");
    for _ in 0..50 {
        assert_eq!(r.record_scan(&other, &same, day(5)).unwrap(), None);
    }
    let stats = r.scans(&installed).unwrap().unwrap();
    assert_eq!(stats.total, 20);
    assert!(stats.recent.len() <= registry::scans::MAX_RECENT_NETWORKS);
    assert!(
        r.status(&installed)
            .unwrap()
            .unwrap()
            .record
            .flags
            .alerting()
    );
    // Scans never raise the duplicate flag.
    assert!(
        r.status(&installed)
            .unwrap()
            .unwrap()
            .record
            .flags
            .duplicate
            .is_empty()
    );
}

#[test]
fn everything_survives_reopening_the_store() {
    let w = World::new();
    let key = code_in(&w, "PERS1", "installed");
    w.registry
        .record_genuine_scan(&key, &party("shop-7"), Action::Receive, day(5))
        .unwrap();
    let dir = w.dir.path().join("data");
    drop(w.registry);
    let r = testkit::engine::reopen(&dir, w.database.as_ref());
    let record = r.status(&key).unwrap().unwrap().record;
    assert_eq!(record.events, 4);
    assert_eq!(record.flags.duplicate.len(), 1);
    assert_eq!(r.trust().certificates().len(), 1);
    assert_eq!(r.installed_in(&vin(VIN_A)).unwrap().len(), 1);
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn the_alert_workflow_marks_investigations_until_the_flag_is_resolved() {
    let w = World::new();
    let r = &w.registry;
    let maker = w.maker_party();
    let key = code_in(&w, "WF1", "installed");
    // Nothing to investigate before a flag, and never on another maker's behalf.
    assert!(!r.mark_investigating(&maker, &key, day(4)).unwrap());
    r.record_genuine_scan(
        &key,
        &party("shop-2"),
        Action::Install { vin: vin(VIN_B) },
        day(5),
    )
    .unwrap();
    assert!(!r.mark_investigating(&party("rival"), &key, day(6)).unwrap());
    assert_eq!(r.investigating(&maker, &key).unwrap(), None);
    assert!(r.mark_investigating(&maker, &key, day(6)).unwrap());
    let dir = w.dir.path().join("data");
    drop(w.registry);
    let r = testkit::engine::reopen(&dir, w.database.as_ref());
    assert_eq!(r.investigating(&maker, &key).unwrap(), Some(day(6)));
    assert!(r.audit(|_| {}).unwrap().is_clean());
    let resolve = Action::Resolve {
        resolution: Resolution::Counterfeit,
        genuine: Some(GenuineCopy::Vehicle(vin(VIN_A))),
        note: "clone seized".into(),
    };
    r.record_genuine_scan(&key, &maker, resolve, day(7))
        .unwrap();
    assert_eq!(r.investigating(&maker, &key).unwrap(), None);
}

// ---- The manufacturer's and the author's steps (docs/custody-rules.md, second table) ----

#[test]
fn a_correction_replays_the_history_without_the_corrected_event() {
    let w = World::new();
    let r = &w.registry;
    let shop = party("shop-1");
    let key = code_in(&w, "COR1", "installed");
    // The installer scans its own installed part in receive mode: evidence, flagged.
    let mistake = r
        .record_genuine_scan(&key, &shop, Action::Receive, day(4))
        .unwrap();
    assert!(matches!(mistake.event.outcome, Outcome::Conflict { .. }));
    let corrected = r
        .record_genuine_scan(
            &key,
            &shop,
            Action::Correct {
                corrects: mistake.event.seq,
                reason: "wrong mode".into(),
            },
            day(4),
        )
        .unwrap();
    assert!(corrected.record.flags.duplicate.is_empty());
    assert_eq!(corrected.record.flags.conflicts, 0);
    assert_eq!(corrected.record.custody.custody.name(), "installed");
    assert!(r.alerts(&w.maker_party()).unwrap().is_empty());
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn a_correction_names_the_authors_own_later_events_it_changes() {
    let w = World::new();
    let r = &w.registry;
    let shop = party("shop-1");
    let key = w.registered("COR3");
    let receive = r
        .record_genuine_scan(&key, &shop, Action::Receive, day(2))
        .unwrap();
    let vin = registry::Vin::parse("LSVAU218XN2183294").unwrap();
    // Typed numbers: applied because the shop holds the part (a stranger's would be a claim).
    let install = r
        .submit(
            &key,
            &shop,
            registry::Submission::typed(Action::Install { vin }),
            day(3),
        )
        .unwrap();
    assert_eq!(install.event.outcome, Outcome::Applied);
    assert!(receive.also_changed.is_empty() && install.also_changed.is_empty());
    // The shop undoes its receive: its typed install stood on it (without the receive it is a
    // stranger's claim), and the answer says so.
    let undone = r
        .record_genuine_scan(
            &key,
            &shop,
            Action::Correct {
                corrects: receive.event.seq,
                reason: "wrong part".into(),
            },
            day(3),
        )
        .unwrap();
    assert_eq!(
        undone.also_changed,
        vec![registry::AlsoChanged {
            event: install.event.seq,
            step: registry::Step::Installing,
            at: day(3),
        }]
    );
    assert_ne!(undone.record.custody.custody.name(), "installed");
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn a_correction_another_partys_event_depends_on_is_refused_and_nothing_stored() {
    let w = World::new();
    let r = &w.registry;
    w.add_parties(&["shop-1"]);
    let (a, b) = (party("dist-1"), party("shop-1"));
    let key = w.registered("COR2");
    r.record_genuine_scan(&key, &a, Action::Receive, day(2))
        .unwrap();
    let ship = r
        .record_genuine_scan(&key, &a, Action::Ship { to: b.clone() }, day(3))
        .unwrap();
    // Typed numbers: only the addressee can receive them as applied.
    let received = r
        .submit(
            &key,
            &b,
            registry::Submission::typed(Action::Receive),
            day(4),
        )
        .unwrap();
    assert_eq!(received.event.outcome, Outcome::Applied);
    let events = r.status(&key).unwrap().unwrap().record.events;
    let refused = r
        .record_genuine_scan(
            &key,
            &a,
            Action::Correct {
                corrects: ship.event.seq,
                reason: "wrong address".into(),
            },
            day(5),
        )
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            RegistryError::InvalidCorrection(CorrectionError::DependedOn { event: 3, .. })
        ),
        "{refused}"
    );
    assert!(refused.to_string().contains("event 3"), "{refused}");
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, events);
}

#[test]
fn a_counterfeit_resolution_names_the_genuine_copy_and_keeps_copies_known() {
    let w = World::new();
    let r = &w.registry;
    let maker = w.maker_party();
    let key = code_in(&w, "CF1", "held");
    let clone = r
        .record_genuine_scan(&key, &party("shop-2"), Action::Receive, day(5))
        .unwrap();
    assert!(matches!(clone.event.outcome, Outcome::Conflict { .. }));
    let resolve = |genuine, note: &str| Action::Resolve {
        resolution: Resolution::Counterfeit,
        genuine,
        note: note.into(),
    };
    // A note and a genuine copy the history records are required.
    for (genuine, note, why) in [
        (
            Some(GenuineCopy::Holder(party("shop-2"))),
            "",
            ResolutionError::NoNote,
        ),
        (None, "seized", ResolutionError::NoGenuineCopy),
        (
            Some(GenuineCopy::Holder(party("nobody"))),
            "seized",
            ResolutionError::GenuineCopyUnknown,
        ),
        (
            Some(GenuineCopy::Vehicle(vin(VIN_C))),
            "seized",
            ResolutionError::GenuineCopyUnknown,
        ),
    ] {
        let e = r
            .record_genuine_scan(&key, &maker, resolve(genuine, note), day(6))
            .unwrap_err();
        assert!(
            matches!(e, RegistryError::InvalidResolution(w) if w == why),
            "{e}"
        );
        assert_eq!(e.code(), "invalid_resolution", "{e}");
    }
    // The maker finds the part shop-2 holds is the genuine one: custody moves there.
    let resolved = r
        .record_genuine_scan(
            &key,
            &maker,
            resolve(
                Some(GenuineCopy::Holder(party("shop-2"))),
                "shop-1's was a copy",
            ),
            day(6),
        )
        .unwrap();
    let record = resolved.record;
    assert_eq!(
        record.custody.custody,
        registry::Custody::Held {
            by: party("shop-2")
        }
    );
    assert!(record.flags.duplicate.is_empty() && !record.flags.alerting());
    let copies = record.flags.copies.clone().unwrap();
    assert_eq!(copies.genuine, GenuineCopy::Holder(party("shop-2")));
    // Later events do not clear the finding; a false-alarm resolution of a new alert neither.
    r.record_genuine_scan(&key, &party("shop-1"), Action::Receive, day(7))
        .unwrap();
    r.record_genuine_scan(
        &key,
        &maker,
        Action::Resolve {
            resolution: Resolution::Genuine,
            genuine: None,
            note: "shop-1 rescanned its copy".into(),
        },
        day(8),
    )
    .unwrap();
    assert!(
        r.status(&key)
            .unwrap()
            .unwrap()
            .record
            .flags
            .copies
            .is_some()
    );
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn only_the_maker_decommissions_and_a_destroyed_code_stays_destroyed() {
    let w = World::new();
    let r = &w.registry;
    let key = code_in(&w, "DEC1", "destroyed");
    let void = || Action::Decommission {
        reason: "withdrawn".into(),
    };
    let e = r
        .record_genuine_scan(&key, &party("shop-1"), void(), day(5))
        .unwrap_err();
    assert!(matches!(e, RegistryError::NotAllowed(_)));
    let repeated = r
        .record_genuine_scan(&key, &w.maker_party(), void(), day(5))
        .unwrap();
    assert_eq!(repeated.event.outcome, Outcome::Repeated);
    assert_eq!(repeated.record.custody.custody.name(), "destroyed");
    assert!(repeated.record.flags.duplicate.is_empty());
}

#[test]
fn a_recalled_part_is_installed_only_with_an_override_which_is_recorded() {
    let w = World::new();
    let r = &w.registry;
    let shop = party("shop-1");
    let key = w.registered("RCL1");
    r.record_genuine_scan(
        &key,
        &w.maker_party(),
        Action::Recall {
            reason: "cracked housing".into(),
        },
        day(2),
    )
    .unwrap();
    let received = r
        .record_genuine_scan(&key, &shop, Action::Receive, day(3))
        .unwrap();
    assert!(received.warning.unwrap().contains("cracked housing"));
    let events = r.status(&key).unwrap().unwrap().record.events;
    let install = || Action::Install { vin: vin(VIN_A) };
    let e = r
        .record_genuine_scan(&key, &shop, install(), day(4))
        .unwrap_err();
    assert!(
        matches!(&e, RegistryError::Recalled(why) if why == "cracked housing"),
        "{e}"
    );
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, events);
    let overridden = r
        .submit(
            &key,
            &shop,
            registry::Submission {
                recall_override: true,
                ..registry::Submission::scanned(install(), w.label("RCL1"))
            },
            day(4),
        )
        .unwrap();
    assert_eq!(overridden.event.outcome, Outcome::Applied);
    assert!(overridden.event.recall_override);
    let history = r.history(&key).unwrap().unwrap();
    assert!(history.events.last().unwrap().recall_override);
}

/// A store written under the first rules (version 1 events, which did not tell scans from typed
/// numbers) still audits clean: each old event keeps the outcome it was given, an old correction
/// keeps the evidence it did not undo then, and new events go on from there.
#[test]
fn events_recorded_under_the_first_rules_keep_their_outcomes() {
    use registry::custody::CustodyState;
    use registry::event::{Basis, Event, What};
    use registry::record::Evidence;
    use registry::{Caches, Create, Custody, Location};

    // The first rules' events exist only in sled stores written by the first versions.
    if testkit::engine::engine() != testkit::engine::Engine::Sled {
        return;
    }
    let w = World::new();
    let key = w.registered("OLD1");
    let dir = w.dir.path().join("data");
    let World {
        registry,
        dir: _keep,
        ..
    } = w;
    drop(registry);

    let caches = Caches {
        pages: 1 << 24,
        records: 0,
    };
    let store = Location::Directory(dir.clone())
        .open(Create::Never, caches)
        .unwrap();
    let mut record = registry::CodeRecord::clone(&store.code(&key).unwrap().unwrap());
    let registered_head = record.head;
    let legacy = |seq: u32, prev, at, actor: &str, what, outcome| Event {
        seq,
        prev,
        at,
        actor: party(actor),
        basis: Basis::Legacy,
        recall_override: false,
        vin_confirmed: false,
        carton: None,
        what: What::Action(what),
        outcome,
    };
    let mut write = |event: Event, change: &dyn Fn(&mut registry::CodeRecord)| {
        let before = record.clone();
        change(&mut record);
        record.events = event.seq + 1;
        record.head = event.hash(&key);
        store
            .update_code(&key, Some(&event), &[], &before, &record)
            .unwrap();
    };
    let received = legacy(
        1,
        registered_head,
        day(2),
        "shop-1",
        Action::Receive,
        Outcome::Applied,
    );
    let head = received.hash(&key);
    write(received, &|r| {
        r.custody = CustodyState {
            custody: Custody::Held {
                by: party("shop-1"),
            },
            since: day(2),
            event: 1,
        }
    });
    let clash = ConflictKind::HeldByAnother;
    let copy = legacy(
        2,
        head,
        day(3),
        "shop-2",
        Action::Receive,
        Outcome::Conflict {
            kind: clash,
            with: 1,
        },
    );
    let head = copy.hash(&key);
    let evidence = |event, kind, at| Evidence {
        kind,
        event,
        with: 1,
        at,
        since: day(2),
    };
    write(copy, &|r| {
        r.flags.duplicate.push(evidence(2, clash, day(3)));
        r.flags.conflicts = 1;
    });
    let corrected = legacy(
        3,
        head,
        day(3),
        "shop-2",
        Action::Correct {
            corrects: 2,
            reason: "wrong label".into(),
        },
        Outcome::Applied,
    );
    let head = corrected.hash(&key);
    write(corrected, &|_| {});
    // The first rules called a removal of a part in no vehicle evidence; today it is refused.
    let removal = legacy(
        4,
        head,
        day(4),
        "shop-3",
        Action::Remove { vin: None },
        Outcome::Conflict {
            kind: ConflictKind::NotInstalled,
            with: 1,
        },
    );
    write(removal, &|r| {
        r.flags
            .duplicate
            .push(evidence(4, ConflictKind::NotInstalled, day(4)));
        r.flags.conflicts = 2;
    });
    store.durable().unwrap();
    drop(store);

    let r = testkit::engine::reopen(&dir, w.database.as_ref());
    let report = r.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let history = r.history(&key).unwrap().unwrap();
    assert!(history.events[1..].iter().all(|e| e.basis == Basis::Legacy));
    assert_eq!(history.record.flags.duplicate.len(), 2);
    // New events follow today's rules on top of the old history.
    let resolved = r
        .record_genuine_scan(
            &key,
            &party("acme-brakes"),
            Action::Resolve {
                resolution: Resolution::Genuine,
                genuine: None,
                note: "old flags reviewed".into(),
            },
            day(5),
        )
        .unwrap();
    assert!(resolved.record.flags.duplicate.is_empty());
    let refused = r
        .record_genuine_scan(&key, &party("shop-3"), Action::Remove { vin: None }, day(6))
        .unwrap();
    assert!(matches!(refused.event.outcome, Outcome::Refused { .. }));
    assert!(r.audit(|_| {}).unwrap().is_clean());
}

#[test]
fn a_vin_that_does_not_verify_is_installed_into_only_when_confirmed() {
    let w = World::new();
    let key = w.registered("EUROPE1");
    let r = &w.registry;
    let shop = party("shop-1");
    // A European VIN: position 9 is no check digit.
    let european = Vin::parse_confirmed("WVWZZZ1JZXW000001").unwrap();
    let install = |vin_confirmed| registry::Submission {
        vin_confirmed,
        ..registry::Submission::scanned(Action::Install { vin: european }, w.label("EUROPE1"))
    };
    let e = r.submit(&key, &shop, install(false), day(1)).unwrap_err();
    assert!(
        matches!(&e, RegistryError::VinNotConfirmed(v) if v == &european)
            && e.to_string().contains("registration certificate"),
        "{e}"
    );
    assert_eq!(r.status(&key).unwrap().unwrap().record.events, 1);
    let recorded = r.submit(&key, &shop, install(true), day(1)).unwrap();
    assert_eq!(recorded.event.outcome, Outcome::Applied);
    assert!(recorded.event.vin_confirmed);
    // Stored, indexed and exported with the confirmation.
    let history = r.history(&key).unwrap().unwrap();
    assert!(history.events.last().unwrap().vin_confirmed);
    assert_eq!(r.installed_in(&european).unwrap().len(), 1);
    let epcis = registry::history_document(&history, day(2))
        .unwrap()
        .to_string();
    assert!(epcis.contains("\"partseal:vinConfirmed\":true"), "{epcis}");
    // A VIN that verifies records no confirmation, whatever the caller sent.
    let key2 = w.registered("EUROPE2");
    let verified = registry::Submission {
        vin_confirmed: true,
        ..registry::Submission::scanned(Action::Install { vin: vin(VIN_A) }, w.label("EUROPE2"))
    };
    assert!(
        !r.submit(&key2, &shop, verified, day(1))
            .unwrap()
            .event
            .vin_confirmed
    );
}
