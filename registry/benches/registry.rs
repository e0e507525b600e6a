//! Registry throughput, latency and size, at growing store sizes, beside the raw primitives.
//!
//! ```sh
//! cargo bench -p partseal-registry --bench registry -- 10000,100000,1000000,10000000
//! ```
//!
//! One store grows through the given sizes. At each size it reports: the rate of registering the
//! codes added to reach it (durable, signatures batch-verified), `status` lookup latency
//! percentiles, and bytes on disk per code. Then custody events with 64 concurrent writers. The raw
//! limits measured in the same run: Ed25519 batch verification on every core, sled batch inserts,
//! and one flush + fsync.
//!
//! With `PARTSEAL_BENCH_DATABASE_URL` (an empty PostgreSQL database; `scripts/pg-cluster.sh`
//! starts a server) the store is PostgreSQL instead, and the raw limits are the same server's:
//! a binary COPY of the same rows into a table with their primary key, and `pgbench -N` with 64
//! and 16 clients (in a database `pgbench` the bench creates beside it).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use registry::{
    Action, CodeKey, Party, PartyId, Registry, RegistryConfig, Role, register_manifest,
};
use signer::{
    BaseUrl, Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, ManifestEntry, PartId, Serial,
    SignedCode, SigningKey, Timestamp,
};

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "10000,100000,1000000".into())
        .split(',')
        .map(|s| s.parse().expect("sizes: comma-separated code counts"))
        .collect();
    let now = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    let authority = SigningKey::from_bytes(&[1; 32]);
    let maker = SigningKey::from_bytes(&[2; 32]);
    let cert = Certificate::issue(
        CertificateBody {
            serial: 1,
            manufacturer_id: "acme-brakes".into(),
            legal_name: "Acme".into(),
            public_key: maker.verifying_key(),
            prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
            not_before: now,
            not_after: now.plus_days(365),
        },
        &authority,
    )
    .unwrap();
    let gtin = Gtin::parse("06901234567892").unwrap();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    let lot = Lot::parse("L2026A").unwrap();
    let part = |i: u64| PartId {
        gtin,
        lot: Some(lot.clone()),
        serial: Serial::parse(&format!("{i:013}")).unwrap(),
    };

    println!("threads: {}", rayon::current_num_threads());
    let database = std::env::var("PARTSEAL_BENCH_DATABASE_URL").ok();
    raw_primitives(&maker, &part);
    if let Some(url) = &database {
        postgres_limits::run(url, &part);
    }

    let dir = tempfile::tempdir().unwrap();
    // PARTSEAL_BENCH_CACHE_MB sizes the store's page cache (default: the registry's default).
    let mut config = RegistryConfig::default();
    if let Ok(mb) = std::env::var("PARTSEAL_BENCH_CACHE_MB") {
        config.cache_bytes = mb
            .parse::<u64>()
            .expect("PARTSEAL_BENCH_CACHE_MB: megabytes")
            << 20;
    }
    // PARTSEAL_BENCH_RECORD_CACHE_MB sizes the record cache in front of it (0: off).
    if let Ok(mb) = std::env::var("PARTSEAL_BENCH_RECORD_CACHE_MB") {
        config.record_cache_bytes = mb
            .parse::<u64>()
            .expect("PARTSEAL_BENCH_RECORD_CACHE_MB: megabytes")
            << 20;
    }
    println!(
        "store cache: {} MiB, record cache: {} MiB",
        config.cache_bytes >> 20,
        config.record_cache_bytes >> 20
    );
    let registry = Arc::new(match &database {
        None => Registry::open(dir.path(), config).unwrap(),
        Some(url) => Registry::connect(url, config).unwrap(),
    });
    registry.add_root(authority.verifying_key(), now).unwrap();
    registry.add_certificate(cert, now).unwrap();
    // The party the event writers ship to: the registry refuses shipments to unknown parties.
    registry
        .add_party(Party {
            id: PartyId::parse("dist-1").unwrap(),
            role: Role::Distributor,
            name: "Distributor".into(),
            region: None,
            created_at: now,
            revoked_at: None,
        })
        .unwrap();

    println!();
    println!(
        "| codes stored | register (codes/s) | status p50 | p99 | p99.9 | bytes on disk per code |"
    );
    println!("|---|---|---|---|---|---|");
    let mut have = 0u64;
    for &size in &sizes {
        // Signing and writing the manifest is the manufacturer's work, not the registry's: done
        // before the clock starts. The registry then reads the manifest as `register` would.
        let mut register_time = Duration::ZERO;
        while have < size {
            let n = (size - have).min(500_000);
            let manifest: String = (have..have + n)
                .into_par_iter()
                .map(|i| {
                    let entry = ManifestEntry::new(SignedCode::sign(part(i), &maker), &base, None);
                    entry.to_json_line() + "\n"
                })
                .collect();
            let started = Instant::now();
            let summary =
                register_manifest(&registry, manifest.as_bytes(), None, now, |_, _| {}).unwrap();
            register_time += started.elapsed();
            assert_eq!(summary.registered, n);
            have += n;
        }
        let added = size
            - sizes
                .iter()
                .copied()
                .filter(|&s| s < size)
                .max()
                .unwrap_or(0);
        let rate = added as f64 / register_time.as_secs_f64();
        let (p50, p99, p999) = lookups(&registry, &part, size);
        let bytes = registry.stats().unwrap().bytes_on_disk;
        println!(
            "| {size} | {rate:.0} | {p50:.1} µs | {p99:.1} µs | {p999:.1} µs | {} |",
            bytes / size
        );
    }

    events(&registry, &part, have);
}

/// `status` of random registered codes, one at a time; percentiles in microseconds.
fn lookups(registry: &Registry, part: &impl Fn(u64) -> PartId, size: u64) -> (f64, f64, f64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let keys: Vec<CodeKey> = (0..200_000)
        .map(|_| CodeKey::of(&part(rng.gen_range(0..size))))
        .collect();
    // Warm the cache as a running server's would be.
    for key in &keys[..50_000] {
        registry.status(key).unwrap().unwrap();
    }
    let mut times: Vec<f64> = keys[50_000..]
        .iter()
        .map(|key| {
            let t = Instant::now();
            let status = registry.status(key).unwrap();
            let elapsed = t.elapsed();
            assert!(status.is_some());
            elapsed.as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    (at(0.5), at(0.99), at(0.999))
}

/// 64 writers recording custody events on distinct codes for a few seconds.
fn events(registry: &Arc<Registry>, part: &(impl Fn(u64) -> PartId + Sync), codes: u64) {
    const WRITERS: u64 = 64;
    let run = Duration::from_secs(5);
    let done = AtomicU64::new(0);
    let now = Timestamp::parse("2026-11-02T00:00:00Z").unwrap();
    let started = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (registry, done) = (registry.clone(), &done);
            s.spawn(move || {
                let shop = PartyId::parse(&format!("shop-{w}")).unwrap();
                let mut i = 0u64;
                while started.elapsed() < run {
                    // Each writer owns codes w, w + 64, ...: receive then ship, as a shop would.
                    let key = CodeKey::of(&part((w + (i / 2) * WRITERS) % codes));
                    let action = if i % 2 == 0 {
                        Action::Receive
                    } else {
                        Action::Ship {
                            to: PartyId::parse("dist-1").unwrap(),
                        }
                    };
                    registry
                        .record_genuine_scan(&key, &shop, action, now)
                        .unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    println!();
    println!(
        "custody events, {WRITERS} concurrent writers, durable: {n} in {secs:.1} s = {:.0} events/s",
        n as f64 / secs
    );
    let report = registry.audit(|_| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
}

#[path = "registry/postgres_limits.rs"]
mod postgres_limits;

fn raw_primitives(maker: &SigningKey, part: &(impl Fn(u64) -> PartId + Sync)) {
    const N: u64 = 100_000;
    let codes: Vec<SignedCode> = (0..N)
        .into_par_iter()
        .map(|i| SignedCode::sign(part(10_000_000_000 + i), maker))
        .collect();
    let key = maker.verifying_key();
    let started = Instant::now();
    codes.par_chunks(128).for_each(|chunk| {
        let messages: Vec<Vec<u8>> = chunk
            .iter()
            .map(|c| signer::signed_message(&c.part, &c.key_id))
            .collect();
        let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let sigs: Vec<_> = chunk.iter().map(|c| c.signature).collect();
        let keys = vec![key; chunk.len()];
        ed25519_dalek::verify_batch(&refs, &sigs, &keys).unwrap();
    });
    let verify = N as f64 / started.elapsed().as_secs_f64();
    println!("raw Ed25519 verify_batch (128 per batch, every core): {verify:.0} signatures/s");

    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let tree = db.open_tree("raw").unwrap();
    let value = vec![7u8; 100];
    let started = Instant::now();
    for chunk in codes.chunks(8192) {
        let mut batch = sled::Batch::default();
        for c in chunk {
            batch.insert(CodeKey::of(&c.part).as_bytes(), value.as_slice());
        }
        tree.apply_batch(batch).unwrap();
        db.flush().unwrap();
    }
    let inserts = N as f64 / started.elapsed().as_secs_f64();
    println!("raw sled batch insert of 100-byte values, flushed per 8192: {inserts:.0} records/s");

    let log = std::fs::File::open(dir.path().join("db")).unwrap();
    let started = Instant::now();
    let rounds = 500;
    for i in 0..rounds {
        tree.insert(b"k", &(i as u64).to_be_bytes()).unwrap();
        db.flush().unwrap();
        log.sync_all().unwrap();
    }
    let per = started.elapsed().as_secs_f64() / f64::from(rounds) * 1e3;
    println!(
        "raw sled insert + flush + fsync, one writer: {per:.2} ms = {:.0} durable writes/s",
        1e3 / per
    );
}
