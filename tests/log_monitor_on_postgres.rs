//! `partseal log monitor` against the verifier on PostgreSQL (the testkit runs this binary's
//! service on a new database): a growing log followed across checkpoints and a full tile. The
//! shrunk, rewritten and tampered logs are in `log_monitor.rs`, on sled, where a store is copied
//! as files.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::time::{Duration, Instant};

use testkit::cli::Partseal;
use testkit::service::{Server, start};
use testkit::world::{certify, codes, now};
use tlog::LogVerifier;
use verifier::config::Overrides;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

async fn get(server: &Server, path: &str) -> String {
    reqwest::get(server.url(path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until the service's checkpoint has `size` entries.
async fn sequenced(server: &Server, key: &str, size: u64) {
    let key = LogVerifier::parse(key).unwrap();
    let started = Instant::now();
    loop {
        let head = key
            .open_checkpoint(&get(server, "/log/checkpoint").await)
            .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_growing_log_on_postgres_is_followed_across_checkpoints() {
    let work = tempfile::tempdir().unwrap();
    let server = start(Overrides::default()).await;
    // Without a server the testkit skips this binary before here.
    assert!(server.database.is_some(), "not on PostgreSQL");
    let key = get(&server, "/log/key").await.trim().to_owned();
    let r = server.registry.clone();
    let maker = tokio::task::spawn_blocking(move || {
        certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1)
    })
    .await
    .unwrap();
    let url = server.url("");
    for (prefix, count, size) in [("A", 3, 3), ("B", 258, 261)] {
        let r = server.registry.clone();
        let batch = codes(&maker.key, prefix, count);
        tokio::task::spawn_blocking(move || {
            for code in &batch {
                r.register(std::slice::from_ref(code), None, now()).unwrap();
            }
        })
        .await
        .unwrap();
        sequenced(&server, &key, size).await;
        let (dir, url, key) = (work.path().to_owned(), url.clone(), key.clone());
        let out = tokio::task::spawn_blocking(move || {
            PARTSEAL.run(
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
            )
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains(&format!("checkpoint of {size} entries verified")),
            "{stdout}"
        );
    }
}
