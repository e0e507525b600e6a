//! The chain of trust: certificates, revocation lists and the rules that make a code genuine.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use signer::{
    BaseUrl, CertError, Certificate, CertificateBody, CheckTimes, CompanyPrefix, Revocation,
    RevocationError, RevocationList, RevocationReason, Signature, SignedCode, SigningKey,
    Timestamp, TrustStore, VerifyError,
};
use testkit::world::{DAY, LOT, key, part, t0};

fn certify(
    authority: &SigningKey,
    maker: &SigningKey,
    serial: u64,
    prefixes: &[&str],
    days: i64,
) -> Certificate {
    Certificate::issue(
        CertificateBody {
            serial,
            manufacturer_id: format!("maker-{serial}"),
            legal_name: "广州某某汽车零部件有限公司".into(),
            public_key: maker.verifying_key(),
            prefixes: prefixes
                .iter()
                .map(|p| CompanyPrefix::parse(p).unwrap())
                .collect(),
            not_before: t0(),
            not_after: t0().plus_days(days),
        },
        authority,
    )
    .unwrap()
}

fn code(maker: &SigningKey, gtin: &str, serial: &str) -> SignedCode {
    SignedCode::sign(part(gtin, LOT, serial), maker)
}

struct World {
    authority: SigningKey,
    maker: SigningKey,
    cert: Certificate,
    trust: TrustStore,
}

fn world() -> World {
    let authority = key(1);
    let maker = key(2);
    let cert = certify(&authority, &maker, 10, &["690123"], 365);
    let mut trust = TrustStore::new(vec![authority.verifying_key()]);
    trust.add_certificate(cert.clone()).unwrap();
    World {
        authority,
        maker,
        cert,
        trust,
    }
}

fn at(day: i64) -> CheckTimes {
    CheckTimes::offline(Timestamp(t0().0 + day * DAY))
}

#[test]
fn a_certified_code_is_genuine() {
    let w = world();
    let ok = w
        .trust
        .check_code(&code(&w.maker, "06901234567892", "ABC"), at(1))
        .unwrap();
    assert_eq!(ok.certificate.serial(), 10);
    assert_eq!(ok.decertified, None);
}

#[test]
fn gtin_outside_the_prefixes_is_refused_despite_a_good_signature() {
    let w = world();
    // 06912345678903: company digits 6912345678903 do not start with 690123.
    let gtin = "0691234567890";
    let gtin = format!(
        "{gtin}{}",
        signer::gs1::check_digit(gtin.as_bytes()) as char
    );
    let c = code(&w.maker, &gtin, "ABC");
    assert!(c.verify(&w.maker.verifying_key()).is_ok());
    let err = w.trust.check_code(&c, at(1)).unwrap_err();
    assert_eq!(err.code(), "gtin_outside_prefixes");
    assert!(err.to_string().contains("maker-10"), "{err}");
}

#[test]
fn unknown_key_and_wrong_key_are_forgeries() {
    let w = world();
    let rogue = key(3);
    assert_eq!(
        w.trust
            .check_code(&code(&rogue, "06901234567892", "ABC"), at(1))
            .unwrap_err(),
        VerifyError::UnknownKey(signer::KeyId::of(&rogue.verifying_key()))
    );
    // A rogue signature presented under the certified key's id.
    let mut forged = code(&rogue, "06901234567892", "ABC");
    forged.key_id = w.cert.key_id();
    assert_eq!(
        w.trust.check_code(&forged, at(1)).unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn expired_and_not_yet_valid_certificates() {
    let w = world();
    let c = code(&w.maker, "06901234567892", "ABC");
    assert_eq!(
        w.trust.check_code(&c, at(-1)).unwrap_err().code(),
        "certificate_not_yet_valid"
    );
    assert_eq!(
        w.trust.check_code(&c, at(365)).unwrap_err().code(),
        "certificate_expired"
    );
    assert!(w.trust.check_code(&c, at(364)).is_ok());
    // Online: registered while valid, checked long after expiry, still genuine.
    let times = CheckTimes {
        issued_at: at(10).now,
        now: at(900).now,
    };
    assert!(w.trust.check_code(&c, times).is_ok());
}

#[test]
fn key_rotation_two_valid_certificates() {
    let mut w = world();
    let new_key = key(4);
    let second = certify(&w.authority, &new_key, 11, &["690123"], 365);
    w.trust.add_certificate(second).unwrap();
    assert!(
        w.trust
            .check_code(&code(&w.maker, "06901234567892", "A"), at(1))
            .is_ok()
    );
    assert_eq!(
        w.trust
            .check_code(&code(&new_key, "06901234567892", "B"), at(1))
            .unwrap()
            .certificate
            .serial(),
        11
    );
}

#[test]
fn renewal_with_the_same_key_bridges_expiry() {
    let mut w = world();
    let mut body = w.cert.body().clone();
    body.serial = 12;
    body.not_before = t0().plus_days(300);
    body.not_after = t0().plus_days(700);
    w.trust
        .add_certificate(Certificate::issue(body, &w.authority).unwrap())
        .unwrap();
    let c = code(&w.maker, "06901234567892", "A");
    assert_eq!(
        w.trust
            .check_code(&c, at(500))
            .unwrap()
            .certificate
            .serial(),
        12
    );
}

#[test]
fn key_compromise_stops_every_code_of_the_key_from_its_effective_time() {
    let mut w = world();
    let entry = Revocation {
        cert_serial: 10,
        key_id: w.cert.key_id(),
        reason: RevocationReason::KeyCompromise,
        effective_at: at(30).now,
    };
    let list = RevocationList::issue(1, at(31).now, vec![entry], &w.authority).unwrap();
    w.trust.set_revocations(list).unwrap();
    let c = code(&w.maker, "06901234567892", "ABC");
    assert!(w.trust.check_code(&c, at(29)).is_ok());
    let err = w.trust.check_code(&c, at(30)).unwrap_err();
    assert_eq!(err.code(), "key_compromised");
    // Even codes registered long before the compromise.
    let times = CheckTimes {
        issued_at: at(1).now,
        now: at(40).now,
    };
    assert_eq!(
        w.trust.check_code(&c, times).unwrap_err().code(),
        "key_compromised"
    );
    // And under another certificate for the same key.
    let again = certify(&w.authority, &w.maker, 13, &["690123"], 365);
    w.trust.add_certificate(again).unwrap();
    assert_eq!(
        w.trust.check_code(&c, at(40)).unwrap_err().code(),
        "key_compromised"
    );
}

#[test]
fn decertified_codes_stay_authentic_but_are_marked() {
    let mut w = world();
    let entry = Revocation {
        cert_serial: 10,
        key_id: w.cert.key_id(),
        reason: RevocationReason::Decertified,
        effective_at: at(30).now,
    };
    w.trust
        .set_revocations(RevocationList::issue(1, at(30).now, vec![entry], &w.authority).unwrap())
        .unwrap();
    let c = code(&w.maker, "06901234567892", "ABC");
    assert_eq!(w.trust.check_code(&c, at(10)).unwrap().decertified, None);
    let later = w.trust.check_code(&c, at(31)).unwrap();
    assert_eq!(
        later.decertified.map(|r| r.reason),
        Some(RevocationReason::Decertified)
    );
}

#[test]
fn revocation_lists_only_move_forward_and_escalate() {
    let mut w = world();
    let entry = |reason| Revocation {
        cert_serial: 10,
        key_id: w.cert.key_id(),
        reason,
        effective_at: at(5).now,
    };
    let first = RevocationList::issue(
        1,
        at(5).now,
        vec![entry(RevocationReason::Decertified)],
        &w.authority,
    )
    .unwrap();
    let second = first
        .extend(
            entry(RevocationReason::KeyCompromise),
            at(6).now,
            &w.authority,
        )
        .unwrap();
    assert_eq!(second.sequence(), 2);
    assert_eq!(second.entries().len(), 1);
    assert!(matches!(
        second.extend(
            entry(RevocationReason::Decertified),
            at(7).now,
            &w.authority
        ),
        Err(RevocationError::AlreadyRevoked { .. })
    ));
    w.trust.set_revocations(second.clone()).unwrap();
    assert!(matches!(
        w.trust.set_revocations(first),
        Err(RevocationError::Stale {
            offered: 1,
            current: 2
        })
    ));
    // The list in force again: fine. Another list under its number (one that leaves out the
    // compromised key): refused, and the list in force stays.
    w.trust.set_revocations(second.clone()).unwrap();
    let rival = RevocationList::issue(
        2,
        at(6).now,
        vec![entry(RevocationReason::Decertified)],
        &w.authority,
    )
    .unwrap();
    let refused = w.trust.set_revocations(rival).unwrap_err();
    assert_eq!(refused, RevocationError::Conflicting { sequence: 2 });
    assert!(refused.to_string().contains("higher sequence number"));
    assert_eq!(w.trust.revocations(), Some(&second));
}

#[test]
fn a_list_or_certificate_from_another_authority_is_refused() {
    let mut w = world();
    let impostor = key(9);
    let cert = certify(&impostor, &key(5), 20, &["690123"], 365);
    assert!(matches!(
        w.trust.add_certificate(cert),
        Err(CertError::UnknownIssuer(_))
    ));
    let list = RevocationList::issue(7, at(1).now, vec![], &impostor).unwrap();
    assert!(matches!(
        w.trust.set_revocations(list),
        Err(RevocationError::UnknownIssuer(_))
    ));
}

#[test]
fn tampering_with_any_byte_of_a_certificate_is_detected() {
    let w = world();
    let roots = [w.authority.verifying_key()];
    let bytes = w.cert.to_bytes().to_vec();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= flip;
            let accepted = Certificate::from_bytes(&tampered).and_then(|c| c.verify_issuer(&roots));
            assert!(accepted.is_err(), "byte {i} ^ {flip:#x} went unnoticed");
        }
    }
    // Truncation and extension too.
    assert!(Certificate::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(Certificate::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
    // And in the PEM file, every character.
    let pem = w.cert.to_pem();
    let round = Certificate::from_pem(&pem).unwrap();
    assert_eq!(round, w.cert);
    for i in 0..pem.len() - 1 {
        let mut tampered = pem.clone().into_bytes();
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let text = String::from_utf8(tampered).unwrap();
        let accepted = Certificate::from_pem(&text).and_then(|c| c.verify_issuer(&roots));
        assert!(accepted.is_err(), "PEM character {i} went unnoticed");
    }
}

#[test]
fn tampering_with_any_byte_of_a_revocation_list_is_detected() {
    let w = world();
    let roots = [w.authority.verifying_key()];
    let entries = vec![
        Revocation {
            cert_serial: 10,
            key_id: w.cert.key_id(),
            reason: RevocationReason::KeyCompromise,
            effective_at: at(5).now,
        },
        Revocation {
            cert_serial: 99,
            key_id: w.cert.key_id(),
            reason: RevocationReason::Decertified,
            effective_at: at(6).now,
        },
    ];
    let list = RevocationList::issue(3, at(6).now, entries, &w.authority).unwrap();
    let bytes = list.to_bytes().to_vec();
    assert_eq!(RevocationList::from_bytes(&bytes).unwrap(), list);
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x04;
        let accepted = RevocationList::from_bytes(&tampered).and_then(|l| l.verify_issuer(&roots));
        assert!(accepted.is_err(), "byte {i} went unnoticed");
    }
    assert!(RevocationList::from_bytes(&bytes[..bytes.len() - 1]).is_err());
}

#[test]
fn certificates_are_deterministic_and_keep_utf8_names() {
    let w = world();
    let again = Certificate::issue(w.cert.body().clone(), &w.authority).unwrap();
    assert_eq!(again.to_bytes(), w.cert.to_bytes());
    assert_eq!(
        Certificate::from_pem(&w.cert.to_pem())
            .unwrap()
            .body()
            .legal_name,
        "广州某某汽车零部件有限公司"
    );
}

#[test]
fn malformed_certificate_bodies_are_refused() {
    let w = world();
    let mut body = w.cert.body().clone();
    body.prefixes.reverse();
    body.prefixes.push(CompanyPrefix::parse("111").unwrap());
    assert!(matches!(
        Certificate::issue(body, &w.authority),
        Err(CertError::Invalid {
            field: "prefixes",
            ..
        })
    ));
    let mut body = w.cert.body().clone();
    body.not_after = body.not_before;
    assert!(Certificate::issue(body, &w.authority).is_err());
    let mut body = w.cert.body().clone();
    body.manufacturer_id = "has space".into();
    assert!(Certificate::issue(body, &w.authority).is_err());
}

/// The group order of Ed25519, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    out
}

#[test]
fn non_canonical_signatures_are_rejected() {
    let w = world();
    let c = code(&w.maker, "06901234567892", "ABC");
    // S + L verifies under a lax verifier's arithmetic, but is not the canonical encoding.
    let sig = c.signature.to_bytes();
    let s: [u8; 32] = sig[32..].try_into().unwrap();
    let mut mauled = sig;
    mauled[32..].copy_from_slice(&add_le(&s, &L));
    let mut bad = c.clone();
    bad.signature = Signature::from_bytes(&mauled);
    assert_ne!(bad.signature, c.signature);
    assert_eq!(
        w.trust.check_code(&bad, at(1)).unwrap_err(),
        VerifyError::BadSignature
    );
    // The same through the URI: a mauled label is forged, not a second genuine code.
    let uri = bad.to_uri(&BaseUrl::parse("https://v.example.cn").unwrap());
    let parsed = SignedCode::parse(&uri).unwrap();
    assert_eq!(
        w.trust.check_code(&parsed, at(1)).unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn small_order_r_and_weak_keys_are_rejected() {
    let w = world();
    let c = code(&w.maker, "06901234567892", "ABC");
    // R = the identity point (encoding 1, 0, ..., 0) is of small order; verify_strict refuses it.
    let mut sig = c.signature.to_bytes();
    sig[..32].copy_from_slice(&[
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ]);
    let mut bad = c.clone();
    bad.signature = Signature::from_bytes(&sig);
    assert_eq!(
        w.trust.check_code(&bad, at(1)).unwrap_err(),
        VerifyError::BadSignature
    );
    // A certificate for a small-order public key cannot be issued or decoded.
    let identity = signer::VerifyingKey::from_bytes(&[
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ])
    .unwrap();
    let mut body = w.cert.body().clone();
    body.public_key = identity;
    assert!(matches!(
        Certificate::issue(body, &w.authority),
        Err(CertError::Invalid {
            field: "public key",
            ..
        })
    ));
}
