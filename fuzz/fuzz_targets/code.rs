//! Scanned codes: the Digital Link parser, the signed-code parser and the GS1 elements. No input
//! panics, and whatever parses is written back to text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signer::{BaseUrl, DigitalLink, Gtin, Lot, Serial, SignedCode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(link) = DigitalLink::parse(text) {
        let again = DigitalLink::parse(&link.part.path()).expect("a part's own path parses");
        assert_eq!(again.part, link.part);
        assert_eq!(again.base, None);
    }
    if let Ok(code) = SignedCode::parse(text) {
        let again = SignedCode::parse(&code.path_and_query()).expect("a code's own path parses");
        assert_eq!(again, code);
        if let Ok(base) = BaseUrl::parse("https://verify.example.cn/p") {
            assert_eq!(SignedCode::parse(&code.to_uri(&base)).ok(), Some(code));
        }
    }
    if let Ok(base) = BaseUrl::parse(text) {
        assert_eq!(BaseUrl::parse(base.as_str()).ok(), Some(base));
    }
    if let Ok(gtin) = Gtin::parse(text) {
        assert_eq!(gtin.as_str(), text);
        assert_eq!(Gtin::parse(gtin.as_str()).ok(), Some(gtin));
    }
    if let Ok(serial) = Serial::parse(text) {
        assert_eq!(serial.as_str(), text);
    }
    if let Ok(lot) = Lot::parse(text) {
        assert_eq!(lot.as_str(), text);
    }
});
