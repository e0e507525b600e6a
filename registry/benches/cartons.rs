//! Carton moves: a pallet of 40 cartons of 25 codes (1,000 codes) shipped and received, each move
//! one call that returns once durable, beside single-code events and the raw limit of the same
//! number of keys written to sled in the same run.
//!
//! ```sh
//! cargo bench -p partseal-registry --bench cartons
//! ```
//!
//! The HTTP request around a move (`POST /api/v1/events` with a carton) is not measured here.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use registry::{Action, CodeKey, Party, PartyId, Registry, RegistryConfig, Role};
use signer::{
    Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, PartId, Serial, SignedCode, SigningKey,
    Sscc, Timestamp,
};

const CARTONS: u64 = 40;
const PER_CARTON: u64 = 25;
const ROUNDS: usize = 20;

fn main() {
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
    let prefix = CompanyPrefix::parse("690123").unwrap();
    let sscc = |n: u64| Sscc::compose(3, &prefix, n).unwrap();
    let party = |id: &str| PartyId::parse(id).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = Registry::open(&dir.path().join("data"), RegistryConfig::default()).unwrap();
    r.add_root(authority.verifying_key(), now).unwrap();
    r.add_certificate(cert, now).unwrap();
    for id in ["dist-1", "dist-2"] {
        r.add_party(Party {
            id: party(id),
            role: Role::Distributor,
            name: id.into(),
            region: None,
            created_at: now,
            revoked_at: None,
        })
        .unwrap();
    }
    let codes: Vec<SignedCode> = (0..CARTONS * PER_CARTON + ROUNDS as u64 * 2)
        .map(|i| {
            let part = PartId {
                gtin: Gtin::parse("06901234567892").unwrap(),
                lot: Some(Lot::parse("L2026A").unwrap()),
                serial: Serial::parse(&format!("{i:013}")).unwrap(),
            };
            SignedCode::sign(part, &maker)
        })
        .collect();
    r.register(&codes, None, now).unwrap();
    let keys: Vec<CodeKey> = codes.iter().map(|c| CodeKey::of(&c.part)).collect();
    let maker_party = party("acme-brakes");
    let started = Instant::now();
    for c in 0..CARTONS {
        let contents: Vec<_> = keys[(c * PER_CARTON) as usize..((c + 1) * PER_CARTON) as usize]
            .iter()
            .map(|k| (k.clone(), None))
            .collect();
        r.pack_carton(&maker_party, &sscc(c), &contents, &[], now)
            .unwrap();
    }
    let cartons: Vec<Sscc> = (0..CARTONS).map(sscc).collect();
    r.pack_carton(&maker_party, &sscc(1000), &[], &cartons, now)
        .unwrap();
    println!(
        "packing {CARTONS} cartons of {PER_CARTON} and a pallet of them: {:.0} ms",
        ms(started.elapsed())
    );

    // The pallet goes back and forth between two distributors: ship, receive, ship, ...
    let (mut ships, mut receives) = (Vec::new(), Vec::new());
    let mut holder = maker_party.clone();
    for round in 0..ROUNDS {
        let to = if round % 2 == 0 {
            party("dist-1")
        } else {
            party("dist-2")
        };
        let at = now.plus_days(1 + round as i64);
        let t = Instant::now();
        let moved = r.ship_carton(&holder, &sscc(1000), &to, at).unwrap();
        ships.push(t.elapsed());
        assert_eq!(moved.len(), (CARTONS * PER_CARTON) as usize);
        let t = Instant::now();
        r.receive_carton(&to, &sscc(1000), at).unwrap();
        receives.push(t.elapsed());
        holder = to;
    }
    report("pallet of 1,000 codes, ship", &mut ships);
    report("pallet of 1,000 codes, receive", &mut receives);

    // One code shipped and received on its own, one writer: what each of those calls costs.
    let (mut singles_ship, mut singles_receive) = (Vec::new(), Vec::new());
    for (i, key) in keys[(CARTONS * PER_CARTON) as usize..]
        .iter()
        .take(ROUNDS)
        .enumerate()
    {
        let at = now.plus_days(1 + i as i64);
        let t = Instant::now();
        r.record_genuine_scan(
            key,
            &maker_party,
            Action::Ship {
                to: party("dist-1"),
            },
            at,
        )
        .unwrap();
        singles_ship.push(t.elapsed());
        let t = Instant::now();
        r.record_genuine_scan(key, &party("dist-1"), Action::Receive, at)
            .unwrap();
        singles_receive.push(t.elapsed());
    }
    report("one code, ship", &mut singles_ship);
    report("one code, receive", &mut singles_receive);
    drop(r);

    // The raw limit: sled writing the keys a pallet move writes (1,000 records of ~100 bytes and
    // 1,000 events of ~80), as one atomic batch, then flush + fsync.
    let raw_dir = tempfile::tempdir().unwrap();
    let db = sled::open(raw_dir.path()).unwrap();
    let log = std::fs::File::open(raw_dir.path().join("db")).unwrap();
    let mut raw = Vec::new();
    for round in 0..ROUNDS {
        let mut batch = sled::Batch::default();
        for i in 0..(CARTONS * PER_CARTON) {
            batch.insert(format!("code {i:06}").into_bytes(), vec![round as u8; 100]);
            batch.insert(
                format!("event {i:06} {round}").into_bytes(),
                vec![round as u8; 80],
            );
        }
        let t = Instant::now();
        db.apply_batch(batch).unwrap();
        db.flush().unwrap();
        log.sync_all().unwrap();
        raw.push(t.elapsed());
    }
    report(
        "raw sled atomic batch of 2,000 keys + flush + fsync",
        &mut raw,
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let p50 = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "{what}: p50 {:.1} ms, max {:.1} ms ({} runs)",
        ms(p50),
        ms(max),
        times.len()
    );
}
