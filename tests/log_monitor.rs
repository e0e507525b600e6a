//! `partseal log monitor` against the verifier over real HTTP (port-0 listeners, sled): a growing
//! log is followed across checkpoints; a log restored from an older copy (shrunk), a copy given
//! another history under the same log key (rewritten), and a proxy serving a tampered tile each
//! make it exit 1 saying where.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry::{Registry, RegistryConfig};
use testkit::cli::Partseal;
use testkit::service::{Server, start, start_on};
use testkit::world::{Maker, certify, codes, now};
use tlog::LogVerifier;
use verifier::config::Overrides;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

/// One origin whatever the port, so a restarted or restored service is the same log.
fn overrides() -> Overrides {
    Overrides {
        base_url: Some("https://verify.example.cn".into()),
        ..Overrides::default()
    }
}

async fn log_key(server: &Server) -> String {
    let key = reqwest::get(server.url("/log/key"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    key.trim().to_owned()
}

/// Waits until the service's checkpoint has `size` entries.
async fn sequenced(server: &Server, key: &str, size: u64) {
    let key = LogVerifier::parse(key).unwrap();
    let started = Instant::now();
    loop {
        let note = reqwest::get(server.url("/log/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let head = key.open_checkpoint(&note).unwrap();
        if head.size == size {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not sequenced to {size}: {head:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Registers `count` codes one at a time: `count` entries of the log.
async fn grow(registry: &Arc<Registry>, maker: &Maker, prefix: &str, count: usize) {
    let r = registry.clone();
    let batch = codes(&maker.key, prefix, count);
    tokio::task::spawn_blocking(move || {
        for code in &batch {
            r.register(std::slice::from_ref(code), None, now()).unwrap();
        }
    })
    .await
    .unwrap();
}

/// `partseal log monitor URL --log-key KEY --state state.json --once` in `dir`: exit code, stdout,
/// stderr.
async fn monitor(dir: &Path, url: &str, key: &str) -> (i32, String, String) {
    let (dir, url, key) = (dir.to_owned(), url.to_owned(), key.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = PARTSEAL.run(
            &dir,
            &[
                "log",
                "monitor",
                &url,
                "--log-key",
                &key,
                "--state",
                "state.json",
                "--once",
            ],
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// Stops `server` and lets go of its store, so its files can be copied or reopened.
async fn stop(mut server: Server) -> tempfile::TempDir {
    server.begin_shutdown();
    let (registry, dir) = server.shutdown_after_begin().await;
    drop(registry);
    dir
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

async fn serve(data: &Path) -> Server {
    let data = data.to_owned();
    let registry = tokio::task::spawn_blocking(move || {
        Arc::new(Registry::open(&data, RegistryConfig::default()).unwrap())
    })
    .await
    .unwrap();
    start_on(overrides(), registry, tempfile::tempdir().unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_log_is_followed_across_checkpoints() {
    let work = tempfile::tempdir().unwrap();
    let server = start(overrides()).await;
    let key = log_key(&server).await;
    let r = server.registry.clone();
    let maker = tokio::task::spawn_blocking(move || {
        certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1)
    })
    .await
    .unwrap();

    grow(&server.registry, &maker, "A", 3).await;
    sequenced(&server, &key, 3).await;
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("checkpoint of 3 entries verified"), "{out}");

    // Past a full tile of 256 entries: the monitor goes on from the saved tree.
    grow(&server.registry, &maker, "B", 260).await;
    sequenced(&server, &key, 263).await;
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("checkpoint of 263 entries verified"), "{out}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["size"], 263);

    // From nothing, the whole tree at once; and with another log's key, refused.
    std::fs::remove_file(work.path().join("state.json")).unwrap();
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 0, "{out}{err}");
    let other = "verify.example.cn/log+9b9c5a7e+AQ7Ycg2cvUGvP7mQvVuh3YV6Jz8QIk1tmiGwvGL0p1LW";
    let (code, _, err) = monitor(work.path(), &server.url(""), other).await;
    assert_ne!(code, 0, "{err}");
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shrunk_or_rewritten_log_is_caught_against_the_saved_state() {
    let work = tempfile::tempdir().unwrap();
    let server = start(overrides()).await;
    let key = log_key(&server).await;
    let r = server.registry.clone();
    let maker = tokio::task::spawn_blocking(move || {
        certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1)
    })
    .await
    .unwrap();
    grow(&server.registry, &maker, "A", 1).await;
    sequenced(&server, &key, 1).await;
    let dir = stop(server).await;
    let data = dir.path().join("data");
    let older = work.path().join("older");
    copy_dir(&data, &older);

    // The service goes on, and the monitor verifies it at 3 entries.
    let server = serve(&data).await;
    grow(&server.registry, &maker, "B", 2).await;
    sequenced(&server, &key, 3).await;
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 0, "{out}{err}");
    stop(server).await;

    // The older copy restored behind the service's back: the same key, a smaller tree.
    let server = serve(&older).await;
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the log shrank"), "{err}");
    assert!(err.contains("3 entries was verified before"), "{err}");

    // The copy given another history than the one verified: caught, and where.
    grow(&server.registry, &maker, "C", 3).await;
    sequenced(&server, &key, 4).await;
    let (code, out, err) = monitor(work.path(), &server.url(""), &key).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("the checkpoint of 4 entries"), "{err}");
    assert!(err.contains("history was rewritten"), "{err}");
    assert!(err.contains("entries 0..2 differ"), "{err}");
    stop(server).await;
    drop(dir);
}

/// A proxy in front of `upstream` that flips one byte of every entries tile it serves.
async fn tampering_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    use axum::body::Bytes;
    use axum::http::Uri;
    let forward = move |uri: Uri| async move {
        let mut body = reqwest::get(format!("http://{upstream}{uri}"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        if uri.path().starts_with("/log/tile/entries/") {
            // The second entry's tag (two bytes of length, its version byte, then the tag).
            body[67 + 2 + 1 + 5] ^= 1;
        }
        Bytes::from(body)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(forward))
            .await
            .unwrap();
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_tile_is_named() {
    let work = tempfile::tempdir().unwrap();
    let server = start(overrides()).await;
    let key = log_key(&server).await;
    let r = server.registry.clone();
    let maker = tokio::task::spawn_blocking(move || {
        certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1)
    })
    .await
    .unwrap();
    grow(&server.registry, &maker, "A", 3).await;
    sequenced(&server, &key, 3).await;
    let proxy = tampering_proxy(server.addr).await;
    let (code, out, err) = monitor(work.path(), &format!("http://{proxy}"), &key).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("tile/0/000.p/3: hash 1 differs from the hash of entries 1..2"),
        "{err}"
    );
    // Nothing verified, nothing saved.
    assert!(!work.path().join("state.json").exists());
    stop(server).await;
}
