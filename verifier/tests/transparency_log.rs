//! The transparency log over real HTTP (c2sp.org/tlog-tiles): a registration and an event reach a
//! signed checkpoint within seconds, and the checkpoint, the key and the tiles agree with each
//! other and with what the store holds, with the cache lifetimes monitors rely on.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::time::{Duration, Instant};

use registry::{Action, CodeKey, Role};
use testkit::service::{Server, start};
use testkit::world::{add_party, certify, codes, now, party};
use tlog::entry::unbundle;
use tlog::{Entry, LabelKey, LogVerifier, MemoryTree, Opening, SignedCheckpoint};
use verifier::config::Overrides;

async fn get(server: &Server, path: &str) -> (u16, String, Vec<u8>) {
    let response = reqwest::get(server.url(path)).await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, response.bytes().await.unwrap().to_vec())
}

async fn checkpoint(server: &Server, key: &LogVerifier) -> SignedCheckpoint {
    let (status, cache, body) = get(server, "/log/checkpoint").await;
    assert_eq!(status, 200);
    assert_eq!(cache, "public, max-age=2");
    key.open_checkpoint(std::str::from_utf8(&body).unwrap())
        .unwrap()
}

#[tokio::test]
async fn events_reach_a_signed_checkpoint_and_the_tiles_prove_them() {
    let server = start(Overrides::default()).await;
    let (status, _, body) = get(&server, "/log/key").await;
    assert_eq!(status, 200);
    let key = LogVerifier::parse(std::str::from_utf8(&body).unwrap().trim_end()).unwrap();
    assert_eq!(key.origin(), format!("{}/log", server.addr));
    // A fresh store's log is the empty tree, signed.
    assert_eq!(checkpoint(&server, &key).await.size, 0);

    let r = server.registry.clone();
    let batch = tokio::task::spawn_blocking(move || {
        let authority = signer::keys::generate();
        let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
        add_party(&r, "dist-1", Role::Distributor, "Guangdong");
        let batch = codes(&maker.key, "TLOG", 3);
        r.register(&batch, None, now()).unwrap();
        let first = CodeKey::of(&batch[0].part);
        r.record_genuine_scan(
            &first,
            &maker.id,
            Action::Ship {
                to: party("dist-1"),
            },
            now(),
        )
        .unwrap();
        batch
    })
    .await
    .unwrap();

    // The sequencer runs once a second: the registration's entry and the event's, within seconds.
    let started = Instant::now();
    let head = loop {
        let head = checkpoint(&server, &key).await;
        if head.size == 2 {
            break head;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "not sequenced: {head:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The entries tile and the level-0 hash tile of a tree of two.
    let (status, cache, bundle) = get(&server, "/log/tile/entries/000.p/2").await;
    assert_eq!(
        (status, cache.as_str()),
        (200, "public, max-age=31536000, immutable")
    );
    let entries: Vec<Entry> = unbundle(&bundle)
        .unwrap()
        .into_iter()
        .map(|e| Entry::from_bytes(e).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    let (status, cache, hashes) = get(&server, "/log/tile/0/000.p/2").await;
    assert_eq!(
        (status, cache.as_str()),
        (200, "public, max-age=31536000, immutable")
    );
    let mut tree = MemoryTree::new();
    for (i, entry) in entries.iter().enumerate() {
        assert_eq!(&hashes[i * 32..(i + 1) * 32], &entry.leaf_hash().0);
        tree.push(&entry.to_bytes()).unwrap();
    }
    assert_eq!(
        tree.root().unwrap(),
        head.root,
        "the tiles hash to the checkpoint's root"
    );

    // The event's entry opens, with the store's salt, to the event the store holds.
    let r = server.registry.clone();
    let code = batch[0].clone();
    let (opened, event) = tokio::task::spawn_blocking(move || {
        let key = CodeKey::of(&code.part);
        let history = r.history(&key).unwrap().unwrap();
        (
            r.log_opening(&key, 1).unwrap().unwrap(),
            history.events[1].clone(),
        )
    })
    .await
    .unwrap();
    let label = LabelKey::from_signature(&batch[0].signature.to_bytes());
    let commitment = label.commit(&Opening {
        salt: opened.salt,
        code: CodeKey::of(&batch[0].part).as_bytes().to_vec(),
        event: event.encode(),
    });
    assert_eq!(
        entries[opened.index as usize],
        Entry::event(label.tag(1), commitment)
    );

    // Nothing in clear: no serial, GTIN or signature in any tile.
    for clear in [
        b"TLOG0000".as_slice(),
        b"06901234567892",
        &batch[0].signature.to_bytes()[..16],
    ] {
        assert!(!bundle.windows(clear.len()).any(|w| w == clear));
    }

    // Tiles the tree does not hold, and paths that are no tiles, are 404.
    for path in [
        "/log/tile/0/000.p/3",
        "/log/tile/entries/001",
        "/log/tile/0/000.p/0",
        "/log/tile/0/0000",
        "/log/tile/x",
    ] {
        let (status, _, _) = get(&server, path).await;
        assert_eq!(status, 404, "{path}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn the_public_verdict_carries_a_receipt_that_checks_offline() {
    let server = start(Overrides::default()).await;
    let r = server.registry.clone();
    let code = tokio::task::spawn_blocking(move || {
        let authority = signer::keys::generate();
        let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
        let batch = codes(&maker.key, "RCPT", 2);
        r.register(&batch, None, now()).unwrap();
        batch[1].clone()
    })
    .await
    .unwrap();
    let (_, _, body) = get(&server, "/log/key").await;
    let key = LogVerifier::parse(std::str::from_utf8(&body).unwrap().trim_end()).unwrap();
    let url = server.url(&format!("{}&receipt=1", code.path_and_query()));
    let client = reqwest::Client::new();
    let started = Instant::now();
    let answer: serde_json::Value = loop {
        let answer: serde_json::Value = client
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer.get("receipt").is_some() {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no receipt: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer["verdict"], "genuine");
    let receipt = tlog::Receipt::from_json(&answer["receipt"].to_string()).unwrap();
    assert_eq!(receipt.verdict.as_ref().unwrap()["verdict"], "genuine");
    assert_eq!(receipt.event.as_ref().unwrap()["step"], "commissioning");
    assert!(
        receipt.code.ends_with(&code.path_and_query()),
        "{}",
        receipt.code
    );
    let checked = receipt
        .check(
            &key,
            CodeKey::of(&code.part).as_bytes(),
            &code.signature.to_bytes(),
        )
        .unwrap();
    assert_eq!(checked.seq, 0);
    // Without `receipt=1`, none; nor for typed numbers.
    let plain: serde_json::Value = client
        .get(server.url(&code.path_and_query()))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(plain.get("receipt").is_none());
    let typed = format!(
        "/lookup?gtin=06901234567892&serial={}&receipt=1",
        code.part.serial.as_str()
    );
    let typed: serde_json::Value = client
        .get(server.url(&typed))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(typed.get("receipt").is_none(), "{typed}");
    server.shutdown().await;
}
