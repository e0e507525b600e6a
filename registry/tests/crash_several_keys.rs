//! The crash test of changes over several keys ([`Tables::apply_all`], what a carton's move is made
//! of): a writer process moving groups of keys together is killed (SIGKILL) at random instants,
//! many times; after each kill every group's keys must all hold the same generation (all moved or
//! none), and no acknowledged move may be lost.
//!
//! The writer is this test binary itself, re-run with `several_keys_writer` selected and the data
//! directory in an environment variable. It prints a line for each move only once the move is
//! durable.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use registry::store::tables::{Change, Holds, Table, Tables};
use registry::{Create, Location, StoreError};

const DIR_VAR: &str = "PARTSEAL_SEVERAL_KEYS_DIR";
const KILLS: u32 = 15;
/// Groups of keys, each moved as one: a pallet's worth of cartons, a carton's worth of codes.
const GROUPS: u32 = 12;
const KEYS_PER_GROUP: u32 = 25;
const PAGES: u64 = 16 << 20;

fn key(group: u32, k: u32) -> Vec<u8> {
    format!("group {group:02} key {k:02}").into_bytes()
}

fn generation(tables: &dyn Tables, group: u32, k: u32) -> u64 {
    let stored = tables.get(Table::Codes, &key(group, k)).unwrap().unwrap();
    u64::from_be_bytes(stored.try_into().unwrap())
}

/// The writer. Runs only as the crash test's child; in a normal test run it is ignored.
#[test]
#[ignore = "the crash test's child process; run by a_killed_writer_leaves_every_group_moved_whole_or_not_at_all"]
fn several_keys_writer() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let tables = Location::Directory(dir.into())
        .engine(Create::Never, PAGES)
        .unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    let ack = |line: String| {
        let mut out = out.lock().unwrap();
        writeln!(out, "{line}").unwrap();
        out.flush().unwrap();
    };
    ack("ready".into());
    // Four threads moving groups, overlapping at times: conflicts are judged again.
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (tables, ack) = (&tables, &ack);
            s.spawn(move || {
                for i in 0u32.. {
                    let group = (i * 5 + t * 3) % GROUPS;
                    loop {
                        let keys: Vec<Vec<u8>> =
                            (0..KEYS_PER_GROUP).map(|k| key(group, k)).collect();
                        let now: Vec<Vec<u8>> = keys
                            .iter()
                            .map(|k| tables.get(Table::Codes, k).unwrap().unwrap())
                            .collect();
                        let next = generation(tables.as_ref(), group, 0) + 1;
                        let conditions: Vec<Holds<'_>> = keys
                            .iter()
                            .zip(&now)
                            .map(|(k, v)| Holds {
                                table: Table::Codes,
                                key: k,
                                expected: Some(v),
                            })
                            .collect();
                        let changes: Vec<Change> = keys
                            .iter()
                            .flat_map(|k| {
                                let event = [k.as_slice(), &next.to_be_bytes()].concat();
                                [
                                    Change::Put(Table::Events, event, vec![0; 64]),
                                    Change::Put(
                                        Table::Codes,
                                        k.clone(),
                                        next.to_be_bytes().to_vec(),
                                    ),
                                ]
                            })
                            .collect();
                        match tables.apply_all(&conditions, &changes) {
                            Ok(()) => {
                                tables.durable().unwrap();
                                ack(format!("G {group} {next}"));
                                break;
                            }
                            Err(StoreError::Conflict) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            });
        }
    });
}

#[test]
fn a_killed_writer_leaves_every_group_moved_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let location = Location::Directory(data.clone());
    {
        let tables = location.engine(Create::IfMissing, PAGES).unwrap();
        for group in 0..GROUPS {
            for k in 0..KEYS_PER_GROUP {
                tables
                    .put(Table::Codes, &key(group, k), &0u64.to_be_bytes())
                    .unwrap();
            }
        }
        tables.durable().unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeMap<u32, u64> = BTreeMap::new();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    for round in 1..=KILLS {
        let mut child = Command::new(&exe)
            .args([
                "several_keys_writer",
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
                // The test harness prints `test several_keys_writer ... ` on the same line.
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
        let wait = Duration::from_millis(20 + seed % 200);
        let started = Instant::now();
        while started.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            let parts: Vec<&str> = line.split(' ').collect();
            // A line cut by the kill has no newline and was never complete: only whole ones count.
            if let ["G", group, generation] = parts.as_slice() {
                if let (Ok(group), Ok(generation)) = (group.parse(), generation.parse()) {
                    let e = acked.entry(group).or_default();
                    *e = (*e).max(generation);
                }
            }
        }

        let tables = location.engine(Create::Never, PAGES).unwrap();
        for group in 0..GROUPS {
            let first = generation(tables.as_ref(), group, 0);
            for k in 1..KEYS_PER_GROUP {
                assert_eq!(
                    generation(tables.as_ref(), group, k),
                    first,
                    "round {round}: group {group} half moved"
                );
            }
            let acknowledged = acked.get(&group).copied().unwrap_or(0);
            assert!(
                first >= acknowledged,
                "round {round}: group {group} lost move {acknowledged} (has {first})"
            );
        }
    }
    let moves: u64 = acked.values().sum();
    eprintln!("acknowledged moves before kills: {moves}");
    assert!(moves > GROUPS.into(), "the writer never got going: {moves}");
}
