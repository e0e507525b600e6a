//! Registration: trust rules, batch-verified signatures, idempotency, conflicts, manifests.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use registry::{CodeKey, Registration, register_manifest};
use signer::{
    BaseUrl, ManifestEntry, Revocation, RevocationList, RevocationReason, Signature, SignedCode,
};
use testkit::world::*;

fn codes(results: &[Registration]) -> Vec<&str> {
    results.iter().map(Registration::code).collect()
}

#[test]
fn registers_once_and_resending_is_idempotent() {
    let w = World::new();
    let batch: Vec<SignedCode> = (0..300).map(|i| w.code(&format!("S{i}"))).collect();
    let first = w.registry.register(&batch, None, day(1)).unwrap();
    assert!(first.iter().all(|r| *r == Registration::Registered));
    let again = w.registry.register(&batch, None, day(2)).unwrap();
    assert!(again.iter().all(|r| *r == Registration::AlreadyRegistered));
    assert_eq!(w.registry.stats().unwrap().codes, 300);
    // Registration time is the first one.
    let key = registry::CodeKey::of(&batch[0].part);
    assert_eq!(
        w.registry
            .status(&key)
            .unwrap()
            .unwrap()
            .record
            .registered_at,
        day(1)
    );
}

#[test]
fn a_different_signature_for_a_registered_code_is_a_conflict() {
    let w = World::new();
    w.registered("CONF1");
    // The same GTIN and serial in another lot: a different message, a different valid signature.
    let other_lot = SignedCode::sign(part(GTIN, "L2026B", "CONF1"), &w.maker);
    // And in one batch: the first wins, the second conflicts.
    let twins = [
        SignedCode::sign(part(GTIN, "L2026A", "TWIN"), &w.maker),
        SignedCode::sign(part(GTIN, "L2026B", "TWIN"), &w.maker),
    ];
    let results = w
        .registry
        .register(
            &[other_lot, twins[0].clone(), twins[1].clone()],
            None,
            day(1),
        )
        .unwrap();
    assert_eq!(
        codes(&results),
        [
            "conflicting_registration",
            "registered",
            "conflicting_registration"
        ]
    );
    let Registration::Rejected(r) = &results[0] else {
        unreachable!()
    };
    assert!(r.reason.contains("leaked key"), "{}", r.reason);
}

#[test]
fn codes_failing_the_trust_rules_are_rejected_with_their_reason() {
    let w = World::new();
    let stranger = key(9);
    let mut tampered = w.code("BAD1");
    let mut sig = tampered.signature.to_bytes();
    sig[5] ^= 1;
    tampered.signature = Signature::from_bytes(&sig);
    let outside = SignedCode::sign(part("04012345000016", "L1", "OUT1"), &w.maker);
    let unknown = SignedCode::sign(part(GTIN, "L1", "UNK1"), &stranger);
    let good = w.code("GOOD1");
    let results = w
        .registry
        .register(&[tampered, outside, unknown, good], None, day(1))
        .unwrap();
    assert_eq!(
        codes(&results),
        [
            "bad_signature",
            "gtin_outside_prefixes",
            "unknown_key",
            "registered"
        ]
    );
    // An expired certificate: registering a year and a day later.
    let late = w
        .registry
        .register(&[w.code("LATE1")], None, day(367))
        .unwrap();
    assert_eq!(codes(&late), ["certificate_expired"]);
    // Registering on behalf of another party.
    let as_other = w
        .registry
        .register(&[w.code("MINE1")], Some(&party("rival")), day(1))
        .unwrap();
    assert_eq!(codes(&as_other), ["not_your_code"]);
}

#[test]
fn a_bad_signature_inside_a_large_batch_is_found_exactly() {
    let w = World::new();
    let mut batch: Vec<SignedCode> = (0..1000).map(|i| w.code(&format!("B{i}"))).collect();
    for i in [3usize, 517, 999] {
        let mut sig = batch[i].signature.to_bytes();
        sig[40] ^= 0x80;
        batch[i].signature = Signature::from_bytes(&sig);
    }
    let results = w.registry.register(&batch, None, day(1)).unwrap();
    for (i, r) in results.iter().enumerate() {
        let expected = if [3, 517, 999].contains(&i) {
            "bad_signature"
        } else {
            "registered"
        };
        assert_eq!(r.code(), expected, "code {i}");
    }
}

fn revoke(w: &World, reason: RevocationReason, effective: i64) -> RevocationList {
    RevocationList::issue(
        1,
        day(effective),
        vec![Revocation {
            cert_serial: w.cert.serial(),
            key_id: w.cert.key_id(),
            reason,
            effective_at: day(effective),
        }],
        &w.authority,
    )
    .unwrap()
}

#[test]
fn a_decertified_maker_cannot_register_and_a_compromised_key_is_refused() {
    let w = World::new();
    w.registered("EARLY1");
    w.registry
        .set_revocations(revoke(&w, RevocationReason::Decertified, 5), day(5))
        .unwrap();
    let results = w
        .registry
        .register(&[w.code("AFTER1")], None, day(6))
        .unwrap();
    assert_eq!(codes(&results), ["manufacturer_decertified"]);
    // Earlier codes stay registered; the verifier decides how to present them.
    let early = registry::CodeKey::of(&w.code("EARLY1").part);
    assert!(w.registry.status(&early).unwrap().is_some());

    let w = World::new();
    w.registry
        .set_revocations(revoke(&w, RevocationReason::KeyCompromise, 5), day(5))
        .unwrap();
    let results = w
        .registry
        .register(&[w.code("AFTER2")], None, day(6))
        .unwrap();
    assert_eq!(codes(&results), ["key_compromised"]);
    // A forged revocation list is refused and changes nothing.
    let forged = RevocationList::issue(2, day(7), vec![], &key(7)).unwrap();
    assert_eq!(
        w.registry
            .set_revocations(forged, day(7))
            .unwrap_err()
            .code(),
        "trust_refused"
    );
    assert_eq!(w.registry.trust().revocations().unwrap().sequence(), 1);
}

#[test]
fn a_manifest_registers_line_by_line_with_malformed_lines_reported() {
    let w = World::new();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let mut text = String::new();
    for i in 0..20_000 {
        if i == 5 {
            text.push_str("{\"uri\":\"not a code\"}\n");
        }
        let entry = ManifestEntry::new(w.code(&format!("M{i}")), &base, None);
        text.push_str(&entry.to_json_line());
        text.push('\n');
    }
    let mut lines = Vec::new();
    let summary = register_manifest(&w.registry, text.as_bytes(), None, day(1), |line, r| {
        lines.push((line, r.code()))
    })
    .unwrap();
    assert_eq!(summary.lines, 20_001);
    assert_eq!(summary.registered, 20_000);
    assert_eq!(summary.rejected.get("malformed_line"), Some(&1));
    assert_eq!(lines[5], (6, "malformed_line"));
    assert_eq!(lines[6], (7, "registered"));
    assert!(lines.windows(2).all(|p| p[0].0 < p[1].0));
    // Sending it again registers nothing new.
    let again = register_manifest(&w.registry, text.as_bytes(), None, day(2), |_, _| {}).unwrap();
    assert_eq!(again.already_registered, 20_000);
    assert_eq!(again.registered, 0);
}

#[test]
fn racing_uploads_of_one_batch_register_each_code_exactly_once() {
    let w = World::new();
    let batch: Vec<SignedCode> = (0..2000).map(|i| w.code(&format!("RACE{i}"))).collect();
    let results: Vec<Vec<Registration>> = std::thread::scope(|s| {
        let uploads: Vec<_> = (0..4)
            .map(|_| s.spawn(|| w.registry.register(&batch, None, day(1)).unwrap()))
            .collect();
        uploads.into_iter().map(|u| u.join().unwrap()).collect()
    });
    for i in 0..batch.len() {
        let registered = results
            .iter()
            .filter(|r| r[i] == Registration::Registered)
            .count();
        assert_eq!(registered, 1, "code {i}");
        assert!(results.iter().all(|r| matches!(
            r[i],
            Registration::Registered | Registration::AlreadyRegistered
        )));
    }
    assert_eq!(w.registry.stats().unwrap().codes, 2000);
}

#[test]
fn the_part_name_is_kept_once_per_batch_and_survives_a_reopen() {
    let World {
        dir,
        registry,
        maker,
        database,
        ..
    } = World::new();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let code = |serial: &str| SignedCode::sign(part(GTIN, "L2026A", serial), &maker);
    // One lot, two names: two batches; a line without a name keeps none.
    let lines = [
        ("N1", Some("Front brake pad")),
        ("N2", Some("Front brake pad")),
        ("N3", Some("前刹车片")),
        ("N4", None),
    ];
    let mut text = String::new();
    for (serial, name) in lines {
        let entry = ManifestEntry::new(code(serial), &base, name.map(str::to_owned));
        text.push_str(&entry.to_json_line());
        text.push('\n');
    }
    let summary = register_manifest(&registry, text.as_bytes(), None, day(1), |_, _| {}).unwrap();
    assert_eq!(summary.registered, 4);
    let name_of = |r: &registry::Registry, serial: &str| {
        r.status(&CodeKey::of(&code(serial).part))
            .unwrap()
            .unwrap()
            .record
            .name
            .clone()
    };
    let check = |r: &registry::Registry| {
        for (serial, name) in lines {
            assert_eq!(name_of(r, serial).as_deref(), name, "{serial}");
        }
    };
    check(&registry);
    // Read back from disk, through the batches table.
    drop(registry);
    let reopened = testkit::engine::reopen(&dir.path().join("data"), database.as_ref());
    check(&reopened);
    // A code whose batch has a name keeps it when a custody event rewrites its record.
    let key = CodeKey::of(&code("N1").part);
    reopened
        .record_genuine_scan(&key, &party("shop-1"), registry::Action::Receive, day(2))
        .unwrap();
    assert_eq!(name_of(&reopened, "N1").as_deref(), Some("Front brake pad"));
}
