//! Batch rendering: order, line numbers of rejected entries, nothing written on failure, file names.

#![allow(clippy::unwrap_used)]

use std::io::{BufReader, Cursor};

use labels::batch::{self, BatchError, DirSink, Format, Sink, StreamSink, Unit};
use labels::{Layout, ZplRenderer};
use signer::{BaseUrl, Gtin, ManifestEntry, ManifestReader, PartId, Serial, SignedCode, keys};

fn manifest(n: usize, name: &str) -> (String, signer::VerifyingKey) {
    let key = keys::generate();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let mut text = String::new();
    for i in 0..n {
        let part = PartId {
            gtin: Gtin::parse("06901234567892").unwrap(),
            lot: None,
            serial: Serial::parse(&format!("S{i:06}")).unwrap(),
        };
        let e = ManifestEntry::new(SignedCode::sign(part, &key), &base, Some(name.into()));
        text.push_str(&e.to_json_line());
        text.push('\n');
        if i == 1 {
            text.push('\n'); // a blank line, skipped but counted
        }
    }
    (text, key.verifying_key())
}

struct Collect(Vec<String>);
impl Sink for Collect {
    fn put(&mut self, first: &ManifestEntry, _unit: Unit) -> std::io::Result<()> {
        self.0.push(first.code.part.serial.to_string());
        Ok(())
    }
}

fn zpl() -> Format {
    Format::Zpl(ZplRenderer::new(Layout::default(), 203).unwrap())
}

#[test]
fn labels_come_out_in_manifest_order_across_chunks() {
    let (text, key) = manifest(batch::CHUNK + 7, "Pad");
    let check = |e: &ManifestEntry| e.code.verify(&key).map_err(|e| e.to_string());
    let mut sink = Collect(Vec::new());
    let mut reader = ManifestReader::new(BufReader::new(Cursor::new(text)));
    let summary = batch::render(&mut reader, &check, &zpl(), &mut sink, &|_| {}).unwrap();
    assert_eq!(summary.labels as usize, batch::CHUNK + 7);
    let expected: Vec<String> = (0..batch::CHUNK + 7).map(|i| format!("S{i:06}")).collect();
    assert_eq!(sink.0, expected);
}

#[test]
fn a_bad_signature_stops_the_run_with_its_line_and_nothing_written() {
    let (text, _) = manifest(5, "Pad");
    let other = keys::generate().verifying_key();
    let check = |e: &ManifestEntry| {
        e.code
            .verify(&other)
            .map_err(|_| "bad signature".to_owned())
    };
    let mut out = Vec::new();
    let mut reader = ManifestReader::new(BufReader::new(Cursor::new(text)));
    let err = batch::render(
        &mut reader,
        &check,
        &zpl(),
        &mut StreamSink(&mut out),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(err, BatchError::Rejected { line: 1, .. }), "{err}");
    assert!(out.is_empty());
}

#[test]
fn a_malformed_line_is_reported_with_its_number() {
    let (text, key) = manifest(5, "Pad");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[4] = "{\"uri\":\"nonsense\"}"; // line 5 (line 3 is blank)
    let text = lines.join("\n");
    let check = |e: &ManifestEntry| e.code.verify(&key).map_err(|e| e.to_string());
    let mut out = Vec::new();
    let mut reader = ManifestReader::new(BufReader::new(Cursor::new(text)));
    let err = batch::render(
        &mut reader,
        &check,
        &zpl(),
        &mut StreamSink(&mut out),
        &|_| {},
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("manifest line 5:"), "{err}");
    assert!(out.is_empty());
}

#[test]
fn png_files_are_named_safely_and_names_the_font_lacks_are_counted() {
    // 𠮷 (U+20BB7) is outside GB 2312, so outside the compiled-in CJK face; 前制动片 is inside.
    let (text, key) = manifest(3, "前制动片𠮷");
    let check = |e: &ManifestEntry| e.code.verify(&key).map_err(|e| e.to_string());
    let dir = tempfile::tempdir().unwrap();
    let format = Format::Png(labels::PngRenderer::new(Layout::default(), 203).unwrap());
    let mut reader = ManifestReader::new(BufReader::new(Cursor::new(text)));
    let summary = batch::render(
        &mut reader,
        &check,
        &format,
        &mut DirSink::new(dir.path(), "png"),
        &|_| {},
    )
    .unwrap();
    assert_eq!(summary.names_left_off, 3);
    assert_eq!(summary.missing, ['𠮷']);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "06901234567892_S000000.png",
            "06901234567892_S000001.png",
            "06901234567892_S000002.png"
        ]
    );

    let part = PartId {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: None,
        serial: Serial::parse("A/B:C*..").unwrap(),
    };
    let e = ManifestEntry::new(
        SignedCode::sign(part, &keys::generate()),
        &BaseUrl::parse("https://v.example").unwrap(),
        None,
    );
    assert_eq!(
        DirSink::file_name(&e, "svg"),
        "06901234567892_A%2FB%3AC%2A%2E%2E.svg"
    );
}

#[test]
fn an_empty_manifest_is_an_error() {
    let check = |_: &ManifestEntry| Ok(());
    let mut reader = ManifestReader::new(BufReader::new(Cursor::new("\n\n")));
    let err = batch::render(
        &mut reader,
        &check,
        &zpl(),
        &mut StreamSink(Vec::new()),
        &|_| {},
    )
    .unwrap_err();
    assert!(matches!(err, BatchError::Empty));
}
