//! The database's primary lost under load: the real `partseal serve` runs on a PostgreSQL primary
//! with a synchronous streaming standby, reached through a multi-host URL
//! (`target_session_attrs=read-write`). Shop clients record custody events; mid-load the
//! primary's postmaster is killed with SIGKILL and the standby promoted. The service must carry on
//! on the new primary without a restart (requests during the switch may answer 503: not
//! acknowledged), and every write it acknowledged, before or after the switch, must be on the new
//! primary, whose audit is clean.
//!
//! The test makes its own two clusters of Debian's PostgreSQL on loopback
//! (`scripts/pg-cluster.sh start` and `standby`). Without PostgreSQL's server it is skipped,
//! unless `CI` is set: then it fails.
//!
//! `cargo test --test failover_postgres -- --nocapture` prints the figures (RELIABILITY.md).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::cli::Partseal;
use testkit::cli::http;
use testkit::postgres::Cluster;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));
use registry::{CodeKey, Registry, RegistryConfig};
use signer::{Gtin, Serial};

/// Concurrent shop clients.
const CLIENTS: usize = 4;
/// Codes each client may receive: more than it gets through at its pace in the load's time.
const PER_CLIENT: usize = 1500;
/// The pause between one client's writes: the load stays bounded, whatever the machine.
const PACE: Duration = Duration::from_millis(5);
/// Load before the primary is killed, and after writes resumed.
const BEFORE: Duration = Duration::from_secs(2);
const AFTER: Duration = Duration::from_secs(2);
/// How long the primary is gone before the standby is promoted, as an operator or a cluster
/// manager would take a moment to notice.
const UNNOTICED: Duration = Duration::from_secs(1);
/// After the promotion, writes must be acknowledged again within this.
const RESUME_WITHIN: Duration = Duration::from_secs(30);
const GTIN: &str = "06901234567892";
/// The standby's `application_name`, which the primary's `synchronous_standby_names` names.
const STANDBY: &str = "partseal_standby";

/// `partseal serve` on the database, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts it on a free port (rate limits off: every client is 127.0.0.1); its log goes to
    /// `log`.
    fn start(dir: &Path, url: &str, log: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_partseal"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data", "data"])
            .args(["--database-url", url, "--log-format", "json"])
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env("PARTSEAL_RATE_LIMIT", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut file = std::fs::File::create(log).unwrap();
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "serve exited early"
            );
            file.write_all(line.as_bytes()).unwrap();
            if line.contains("partseal serving") {
                break json(&line)["fields"]["listen"].as_str().unwrap().to_owned();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut file));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// An authority, a certified manufacturer, `CLIENTS * PER_CLIENT` codes registered and one shop,
/// all in the database at `url` through the binary's commands; the shop's token and the codes'
/// manifest lines.
fn setup(d: &Path, url: &str) -> (String, Vec<String>) {
    PARTSEAL.certified_maker(d, "Acme Brakes", Some("acme-brakes"));
    PARTSEAL.ok(
        d,
        &[
            "sign",
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            GTIN,
            "--lot",
            "L2026F",
            "--count",
            &(CLIENTS * PER_CLIENT).to_string(),
            "--base-url",
            "https://verify.example.cn",
            "--out",
            "stock.jsonl",
        ],
    );
    let db = ["--database-url", url];
    let certs = ["--cert", "acme.cert"];
    PARTSEAL.ok(
        d,
        &[
            &["registry", "register"][..],
            &db,
            &["--trust", "ca/authority.pub"],
            &certs,
            &["stock.jsonl"],
        ]
        .concat(),
    );
    PARTSEAL.ok(
        d,
        &[
            &["admin", "trust"][..],
            &db,
            &["--authority", "ca/authority.pub"],
            &certs,
        ]
        .concat(),
    );
    for (id, role) in [("acme-brakes", "manufacturer"), ("shop-1", "shop")] {
        PARTSEAL.ok(
            d,
            &[
                &["admin", "party", "add"][..],
                &db,
                &["--id", id, "--role", role, "--name", id],
            ]
            .concat(),
        );
    }
    let token = PARTSEAL.ok(
        d,
        &[
            &["admin", "token", "create"][..],
            &db,
            &["--party", "shop-1"],
        ]
        .concat(),
    );
    let stock = std::fs::read_to_string(d.join("stock.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    (token.trim().to_owned(), stock)
}

/// The path and query of a code's URI (the service is not at the URI's host).
fn path_of(line: &str) -> String {
    let uri = json(line)["uri"].as_str().unwrap().to_owned();
    let at = uri.find("/01/").unwrap();
    uri[at..].to_owned()
}

/// A receipt the service acknowledged: the code, the event's sequence number, and when.
struct Ack {
    serial: String,
    seq: u64,
    answered: Instant,
}

/// What the clients saw.
#[derive(Default)]
struct Seen {
    acks: Vec<Ack>,
    /// When each 503 came.
    unavailable: Vec<Instant>,
    /// Requests without an answer (connection refused or cut, or no answer within 10 s).
    unanswered: usize,
    /// Any other answer: none is expected.
    unexpected: Vec<(u16, String)>,
}

#[test]
fn acknowledged_writes_survive_the_primary_failing_over_to_its_synchronous_standby() {
    if !testkit::postgres::can_start_clusters() {
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let primary = Cluster::start();
    primary.psql("CREATE DATABASE partseal");
    let standby = Cluster::standby_of(&primary, STANDBY);
    // The multi-host URL the service is given: whichever of the two takes writes.
    let url = format!(
        "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/partseal?target_session_attrs=read-write",
        primary.port(),
        standby.port()
    );
    let (token, stock) = setup(d, &url);
    let server = Server::start(d, &url, &d.join("serve.log"));
    println!(
        "clusters and registry ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Every commit waits for the standby: what the primary acknowledged, the standby has.
    assert_eq!(
        primary.psql(&format!(
            "SELECT sync_state FROM pg_stat_replication WHERE application_name = '{STANDBY}'"
        )),
        "sync"
    );
    assert_eq!(primary.psql("SHOW synchronous_commit"), "on");
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (addr, token, stop, seen) = (
                server.addr.clone(),
                token.clone(),
                stop.clone(),
                seen.clone(),
            );
            let codes = stock[c * PER_CLIENT..(c + 1) * PER_CLIENT].to_vec();
            std::thread::spawn(move || {
                let mut codes = codes.iter().peekable();
                while let Some(line) = codes.peek() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = serde_json::json!({"step": "receiving", "code": path_of(line)});
                    let body = serde_json::to_vec(&body).unwrap();
                    let answer = http(
                        &addr,
                        "POST",
                        "/api/v1/events",
                        Some(&token),
                        Some(("application/json", &body)),
                    );
                    let mut seen = seen.lock().unwrap();
                    match answer {
                        Some((200, answer)) => {
                            seen.acks.push(Ack {
                                serial: json(line)["serial"].as_str().unwrap().to_owned(),
                                seq: json(&answer)["seq"].as_u64().unwrap(),
                                answered: Instant::now(),
                            });
                            codes.next();
                        }
                        // Not recorded, or not known to be: the same code again (a receipt
                        // that was committed after all is repeated, which is harmless).
                        Some((503, _)) => seen.unavailable.push(Instant::now()),
                        None => seen.unanswered += 1,
                        Some(other) => {
                            seen.unexpected.push(other);
                            codes.next();
                        }
                    }
                    drop(seen);
                    std::thread::sleep(PACE);
                }
            })
        })
        .collect();
    std::thread::sleep(BEFORE);
    primary.kill();
    let killed = Instant::now();
    std::thread::sleep(UNNOTICED);
    let promoting = Instant::now();
    standby.promote();
    // Writes resume: a receipt is acknowledged after the promotion began. (The old primary's
    // server processes outlive its postmaster for a moment, and may commit a last few, replicated
    // like any other, after the kill; not a second later.)
    let resumed = loop {
        let first = seen
            .lock()
            .unwrap()
            .acks
            .iter()
            .map(|a| a.answered)
            .filter(|at| *at > promoting)
            .min();
        if let Some(at) = first {
            break at;
        }
        assert!(
            promoting.elapsed() < RESUME_WITHIN,
            "no write acknowledged within {RESUME_WITHIN:?} of the promotion; the service's log: {}",
            std::fs::read_to_string(d.join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(AFTER);
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    drop(server);

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        seen.unexpected.is_empty(),
        "answers other than 200 and 503: {:?}",
        seen.unexpected
    );
    let answered = |from: Instant, to: Instant| {
        seen.acks
            .iter()
            .filter(|a| a.answered > from && a.answered <= to)
            .count()
    };
    let before = answered(started, killed);
    let dying = answered(killed, promoting);
    let after = answered(promoting, Instant::now());
    assert!(
        before > 0 && after > 0,
        "the load wrote too little to test ({before} before the kill, {after} after the promotion)"
    );
    // No write was acknowledged from the last answer before the promotion to the first after it.
    let last_before = seen
        .acks
        .iter()
        .map(|a| a.answered)
        .filter(|at| *at <= promoting)
        .max()
        .unwrap();

    // Every acknowledged receipt is on the new primary, read there alone.
    let new_primary = format!("postgres://postgres@127.0.0.1:{}/partseal", standby.port());
    let registry = Registry::connect(&new_primary, RegistryConfig::default()).unwrap();
    let gtin = Gtin::parse(GTIN).unwrap();
    for ack in &seen.acks {
        let key = CodeKey::new(&gtin, &Serial::parse(&ack.serial).unwrap());
        let history = registry.history(&key).unwrap().unwrap();
        let event = history.events.iter().find(|e| u64::from(e.seq) == ack.seq);
        assert!(
            event.is_some_and(|e| e.step().as_str() == "receiving"),
            "acknowledged receipt #{} of {} is not on the new primary: {:?}",
            ack.seq,
            ack.serial,
            history
                .events
                .iter()
                .map(|e| (e.seq, e.step().as_str()))
                .collect::<Vec<_>>()
        );
    }
    // Receipts on the new primary that were not acknowledged: committed, but their answer lost
    // with the old primary (then the same receipt was sent again).
    let receipts: usize = stock
        .iter()
        .map(|line| {
            let serial = Serial::parse(json(line)["serial"].as_str().unwrap()).unwrap();
            let history = registry
                .history(&CodeKey::new(&gtin, &serial))
                .unwrap()
                .unwrap();
            history
                .events
                .iter()
                .filter(|e| e.step().as_str() == "receiving")
                .count()
        })
        .sum();
    drop(registry);
    PARTSEAL.ok(d, &["registry", "audit", "--database-url", &new_primary]);

    let late = seen.unavailable.iter().filter(|t| **t > resumed).count();
    println!(
        "failover: {} acknowledged writes ({before} before the kill, {dying} by the dying primary \
         after it, {after} after the promotion), all on the new primary, audit clean; {} answered \
         503 during the switch ({late} of them after writes resumed), {} unanswered; writes \
         resumed {:.2} s after the kill, {:.2} s after the promotion began, none acknowledged for \
         {:.2} s; {receipts} receipts stored ({} not acknowledged); {:.1} s in all",
        seen.acks.len(),
        seen.unavailable.len(),
        seen.unanswered,
        resumed.duration_since(killed).as_secs_f64(),
        resumed.duration_since(promoting).as_secs_f64(),
        resumed.duration_since(last_before).as_secs_f64(),
        receipts - seen.acks.len(),
        started.elapsed().as_secs_f64()
    );
}
