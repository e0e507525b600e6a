//! Signing and verifying part codes, beside the raw Ed25519 operations they are built on.
//! Run: `cargo bench -p partseal-signer --bench codes`

#![allow(clippy::unwrap_used)] // fixed, valid inputs

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey};
use signer::{
    BaseUrl, Certificate, CertificateBody, CheckTimes, CompanyPrefix, Gtin, KeyId, Lot,
    ManifestEntry, PartId, Serial, SignedCode, Timestamp, TrustStore, signed_message,
};

fn part(serial: &str) -> PartId {
    PartId {
        gtin: Gtin::parse("06901234567892").unwrap(),
        lot: Some(Lot::parse("L2026A").unwrap()),
        serial: Serial::parse(serial).unwrap(),
    }
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let key_id = KeyId::of(&vk);
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let message = signed_message(&part("X7K2P9QD4MABC"), &key_id);
    let signature = key.sign(&message);

    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw ed25519 sign", |b| b.iter(|| key.sign(&message)));
    g.bench_function("random serial", |b| {
        b.iter(|| Serial::random(&mut rand::thread_rng()))
    });
    g.bench_function("code (message + sign)", |b| {
        b.iter_batched(
            || part("X7K2P9QD4MABC"),
            |p| SignedCode::sign(p, &key),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("manifest line (serial + sign + uri + json)", |b| {
        b.iter(|| {
            let p = PartId {
                serial: Serial::random(&mut rand::thread_rng()),
                ..part("A")
            };
            ManifestEntry::new(SignedCode::sign(p, &key), &base, None).to_json_line()
        })
    });
    g.finish();

    let code = SignedCode::sign(part("X7K2P9QD4MABC"), &key);
    let uri = code.to_uri(&base);
    let authority = SigningKey::from_bytes(&[1; 32]);
    let now = Timestamp::parse("2026-11-22T00:00:00Z").unwrap();
    let cert = Certificate::issue(
        CertificateBody {
            serial: 1,
            manufacturer_id: "acme".into(),
            legal_name: "Acme".into(),
            public_key: vk,
            prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
            not_before: now,
            not_after: now.plus_days(365),
        },
        &authority,
    )
    .unwrap();
    let mut trust = TrustStore::new(vec![authority.verifying_key()]);
    trust.add_certificate(cert).unwrap();

    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw ed25519 verify_strict", |b| {
        b.iter(|| vk.verify_strict(&message, &signature))
    });
    g.bench_function("parse uri", |b| b.iter(|| SignedCode::parse(&uri).unwrap()));
    g.bench_function("parse + full trust check", |b| {
        b.iter(|| {
            let c = SignedCode::parse(&uri).unwrap();
            trust.check_code(&c, CheckTimes::offline(now)).is_ok()
        })
    });
    let messages: Vec<Vec<u8>> = (0..64)
        .map(|i| signed_message(&part(&format!("S{i}")), &key_id))
        .collect();
    let signatures: Vec<_> = messages.iter().map(|m| key.sign(m)).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let keys = vec![vk; 64];
    g.throughput(Throughput::Elements(64));
    g.bench_function("raw ed25519 verify_batch of 64", |b| {
        b.iter(|| ed25519_dalek::verify_batch(&refs, &signatures, &keys).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
