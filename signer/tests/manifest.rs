//! Batch signing and the manifest: what `sign` writes, every reader gets back exactly.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::HashSet;
use std::io::Cursor;

use signer::batch::{self, BatchSpec};
use signer::manifest::LineError;
use signer::{BaseUrl, Gtin, Lot, ManifestError, ManifestReader, Serial, SigningKey};

fn spec() -> BatchSpec {
    BatchSpec {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: Some(Lot::parse("L2026A").unwrap()),
        base: BaseUrl::parse("https://verify.example.cn").unwrap(),
        name: Some("前刹车片 Front brake pad".into()),
    }
}

#[test]
fn a_signed_batch_reads_back_verified_and_distinct() {
    let key = SigningKey::from_bytes(&[5; 32]);
    let mut out = Vec::new();
    let seen = std::sync::Mutex::new(Vec::new());
    let n = batch::sign_batch(
        &key,
        &spec(),
        batch::random_serials().take(20_000),
        &mut out,
        &|n| seen.lock().unwrap().push(n),
    )
    .unwrap();
    assert_eq!(n, 20_000);
    // Progress is reported per chunk, ending at the total.
    assert_eq!(seen.lock().unwrap().last(), Some(&20_000));
    let mut serials = HashSet::new();
    for entry in ManifestReader::new(Cursor::new(&out)) {
        let entry = entry.unwrap();
        entry.code.verify(&key.verifying_key()).unwrap();
        assert_eq!(entry.name.as_deref(), Some("前刹车片 Front brake pad"));
        assert!(
            entry
                .uri
                .starts_with("https://verify.example.cn/01/06901234567892/10/L2026A/21/")
        );
        assert!(serials.insert(entry.code.part.serial.to_string()));
    }
    assert_eq!(serials.len(), 20_000);
}

#[test]
fn given_serials_are_signed_in_order_and_a_bad_one_stops_the_batch() {
    let key = SigningKey::from_bytes(&[5; 32]);
    let serials = ["A1", "B2", "C3"]
        .map(|s| Serial::parse(s).map_err(|e| std::io::Error::other(e.to_string())));
    let mut out = Vec::new();
    batch::sign_batch(&key, &spec(), serials, &mut out, &|_| ()).unwrap();
    let got: Vec<String> = ManifestReader::new(Cursor::new(&out))
        .map(|e| e.unwrap().code.part.serial.to_string())
        .collect();
    assert_eq!(got, ["A1", "B2", "C3"]);

    let bad = vec![
        Ok(Serial::parse("A1").unwrap()),
        Err(std::io::Error::other("line 2: bad serial")),
    ];
    let err = batch::sign_batch(&key, &spec(), bad, Vec::new(), &|_| ()).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn bad_lines_are_reported_with_their_numbers() {
    let key = SigningKey::from_bytes(&[5; 32]);
    let mut good = Vec::new();
    batch::sign_batch(
        &key,
        &spec(),
        batch::random_serials().take(2),
        &mut good,
        &|_| (),
    )
    .unwrap();
    let good = String::from_utf8(good).unwrap();
    let first = good.lines().next().unwrap();
    let tampered_serial = first.replace("\"serial\":\"", "\"serial\":\"X");
    let unknown_field = first.replace("{\"uri\"", "{\"extra\":1,\"uri\"");
    let no_base = first.replace("https://verify.example.cn", "");
    let long = format!("{{\"uri\":\"{}\"}}", "A".repeat(10_000));
    let text = format!(
        "{first}\n\n{{not json\n{tampered_serial}\n{unknown_field}\n{no_base}\n{long}\n{first}\n"
    );
    let results: Vec<_> = ManifestReader::new(Cursor::new(text.as_bytes())).collect();
    let lines: Vec<(u64, String)> = results
        .iter()
        .filter_map(|r| match r {
            Err(ManifestError::Line { line, error }) => Some((*line, error.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines.iter().map(|l| l.0).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7],
        "{lines:?}"
    );
    assert!(lines[1].1.contains("\"serial\" says"), "{}", lines[1].1);
    assert!(lines[2].1.contains("unknown field"), "{}", lines[2].1);
    assert!(matches!(
        &results[4],
        Err(ManifestError::Line {
            error: LineError::NoBase,
            ..
        })
    ));
    assert!(matches!(
        &results[5],
        Err(ManifestError::Line {
            error: LineError::TooLong,
            ..
        })
    ));
    // The reader carries on after an over-long line: the last line is good again.
    assert!(results.last().unwrap().is_ok());
    assert_eq!(results.len(), 7);
}
