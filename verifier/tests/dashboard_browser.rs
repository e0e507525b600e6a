//! The manufacturer's investigation view, code search, recall and manifest upload in headless
//! Chromium at a phone's 360×740 viewport, in Chinese and English (Debian's `chromium` and
//! `chromium-driver`, as `pages_browser.rs`). Screenshots go to `target/tmp/screenshots/`; the
//! ones in `docs/screenshots/dashboard-*` were copied from there.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use fantoccini::{Client, Locator};
use registry::{Action, CodeKey, PartyId, Role, Vin};
use serde_json::json;
use signer::{Gtin, Lot, PartId, Serial, SignedCode};
use testkit::browser::{browser, click, text, wait_text};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

const ENTER: &str = "\u{e007}";
const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of the element `css` (the viewport shows only its top on a phone).
async fn shot(c: &Client, css: &str, name: &str) {
    let png = c
        .find(Locator::Css(css))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// A screenshot of the phone's screen scrolled to put the element `css` at its top.
async fn screen_at(c: &Client, css: &str, name: &str) {
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'start'});",
        vec![json!(css)],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// Nothing on the page is wider than the phone.
async fn fits(c: &Client, what: &str) {
    let width = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    assert!(width.as_u64().unwrap() <= 360, "{what} is {width} px wide");
}

async fn type_into(c: &Client, css: &str, keys: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(keys).await.unwrap();
}

fn signed(maker: &signer::SigningKey, lot: &str, serial: &str) -> SignedCode {
    SignedCode::sign(
        PartId {
            gtin: Gtin::parse(GTIN).unwrap(),
            lot: Some(Lot::parse(lot).unwrap()),
            serial: Serial::parse(serial).unwrap(),
        },
        maker,
    )
}

#[tokio::test]
async fn the_maker_investigates_finds_recalls_and_uploads_on_a_phone() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "shop-a", Role::Shop, "广东");
    add_party(&r, "shop-b", Role::Shop, "浙江");
    let codes: Vec<SignedCode> = (0..3)
        .map(|i| signed(&maker.key, "L2026A", &format!("CASE{i:04}")))
        .collect();
    r.register(&codes, Some(&maker.id), now()).unwrap();
    let key = CodeKey::of(&codes[0].part);
    let (a, b) = (
        PartyId::parse("shop-a").unwrap(),
        PartyId::parse("shop-b").unwrap(),
    );
    r.record_genuine_scan(&key, &a, Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(
        &key,
        &a,
        Action::Install {
            vin: Vin::parse(VIN).unwrap(),
        },
        now(),
    )
    .unwrap();
    r.record_genuine_scan(&key, &b, Action::Receive, now())
        .unwrap();

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // ---- Signed in, in Chinese: find the code as typed from a label, then investigate ----
    c.goto(&server.url("/dashboard?lang=zh-CN")).await.unwrap();
    type_into(
        &c,
        "#signin-token",
        &format!("{}{ENTER}", token(&r, "acme-brakes")),
    )
    .await;
    wait_text(&c, "h1", |t| t.contains("厂商看板")).await;
    type_into(&c, "#find-gtin", "690 1234 56789 2").await;
    type_into(&c, "#find-serial", &format!("case-0000{ENTER}")).await;
    let page = wait_text(&c, "main", |t| t.contains("编码调查")).await;
    for expected in [
        "shop-a Co.",
        "广东",
        "shop-b Co.",
        "浙江",
        "…183294",
        "冲突证据",
        "扫描标签",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    assert!(!page.contains(VIN), "{page}");
    fits(&c, "the investigation view").await;
    shot(&c, "main", "dashboard-case-zh-CN").await;
    // A note with "mark investigating" is kept and listed.
    type_into(&c, "#case-note", "已请浙江的店拍标签照片").await;
    click(&c, "#resolve button[value='investigating']").await;
    wait_text(&c, "#notes", |t| t.contains("已请浙江的店拍标签照片")).await;

    // ---- In English: the same view, then a recall with its reason ----
    c.goto(&server.url(&format!("/dashboard/codes/{GTIN}/CASE0000?lang=en")))
        .await
        .unwrap();
    let page = wait_text(&c, "main", |t| t.contains("Code investigation")).await;
    for expected in [
        "Where custody has the part",
        "Conflicting copy",
        "evidence of a copy",
        "Marked investigating",
    ] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    fits(&c, "the investigation view").await;
    shot(&c, "main", "dashboard-case-en").await;
    c.goto(&server.url(&format!("/dashboard/codes/{GTIN}/CASE0001?lang=en")))
        .await
        .unwrap();
    type_into(&c, "#recall-reason", "pad compound cracks below -20 °C").await;
    click(&c, "#recall button").await;
    let recall = wait_text(&c, "main", |t| t.contains("Recalled the part")).await;
    assert!(
        recall.contains("pad compound cracks below -20 °C"),
        "{recall}"
    );
    assert!(
        r.status(&CodeKey::of(&codes[1].part))
            .unwrap()
            .unwrap()
            .record
            .flags
            .recalled
            .is_some()
    );
    screen_at(&c, "#history", "dashboard-recall-en").await;

    // ---- A search for numbers that are no code of the maker's says so, numbers kept ----
    c.goto(&server.url("/dashboard/find?lang=en"))
        .await
        .unwrap();
    type_into(&c, "#find-gtin", "06901234567892").await;
    type_into(&c, "#find-serial", &format!("NOSUCH{ENTER}")).await;
    let problem = wait_text(&c, "#find-problem", |t| !t.is_empty()).await;
    assert!(problem.contains("No code of yours"), "{problem}");
    fits(&c, "the search").await;
    shot(&c, "main", "dashboard-find-en").await;

    // ---- The upload: a file chosen, progress, the summary with rejected lines ----
    let manifest = profile.path().join("batch.jsonl");
    let fresh: Vec<SignedCode> = (0..40)
        .map(|i| signed(&maker.key, "L2026B", &format!("UP{i:04}")))
        .collect();
    let mut body: String = fresh
        .iter()
        .map(|code| {
            signer::manifest::ManifestEntry::new(code.clone(), &server.base(), None).to_json_line()
                + "\n"
        })
        .collect();
    body.push_str("not a manifest line\n");
    std::fs::write(&manifest, body).unwrap();
    for (lang, registered) in [("zh-CN", "新登记"), ("en", "Newly registered")] {
        c.goto(&server.url(&format!("/dashboard?lang={lang}")))
            .await
            .unwrap();
        c.find(Locator::Css("#manifest-file"))
            .await
            .unwrap()
            .send_keys(manifest.to_str().unwrap())
            .await
            .unwrap();
        click(&c, "#upload-button").await;
        let summary = wait_text(&c, "#upload-summary", |t| t.contains("41")).await;
        assert!(summary.contains(registered), "{summary}");
        let state = c
            .find(Locator::Css("#upload"))
            .await
            .unwrap()
            .attr("data-state")
            .await
            .unwrap();
        assert_eq!(state.as_deref(), Some("done"));
        let progress = c
            .execute(
                "return document.getElementById('upload-progress').value;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(progress, json!(100));
        let rejection = text(&c, "#upload-summary tr.rejection").await;
        assert!(rejection.starts_with("41"), "{rejection}");
        fits(&c, "the dashboard").await;
        screen_at(&c, "#upload", &format!("dashboard-upload-{lang}")).await;
    }
    // The first upload registered the 40 codes; the second found them registered.
    assert!(r.status(&CodeKey::of(&fresh[39].part)).unwrap().is_some());
    let summary = text(&c, "#upload-summary").await;
    assert!(summary.contains("Already registered\n40"), "{summary}");

    c.close().await.unwrap();
    server.shutdown().await;
}
