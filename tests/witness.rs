//! `partseal witness` over real HTTP (c2sp.org/tlog-witness): it cosigns a growing log, keeps what
//! it cosigned across a restart and a SIGKILL at any moment, refuses a fork, a shrink and bad
//! requests with the spec's codes and a clear text; and `partseal verify --receipt --witness`
//! requires the witness's cosignature.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use registry::{CodeKey, Registry, RegistryConfig};
use signer::SignedCode;
use testkit::cli::Partseal;
use tlog::witness::{AddCheckpoint, CosignatureVerifier};
use tlog::{LogKey, MemoryTree, tree};

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));
const ORIGIN: &str = "verify.example.cn/log";
const NAME: &str = "witness.example.org";

/// A log of the test's own: entries in memory, checkpoints signed with a fixed key.
struct TestLog {
    key: LogKey,
    tree: MemoryTree,
}

impl TestLog {
    fn new(seed: u8) -> Self {
        TestLog {
            key: LogKey::new(ORIGIN, signer::SigningKey::from_bytes(&[seed; 32])).unwrap(),
            tree: MemoryTree::new(),
        }
    }

    fn grow(&mut self, entries: &[&str]) {
        for e in entries {
            self.tree.push(e.as_bytes()).unwrap();
        }
    }

    fn checkpoint(&self) -> String {
        self.key
            .sign_checkpoint(self.tree.size(), self.tree.root().unwrap())
            .unwrap()
    }

    /// The `add-checkpoint` body for the current tree, from `old`.
    fn body(&self, old: u64) -> String {
        AddCheckpoint {
            old_size: old,
            proof: tree::consistency_proof(self.tree.size(), old, &self.tree).unwrap(),
            checkpoint: self.checkpoint(),
        }
        .to_body()
    }
}

/// `partseal witness` on a free port, logging to `witness.log` in `dir`; killed when dropped.
struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn witness(dir: &Path, log_key: &str) -> Running {
    let log = dir.join("witness.log");
    let file = std::fs::File::create(&log).unwrap();
    // Held (and killed, if the test fails first) from the start.
    let mut running = Running {
        child: PARTSEAL
            .command(dir)
            .args(["witness", "--listen", "127.0.0.1:0", "--state", "state"])
            .args(["--key", "witness.key", "--name", NAME, "--log", log_key])
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap(),
        addr: String::new(),
    };
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let addr = text.find("partseal witness listening").and_then(|at| {
            text[at..]
                .split_whitespace()
                .find_map(|w| w.strip_prefix("listen="))
                .map(|a| a.trim_matches(|c: char| !c.is_ascii_graphic()).to_owned())
        });
        if let Some(addr) = addr {
            running.addr = addr;
            return running;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the witness did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP/1.1 request: status, content type and body; `None` if the connection was cut.
fn request(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, String, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    (body.len() == length).then(|| {
        (
            status,
            header("content-type").unwrap_or_default(),
            body.to_owned(),
        )
    })
}

fn add(addr: &str, body: &str) -> (u16, String, String) {
    request(addr, "POST", "/add-checkpoint", body).expect("the witness answers")
}

fn witness_key(dir: &Path) -> CosignatureVerifier {
    let vkey = PARTSEAL.ok(
        dir,
        &["witness", "key", "--key", "witness.key", "--name", NAME],
    );
    CosignatureVerifier::parse(vkey.trim()).unwrap()
}

#[test]
fn a_witness_cosigns_a_growing_log_remembers_it_and_refuses_forks_and_bad_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut log = TestLog::new(1);
    let log_key = log.key.verifier_key();
    let running = witness(d, &log_key);
    // Its key was created, readable by its owner only, and `witness key` prints the same.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("witness.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = witness_key(d);
    let logged = std::fs::read_to_string(d.join("witness.log")).unwrap();
    assert!(!logged.contains("PRIVATE KEY"), "{logged}");

    // The first checkpoint, then one that extends it: cosigned.
    log.grow(&["a", "b", "c"]);
    let (status, kind, line) = add(&running.addr, &log.body(0));
    assert_eq!((status, kind.as_str()), (200, "text/plain; charset=utf-8"));
    assert!(line.starts_with(&format!("— {NAME} ")) && line.ends_with('\n'));
    key.cosigned(&format!("{}{line}", log.checkpoint()))
        .unwrap();
    log.grow(&["d", "e"]);
    let (status, _, line) = add(&running.addr, &log.body(3));
    assert_eq!(status, 200, "{line}");
    let five = log.checkpoint();
    key.cosigned(&format!("{five}{line}")).unwrap();
    // The same checkpoint again is cosigned again (another replica of the log may send it).
    assert_eq!(add(&running.addr, &log.body(5)).0, 200);

    // Monitors read the latest cosigned checkpoint at /<sha256(origin)>/checkpoint.
    let path = format!("/{}/checkpoint", tlog::witness::origin_hash(ORIGIN));
    let (status, _, note) = request(&running.addr, "GET", &path, "").unwrap();
    assert_eq!(status, 200);
    assert!(note.starts_with(&five));
    key.cosigned(&note).unwrap();
    assert_eq!(
        request(&running.addr, "GET", "/00ff/checkpoint", "")
            .unwrap()
            .0,
        404
    );

    // Stopped and started again: it remembers the tree of five.
    drop(running);
    let running = witness(d, &log_key);
    log.grow(&["f"]);
    let (status, kind, body) = add(&running.addr, &log.body(3));
    assert_eq!(
        (status, kind.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "5\n")
    );
    assert_eq!(add(&running.addr, &log.body(5)).0, 200);

    // A fork of what it cosigned: another history of the same entries' first half, grown.
    let mut fork = TestLog::new(1);
    fork.grow(&["a", "B", "c", "d", "e", "f", "g"]);
    let (status, _, why) = add(&running.addr, &fork.body(6));
    assert_eq!(status, 422, "{why}");
    assert!(why.contains("not consistent"), "{why}");
    // The same size with another root: a fork too.
    let mut same_size = TestLog::new(1);
    same_size.grow(&["a", "b", "c", "d", "e", "F"]);
    assert_eq!(add(&running.addr, &same_size.body(6)).0, 422);
    // A shrunk log: its old size is beyond its checkpoint.
    let mut shrunk = TestLog::new(1);
    shrunk.grow(&["a", "b", "c"]);
    let body = shrunk.body(0).replacen("old 0", "old 6", 1);
    let (status, _, why) = add(&running.addr, &body);
    assert_eq!(status, 400, "{why}");
    assert!(why.contains("cannot shrink"), "{why}");
    // ... or a checkpoint smaller than the one it knows, sent from size 0.
    assert_eq!(add(&running.addr, &shrunk.body(0)).0, 409);

    // Bad bodies: 4xx with a text saying what was wrong.
    log.grow(&["g"]);
    let good = log.body(6);
    let cases: Vec<(String, u16, &str)> = vec![
        ("".into(), 400, "no blank line"),
        (good.replacen("old 6\n", "", 1), 400, "old <size>"),
        (good.replacen("old 6", "old 06", 1), 400, "old <size>"),
        (good.replacen("\n\n", "\nnot-base64!\n\n", 1), 400, "base64"),
        // A proof of the wrong hashes.
        (
            format!(
                "old 6\n{}\n\n{}",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                log.checkpoint()
            ),
            422,
            "not consistent",
        ),
        // The log's signature over another text.
        (good.replacen("\n7\n", "\n8\n", 1), 403, "signature"),
        // Signed by another key for the same origin.
        (
            {
                let mut other = TestLog::new(9);
                other.grow(&["a", "b", "c", "d", "e", "f", "g"]);
                other.body(6)
            },
            403,
            "signature",
        ),
        // A log it does not witness.
        (
            good.replacen(ORIGIN, "elsewhere.example/log", 1),
            404,
            "unknown log origin",
        ),
    ];
    for (body, status, says) in cases {
        let (got, _, text) = add(&running.addr, &body);
        assert_eq!(got, status, "{body:?}: {text}");
        assert!(text.contains(says), "{body:?}: {text}");
    }
    // Still the tree of six after all of that.
    assert_eq!(add(&running.addr, &log.body(6)).0, 200);

    // A second witness on the same state directory is refused: two memories of one state could
    // cosign a fork between them.
    let second = PARTSEAL.run(
        d,
        &[
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "state",
            "--key",
            "witness.key",
            "--name",
            NAME,
            "--log",
            &log_key,
        ],
    );
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("another witness process"));
}

#[test]
fn a_witness_killed_at_any_moment_never_cosigns_a_fork_of_what_it_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut log = TestLog::new(1);
    let log_key = log.key.verifier_key();
    let key = witness_key(d);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    // The largest tree it answered with a cosignature, and what it may know beyond it.
    let mut answered = 0u64;
    for round in 0..12 {
        let running = witness(d, &log_key);
        // What it knows after the last kill: at least what it answered, at most what was sent.
        let (status, _, known) = add(&running.addr, &TestLog::new(1).body(0));
        let known: u64 = match status {
            200 => 0,
            409 => known.trim().parse().unwrap(),
            other => panic!("{other}: {known}"),
        };
        assert!(
            known >= answered && known <= log.tree.size(),
            "round {round}: knows {known}, answered {answered}, sent {}",
            log.tree.size()
        );
        // A fork of every tree it may have cosigned is refused.
        if known > 0 {
            let mut fork = TestLog::new(1);
            for i in 0..=known {
                fork.grow(&[&format!("fork {i}")]);
            }
            assert_eq!(add(&running.addr, &fork.body(known)).0, 422);
        }
        // The log continues from what the witness knows; the next request is cut by a SIGKILL
        // after a random delay: before the write, between the write and the answer, or after.
        let mut old = known;
        while log.tree.size() < known + 1 {
            log.grow(&[&format!("entry {}", log.tree.size())]);
        }
        let (status, _, line) = add(&running.addr, &log.body(old));
        assert_eq!(status, 200, "{line}");
        key.cosigned(&format!("{}{line}", log.checkpoint()))
            .unwrap();
        answered = log.tree.size();
        old = answered;
        log.grow(&[&format!("entry {}", log.tree.size())]);
        let body = log.body(old);
        let addr = running.addr.clone();
        let sender = std::thread::spawn(move || request(&addr, "POST", "/add-checkpoint", &body));
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_micros((seed >> 33) % 3000));
        let mut running = running;
        running.child.kill().unwrap();
        running.child.wait().unwrap();
        if let Some((200, _, _)) = sender.join().unwrap() {
            answered = log.tree.size();
        }
    }
}

#[test]
fn verify_receipt_requires_each_given_witness_cosignature() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 2);
    PARTSEAL.ok(
        d,
        &[
            "registry",
            "register",
            "--data",
            "data",
            "--trust",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
            "batch.jsonl",
        ],
    );
    let base = "https://verify.example.cn";
    let log_key = PARTSEAL.ok(d, &["log", "key", "--data", "data", "--base-url", base]);
    let log_key = log_key.trim().to_owned();
    let line = std::fs::read_to_string(d.join("batch.jsonl"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let uri = serde_json::from_str::<serde_json::Value>(&line).unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = SignedCode::parse(&uri).unwrap();
    let (receipt, size) = {
        let registry = Registry::open(&d.join("data"), RegistryConfig::default()).unwrap();
        let log = LogKey::new(ORIGIN, registry.log_signing_key().unwrap()).unwrap();
        registry.sequence_log(&log).unwrap();
        let receipt = registry
            .log_receipt(&CodeKey::of(&code.part), uri.clone())
            .unwrap()
            .unwrap();
        (receipt, registry.log_head().unwrap().size)
    };
    // The registry's checkpoint sent to a real witness, and its answer added to the receipt.
    let running = witness(d, &log_key);
    let body = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: receipt.checkpoint.clone(),
    }
    .to_body();
    let (status, _, cosignature) = add(&running.addr, &body);
    assert_eq!(status, 200, "{cosignature}");
    assert_eq!(size, 1);
    let mut cosigned = receipt.clone();
    cosigned.checkpoint.push_str(&cosignature);
    std::fs::write(d.join("cosigned.json"), cosigned.to_json()).unwrap();
    std::fs::write(d.join("plain.json"), receipt.to_json()).unwrap();
    let key = PARTSEAL.ok(
        d,
        &["witness", "key", "--key", "witness.key", "--name", NAME],
    );
    let key = key.trim();

    let out = PARTSEAL.ok(
        d,
        &[
            "verify",
            "--receipt",
            "cosigned.json",
            "--log-key",
            &log_key,
            "--witness",
            key,
        ],
    );
    assert!(out.contains("VALID RECEIPT"), "{out}");
    assert!(
        out.contains(&format!("cosigned by the witness {NAME}")),
        "{out}"
    );
    // Without the cosignature: exit 1, saying which witness is missing.
    let refused = PARTSEAL.run(
        d,
        &[
            "verify",
            "--receipt",
            "plain.json",
            "--log-key",
            &log_key,
            "--witness",
            key,
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("INVALID RECEIPT") && said.contains(&format!("the witness {NAME}")),
        "{said}"
    );
    // Another witness's key: its cosignature is missing too.
    let other = tlog::witness::Witness::new(NAME, signer::keys::generate())
        .unwrap()
        .verifier_key();
    let refused = PARTSEAL.run(
        d,
        &[
            "verify",
            "--receipt",
            "cosigned.json",
            "--log-key",
            &log_key,
            "--witness",
            &other,
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    // A cosignature altered by one character: bad, refused.
    let mut bad = cosigned.clone();
    let at = bad.checkpoint.len() - 6;
    let flipped = if &bad.checkpoint[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    bad.checkpoint.replace_range(at..at + 1, flipped);
    std::fs::write(d.join("bad.json"), bad.to_json()).unwrap();
    let refused = PARTSEAL.run(
        d,
        &[
            "verify",
            "--receipt",
            "bad.json",
            "--log-key",
            &log_key,
            "--witness",
            key,
        ],
    );
    assert_eq!(refused.status.code(), Some(1));
    // Not a witness key (a log's): a usage error, exit 2.
    PARTSEAL.fails(
        d,
        &[
            "verify",
            "--receipt",
            "cosigned.json",
            "--log-key",
            &log_key,
            "--witness",
            &log_key,
        ],
        2,
        "--witness",
    );
    // The plain receipt is still valid without --witness.
    PARTSEAL.ok(
        d,
        &["verify", "--receipt", "plain.json", "--log-key", &log_key],
    );
}
