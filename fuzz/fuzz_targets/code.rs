//! Scanned codes: the Digital Link parser, the signed-code parser, the carton link parser and the GS1
//! elements. No input panics, and whatever parses is written back to text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signer::{BaseUrl, CartonLink, DigitalLink, Gtin, Lot, Serial, SignedCode, Sscc};

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
    if let Ok(link) = CartonLink::parse(text) {
        let sscc = link.sscc;
        for form in [sscc.path(), sscc.element_string(), sscc.to_string()] {
            assert_eq!(CartonLink::parse(&form).ok().map(|l| l.sscc), Some(sscc));
        }
        if let Ok(base) = BaseUrl::parse("https://verify.example.cn/p") {
            let again = CartonLink::parse(&sscc.to_uri(&base)).expect("a carton's own link parses");
            assert_eq!(again.sscc, sscc);
        }
    }
    if let Ok(sscc) = Sscc::parse(text) {
        assert_eq!(sscc.as_str(), text);
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
