//! `partseal log monitor` against the verifier over real HTTP (port-0 listeners, sled): a growing
//! log is followed across checkpoints; a log restored from an older copy (shrunk), a copy given
//! another history under the same log key (rewritten), and a proxy serving a tampered tile each
//! make it exit 1 saying where.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry::{Action, CodeKey, Registry, RegistryConfig, Role};
use testkit::cli::Partseal;
use testkit::service::{Server, start, start_on};
use testkit::world::{Maker, add_party, certify, codes, now, party, token};
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
    monitor_with(dir, url, key, &["--state", "state.json"]).await
}

/// `partseal log monitor URL --log-key KEY --once` with `extra` arguments.
async fn monitor_with(dir: &Path, url: &str, key: &str, extra: &[&str]) -> (i32, String, String) {
    let (dir, url, key) = (dir.to_owned(), url.to_owned(), key.to_owned());
    let extra: Vec<String> = extra.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let mut args = vec!["log", "monitor", &url, "--log-key", &key, "--once"];
        args.extend(extra.iter().map(String::as_str));
        let out = PARTSEAL.run(&dir, &args);
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

/// A proxy answering `/log/…` from `log` and everything else from `api` (with the caller's
/// token), flipping one byte of every entries tile if `tamper`: an operator showing the log one
/// thing and the maker another.
async fn proxy(
    log: std::net::SocketAddr,
    api: std::net::SocketAddr,
    tamper: bool,
) -> std::net::SocketAddr {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};
    let forward = move |uri: Uri, headers: HeaderMap| async move {
        let upstream = if uri.path().starts_with("/log/") {
            log
        } else {
            api
        };
        let mut request = reqwest::Client::new().get(format!("http://{upstream}{uri}"));
        if let Some(auth) = headers.get("authorization") {
            request = request.header("authorization", auth.to_str().unwrap());
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let mut body = response.bytes().await.unwrap().to_vec();
        if tamper && uri.path().starts_with("/log/tile/entries/") {
            // The second entry's tag (two bytes of length, its version byte, then the tag).
            body[67 + 2 + 1 + 5] ^= 1;
        }
        (status, Bytes::from(body))
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
    let proxy = proxy(server.addr, server.addr, true).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_makers_check_finds_each_event_of_its_codes_in_the_log() {
    let work = tempfile::tempdir().unwrap();
    let server = start(overrides()).await;
    let key = log_key(&server).await;
    let r = server.registry.clone();
    let (maker, token) = tokio::task::spawn_blocking(move || {
        let maker = certify(&r, &signer::keys::generate(), "acme-brakes", "690123", 1);
        add_party(&r, "dist-1", Role::Distributor, "Guangdong");
        let token = token(&r, "acme-brakes");
        (maker, token)
    })
    .await
    .unwrap();
    // One registration batch of three codes: one entry, tagged with the first code's t(0).
    let batch = codes(&maker.key, "M", 3);
    let base = signer::BaseUrl::parse("https://verify.example.cn").unwrap();
    let lines: Vec<String> = batch
        .iter()
        .map(|c| serde_json::json!({ "uri": c.to_uri(&base) }).to_string())
        .collect();
    std::fs::write(work.path().join("codes.jsonl"), lines.join("\n")).unwrap();
    std::fs::write(work.path().join("token"), format!("{token}\n")).unwrap();
    let r = server.registry.clone();
    let registered = batch.clone();
    tokio::task::spawn_blocking(move || r.register(&registered, None, now()).unwrap())
        .await
        .unwrap();
    sequenced(&server, &key, 1).await;
    let dir = stop(server).await;
    let data = dir.path().join("data");
    let older = work.path().join("older");
    copy_dir(&data, &older);

    // The first code shipped: event #1, its own entry.
    let server = serve(&data).await;
    let r = server.registry.clone();
    let first = CodeKey::of(&batch[0].part);
    let maker_id = maker.id.clone();
    tokio::task::spawn_blocking(move || {
        r.record_genuine_scan(
            &first,
            &maker_id,
            Action::Ship {
                to: party("dist-1"),
            },
            now(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    sequenced(&server, &key, 2).await;
    let check = ["--codes", "codes.jsonl", "--token", "token"];
    let (code, out, err) = monitor_with(work.path(), &server.url(""), &key, &check).await;
    assert_eq!(code, 0, "{out}{err}");
    let name = batch[0].part.element_string();
    assert!(
        out.contains(&format!("code {name}: 2 events, each in the log once")),
        "{out}"
    );

    // The maker shown the older history while the log has the shipping: caught.
    let older = serve(&older).await;
    let split = proxy(server.addr, older.addr, false).await;
    let (code, out, err) =
        monitor_with(work.path(), &format!("http://{split}"), &key, &check).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "code {name}: the log holds event #1 (entry [1]), and the service's history does not show it"
        )),
        "{out}"
    );
    // And the other way round: a history with an event the log never got.
    let split = proxy(older.addr, server.addr, false).await;
    let (code, out, err) =
        monitor_with(work.path(), &format!("http://{split}"), &key, &check).await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("code {name}: event #1 (shipping at ")),
        "{out}"
    );
    assert!(
        out.contains("is in the service's history and not in the log"),
        "{out}"
    );
    assert!(
        err.contains("histories of the maker's codes and the log differ"),
        "{err}"
    );
    stop(older).await;
    stop(server).await;
    drop(dir);
}

/// Sigstore's verifier (`@sigstore/verify` on npm), installed once under `target/`, or `None`
/// where there is no Node.js outside CI (in CI its absence fails the test).
fn sigstore_verify() -> Option<std::path::PathBuf> {
    const VERSION: &str = "2.1.1";
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join(format!("sigstore-verify-{VERSION}"));
    if dir.join("node_modules/@sigstore/verify").exists() {
        return Some(dir);
    }
    let installed = std::process::Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("@sigstore/verify@{VERSION}"))
        .status();
    match installed {
        Ok(status) if status.success() => Some(dir),
        other if std::env::var_os("CI").is_some() => {
            panic!("cannot install @sigstore/verify: {other:?}")
        }
        _ => {
            eprintln!("skipped: no npm to install @sigstore/verify");
            None
        }
    }
}

/// `scripts/outside-check.js` on a receipt: whether Sigstore's code accepts it, and what it said.
fn outside_check(sigstore: &Path, receipt: &serde_json::Value, log_key: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/outside-check.js"))
        .env("NODE_PATH", sigstore.join("node_modules"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::json!({ "receipt": receipt, "log_key": log_key });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Checked from outside: a receipt's signed checkpoint and inclusion proof hold under Sigstore's
/// verifier (Node's Ed25519 and its own RFC 6962 code), and an altered proof or checkpoint does not.
#[test]
fn a_receipts_checkpoint_and_proof_hold_under_sigstores_verifier() {
    let Some(sigstore) = sigstore_verify() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let registry = Registry::open(&tmp.path().join("data"), RegistryConfig::default()).unwrap();
    let maker = certify(
        &registry,
        &signer::keys::generate(),
        "acme-brakes",
        "690123",
        1,
    );
    add_party(&registry, "dist-1", Role::Distributor, "Guangdong");
    let batch = codes(&maker.key, "S", 5);
    for chunk in batch.chunks(2) {
        registry.register(chunk, None, now()).unwrap();
    }
    let first = CodeKey::of(&batch[0].part);
    registry
        .record_genuine_scan(
            &first,
            &maker.id,
            Action::Ship {
                to: party("dist-1"),
            },
            now(),
        )
        .unwrap();
    let log =
        tlog::LogKey::new("verify.example.cn/log", registry.log_signing_key().unwrap()).unwrap();
    registry.sequence_log(&log).unwrap();
    let key = log.verifier_key();
    let base = signer::BaseUrl::parse("https://verify.example.cn").unwrap();
    for code in [&batch[0], &batch[3]] {
        let receipt = registry
            .log_receipt(&CodeKey::of(&code.part), code.to_uri(&base))
            .unwrap()
            .unwrap();
        let receipt: serde_json::Value = serde_json::from_str(&receipt.to_json()).unwrap();
        let (holds, said) = outside_check(&sigstore, &receipt, &key);
        assert!(holds, "{said}");
        assert!(said.contains("of 4 under verify.example.cn/log"), "{said}");

        // A proof hash changed, a checkpoint's size changed: refused.
        let mut altered = receipt.clone();
        altered["proof"][0] = serde_json::json!(BASE64_ZERO_HASH);
        let (holds, said) = outside_check(&sigstore, &altered, &key);
        assert!(!holds && said.contains("root hash"), "{said}");
        let mut altered = receipt.clone();
        let note = receipt["checkpoint"]
            .as_str()
            .unwrap()
            .replacen("\n4\n", "\n5\n", 1);
        altered["checkpoint"] = serde_json::json!(note);
        let (holds, said) = outside_check(&sigstore, &altered, &key);
        assert!(
            !holds && said.contains("invalid checkpoint signature"),
            "{said}"
        );
    }
}

/// 32 zero bytes, base64.
const BASE64_ZERO_HASH: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
