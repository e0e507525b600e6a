//! Label rendering, step by step, beside the raw primitives it builds on, in one run:
//!
//! ```sh
//! cargo bench -p partseal-labels --bench labels -- --warm-up-time 1 --measurement-time 3
//! ```
//! BENCHMARKS.md records the figures.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signer;
use labels::layout::Label;
use labels::pdf::Sheet;
use labels::{EcLevel, Layout, PngRenderer, QrMatrix, ZplRenderer};
use signer::{BaseUrl, Gtin, KeyId, Lot, ManifestEntry, PartId, Serial, SignedCode, keys};

fn part(i: u64) -> PartId {
    PartId {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: Some(Lot::parse("L2026A").unwrap()),
        serial: Serial::parse(&format!("X7K2P9QD{i:05}")).unwrap(),
    }
}

fn bench(c: &mut Criterion) {
    let key = keys::generate();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let entry = ManifestEntry::new(
        SignedCode::sign(part(1), &key),
        &base,
        Some("Front brake pad".into()),
    );
    let label = Label::from(&entry);
    let uri = entry.uri.as_str();
    let layout = Layout::default();
    let png = PngRenderer::new(layout, 300).unwrap();
    let qr = QrMatrix::encode(uri, EcLevel::M).unwrap();
    let raster = png.rasterise(&label, &qr).unwrap();

    let mut g = c.benchmark_group("label");
    g.throughput(Throughput::Elements(1));
    let message = signer::signed_message(&part(1), &KeyId::of(&key.verifying_key()));
    g.bench_function("raw Ed25519 sign", |b| {
        b.iter(|| key.sign(black_box(&message)))
    });
    g.bench_function("sign code + URI", |b| {
        b.iter(|| SignedCode::sign(black_box(part(2)), &key).to_uri(&base))
    });
    g.bench_function("QR encode, qrcode crate (automatic mask)", |b| {
        b.iter(|| {
            qrcode::QrCode::with_error_correction_level(black_box(uri), qrcode::EcLevel::M).unwrap()
        })
    });
    g.bench_function("QR encode, fast_qr (QrMatrix::encode)", |b| {
        b.iter(|| QrMatrix::encode(black_box(uri), EcLevel::M).unwrap())
    });
    g.bench_function("rasterise 300 dpi (symbol + text)", |b| {
        b.iter(|| png.rasterise(black_box(&label), &qr).unwrap())
    });
    g.bench_function("PNG compress (1-bit, Up filter, fastest deflate)", |b| {
        b.iter(|| labels::png::encode(black_box(&raster), 300).unwrap())
    });
    g.bench_function(
        "full PNG label (sign + encode + rasterise + compress)",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                let part = part(i);
                let uri = SignedCode::sign(part.clone(), &key).to_uri(&base);
                png.render(&Label {
                    uri: &uri,
                    part: &part,
                    name: Some("Front brake pad"),
                })
                .unwrap()
            })
        },
    );
    g.bench_function("SVG label (encode + write)", |b| {
        b.iter(|| labels::svg::render(&layout, black_box(&label)).unwrap())
    });
    let zpl = ZplRenderer::new(layout, 203).unwrap();
    g.bench_function("ZPL label (symbol size lookup + write)", |b| {
        b.iter(|| zpl.render(black_box(&label)).unwrap())
    });
    g.finish();

    let sheet = Sheet::default();
    let page: Vec<ManifestEntry> = (0..24)
        .map(|i| {
            ManifestEntry::new(
                SignedCode::sign(part(i), &key),
                &base,
                Some("Front brake pad".into()),
            )
        })
        .collect();
    let labels: Vec<Label> = page.iter().map(Label::from).collect();
    let mut g = c.benchmark_group("pdf");
    g.throughput(Throughput::Elements(24));
    g.bench_function("PDF page of 24 (encode + draw + deflate)", |b| {
        b.iter(|| sheet.page(black_box(&labels)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
