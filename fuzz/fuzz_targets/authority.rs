//! The authority's statements: certificates and revocation lists, binary and PEM. No input
//! panics, and what decodes re-encodes to the same bytes (the encodings are canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use signer::{Certificate, RevocationList};

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_bytes(data) {
        assert_eq!(cert.to_bytes(), data);
        assert!(Certificate::from_pem(&cert.to_pem()).ok() == Some(cert));
    }
    if let Ok(list) = RevocationList::from_bytes(data) {
        assert_eq!(list.to_bytes(), data);
        assert_eq!(RevocationList::from_pem(&list.to_pem()).ok(), Some(list));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cert) = Certificate::from_pem(text) {
            assert!(Certificate::from_bytes(cert.to_bytes()).ok() == Some(cert));
        }
        if let Ok(list) = RevocationList::from_pem(text) {
            assert_eq!(RevocationList::from_bytes(list.to_bytes()).ok(), Some(list));
        }
    }
});
