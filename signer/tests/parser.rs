//! Property tests: every field combination round-trips, and no input makes the parser panic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use proptest::prelude::*;
use signer::{BaseUrl, DigitalLink, Gtin, Lot, PartId, Serial, SignedCode, SigningKey, gs1};

const GS1_CHARS: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn gtin() -> impl Strategy<Value = Gtin> {
    "[0-9]{13}".prop_map(|d| {
        let check = gs1::check_digit(d.as_bytes()) as char;
        Gtin::parse(&format!("{d}{check}")).unwrap()
    })
}

fn attribute() -> impl Strategy<Value = String> {
    let chars: Vec<char> = GS1_CHARS.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), 1..=20)
        .prop_map(|v| v.into_iter().collect())
}

fn base() -> impl Strategy<Value = BaseUrl> {
    (
        "(http|https)",
        "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,5}){1,2}(:[0-9]{2,5})?",
        "(/[a-z][a-z0-9]{0,7}){0,2}",
    )
        .prop_map(|(scheme, host, path)| {
            BaseUrl::parse(&format!("{scheme}://{host}{path}")).unwrap()
        })
}

fn sample_code(key: &SigningKey) -> SignedCode {
    let part = PartId {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: Some(Lot::parse("L2026A").unwrap()),
        serial: Serial::parse("X7K2P9QD4MABC").unwrap(),
    };
    SignedCode::sign(part, key)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uri_round_trips(gtin in gtin(), lot in proptest::option::of(attribute()), serial in attribute(),
                       base in base(), seed in any::<[u8; 32]>()) {
        let key = SigningKey::from_bytes(&seed);
        let part = PartId { gtin, lot: lot.map(|l| Lot::parse(&l).unwrap()), serial: Serial::parse(&serial).unwrap() };
        let code = SignedCode::sign(part, &key);
        let uri = code.to_uri(&base);
        let link = DigitalLink::parse(&uri).unwrap();
        prop_assert_eq!(link.base.as_deref(), Some(base.as_str()));
        let parsed = link.into_signed().unwrap();
        prop_assert!(parsed.verify(&key.verifying_key()).is_ok());
        prop_assert_eq!(&parsed, &code);
        // The bare path and query parse to the same code.
        prop_assert_eq!(SignedCode::parse(&code.path_and_query()).unwrap(), code);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = DigitalLink::parse(&text);
    }

    #[test]
    fn uri_shaped_garbage_never_panics(tail in "[/0-9A-Za-z%?&=#._~!'()*+,;:-]{0,200}") {
        let _ = DigitalLink::parse(&format!("https://v.example.cn/01/{tail}"));
        let _ = DigitalLink::parse(&format!("/01/06901234567892/21/{tail}"));
    }

    #[test]
    fn a_changed_character_never_verifies_as_another_code(
        seed in any::<[u8; 32]>(), pos in any::<prop::sample::Index>(), ch in any::<char>()) {
        let key = SigningKey::from_bytes(&seed);
        let code = sample_code(&key);
        let uri = code.to_uri(&BaseUrl::parse("https://verify.example.cn").unwrap());
        let i = pos.index(uri.len());
        let mut mutated = uri.clone();
        mutated.replace_range(i..i + 1, &ch.to_string());
        if let Ok(parsed) = SignedCode::parse(&mutated) {
            // Either the change did not touch the signed identity (it hit the base URL) or the
            // signature no longer verifies.
            if parsed != code {
                prop_assert!(parsed.verify(&key.verifying_key()).is_err(), "{} verified", mutated);
            }
        }
    }
}

#[test]
fn every_byte_of_the_signed_part_is_protected() {
    let key = SigningKey::from_bytes(&[9; 32]);
    let code = sample_code(&key);
    let base = "https://verify.example.cn";
    let uri = code.to_uri(&BaseUrl::parse(base).unwrap());
    let mut rejected = 0;
    for i in base.len()..uri.len() {
        for replacement in ['A', '7', 'z', '-'] {
            let mut mutated = uri.clone();
            if mutated.as_bytes()[i] == replacement as u8 {
                continue;
            }
            mutated.replace_range(i..i + 1, &replacement.to_string());
            let ok = SignedCode::parse(&mutated).map(|c| c.verify(&key.verifying_key()).is_ok());
            assert!(!matches!(ok, Ok(true)), "{mutated} still verifies");
            rejected += 1;
        }
    }
    assert!(rejected > 500);
}

#[test]
fn one_megabyte_is_refused_without_scanning() {
    let big = "https://x.cn/01/06901234567892/21/".to_owned() + &"A".repeat(1 << 20);
    assert_eq!(
        SignedCode::parse(&big).unwrap_err().code(),
        "input.too_long"
    );
}

#[test]
fn errors_name_the_field_in_words() {
    let e = SignedCode::parse("https://verify.example.cn/01/06901234567892/21/").unwrap_err();
    assert_eq!(e.to_string(), "serial (21) is empty");
    let e =
        SignedCode::parse("https://verify.example.cn/01/06901234567892/21/ABC?k=AAAAAAAAAAA&s=abc")
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "signature (s) must be exactly 86 characters, found 3"
    );
}

#[test]
fn scanner_newline_is_tolerated_but_inner_space_is_not() {
    let code = sample_code(&SigningKey::from_bytes(&[1; 32]));
    let uri = code.to_uri(&BaseUrl::parse("https://v.example.cn").unwrap());
    assert_eq!(SignedCode::parse(&format!("{uri}\r\n")).unwrap(), code);
    let spaced = uri.replacen("/21/", "/21/ ", 1);
    assert_eq!(
        SignedCode::parse(&spaced).unwrap_err().code(),
        "input.bad_char"
    );
}

#[test]
fn base_urls_are_checked() {
    assert_eq!(
        BaseUrl::parse("https://v.example.cn/").unwrap().as_str(),
        "https://v.example.cn"
    );
    assert_eq!(
        BaseUrl::parse("ftp://v.example.cn").unwrap_err().code(),
        "base_url.not_a_uri"
    );
    assert_eq!(
        BaseUrl::parse("https://v.example.cn/01")
            .unwrap_err()
            .code(),
        "base_url.not_a_base"
    );
    assert_eq!(
        BaseUrl::parse("https://v.example.cn/x/21")
            .unwrap_err()
            .code(),
        "base_url.not_a_base"
    );
    assert_eq!(
        BaseUrl::parse("https://v.example.cn?x=1")
            .unwrap_err()
            .code(),
        "base_url.bad_char"
    );
    assert_eq!(
        BaseUrl::parse("https:///x").unwrap_err().code(),
        "base_url.empty"
    );
}

#[test]
fn worst_case_uri_fits_qr_version_10_at_level_m() {
    // A 32-character base URL, a 10-character lot and a 13-character generated serial (one more than
    // the 12 the requirement names). QR version 10 at error correction M holds 213 bytes in byte mode.
    let base = BaseUrl::parse("https://verify.partseal-demos.cn").unwrap();
    assert_eq!(base.as_str().len(), 32);
    let part = PartId {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: Some(Lot::parse("LOT2026-11").unwrap()),
        serial: Serial::random(&mut rand::rngs::OsRng),
    };
    let uri = SignedCode::sign(part, &SigningKey::from_bytes(&[3; 32])).to_uri(&base);
    assert!(uri.len() <= 213, "{} bytes: {uri}", uri.len());
}
