//! Hand-typed GTINs and serials (the owner's lookup form): no input panics, and what the
//! normaliser hands the registry is always a valid GTIN and valid serials, normalised for good
//! (normalising them again changes nothing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signer::{Gtin, Serial};
use verifier::typed_input::{gtin, normalise, serial_candidates};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The two boxes of the form, split at the first line break.
    let (gtin_box, serial_box) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(typed) = normalise(gtin_box, serial_box) {
        assert_eq!(Gtin::parse(typed.gtin.as_str()).ok(), Some(typed.gtin));
        assert!(!typed.serials.is_empty());
        for serial in &typed.serials {
            assert!(Serial::parse(serial).is_ok(), "{serial:?}");
        }
        let again = normalise(typed.gtin.as_str(), &typed.serials[0]).expect("normalised input");
        assert_eq!(again.gtin, typed.gtin);
        assert_eq!(again.serials[0], typed.serials[0]);
    }
    if let Ok(g) = gtin(text) {
        assert_eq!(gtin(g.as_str()).ok(), Some(g));
    }
    if let Ok(serials) = serial_candidates(text) {
        for serial in &serials {
            assert!(Serial::parse(serial).is_ok(), "{serial:?}");
        }
    }
});
