//! Manifest uploads: any bytes read as a manifest give entries or per-line errors, never a panic,
//! and every entry read is written back to a line that reads as the same entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signer::{ManifestEntry, ManifestReader};

fuzz_target!(|data: &[u8]| {
    let mut reader = ManifestReader::new(data);
    let mut last = 0;
    for item in reader.by_ref() {
        if let Ok(entry) = item {
            let line = entry.to_json_line();
            let again = ManifestEntry::parse_line(line.trim_end()).expect("a written line reads");
            assert_eq!(again, entry);
        }
        last += 1;
        // Every item is one line at least; the reader never loops in place.
        assert!(last <= data.len() + 1);
    }
});
