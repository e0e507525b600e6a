//! The whole process killed under load: the real `partseal serve --data DIR`, with client threads
//! writing custody events, uploading a manifest, scanning and reporting, is killed with SIGKILL at a
//! random moment, 20 times. After each kill every write it acknowledged is in the store (events by
//! their sequence number, registrations, reports by id), `partseal registry audit` exits 0, and
//! the service starts again on the same directory. The transparency log continues the same tree:
//! the checkpoint the killed service left verifies, extends the one before the kill, and once the
//! pool is sequenced every acknowledged write is in the log.
//!
//! `registry/tests/` kills a writer process of the registry library; this kills the service with
//! its HTTP stack, blocking pool, scan writer and group commit, which is what operators run.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use testkit::cli::Partseal;
use testkit::cli::http;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));
use registry::{CodeKey, PartyId, Registry, RegistryConfig};
use signer::{Gtin, Serial};

const KILLS: usize = 20;
const SHOPS: usize = 3;
/// Codes each shop works through (receive, then install), at most, over all the runs.
const PER_SHOP: usize = 1000;
/// Lines of the manifest uploaded in each run: enough that some kills land during an upload.
const UPLOAD: usize = 500;
const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";

/// A write the service acknowledged.
#[derive(Clone, Debug)]
enum Ack {
    Event {
        serial: String,
        seq: u64,
        step: String,
    },
    Registered(String),
    Report(String),
}

/// A small deterministic generator, seeded from the clock and printed, so a failing run can be
/// repeated.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// `partseal serve` on a free port, without rate limits (every client is 127.0.0.1).
fn serve(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partseal"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data",
            "data",
            "--log-format",
            "json",
        ])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .env("PARTSEAL_RATE_LIMIT", "0")
        .env("PARTSEAL_REPORT_RATE_LIMIT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited early"
        );
        if line.contains("partseal serving") {
            break json(&line)["fields"]["listen"].as_str().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    (child, addr)
}

/// The lines of a JSON Lines file.
fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The path and query of a code's URI (the service is not at the URI's host).
fn path_of(line: &str) -> String {
    let uri = json(line)["uri"].as_str().unwrap().to_owned();
    let at = uri.find("/01/").unwrap();
    uri[at..].to_owned()
}

fn serial_of(line: &str) -> String {
    json(line)["serial"].as_str().unwrap().to_owned()
}

fn setup(d: &Path) -> (String, Vec<String>) {
    PARTSEAL.certified_maker(d, "Acme Brakes", Some("acme-brakes"));
    let sign = |lot: &str, count: usize, out: &str| {
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
                lot,
                "--count",
                &count.to_string(),
                "--base-url",
                "https://verify.example.cn",
                "--out",
                out,
            ],
        );
    };
    sign("L2026A", SHOPS * PER_SHOP, "stock.jsonl");
    sign("L2026B", KILLS * UPLOAD, "uploads.jsonl");
    let trust = [
        "--data",
        "data",
        "--trust",
        "ca/authority.pub",
        "--cert",
        "acme.cert",
    ];
    let mut register = vec!["registry", "register"];
    register.extend(trust);
    register.push("stock.jsonl");
    PARTSEAL.ok(d, &register);
    PARTSEAL.ok(
        d,
        &[
            "admin",
            "trust",
            "--data",
            "data",
            "--authority",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
        ],
    );
    let add = |id: &str, role: &str| {
        PARTSEAL.ok(
            d,
            &[
                "admin", "party", "add", "--data", "data", "--id", id, "--role", role, "--name", id,
            ],
        );
    };
    add("acme-brakes", "manufacturer");
    let token = |id: &str| {
        PARTSEAL
            .ok(
                d,
                &["admin", "token", "create", "--data", "data", "--party", id],
            )
            .trim()
            .to_owned()
    };
    let maker = token("acme-brakes");
    let shops = (1..=SHOPS)
        .map(|i| {
            let id = format!("shop-{i}");
            add(&id, "shop");
            token(&id)
        })
        .collect();
    (maker, shops)
}

/// The log's tree as the last check left it: (size, root).
type LogTree = Option<(u64, tlog::Hash)>;

/// The log the killed service left: its checkpoint verifies and extends `before`; then one round
/// logs the pool, and every acknowledged write is in the log. Returns the tree after that round.
fn check_log(registry: &Registry, acks: &[Ack], before: LogTree) -> LogTree {
    let head = registry.log_head().unwrap();
    // The killed service named the log by its own origin: the checkpoint's first line.
    let origin = head
        .checkpoint
        .lines()
        .next()
        .unwrap_or("crash.test/log")
        .to_owned();
    let key = tlog::LogKey::new(&origin, registry.log_signing_key().unwrap()).unwrap();
    if !head.checkpoint.is_empty() {
        let signed = key.verifier().open_checkpoint(&head.checkpoint).unwrap();
        assert_eq!((signed.size, signed.root), (head.size, head.root));
    }
    if let Some((size, root)) = before {
        let proof = registry.log_consistency_proof(head.size, size).unwrap();
        tlog::tree::check_consistency(&proof, head.size, head.root, size, root).unwrap_or_else(
            |e| panic!("the log after the kill does not extend the one before: {e}"),
        );
    }
    registry.sequence_log(&key).unwrap();
    let gtin = Gtin::parse(GTIN).unwrap();
    let key = |serial: &str| CodeKey::new(&gtin, &Serial::parse(serial).unwrap());
    for ack in acks {
        let (serial, seq) = match ack {
            Ack::Event { serial, seq, .. } => (serial, *seq as u32),
            Ack::Registered(serial) => (serial, 0),
            Ack::Report(_) => continue,
        };
        assert!(
            registry.log_opening(&key(serial), seq).unwrap().is_some(),
            "acknowledged event #{seq} of {serial} is not in the log"
        );
    }
    let head = registry.log_head().unwrap();
    Some((head.size, head.root))
}

/// Every acknowledged write is in the store at `data`, and in its log; the count checked.
fn check(data: &Path, acks: &[Ack], log: &mut LogTree) -> usize {
    let registry = Registry::open(data, RegistryConfig::default()).unwrap();
    *log = check_log(&registry, acks, *log);
    let gtin = Gtin::parse(GTIN).unwrap();
    let key = |serial: &str| CodeKey::new(&gtin, &Serial::parse(serial).unwrap());
    let reports: Vec<String> = registry
        .reports(&PartyId::parse("acme-brakes").unwrap())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    for ack in acks {
        match ack {
            Ack::Event { serial, seq, step } => {
                let history = registry.history(&key(serial)).unwrap().unwrap();
                let event = history.events.iter().find(|e| u64::from(e.seq) == *seq);
                assert!(
                    event.is_some_and(|e| e.step().as_str() == step),
                    "acknowledged {step} #{seq} of {serial} is missing: {:?}",
                    history
                        .events
                        .iter()
                        .map(|e| (e.seq, e.step().as_str()))
                        .collect::<Vec<_>>()
                );
            }
            Ack::Registered(serial) => assert!(
                registry.status(&key(serial)).unwrap().is_some(),
                "acknowledged registration of {serial} is missing"
            ),
            Ack::Report(id) => assert!(reports.contains(id), "acknowledged report {id} is missing"),
        }
    }
    acks.len()
}

#[test]
fn acknowledged_writes_survive_sigkill_of_the_service_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (maker, shops) = setup(d);
    let stock = lines(&d.join("stock.jsonl"));
    let uploads = lines(&d.join("uploads.jsonl"));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = Lcg(seed);

    let all: Arc<Mutex<Vec<Ack>>> = Arc::default();
    // Where each shop is in its slice of the stock: the next code, and whether it is received.
    let progress: Arc<Vec<Mutex<(usize, bool)>>> =
        Arc::new((0..SHOPS).map(|_| Mutex::new((0, false))).collect());
    let mut checked = 0;
    let mut log: LogTree = None;
    let uploads_cut = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    for run in 0..KILLS {
        let (mut child, addr) = serve(d);
        let stop = Arc::new(AtomicBool::new(false));
        let acks: Arc<Mutex<Vec<Ack>>> = Arc::default();
        let mut threads = Vec::new();
        // The shops: receive a part, then install it, each in its own slice of the stock.
        for (s, token) in shops.iter().enumerate() {
            let (addr, token, stop, acks, progress) = (
                addr.clone(),
                token.clone(),
                stop.clone(),
                acks.clone(),
                progress.clone(),
            );
            let stock = stock[s * PER_SHOP..(s + 1) * PER_SHOP].to_vec();
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut at = progress[s].lock().unwrap();
                    let Some(line) = stock.get(at.0) else { break };
                    let (step, body) = if at.1 {
                        ("installing", serde_json::json!({"step": "installing", "code": path_of(line), "vin": VIN}))
                    } else {
                        ("receiving", serde_json::json!({"step": "receiving", "code": path_of(line)}))
                    };
                    let body = serde_json::to_vec(&body).unwrap();
                    let Some((status, answer)) = http(&addr, "POST", "/api/v1/events", Some(&token), Some(("application/json", &body))) else {
                        // No answer: the next run sends the same step again (the store may or
                        // may not hold it; a repeated receive or install is harmless).
                        continue;
                    };
                    assert_eq!(status, 200, "{step}: {answer}");
                    let answer = json(&answer);
                    acks.lock().unwrap().push(Ack::Event {
                        serial: serial_of(line),
                        seq: answer["seq"].as_u64().unwrap(),
                        step: step.to_owned(),
                    });
                    *at = if at.1 { (at.0 + 1, false) } else { (at.0, true) };
                }
            }));
        }
        // The maker: this run's manifest, then reading its alerts.
        {
            let (addr, maker, stop, acks) =
                (addr.clone(), maker.clone(), stop.clone(), acks.clone());
            let cut = uploads_cut.clone();
            let piece = uploads[run * UPLOAD..(run + 1) * UPLOAD].to_vec();
            threads.push(std::thread::spawn(move || {
                let body = piece.join("\n") + "\n";
                if let Some((status, answer)) = http(
                    &addr,
                    "POST",
                    "/api/v1/manifests",
                    Some(&maker),
                    Some(("application/x-ndjson", body.as_bytes())),
                ) {
                    assert_eq!(status, 200, "{answer}");
                    let summary = json(&answer);
                    let stored = summary["registered"].as_u64().unwrap()
                        + summary["already_registered"].as_u64().unwrap();
                    assert_eq!(stored, UPLOAD as u64, "{answer}");
                    acks.lock()
                        .unwrap()
                        .extend(piece.iter().map(|l| Ack::Registered(serial_of(l))));
                } else {
                    cut.fetch_add(1, Ordering::Relaxed);
                }
                while !stop.load(Ordering::Relaxed) {
                    if http(&addr, "GET", "/api/v1/alerts", Some(&maker), None).is_none() {
                        break;
                    }
                }
            }));
        }
        // The public: scans, and now and then a report.
        {
            let (addr, stop, acks) = (addr.clone(), stop.clone(), acks.clone());
            let stock = stock.clone();
            let mut i = run * 97;
            threads.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let line = &stock[i % stock.len()];
                    if i % 4 == 0 {
                        let body = serde_json::to_vec(&serde_json::json!({
                            "code": path_of(line), "text": format!("report {i}: sold loose at a market"),
                        }))
                        .unwrap();
                        if let Some((status, answer)) = http(&addr, "POST", "/reports", None, Some(("application/json", &body))) {
                            assert_eq!(status, 201, "{answer}");
                            let id = json(&answer)["id"].as_str().unwrap().to_owned();
                            acks.lock().unwrap().push(Ack::Report(id));
                        }
                    } else if let Some((status, answer)) = http(&addr, "GET", &path_of(line), None, None) {
                        assert_eq!(status, 200, "{answer}");
                    }
                }
            }));
        }
        // Load for a random moment between 0.2 and 1.2 s, then SIGKILL.
        std::thread::sleep(Duration::from_millis(200 + rng.below(1000)));
        child.kill().unwrap();
        child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for thread in threads {
            thread.join().unwrap();
        }
        let acks = std::mem::take(&mut *acks.lock().unwrap());
        checked += check(&d.join("data"), &acks, &mut log);
        all.lock().unwrap().extend(acks);
        PARTSEAL.ok(d, &["registry", "audit", "--data", "data"]);
        println!(
            "run {run}: {} acknowledged writes so far",
            all.lock().unwrap().len()
        );
    }
    // Once more, everything acknowledged over all the runs, and the service starts again.
    let all = all.lock().unwrap();
    checked += check(&d.join("data"), &all, &mut log);
    let (mut child, addr) = serve(d);
    let (status, _) = http(&addr, "GET", "/readyz", None, None).unwrap();
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    let events = all
        .iter()
        .filter(|a| matches!(a, Ack::Event { .. }))
        .count();
    let registered = all
        .iter()
        .filter(|a| matches!(a, Ack::Registered(_)))
        .count();
    let reports = all.iter().filter(|a| matches!(a, Ack::Report(_))).count();
    println!(
        "{KILLS} kills in {:.1} s: {} acknowledged writes ({events} events, {registered} \
         registrations, {reports} reports), {checked} checks; {} uploads cut by the kill",
        started.elapsed().as_secs_f64(),
        all.len(),
        uploads_cut.load(Ordering::Relaxed)
    );
    assert!(
        events > 0 && registered > 0 && reports > 0,
        "the load wrote too little to test"
    );
}
