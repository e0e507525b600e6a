//! A full disk, for real: the store on a small tmpfs, filled with a file beside it. Writes answer
//! 507 `storage_full`, `/readyz` says writes fail while reads answer, and once the file is deleted
//! writes resume without a restart and the audit is clean. A manifest upload the full disk
//! interrupts answers exactly which lines are stored, and re-sending the rest completes it.
//!
//! Mounting needs root: the tests skip when not root and `CI` is unset, and fail when `CI` is set
//! and they cannot mount (CI runs as root).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry::register::CHUNK;
use registry::{CodeKey, Registry, RegistryConfig, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{Gtin, Lot, ManifestEntry, PartId, Serial, SignedCode, SigningKey};
use testkit::disk::{Tmpfs, fill, free};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

struct World {
    server: Server,
    maker: Maker,
    maker_token: String,
    shop: String,
    client: Client,
    _tmpfs: Tmpfs,
}

async fn world(size: &str) -> Option<World> {
    let tmpfs = Tmpfs::mount(size)?;
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&tmpfs.path().join("data"), RegistryConfig::default()).unwrap();
    let server = start_on(
        Overrides {
            rate_limit: Some(0),
            ..Overrides::default()
        },
        Arc::new(registry),
        dir,
    )
    .await;
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    Some(World {
        maker_token: token(r, "acme-brakes"),
        shop: token(r, "shop-a"),
        maker,
        server,
        client: Client::new(),
        _tmpfs: tmpfs,
    })
}

fn codes(key: &SigningKey, prefix: &str, count: usize) -> Vec<SignedCode> {
    (0..count)
        .map(|i| {
            SignedCode::sign(
                PartId {
                    gtin: Gtin::parse("06901234567892").unwrap(),
                    lot: Some(Lot::parse("L2026A").unwrap()),
                    serial: Serial::parse(&format!("{prefix}{i:06}")).unwrap(),
                },
                key,
            )
        })
        .collect()
}

fn manifest(codes: &[SignedCode], base: &signer::BaseUrl) -> String {
    codes
        .iter()
        .map(|c| ManifestEntry::new(c.clone(), base, None).to_json_line() + "\n")
        .collect()
}

impl World {
    fn data(&self) -> PathBuf {
        self._tmpfs.path().to_owned()
    }

    async fn upload(&self, body: String) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.server.url("/api/v1/manifests"))
            .bearer_auth(&self.maker_token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn receive(&self, uri: &str) -> reqwest::Response {
        self.client
            .post(self.server.url("/api/v1/events"))
            .bearer_auth(&self.shop)
            .json(&json!({"code": uri, "step": "receiving"}))
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.server.url(path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// Polls `/readyz` until it says ready, for at most ten seconds (the store tests its device
    /// at most once a second).
    async fn until_ready(&self) -> (StatusCode, Value) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = self.get("/readyz").await;
            if status == StatusCode::OK || Instant::now() > deadline {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Signs the shop in at the station: its session cookie and the station's CSRF token.
    async fn station(&self) -> (String, String) {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = client.get(self.server.url("/shop")).send().await.unwrap();
        let set = form.headers()["set-cookie"].to_str().unwrap().to_owned();
        let signin_cookie = set.split(';').next().unwrap().to_owned();
        let csrf = csrf_of(&form.text().await.unwrap());
        let signed_in = client
            .post(self.server.url("/signin"))
            .header("cookie", signin_cookie)
            .form(&[("csrf", &csrf[..]), ("token", &self.shop), ("lang", "en")])
            .send()
            .await
            .unwrap();
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let set = signed_in.headers()["set-cookie"].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_owned();
        let page = client
            .get(self.server.url("/shop"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        (cookie, csrf)
    }

    fn audit_is_clean(&self) {
        let report = self.server.registry.audit(|_| {}).unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_and_they_resume_once_space_returns() {
    let Some(w) = world("16m").await else { return };
    let base = w.server.base();
    let made = codes(&w.maker.key, "FULL", 200);
    let uris: Vec<String> = made.iter().map(|c| c.to_uri(&base)).collect();
    let (status, body) = w.upload(manifest(&made[..50], &base)).await;
    assert_eq!((status, &body["registered"]), (StatusCode::OK, &json!(50)));

    let (station, csrf) = w.station().await;

    let filler = fill(&w.data());
    // The store's last page may still take a few small writes; a manifest of 150 codes does not fit.
    let (status, problem) = w.upload(manifest(&made[50..], &base)).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{problem}");
    assert_eq!(problem["code"], "storage_full", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("the registry's disk filled during the upload"),
        "{problem}"
    );

    assert_eq!(problem["stored_through_line"], 0, "{problem}");

    // Every write is refused the same way, with the stable code, until space is freed.
    let refused = w.receive(&uris[0]).await;
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["code"], "storage_full", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("disk is full"),
        "{problem}"
    );

    // A person filling in a form gets a page saying so, in their language, not a 500.
    let page = w
        .client
        .post(w.server.url("/owner/report"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("accept-language", "en")
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "FULL000001"),
            ("text", "sold as new at a market stall"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(page.headers()["x-problem-code"], "storage_full");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("disk is full, so this was not recorded"),
        "{html}"
    );
    assert!(html.contains("Cannot save right now"), "{html}");

    // A shop scanning at its station is told in the station's words.
    let row: Value = w
        .client
        .post(w.server.url("/shop/scan"))
        .header("cookie", &station)
        .header("accept", "application/json")
        .form(&[("csrf", &csrf[..]), ("code", &uris[1])])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(row["class"], "danger", "{row}");
    assert!(
        row["text"]
            .as_str()
            .unwrap()
            .contains("disk is full, so this was not recorded"),
        "{row}"
    );

    // Not ready for writes, and says why; reads go on answering.
    let (status, ready) = w.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    assert_eq!(ready["code"], "storage_full", "{ready}");
    assert_eq!(
        (&ready["reads"], &ready["writes"]),
        (&json!("ok"), &json!("failing"))
    );
    assert!(
        ready["cause"].as_str().unwrap().contains("No space left"),
        "{ready}"
    );
    let (status, verdict) = w.get(&uris[0][uris[0].find("/01/").unwrap()..]).await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["verdict"], "genuine", "{verdict}");

    // Space returns: writes resume by themselves, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, ready) = w.until_ready().await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    let received = w.receive(&uris[0]).await;
    assert_eq!(received.status(), StatusCode::OK);
    let (status, body) = w.upload(manifest(&made, &base)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["registered"].as_u64().unwrap() + body["already_registered"].as_u64().unwrap(),
        200,
        "{body}"
    );
    // What the store holds is what it said it holds: every code answers, the first one received.
    for code in &made {
        let status = w.server.registry.status(&CodeKey::of(&code.part)).unwrap();
        assert!(status.is_some(), "{:?} is missing", code.part);
    }
    // The commissioning and the one receipt that went through: the refused one left nothing.
    let first = w.server.registry.status(&CodeKey::of(&made[0].part));
    assert_eq!(first.unwrap().unwrap().record.events, 2);
    w.audit_is_clean();
    w.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_the_full_disk_interrupts_says_what_is_stored_and_resending_the_rest_completes_it()
 {
    let Some(w) = world("48m").await else { return };
    let base = w.server.base();
    const LINES: usize = 30_000;
    let made = codes(&w.maker.key, "MANY", LINES);
    let text = manifest(&made, &base);

    let filler = fill(&w.data());
    // Room for a chunk or two of the manifest (8192 codes of about 300 bytes each, their
    // transparency log pool entries written with them, and the log's sequencer logging the codes
    // that landed while the upload goes on), not all of it.
    // How much of that sled's log takes before the first chunk varies a little from run to run:
    // should not even one chunk fit, the device gets 2 MiB more and the whole manifest is sent
    // again (registration is idempotent), at most twice.
    free(&filler, 16 << 20);
    let mut attempts = 0;
    let (status, problem) = loop {
        let (status, problem) = w.upload(text.clone()).await;
        attempts += 1;
        let none_fitted = status == StatusCode::INSUFFICIENT_STORAGE
            && problem["stored_through_line"].as_u64() == Some(0);
        if !none_fitted || attempts == 3 {
            break (status, problem);
        }
        free(&filler, 2 << 20);
        w.until_ready().await;
    };
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{problem}");
    assert_eq!(problem["code"], "storage_full", "{problem}");
    // Whole chunks are stored or not: the first fitted, a later one did not.
    let through = problem["stored_through_line"].as_u64().unwrap();
    assert!(through > 0 && through < LINES as u64, "{problem}");
    assert_eq!(through % CHUNK as u64, 0, "{problem}");
    assert_eq!(problem["resume_from_line"], through + 1, "{problem}");
    assert_eq!(problem["stored"]["lines"], through, "{problem}");
    // Lines of a chunk an earlier attempt's failure cut may have landed: they come back already
    // registered, and the two counts cover every stored line.
    let stored = &problem["stored"];
    let counted =
        stored["registered"].as_u64().unwrap() + stored["already_registered"].as_u64().unwrap();
    assert_eq!(counted, through, "{problem}");
    if attempts == 1 {
        assert_eq!(stored["registered"], through, "{problem}");
    }
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("re-send from line {}", through + 1)),
        "{detail}"
    );

    std::fs::remove_file(&filler).unwrap();
    let (status, ready) = w.until_ready().await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    // Every line it said is stored, is.
    for code in &made[..through as usize] {
        let key = CodeKey::of(&code.part);
        assert!(w.server.registry.status(&key).unwrap().is_some());
    }

    // Re-sending from line N+1 completes the manifest.
    let rest: String = text
        .lines()
        .skip(through as usize)
        .map(|l| format!("{l}\n"))
        .collect();
    let (status, body) = w.upload(rest).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lines"], LINES as u64 - through, "{body}");
    assert_eq!(
        body["registered"].as_u64().unwrap() + body["already_registered"].as_u64().unwrap(),
        LINES as u64 - through,
        "{body}"
    );
    for code in &made {
        let key = CodeKey::of(&code.part);
        assert!(w.server.registry.status(&key).unwrap().is_some());
    }
    w.audit_is_clean();
    eprintln!("stored through line {through} of {LINES} before the disk filled");
    w.server.shutdown().await;
}
