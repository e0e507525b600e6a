//! Carton numbers: every SSCC round-trips through each form a label or a scanner gives it, and no input
//! makes the parser panic.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use proptest::prelude::*;
use signer::{BaseUrl, CartonLink, CompanyPrefix, Sscc, gs1};

fn sscc() -> impl Strategy<Value = Sscc> {
    "[0-9]{17}".prop_map(|d| {
        let check = gs1::check_digit(d.as_bytes()) as char;
        Sscc::parse(&format!("{d}{check}")).unwrap()
    })
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_form_round_trips(sscc in sscc(), base in base()) {
        let link = CartonLink::parse(&sscc.to_uri(&base)).unwrap();
        prop_assert_eq!(link.base.as_deref(), Some(base.as_str()));
        prop_assert_eq!(link.sscc, sscc);
        for form in [sscc.path(), sscc.element_string(), format!("00{sscc}"), sscc.to_string(),
                     format!("{}?x=1\r\n", sscc.to_uri(&base)), format!("]C100{sscc}"),
                     format!("\u{1d}00{sscc}"), format!("]C1\u{1d}00{sscc}\n")] {
            prop_assert_eq!(CartonLink::parse(&form).unwrap().sscc, sscc, "{}", form);
        }
    }

    #[test]
    fn a_changed_digit_is_refused(sscc in sscc(), pos in 0usize..18, digit in 0u8..10) {
        let mut digits = sscc.to_string().into_bytes();
        prop_assume!(digits[pos] != b'0' + digit);
        digits[pos] = b'0' + digit;
        let changed = String::from_utf8(digits).unwrap();
        // GS1's mod-10 check catches every single-digit error.
        prop_assert_eq!(CartonLink::parse(&changed).unwrap_err().code(), "sscc.check_digit");
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = CartonLink::parse(&text);
    }

    #[test]
    fn uri_shaped_garbage_never_panics(tail in "[/0-9A-Za-z%?&=#._~!'()*+,;:-]{0,200}") {
        let _ = CartonLink::parse(&format!("https://v.example.cn/00/{tail}"));
        let _ = CartonLink::parse(&format!("/00/{tail}"));
        let _ = CartonLink::parse(&format!("(00){tail}"));
    }
}

#[test]
fn carton_links_name_what_is_wrong() {
    let code = |s: &str| CartonLink::parse(s).unwrap_err().code();
    assert_eq!(
        code("https://v.example.cn/00/106141412345678909"),
        "sscc.check_digit"
    );
    assert_eq!(
        code("https://v.example.cn/00/1061414123"),
        "sscc.wrong_length"
    );
    assert_eq!(code("https://v.example.cn/"), "sscc.missing");
    assert_eq!(
        code("https://v.example.cn/00/106141412345678908/21/X"),
        "path.trailing"
    );
    assert_eq!(
        code("https://v.example.cn/01/06901234567892/00/106141412345678908"),
        "path.out_of_order"
    );
    assert_eq!(code("/21/X/00/106141412345678908"), "path.out_of_order");
    assert_eq!(code("/x/00/106141412345678908"), "path.unsupported_ai");
    assert_eq!(
        code("ftp://v.example.cn/00/106141412345678908"),
        "input.not_a_uri"
    );
    assert_eq!(code("106141412345678908#x"), "input.fragment");
    assert_eq!(code("  "), "input.empty");
    assert_eq!(code("0010614141234567890"), "sscc.wrong_length");
    let many = "&a=1".repeat(20);
    assert_eq!(
        code(&format!(
            "https://v.example.cn/00/106141412345678908?b=2{many}"
        )),
        "query.too_many_parameters"
    );
}

#[test]
fn a_base_with_a_path_prefix_is_kept() {
    let link = CartonLink::parse("https://v.example.cn/p/q/00/106141412345678908").unwrap();
    assert_eq!(link.base.as_deref(), Some("https://v.example.cn/p/q"));
    assert_eq!(link.sscc.as_str(), "106141412345678908");
}

#[test]
fn a_makers_prefix_covers_only_its_own_ssccs() {
    let prefix = CompanyPrefix::parse("0614141").unwrap();
    assert!(prefix.covers_sscc(&Sscc::parse("106141412345678908").unwrap()));
    assert!(
        !CompanyPrefix::parse("690123")
            .unwrap()
            .covers_sscc(&Sscc::parse("106141412345678908").unwrap())
    );
}

#[test]
fn a_carton_uri_fits_qr_version_4_at_level_m() {
    // With the same 32-character base URL the part test uses, a carton's link is 54 bytes: QR version 4
    // at error correction M holds 62 in byte mode, so carton QR codes stay small and coarse.
    let base = BaseUrl::parse("https://verify.partseal-demos.cn").unwrap();
    let uri = Sscc::parse("106141412345678908").unwrap().to_uri(&base);
    assert!(uri.len() <= 62, "{} bytes: {uri}", uri.len());
}
