//! The crash test: a writer process is killed (SIGKILL) at random instants, many times; after each
//! kill the store is reopened and every write the writer had acknowledged must be there, nothing
//! half-written may be visible, and every hash chain must verify.
//!
//! The writer is this test binary itself, re-run with `crash_writer` selected and the data directory
//! in an environment variable. It prints a line for each write only after the registry returned,
//! that is once the write was durable.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use registry::{Action, CodeKey, Registry, RegistryConfig};
use signer::SignedCode;
use testkit::world::*;

const DIR_VAR: &str = "PARTSEAL_CRASH_DIR";
const ROUND_VAR: &str = "PARTSEAL_CRASH_ROUND";
const KILLS: u32 = 25;

fn code(round: u32, i: u32) -> SignedCode {
    SignedCode::sign(part(GTIN, "L2026A", &format!("R{round}C{i}")), &key(2))
}

/// The writer. Runs only as the crash test's child; in a normal test run it is ignored.
#[test]
#[ignore = "the crash test's child process; run by crash_test_kills_a_writer_at_random_instants"]
fn crash_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let round: u32 = std::env::var(ROUND_VAR).unwrap().parse().unwrap();
    let registry =
        std::sync::Arc::new(Registry::open(dir.as_ref(), RegistryConfig::default()).unwrap());
    registry.add_root(key(1).verifying_key(), t0()).unwrap();
    registry
        .add_certificate(certificate(&key(1), &key(2), 10, "acme-brakes"), t0())
        .unwrap();
    // The party the writers ship to, kept from round to round.
    if registry.party(&party("dist-1")).unwrap().is_none() {
        add_parties(&registry, &["dist-1"]);
    }
    let out = std::sync::Arc::new(std::sync::Mutex::new(std::io::stdout()));
    let ack = |line: String| {
        let mut out = out.lock().unwrap();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    ack("ready".into());
    // Registrations in chunks on one thread, custody events on four others.
    std::thread::scope(|s| {
        s.spawn(|| {
            for chunk in 0u32.. {
                let codes: Vec<SignedCode> = (0..64).map(|i| code(round, chunk * 64 + i)).collect();
                registry.register(&codes, None, day(1)).unwrap();
                ack(format!("R {} {}", chunk * 64, chunk * 64 + 64));
            }
        });
        for t in 0..4u32 {
            let registry = registry.clone();
            let ack = &ack;
            s.spawn(move || {
                let shop = party(&format!("shop-{t}"));
                for i in 0u32.. {
                    // Codes of earlier rounds are registered; walk through them.
                    let serial = format!("R0C{}", (i * 4 + t) % 64);
                    let key = CodeKey::of(&part(GTIN, "L2026A", &serial));
                    let action = if i % 2 == 0 {
                        Action::Receive
                    } else {
                        Action::Ship {
                            to: party("dist-1"),
                        }
                    };
                    let recorded = registry
                        .record_genuine_scan(&key, &shop, action, day(2))
                        .unwrap();
                    ack(format!("E {serial} {}", recorded.event.seq));
                }
            });
        }
    });
}

#[test]
fn crash_test_kills_a_writer_at_random_instants() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Round 0 registers R0C0..R0C63 before anything is killed, so event writers have codes.
    {
        let r = Registry::open(&data, RegistryConfig::default()).unwrap();
        r.add_root(key(1).verifying_key(), t0()).unwrap();
        r.add_certificate(certificate(&key(1), &key(2), 10, "acme-brakes"), t0())
            .unwrap();
        let codes: Vec<SignedCode> = (0..64).map(|i| code(0, i)).collect();
        r.register(&codes, None, day(1)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut acked_codes: BTreeSet<CodeKey> = BTreeSet::new();
    let mut acked_events: BTreeMap<String, u32> = BTreeMap::new();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 1..=KILLS {
        let mut child = Command::new(&exe)
            .args([
                "crash_writer",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_VAR, &data)
            .env(ROUND_VAR, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read acknowledgements on a thread; kill after a random 20 to 220 ms of writing, counted
        // from the writer's "ready" (opening the store may take longer than that on a busy
        // machine, and a kill before it tests nothing).
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        // The test harness prints `test crash_writer ... ` on the same line.
                        if l.ends_with("ready") {
                            let _ = ready_tx.send(());
                        }
                        lines.push(l)
                    }
                    Err(_) => break,
                }
            }
            lines
        });
        ready_rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("round {round}: the writer never said it was ready"));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let wait = Duration::from_millis(20 + seed % 200);
        let started = Instant::now();
        while started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let lines = reader.join().unwrap();
        // A line cut by the kill has no newline and was never complete; `lines()` still yields it,
        // so only well-formed lines count.
        for line in &lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["R", from, to] => {
                    let (from, to): (u32, u32) = (from.parse().unwrap(), to.parse().unwrap());
                    for i in from..to {
                        acked_codes.insert(CodeKey::of(&code(round, i).part));
                    }
                }
                ["E", serial, seq] => {
                    let seq: u32 = seq.parse().unwrap();
                    let e = acked_events.entry((*serial).to_owned()).or_default();
                    *e = (*e).max(seq);
                }
                _ => {}
            }
        }

        let r = Registry::open(&data, RegistryConfig::default()).unwrap();
        for key in &acked_codes {
            assert!(
                r.status(key).unwrap().is_some(),
                "round {round}: lost registration {key}"
            );
        }
        for (serial, seq) in &acked_events {
            let key = CodeKey::of(&part(GTIN, "L2026A", serial));
            let record = r.status(&key).unwrap().unwrap().record;
            assert!(
                record.events > *seq,
                "round {round}: lost event {seq} of {serial}"
            );
        }
        let report = r.audit(|_| {}).unwrap();
        assert!(report.is_clean(), "round {round}: {:?}", report.problems);
    }
    eprintln!(
        "acknowledged before kills: {} codes, {} codes with events",
        acked_codes.len(),
        acked_events.len()
    );
    assert!(
        acked_codes.len() > 64,
        "the writer never got going: {}",
        acked_codes.len()
    );
    assert!(!acked_events.is_empty());
}
