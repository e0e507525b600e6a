//! The crash test of carton moves: a writer process shipping and receiving cartons of 25 codes is
//! killed (SIGKILL) at random instants, many times; after each kill every carton's codes must all
//! have moved or none (the same custody and the same number of events), no acknowledged move may
//! be lost, and `registry audit` must be clean.
//!
//! The writer is this test binary itself, re-run with `carton_writer` selected and the data
//! directory in an environment variable, as `crash.rs` does.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use registry::{CodeKey, Custody, Registry, RegistryConfig};
use signer::{CompanyPrefix, SignedCode, Sscc};
use testkit::world::*;

const DIR_VAR: &str = "PARTSEAL_CARTON_CRASH_DIR";
const KILLS: u32 = 12;
const CARTONS: u64 = 6;
const PER_CARTON: u32 = 25;
const PARTIES: [&str; 2] = ["dist-1", "dist-2"];

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

fn code(carton: u64, i: u32) -> SignedCode {
    SignedCode::sign(part(GTIN, "L2026A", &format!("K{carton}C{i}")), &key(2))
}

fn keys(carton: u64) -> Vec<CodeKey> {
    (0..PER_CARTON)
        .map(|i| CodeKey::of(&code(carton, i).part))
        .collect()
}

/// The writer. Runs only as the crash test's child; in a normal test run it is ignored.
#[test]
#[ignore = "the crash test's child process; run by a_killed_writer_moves_every_carton_whole_or_not_at_all"]
fn carton_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let registry = Registry::open(dir.as_ref(), RegistryConfig::default()).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    let ack = |line: String| {
        let mut out = out.lock().unwrap();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    ack("ready".into());
    // One thread per carton: each ships its carton to the other distributor and has it received,
    // over and over.
    std::thread::scope(|s| {
        for carton in 0..CARTONS {
            let (registry, ack) = (&registry, &ack);
            s.spawn(move || {
                let first = &keys(carton)[0];
                for step in 0u32.. {
                    let record = registry.status(first).unwrap().unwrap().record;
                    let moved = match &record.custody.custody {
                        Custody::Held { by } => {
                            let to = PARTIES.iter().map(|p| party(p)).find(|p| p != by).unwrap();
                            registry.ship_carton(
                                by,
                                &sscc(carton),
                                &to,
                                day(3 + i64::from(step % 100)),
                            )
                        }
                        Custody::InTransit { to, .. } => registry.receive_carton(
                            to,
                            &sscc(carton),
                            day(3 + i64::from(step % 100)),
                        ),
                        other => panic!("carton {carton}: {other:?}"),
                    };
                    let moved = moved.unwrap();
                    ack(format!("M {carton} {}", moved[0].record.events));
                }
            });
        }
    });
}

#[test]
fn a_killed_writer_moves_every_carton_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    {
        let r = Registry::open(&data, RegistryConfig::default()).unwrap();
        r.add_root(key(1).verifying_key(), t0()).unwrap();
        r.add_certificate(certificate(&key(1), &key(2), 10, "acme-brakes"), t0())
            .unwrap();
        add_parties(&r, &PARTIES);
        let maker = party("acme-brakes");
        for carton in 0..CARTONS {
            let codes: Vec<SignedCode> = (0..PER_CARTON).map(|i| code(carton, i)).collect();
            r.register(&codes, None, day(1)).unwrap();
            let contents: Vec<_> = keys(carton).into_iter().map(|k| (k, None)).collect();
            r.pack_carton(&maker, &sscc(carton), &contents, &[], day(2))
                .unwrap();
            r.ship_carton(&maker, &sscc(carton), &party(PARTIES[0]), day(2))
                .unwrap();
            r.receive_carton(&party(PARTIES[0]), &sscc(carton), day(2))
                .unwrap();
        }
    }
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeMap<u64, u32> = BTreeMap::new();
    let mut seed: u64 = 0xD1B5_4A32_D192_ED03;
    for round in 1..=KILLS {
        let mut child = Command::new(&exe)
            .args([
                "carton_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, &data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(l) = line else { break };
                if l.ends_with("ready") {
                    let _ = ready_tx.send(());
                }
                lines.push(l);
            }
            lines
        });
        ready_rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("round {round}: the writer never said it was ready"));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(20 + seed % 300);
        let started = Instant::now();
        while started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            // A line cut by the kill was never complete: only whole ones count.
            if let ["M", carton, events] = line.split(' ').collect::<Vec<_>>().as_slice() {
                if let (Ok(carton), Ok(events)) = (carton.parse(), events.parse()) {
                    let e = acked.entry(carton).or_default();
                    *e = (*e).max(events);
                }
            }
        }

        let r = Registry::open(&data, RegistryConfig::default()).unwrap();
        for carton in 0..CARTONS {
            let records: Vec<_> = keys(carton)
                .iter()
                .map(|k| r.status(k).unwrap().unwrap().record)
                .collect();
            for record in &records[1..] {
                assert_eq!(
                    (&record.custody.custody, record.events),
                    (&records[0].custody.custody, records[0].events),
                    "round {round}: carton {carton} half moved"
                );
            }
            let acknowledged = acked.get(&carton).copied().unwrap_or(0);
            assert!(
                records[0].events >= acknowledged,
                "round {round}: carton {carton} lost a move ({} events, {acknowledged} acknowledged)",
                records[0].events
            );
        }
        let report = r.audit(|_| {}).unwrap();
        assert!(report.is_clean(), "round {round}: {:?}", report.problems);
    }
    let moves: u32 = acked.values().sum();
    eprintln!("events acknowledged before kills: {moves}");
    assert!(!acked.is_empty(), "the writer never got going");
}
