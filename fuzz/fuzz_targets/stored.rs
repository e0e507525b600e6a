//! What the registry stores, read back from any bytes (a damaged or hostile data directory or
//! backup): events, code records, batches, lot recalls, parties, tokens, reports and scan
//! aggregates. The first byte picks the decoder. No input panics, and whatever decodes encodes to
//! bytes that decode to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry::record::Batch;
use registry::{
    CodeKey, CodeRecord, Event, LotRecall, Party, PartyId, Report, ScanStats, TokenRecord,
};
use signer::{Gtin, KeyId, Lot, Serial};

fn key() -> CodeKey {
    CodeKey::new(
        &Gtin::parse("06901234567892").expect("a valid GTIN"),
        &Serial::parse("X7K2P9QD4M").expect("a valid serial"),
    )
}

fn batch() -> Batch {
    Batch {
        manufacturer: PartyId::parse("maker-1").expect("a valid party id"),
        key_id: KeyId([7; 8]),
        lot: Lot::parse("L2026A").ok(),
        name: Some("Front brake pad".into()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 8 {
        0 => {
            if let Ok(event) = Event::decode(bytes) {
                assert_eq!(Event::decode(&event.encode()).ok(), Some(event));
            }
        }
        1 => {
            let key = key();
            if let Ok(record) = CodeRecord::decode(&key, bytes, |_| Some(batch())) {
                let encoded = record.encode(3);
                let again = CodeRecord::decode(&key, &encoded, |n| {
                    assert_eq!(n, 3);
                    Some(record.batch())
                });
                assert_eq!(again.ok(), Some(record));
            }
        }
        2 => {
            if let Ok(b) = Batch::decode(bytes) {
                assert_eq!(Batch::decode(&b.encode()).ok(), Some(b));
            }
        }
        3 => {
            if let Ok(recall) = LotRecall::decode(bytes) {
                assert_eq!(LotRecall::decode(&recall.encode()).ok(), Some(recall));
            }
        }
        4 => {
            if let Ok(party) = Party::decode(bytes) {
                assert_eq!(Party::decode(&party.encode()).ok(), Some(party));
            }
        }
        5 => {
            if let Ok(token) = TokenRecord::decode(bytes) {
                assert!(TokenRecord::decode(&token.encode()).ok() == Some(token));
            }
        }
        6 => {
            if let Ok(report) = Report::decode(bytes, || Some(key())) {
                let again = Report::decode(&report.encode(), || None);
                assert_eq!(again.ok(), Some(report));
            }
        }
        _ => {
            if let Ok(stats) = ScanStats::decode(bytes) {
                assert_eq!(ScanStats::decode(&stats.encode()).ok(), Some(stats));
            }
        }
    }
});
