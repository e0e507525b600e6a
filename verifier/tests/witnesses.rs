//! The log's witnesses over real HTTP: the service sends each new checkpoint to the witnesses in
//! its configuration (`[[log.witnesses]]`) and serves the checkpoint, and receipts, with their
//! cosignatures; a witness down leaves the checkpoint served without it, counted in /metrics. A
//! copy of a store that forked, or one that shrank, is refused by the witness and serves no
//! cosignature.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry::{CodeKey, Registry, RegistryConfig};
use testkit::engine::{Engine, engine, open_registry};
use testkit::service::{Server, start_on};
use testkit::world::{certify, codes, now};
use tlog::witness::{AddCheckpoint, CosignatureVerifier, Witness};
use tlog::{LogKey, LogVerifier, Receipt, SignedCheckpoint};
use verifier::config::{LogSettings, Overrides, WitnessSettings};
use verifier::witness_server::{WitnessService, router};

const BASE: &str = "https://verify.example.cn";
const ORIGIN: &str = "verify.example.cn/log";

fn clock() -> u64 {
    1_800_000_000
}

/// A witness in this process on a port of its own, witnessing `log`: its address and key.
async fn start_witness(dir: &Path, log: &LogVerifier) -> (SocketAddr, CosignatureVerifier) {
    let witness = Witness::new("witness.example.org", signer::keys::generate()).unwrap();
    let key = witness.verifier();
    let service = Arc::new(WitnessService::open(dir, witness, vec![log.clone()]).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(service, clock)).await });
    (addr, key)
}

fn witnesses(list: &[(&str, String, &CosignatureVerifier)]) -> Overrides {
    Overrides {
        base_url: Some(BASE.into()),
        log: Some(LogSettings {
            witnesses: list
                .iter()
                .map(|(name, url, key)| WitnessSettings {
                    name: (*name).into(),
                    url: url.clone(),
                    key: key.to_key_string(),
                })
                .collect(),
        }),
        ..Overrides::default()
    }
}

async fn open(dir: &Path) -> (Arc<Registry>, Option<testkit::postgres::TestDatabase>) {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let (registry, database) = open_registry(&dir, RegistryConfig::default());
        (Arc::new(registry), database)
    })
    .await
    .unwrap()
}

fn log_verifier(registry: &Registry) -> LogVerifier {
    LogKey::new(ORIGIN, registry.log_signing_key().unwrap())
        .unwrap()
        .verifier()
}

async fn text(server: &Server, path: &str) -> String {
    reqwest::get(server.url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the served checkpoint has `size` entries and `key`'s cosignature.
async fn cosigned_checkpoint(
    server: &Server,
    log: &LogVerifier,
    key: &CosignatureVerifier,
    size: u64,
) -> SignedCheckpoint {
    let started = Instant::now();
    loop {
        let note = text(server, "/log/checkpoint").await;
        let checkpoint = log.open_checkpoint(&note).unwrap();
        if checkpoint.size == size && key.cosigned(&note).is_ok() {
            return checkpoint;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no cosigned checkpoint of {size}: {note}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A port nothing listens on.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

#[tokio::test]
async fn the_service_sends_checkpoints_to_its_witnesses_and_serves_their_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let witness_dir = tempfile::tempdir().unwrap();
    let (registry, _database) = open(dir.path()).await;
    let r = registry.clone();
    let log = tokio::task::spawn_blocking(move || log_verifier(&r))
        .await
        .unwrap();
    let (addr, key) = start_witness(witness_dir.path(), &log).await;
    let down = Witness::new("down.example.org", signer::keys::generate()).unwrap();
    let overrides = witnesses(&[
        ("w1", format!("http://{addr}"), &key),
        ("down", closed_port().await, &down.verifier()),
    ]);
    let server = start_on(overrides, registry.clone(), dir).await;

    // A registration, then another: each checkpoint reaches the witness and comes back cosigned.
    let r = registry.clone();
    let (maker, batch) = tokio::task::spawn_blocking(move || {
        let maker = certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1);
        let batch = codes(&maker.key, "WIT", 2);
        r.register(&batch, None, now()).unwrap();
        (maker, batch)
    })
    .await
    .unwrap();
    cosigned_checkpoint(&server, &log, &key, 1).await;
    let r = registry.clone();
    tokio::task::spawn_blocking(move || {
        r.register(&codes(&maker.key, "MORE", 2), None, now())
            .unwrap()
    })
    .await
    .unwrap();
    let head = cosigned_checkpoint(&server, &log, &key, 2).await;
    // The witness's own record: the same tree, as monitors read it from the witness.
    let path = format!("/{}/checkpoint", tlog::witness::origin_hash(ORIGIN));
    let remembered = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(log.open_checkpoint(&remembered).unwrap().root, head.root);

    // A receipt carries the cosigned checkpoint, and checks offline in it.
    let code = batch[0].clone();
    let verdict: serde_json::Value = reqwest::Client::new()
        .get(server.url(&format!("{}&receipt=1", code.path_and_query())))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt = Receipt::from_json(&verdict["receipt"].to_string()).unwrap();
    key.cosigned(&receipt.checkpoint).unwrap();
    let checked = receipt
        .check(
            &log,
            CodeKey::of(&code.part).as_bytes(),
            &code.signature.to_bytes(),
        )
        .unwrap();
    assert_eq!(checked.checkpoint.size, 2);

    // The witness that is down: no cosignature of it, counted and tried again.
    let note = text(&server, "/log/checkpoint").await;
    assert!(down.verifier().cosigned(&note).is_err());
    let metrics = text(&server, "/metrics").await;
    assert!(
        metrics.contains(r#"partseal_log_witness_requests_total{witness="w1",outcome="cosigned"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"partseal_log_witness_requests_total{witness="down",outcome="failed"}"#),
        "{metrics}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_forked_or_shrunk_copy_of_the_store_gets_no_cosignature() {
    if engine() != Engine::Sled {
        // The fork is made by copying a store's directory: the embedded engine's case.
        return;
    }
    let a = tempfile::tempdir().unwrap();
    let (fork_dir, shrunk_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let witness_dir = tempfile::tempdir().unwrap();

    // A store with one registration in its log, copied twice while closed.
    let data = a.path().join("data");
    let (maker, log) = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            let r = Registry::open(&data, RegistryConfig::default()).unwrap();
            let maker = certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1);
            r.register(&codes(&maker.key, "BASE", 2), None, now())
                .unwrap();
            let key = LogKey::new(ORIGIN, r.log_signing_key().unwrap()).unwrap();
            r.sequence_log(&key).unwrap();
            r.flush().unwrap();
            (maker, key.verifier())
        })
        .await
        .unwrap()
    };
    for copy in [fork_dir.path(), shrunk_dir.path()] {
        copy_dir(&data, &copy.join("data"));
    }
    let (addr, key) = start_witness(witness_dir.path(), &log).await;
    let url = format!("http://{addr}");

    // The original grows to two entries, cosigned.
    let original = Arc::new(Registry::open(&data, RegistryConfig::default()).unwrap());
    let server = start_on(witnesses(&[("w1", url.clone(), &key)]), original.clone(), a).await;
    let r = original.clone();
    let k = maker.key.clone();
    tokio::task::spawn_blocking(move || r.register(&codes(&k, "REAL", 2), None, now()).unwrap())
        .await
        .unwrap();
    let witnessed = cosigned_checkpoint(&server, &log, &key, 2).await;

    // The fork: other registrations on the copy, a tree of three with the same log key.
    let forked =
        Arc::new(Registry::open(&fork_dir.path().join("data"), RegistryConfig::default()).unwrap());
    let r = forked.clone();
    let k = maker.key.clone();
    tokio::task::spawn_blocking(move || {
        r.register(&codes(&k, "FAKE", 2), None, now()).unwrap();
        r.register(&codes(&k, "FAKER", 2), None, now()).unwrap();
    })
    .await
    .unwrap();
    let fork_server = start_on(
        witnesses(&[("w1", url.clone(), &key)]),
        forked.clone(),
        fork_dir,
    )
    .await;
    // The shrunk copy: the tree of one the witness saw before the original grew.
    let shrunk = Arc::new(
        Registry::open(&shrunk_dir.path().join("data"), RegistryConfig::default()).unwrap(),
    );
    let shrunk_server = start_on(witnesses(&[("w1", url.clone(), &key)]), shrunk, shrunk_dir).await;

    // Their own checkpoints, signed by the same key, never cosigned.
    let started = Instant::now();
    loop {
        let fork_note = text(&fork_server, "/log/checkpoint").await;
        let fork_head = log.open_checkpoint(&fork_note).unwrap();
        let shrunk_note = text(&shrunk_server, "/log/checkpoint").await;
        assert_eq!(log.open_checkpoint(&shrunk_note).unwrap().size, 1);
        assert!(key.cosigned(&fork_note).is_err(), "{fork_note}");
        assert!(key.cosigned(&shrunk_note).is_err(), "{shrunk_note}");
        let metrics = text(&fork_server, "/metrics").await;
        if fork_head.size == 3 && metrics.contains(r#"witness="w1",outcome="failed"}"#) {
            assert_ne!(fork_head.root, witnessed.root);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the fork was not refused: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // What the witness answers the fork, directly: 422, the tree it knows is not in it.
    let r = forked.clone();
    let proof = tokio::task::spawn_blocking(move || r.log_consistency_proof(3, 2).unwrap())
        .await
        .unwrap();
    let fork_note = text(&fork_server, "/log/checkpoint").await;
    let answer = reqwest::Client::new()
        .post(format!("{url}/add-checkpoint"))
        .body(
            AddCheckpoint {
                old_size: 2,
                proof,
                checkpoint: fork_note,
            }
            .to_body(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    assert!(answer.text().await.unwrap().contains("not consistent"));
    // The original is still the one cosigned.
    cosigned_checkpoint(&server, &log, &key, 2).await;
    fork_server.shutdown().await;
    shrunk_server.shutdown().await;
    server.shutdown().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
